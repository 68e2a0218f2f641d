"""Delays that apply to a referral: the covering agreement's, else the receiver's, else settings;
and the escalation ladder of its alerts: the covering agreement's, else the default one."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from ..models import Agreement, AgreementParty, EscalationAudience, EscalationRung, Organisation
from ..working_days import is_working_day


@dataclass(frozen=True)
class Delays:
    acknowledge_working_days: int
    appointment_set_days: int
    first_appointment_days: int
    no_show_grace_hours: int
    # How long before each of the receiver's deadlines its counsellors are reminded (0: never).
    reminder_hours: int = 0
    agreement_id: int | None = None


def agreement_covering(
    *, sender: Organisation, receiver: Organisation, on: dt.date
) -> Agreement | None:
    """The most recent agreement between both organisations in force on `on`: every party
    accepted it (a delay binds the receiver only once it agreed to it)."""
    return (
        Agreement.objects.in_force_on(on)
        .filter(parties=sender)
        .filter(parties=receiver)
        .order_by("-starts_on", "-id")
        .first()
    )


def delays_for(*, sender: Organisation, receiver: Organisation, on: dt.date) -> Delays:
    agreement = agreement_covering(sender=sender, receiver=receiver, on=on)
    if agreement is not None:
        return Delays(
            acknowledge_working_days=agreement.acknowledge_within_working_days,
            appointment_set_days=agreement.appointment_set_within_days,
            first_appointment_days=agreement.first_appointment_within_days,
            no_show_grace_hours=agreement.no_show_grace_hours,
            reminder_hours=agreement.reminder_hours_before,
            agreement_id=agreement.pk,
        )
    acknowledge = receiver.acknowledge_within_working_days
    first_appointment = receiver.first_appointment_within_days
    return Delays(
        acknowledge_working_days=settings.PARCOURS_DEFAULT_ACKNOWLEDGE_WORKING_DAYS
        if acknowledge is None
        else acknowledge,
        appointment_set_days=settings.PARCOURS_DEFAULT_APPOINTMENT_SET_DAYS,
        first_appointment_days=settings.PARCOURS_DEFAULT_FIRST_APPOINTMENT_DAYS
        if first_appointment is None
        else first_appointment,
        no_show_grace_hours=settings.PARCOURS_DEFAULT_NO_SHOW_GRACE_HOURS,
        reminder_hours=settings.PARCOURS_DEFAULT_REMINDER_HOURS,
    )


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """`start` moved forward by `days` French working days (weekends and public holidays skipped),
    ending at the end of that day in the local time zone."""
    day = timezone.localtime(start).date()
    remaining = days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    end_of_day = dt.datetime.combine(day, dt.time(23, 59, 59))
    return timezone.make_aware(end_of_day)


@dataclass(frozen=True)
class Rung:
    """A rung of an escalation ladder, as the alert scan reads it."""

    order: int
    after_hours: int
    audience: str

    @property
    def audience_label(self) -> str:
        return str(EscalationAudience(self.audience).label)


@dataclass(frozen=True)
class Ladder:
    rungs: tuple[Rung, ...]
    agreement_id: int | None = None  # None: the default ladder

    def due(self, *, raised_at: dt.datetime, after_order: int, now: dt.datetime) -> list[Rung]:
        """The rungs past `after_order` whose delay has passed at `now`, in order."""
        return [
            rung
            for rung in self.rungs
            if rung.order > after_order and raised_at + dt.timedelta(hours=rung.after_hours) <= now
        ]

    def next_at(self, *, raised_at: dt.datetime, after_order: int) -> dt.datetime | None:
        """When the first rung past `after_order` falls due; None at the top of the ladder."""
        for rung in self.rungs:
            if rung.order > after_order:
                return raised_at + dt.timedelta(hours=rung.after_hours)
        return None


def default_ladder() -> Ladder:
    """The ladder of a referral no agreement governs (or whose agreement sets none): one rung,
    the managers of both organisations, PARCOURS_ALERT_ESCALATION_HOURS after the alert."""
    return Ladder(
        rungs=(
            Rung(
                order=1,
                after_hours=settings.PARCOURS_ALERT_ESCALATION_HOURS,
                audience=EscalationAudience.MANAGERS,
            ),
        )
    )


def ladders_for(*, pairs: Iterable[tuple[int, int]], on: dt.date) -> dict[tuple[int, int], Ladder]:
    """(sender id, receiver id) → the escalation ladder of their referrals on `on`: the rungs of
    the agreement that covers them then (as `agreement_covering`: in force, the most recent
    first), else the default ladder. Three queries for a whole batch of alerts."""
    wanted = set(pairs)
    organisations = {organisation for pair in wanted for organisation in pair}
    agreements = list(
        Agreement.objects.in_force_on(on)
        .filter(signatures__organisation_id__in=organisations)
        .distinct()
        .order_by("-starts_on", "-id")
        .prefetch_related(
            Prefetch(
                "signatures", queryset=AgreementParty.objects.only("agreement_id", "organisation")
            ),
            Prefetch("escalation_rungs", queryset=EscalationRung.objects.order_by("order")),
        )
    )
    parties = {a.pk: {s.organisation_id for s in a.signatures.all()} for a in agreements}
    fallback = default_ladder()
    result: dict[tuple[int, int], Ladder] = {}
    for pair in wanted:
        covering = next((a for a in agreements if set(pair) <= parties[a.pk]), None)
        rungs = tuple(
            Rung(r.order, r.after_hours, r.audience)
            for r in (covering.escalation_rungs.all() if covering is not None else ())
        )
        if covering is None or not rungs:
            result[pair] = fallback
        else:
            result[pair] = Ladder(rungs=rungs, agreement_id=covering.pk)
    return result
