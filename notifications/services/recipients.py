"""Who is told about an alert. Resolved for a whole batch of alerts in a handful of queries.

Level 1: the sender counsellor (or, when they left the sending organisation, the pathway's
référent; failing both, the sending organisation's contact address) and the receiving
organisation's contact address, plus — for a no-show — the member who set the appointment, who
is asked to record its outcome. Level 2: the managers of both organisations (an organisation
without an active manager is reached at its contact address).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User

from parcours.models import Appointment, Membership, Organisation, Referral
from parcours.rules import Action, roles_for

from ..models import Alert, AlertLevel, Audience, DeliveryMode, NotificationPreference


@dataclass(frozen=True)
class Recipient:
    email: str
    audience: str
    user_id: int | None = None
    mode: str = DeliveryMode.IMMEDIATE


def _reachable(user: User | None, organisation_id: int | None, members: set) -> bool:
    return (
        user is not None
        and user.is_active
        and bool(user.email)
        and (user.pk, organisation_id) in members
    )


def recipients_for(alerts: Iterable[Alert]) -> dict[int, list[Recipient]]:
    """Alert id → its recipients, one per address (the first audience found wins)."""
    alerts = list(alerts)
    referral_ids = {a.referral_id for a in alerts}
    referrals = {
        r.pk: r
        for r in Referral.objects.filter(pk__in=referral_ids).select_related(
            "sender_user", "pathway__referent", "sender_organisation", "receiver_organisation"
        )
    }
    # The alerts are already loaded: only their appointments' creators are fetched.
    creators = {
        appointment.pk: appointment.created_by
        for appointment in Appointment.objects.filter(
            pk__in={a.appointment_id for a in alerts if a.appointment_id}
        ).select_related("created_by")
    }
    appointment_creators: dict[int, User] = {
        a.pk: creators[a.appointment_id] for a in alerts if a.appointment_id in creators
    }
    people = {r.sender_user_id for r in referrals.values()}
    people |= {r.pathway.referent_id for r in referrals.values() if r.pathway.referent_id}
    people |= {u.pk for u in appointment_creators.values()}
    members = set(
        Membership.objects.filter(user_id__in=people, is_active=True).values_list(
            "user_id", "organisation_id"
        )
    )
    organisation_ids = {r.sender_organisation_id for r in referrals.values()} | {
        r.receiver_organisation_id for r in referrals.values()
    }
    managers: dict[int, list[User]] = defaultdict(list)
    if any(a.level == AlertLevel.ESCALATED for a in alerts):
        for membership in Membership.objects.filter(
            organisation_id__in=organisation_ids,
            role__in=roles_for(Action.RECEIVE_ESCALATIONS),  # the gate's table
            is_active=True,
            user__is_active=True,
        ).select_related("user"):
            if membership.user.email:
                managers[membership.organisation_id].append(membership.user)

    result: dict[int, list[Recipient]] = {}
    for alert in alerts:
        referral = referrals[alert.referral_id]
        found: list[Recipient] = []
        if alert.level == AlertLevel.FIRST:
            found.append(_sender_side(referral, members))
            found.append(Recipient(referral.receiver_organisation.contact_email, Audience.RECEIVER))
            creator = appointment_creators.get(alert.pk)
            if creator is not None and _reachable(
                creator, referral.receiver_organisation_id, members
            ):
                found.append(Recipient(creator.email, Audience.RECEIVER, creator.pk))
        else:
            found += _managers_of(referral.sender_organisation, managers, Audience.SENDER_MANAGER)
            found += _managers_of(
                referral.receiver_organisation, managers, Audience.RECEIVER_MANAGER
            )
        result[alert.pk] = _one_per_address(found)
    return _with_preferences(result)


def _sender_side(referral: Referral, members: set) -> Recipient:
    sender = referral.sender_user
    if _reachable(sender, referral.sender_organisation_id, members):
        return Recipient(sender.email, Audience.SENDER, sender.pk)
    referent = referral.pathway.referent
    if referent is not None and _reachable(
        referent, referral.pathway.referent_organisation_id, members
    ):
        return Recipient(referent.email, Audience.SENDER, referent.pk)
    return Recipient(referral.sender_organisation.contact_email, Audience.SENDER)


def _managers_of(
    organisation: Organisation, managers: dict[int, list[User]], audience: str
) -> list[Recipient]:
    found = managers.get(organisation.pk)
    if not found:
        return [Recipient(organisation.contact_email, audience)]
    return [Recipient(user.email, audience, user.pk) for user in found]


def _one_per_address(found: list[Recipient]) -> list[Recipient]:
    seen: set[str] = set()
    unique = []
    for recipient in found:
        key = recipient.email.strip().lower()
        if key and key not in seen:
            seen.add(key)
            unique.append(recipient)
    return unique


def _with_preferences(result: dict[int, list[Recipient]]) -> dict[int, list[Recipient]]:
    """Users who chose the daily digest get their alerts grouped; contact addresses (no user)
    are always told at once."""
    user_ids = {r.user_id for recipients in result.values() for r in recipients if r.user_id}
    digest_users = set(
        NotificationPreference.objects.filter(
            user_id__in=user_ids, mode=DeliveryMode.DIGEST
        ).values_list("user_id", flat=True)
    )
    return {
        alert_id: [
            Recipient(r.email, r.audience, r.user_id, DeliveryMode.DIGEST)
            if r.user_id in digest_users
            else r
            for r in recipients
        ]
        for alert_id, recipients in result.items()
    }


def correction_recipients(referral: Referral) -> list[Recipient]:
    """Who is told that a recorded attendance or absence was corrected: those an absence alert
    tells first (the sender's counsellor, or the référent, or the sending organisation's
    address; the receiving organisation's address), always at once — a correction is one fact
    to set right, not a daily digest line."""
    people = {referral.sender_user_id}
    if referral.pathway.referent_id:
        people.add(referral.pathway.referent_id)
    members = set(
        Membership.objects.filter(user_id__in=people, is_active=True).values_list(
            "user_id", "organisation_id"
        )
    )
    return _one_per_address(
        [
            _sender_side(referral, members),
            Recipient(referral.receiver_organisation.contact_email, Audience.RECEIVER),
        ]
    )
