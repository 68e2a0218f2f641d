"""Who is told about an alert or a reminder. Resolved for a whole batch in a handful of queries.

Level 1, and a rung of escalation to the counsellors: the sender counsellor (or, when they left
the sending organisation, the pathway's référent; failing both, the sending organisation's
contact address) and the receiving organisation's contact address, plus — for a no-show — the
member who set the appointment, who is asked to record its outcome. A rung to the managers: the
managers of both organisations (an organisation without an active manager is reached at its
contact address). A rung to the coordinators (a ladder's last): the territorial coordinators
covering the receiving organisation's employment area, told without the person's name. A
reminder: the receiving organisation's case workers (its contact address when it has none). A
benefit-transition warning: the pathway's référent (failing them, the owning organisation's case
workers) and a département in its care team. An alert that would reach nobody (no reachable
person, no contact address) goes to the administrators of both organisations, who can fix the
addresses; failing them too, it is logged at ERROR — it stays visible on the pages' « Alertes »
either way.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User

from parcours.models import (
    Appointment,
    CareTeamMember,
    EscalationAudience,
    Membership,
    Organisation,
    OrganisationKind,
    Pathway,
    Referral,
)
from parcours.rules import Action, roles_for

from ..models import Alert, Audience, DeliveryMode, NotificationPreference

logger = logging.getLogger(__name__)


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


def members_with_address(organisation_ids: Iterable[int], action: Action) -> dict[int, list[User]]:
    """Organisation id → its active members with an e-mail address whose role the gate's table
    gives `action` (who receives escalations, reminders, or administers), in user order."""
    found: dict[int, list[User]] = defaultdict(list)
    for membership in (
        Membership.objects.filter(
            organisation_id__in=set(organisation_ids),
            role__in=roles_for(action),  # the gate's table
            is_active=True,
            user__is_active=True,
        )
        .select_related("user")
        .order_by("user_id")
    ):
        if membership.user.email:
            found[membership.organisation_id].append(membership.user)
    return found


def tells_managers(alert: Alert) -> bool:
    """A rung to the managers (a level-2 alert from before the ladders has no audience: it was
    the managers' escalation)."""
    return alert.is_escalation and alert.audience not in (
        EscalationAudience.COUNSELLORS,
        EscalationAudience.COORDINATORS,
    )


def tells_coordinators(alert: Alert) -> bool:
    """A ladder's last rung to the territory: the coordinators of the receiver's area."""
    return alert.is_escalation and alert.audience == EscalationAudience.COORDINATORS


def coordinators_of_areas(area_ids: Iterable[int]) -> dict[int, list[User]]:
    """Employment area id → the active coordinators covering it with an e-mail address (roles
    from the gate's table), in user order."""
    found: dict[int, list[User]] = defaultdict(list)
    covering = Membership.employment_areas.through.objects.filter(
        employmentarea_id__in=set(area_ids),
        membership__role__in=roles_for(Action.RECEIVE_TERRITORY_ESCALATIONS),
        membership__is_active=True,
        membership__user__is_active=True,
    ).select_related("membership__user")
    for row in covering.order_by("membership__user_id"):
        user = row.membership.user
        if user.email:
            found[row.employmentarea_id].append(user)
    return found


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
    creators: dict[int, User] = {
        appointment.pk: appointment.created_by
        for appointment in Appointment.objects.filter(
            # Set through a receiver's link: nobody to tell by name (its organisation has none).
            pk__in={a.appointment_id for a in alerts if a.appointment_id},
            created_by__isnull=False,
        ).select_related("created_by")
        if appointment.created_by is not None
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
    managers: dict[int, list[User]] = (
        members_with_address(organisation_ids, Action.RECEIVE_ESCALATIONS)
        if any(tells_managers(a) for a in alerts)
        else {}
    )
    coordinators: dict[int, list[User]] = (
        coordinators_of_areas(
            referrals[a.referral_id].receiver_organisation.employment_area_id
            for a in alerts
            if tells_coordinators(a)
        )
        if any(tells_coordinators(a) for a in alerts)
        else {}
    )

    result: dict[int, list[Recipient]] = {}
    for alert in alerts:
        referral = referrals[alert.referral_id]
        found: list[Recipient] = []
        if tells_coordinators(alert):
            # Nobody covering the area: the administrators are told below (no one reached).
            area = referral.receiver_organisation.employment_area_id
            found += [
                Recipient(user.email, Audience.COORDINATOR, user.pk)
                for user in coordinators.get(area, [])
            ]
        elif not tells_managers(alert):
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
    unreached = [alert for alert in alerts if not result[alert.pk]]
    if unreached:
        _administrators_for(unreached, referrals, result)
    return _with_preferences(result)


def _administrators_for(
    alerts: list[Alert], referrals: dict[int, Referral], result: dict[int, list[Recipient]]
) -> None:
    """The organisations' administrators (roles from the gate's table) for alerts that would
    reach nobody; an alert still without anyone is logged at ERROR."""
    organisation_ids = {referrals[a.referral_id].sender_organisation_id for a in alerts} | {
        referrals[a.referral_id].receiver_organisation_id for a in alerts
    }
    administrators = members_with_address(organisation_ids, Action.ADMINISTER_ORGANISATION)
    for alert in alerts:
        referral = referrals[alert.referral_id]
        found = [
            Recipient(user.email, audience, user.pk)
            for organisation_id, audience in (
                (referral.sender_organisation_id, Audience.SENDER),
                (referral.receiver_organisation_id, Audience.RECEIVER),
            )
            for user in administrators.get(organisation_id, [])
        ]
        result[alert.pk] = _one_per_address(found)
        if not result[alert.pk]:
            logger.error(
                "alert %s reaches nobody: no reachable member, contact address or administrator "
                "in organisations %s and %s",
                alert.pk,
                referral.sender_organisation_id,
                referral.receiver_organisation_id,
                extra={"alert_id": alert.pk, "referral_id": referral.pk},
            )


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


def reminder_recipients(referrals: Iterable[Referral]) -> dict[int, list[Recipient]]:
    """Referral id → who is reminded of its receiver's deadline: the receiving organisation's
    active case workers with an address (roles from the gate's table), else its contact address.
    Always at once: a reminder is worth nothing in tomorrow's digest."""
    referrals = list(referrals)
    workers = members_with_address(
        {r.receiver_organisation_id for r in referrals}, Action.RECEIVE_REMINDERS
    )
    result = {}
    for referral in referrals:
        found = [
            Recipient(user.email, Audience.RECEIVER, user.pk)
            for user in workers.get(referral.receiver_organisation_id, [])
        ] or [Recipient(referral.receiver_organisation.contact_email, Audience.RECEIVER)]
        result[referral.pk] = _one_per_address(found)
    return result


def answer_recipients(referral: Referral, *, actor_id: int | None = None) -> list[Recipient]:
    """Who on the sending side hears of a receiver's answer (issue 14), each with their choice
    for answers (at once or in the daily digest):

    1. the counsellor who sent the referral, while the sending organisation employs them as a
       case worker (the gate's RECEIVE_ANSWERS row) and their account is active;
    2. failing that, the pathway's référent, when the sending organisation employs them so;
    3. failing both, every active case worker of the sending organisation (someone there must
       take the answer up: each of them sees it on their home until they mark it seen);
    4. failing all, the sending organisation's contact address, by e-mail at once.

    A user without an e-mail address still gets the home item (`email` is then blank). The
    member who made the move is never told of it (a user of both organisations)."""
    roles = roles_for(Action.RECEIVE_ANSWERS)  # the gate's table
    organisation_id = referral.sender_organisation_id
    named = [referral.sender_user_id]
    if referral.pathway.referent_id and referral.pathway.referent_organisation_id == (
        organisation_id
    ):
        named.append(referral.pathway.referent_id)
    members = Membership.objects.filter(
        organisation_id=organisation_id, role__in=roles, is_active=True, user__is_active=True
    ).select_related("user")
    found = {m.user_id: m.user for m in members.filter(user_id__in=named)}
    chosen = next(([found[pk]] for pk in named if pk in found), None)
    if chosen is None:
        chosen = list({m.user_id: m.user for m in members.order_by("user_id")}.values())
    if not chosen:
        contact = referral.sender_organisation.contact_email
        return [Recipient(contact, Audience.SENDER)] if contact else []
    chosen = [user for user in chosen if user.pk != actor_id]
    digest_users = set(
        NotificationPreference.objects.filter(
            user_id__in=[u.pk for u in chosen], answers_mode=DeliveryMode.DIGEST
        ).values_list("user_id", flat=True)
    )
    return [
        Recipient(
            user.email.strip(),
            Audience.SENDER,
            user.pk,
            DeliveryMode.DIGEST if user.pk in digest_users else DeliveryMode.IMMEDIATE,
        )
        for user in chosen
    ]


def message_recipients(referral: Referral, author_organisation_id: int) -> list[Recipient]:
    """Who is told of a new message on a referral: the other party. The sending side as an alert
    tells it (its counsellor, or the référent, or the sending organisation's address); the
    receiving side at its contact address (a received referral is the team's) and the counsellor
    it is assigned to; and on either side the members who already wrote in the thread (they
    follow the exchange), when they may still read it (active, a role that reads messages: the
    gate's table). Always at once: a message waits for an answer, not for tomorrow's digest."""
    receiving = author_organisation_id == referral.sender_organisation_id
    other = referral.receiver_organisation_id if receiving else referral.sender_organisation_id
    writers = set(
        referral.messages.filter(author_organisation_id=other).values_list("author_id", flat=True)
    )
    # The receiving counsellor the referral is assigned to follows it as if they had written.
    followers = writers | (
        {referral.assigned_user_id} if receiving and referral.assigned_user_id else set()
    )
    people = set(writers)
    if not receiving:
        people.add(referral.sender_user_id)
        if referral.pathway.referent_id:
            people.add(referral.pathway.referent_id)
    members = set(
        Membership.objects.filter(user_id__in=people, is_active=True).values_list(
            "user_id", "organisation_id"
        )
    )
    found = (
        [Recipient(referral.receiver_organisation.contact_email, Audience.RECEIVER)]
        if receiving
        else [_sender_side(referral, members)]
    )
    audience = Audience.RECEIVER if receiving else Audience.SENDER
    for user in (
        User.objects.filter(
            pk__in=followers,
            is_active=True,
            memberships__organisation_id=other,
            memberships__is_active=True,
            memberships__role__in=roles_for(Action.REFERRAL_MESSAGE_READ),  # the gate's table
        )
        .distinct()
        .order_by("pk")
    ):
        if user.email:
            found.append(Recipient(user.email, audience, user.pk))
    return _one_per_address(found)


def rights_end_recipients(pathway_ids: list[int]) -> dict[int, list[Recipient]]:
    """Pathway id → who is told, one per address: the référent, while an active case worker of
    the référent's organisation (the gate's table); failing them, the owning organisation's case
    workers, failing those its contact address; and every Conseil départemental in the pathway's
    active care team (other than those), at its contact address, failing that its case
    workers."""
    pathways = list(
        Pathway.objects.filter(pk__in=pathway_ids).select_related("referent", "owner_organisation")
    )
    departements: dict[int, list] = defaultdict(list)
    for member in CareTeamMember.objects.filter(
        pathway_id__in=pathway_ids,
        ended_at__isnull=True,
        organisation__kind=OrganisationKind.DEPARTEMENT,
    ).select_related("organisation"):
        departements[member.pathway_id].append(member.organisation)
    organisation_ids = {p.owner_organisation_id for p in pathways}
    organisation_ids |= {p.referent_organisation_id for p in pathways if p.referent_organisation_id}
    organisation_ids |= {o.pk for orgs in departements.values() for o in orgs}
    workers = members_with_address(organisation_ids, Action.RECEIVE_RIGHTS_END_WARNINGS)
    result: dict[int, list[Recipient]] = {}
    for pathway in pathways:
        found: list[Recipient] = []
        referent_org = pathway.referent_organisation_id
        if pathway.referent_id and any(
            user.pk == pathway.referent_id for user in workers.get(referent_org or 0, [])
        ):
            assert pathway.referent is not None
            found.append(Recipient(pathway.referent.email, Audience.SENDER, pathway.referent_id))
        else:
            owner = pathway.owner_organisation
            found += [
                Recipient(user.email, Audience.SENDER, user.pk)
                for user in workers.get(owner.pk, [])
            ] or ([Recipient(owner.contact_email, Audience.SENDER)] if owner.contact_email else [])
        for organisation in departements.get(pathway.pk, []):
            if organisation.pk in (pathway.owner_organisation_id, referent_org):
                continue  # already told as the pathway's holder
            found += (
                [Recipient(organisation.contact_email, Audience.RECEIVER)]
                if organisation.contact_email
                else [
                    Recipient(user.email, Audience.RECEIVER, user.pk)
                    for user in workers.get(organisation.pk, [])
                ]
            )
        result[pathway.pk] = _one_per_address(found)
    return result
