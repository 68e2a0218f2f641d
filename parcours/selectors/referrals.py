import datetime as dt

from django.conf import settings
from django.db.models import QuerySet

from ..compiled import CompiledQuery
from ..models import Appointment, Referral, ReferralStatus


def referrals_unanswered_too_long(*, now: dt.datetime) -> list[int]:
    """System read (no actor): ids of sent referrals left unanswered past the expiry delay."""
    cutoff = now - dt.timedelta(days=settings.PARCOURS_REFERRAL_EXPIRY_DAYS)
    return list(
        Referral.objects.filter(status=ReferralStatus.SENT, sent_at__lt=cutoff)
        .order_by("sent_at")
        .values_list("pk", flat=True)
    )


def appointments_shape(referral: int | Referral) -> QuerySet[Appointment]:
    """A referral's appointments, the latest first, as its related manager reads them."""
    return Appointment.objects.filter(referral=referral).order_by("-starts_at")


# Compiled once (issue 17): the referral's page built and compiled it on every request.
_APPOINTMENTS = CompiledQuery(
    Appointment, appointments_shape, "referral", types={"referral": int}, prepared=True
)


def appointments_of(referral: Referral) -> list[Appointment]:
    """`referral.appointments.order_by("-starts_at")`'s rows (the referral has been located
    through its scope), each knowing its referral as the related manager's do."""
    appointments = _APPOINTMENTS.all(referral=referral.pk)
    for appointment in appointments:
        Appointment.referral.field.set_cached_value(appointment, referral)
    return appointments
