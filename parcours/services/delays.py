"""Delays that apply to a referral: the covering agreement's, else the receiver's, else settings."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from ..models import Agreement, Organisation
from ..working_days import is_working_day


@dataclass(frozen=True)
class Delays:
    acknowledge_working_days: int
    appointment_set_days: int
    first_appointment_days: int
    no_show_grace_hours: int
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
