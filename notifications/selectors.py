"""Reads of the alerting machinery. System reads (the scan) take `now`; user reads are scoped
through `parcours.access`, the one place that decides who sees a referral."""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from parcours import access
from parcours.actor import Actor
from parcours.models import Appointment, AppointmentOutcome, Referral, ReferralStatus

from .models import Alert, AlertKind, AlertLevel, AlertState
from .rules import RULES


@dataclass(frozen=True)
class DueReferral:
    referral_id: int
    due_at: dt.datetime
    appointment_id: int | None = None


def _not_yet_raised(kind: str, referral_ref: str = "pk") -> Exists:
    return Exists(
        Alert.objects.filter(referral_id=OuterRef(referral_ref), kind=kind, level=AlertLevel.FIRST)
    )


def referrals_past_deadline(kind: str, *, now: dt.datetime) -> QuerySet[Referral]:
    """Referrals in the rule's waiting states whose deadline passed, without a level-1 alert of
    this kind. The filter repeats the partial index's condition so the planner uses it."""
    rule = RULES[kind]
    return Referral.objects.filter(
        status__in=rule.statuses,
        **{f"{rule.due_field}__lte": now},
    ).filter(~_not_yet_raised(kind))


def appointments_past_grace(*, now: dt.datetime) -> QuerySet[Appointment]:
    """Pending appointments past start + grace with no outcome recorded, on referrals still
    waiting for that appointment, not yet alerted as no-shows."""
    return Appointment.objects.filter(
        outcome=AppointmentOutcome.PENDING,
        outcome_due_at__lte=now,
        referral__status=ReferralStatus.APPOINTMENT_SET,
    ).filter(~_not_yet_raised(AlertKind.NO_SHOW, "referral_id"))


def referrals_due(kind: str, *, now: dt.datetime) -> Iterator[DueReferral]:
    """Every referral that must get a level-1 alert of `kind` now, oldest deadline first."""
    if kind == AlertKind.NO_SHOW:
        # Two sources: a no-show recorded by the receiver, or an outcome never recorded.
        recorded = Referral.objects.filter(
            status=ReferralStatus.NO_SHOW, no_show_at__lte=now
        ).filter(~_not_yet_raised(kind))
        last_missed = (
            Appointment.objects.filter(
                referral_id=OuterRef("pk"), outcome=AppointmentOutcome.NO_SHOW
            )
            .order_by("-starts_at", "-id")
            .values("pk")[:1]
        )
        for referral_id, due_at, appointment_id in recorded.annotate(
            missed=last_missed
        ).values_list("pk", "no_show_at", "missed"):
            yield DueReferral(referral_id, due_at or now, appointment_id)
        for appointment_id, referral_id, due_at in appointments_past_grace(now=now).values_list(
            "pk", "referral_id", "outcome_due_at"
        ):
            yield DueReferral(referral_id, due_at or now, appointment_id)
        return
    field = RULES[kind].due_field
    for referral_id, due_at in (
        referrals_past_deadline(kind, now=now).order_by(field).values_list("pk", field)
    ):
        yield DueReferral(referral_id, due_at)


def alerts_due_for_escalation(*, now: dt.datetime, delay: dt.timedelta) -> QuerySet[Alert]:
    """Level-1 alerts raised more than `delay` ago, still unresolved and unacknowledged, with
    no level-2 alert yet (the rule is re-checked on each before escalating)."""
    escalated = Alert.objects.filter(
        referral_id=OuterRef("referral_id"), kind=OuterRef("kind"), level=AlertLevel.ESCALATED
    )
    return (
        Alert.objects.filter(
            level=AlertLevel.FIRST,
            state__in=(AlertState.OPEN, AlertState.NOTIFIED),
            acknowledged_at__isnull=True,
            created_at__lte=now - delay,
        )
        .filter(~Exists(escalated))
        .order_by("created_at", "pk")
    )


def alerts_visible_to(actor: Actor) -> QuerySet[Alert]:
    """Alerts about referrals the actor's organisation sent or received and may see."""
    return Alert.objects.filter(referral__in=access.referrals_concerning(actor))
