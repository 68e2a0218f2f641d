"""The work lists of « À traiter », one definition each: the home page shows the first rows of
each and counts the same queryset, and its « voir tout » link opens the full list built from
the same function — so a counter always equals its list's total. Scopes come from
`parcours.access`; the alerts' list lives in `notifications.selectors` (parcours never imports
notifications)."""

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from .. import access
from ..actor import Actor
from ..models import (
    Appointment,
    AppointmentOutcome,
    Pathway,
    PlanAction,
    Referral,
    ReferralStatus,
)
from .action_plan import overdue_actions_for
from .sent_referrals import SentBy, needs_attention, referrals_sent


def received(actor: Actor, *, now: dt.datetime | None = None) -> QuerySet[Referral]:
    """Referrals the acting organisation received and sees (the inbox's scope)."""
    return access.referrals_visible_to(actor, now=now).filter(
        receiver_organisation_id=actor.organisation.pk
    )


def to_answer(actor: Actor) -> QuerySet[Referral]:
    """Received, waiting to be accepted or refused: the answer due first on top."""
    return received(actor).filter(status=ReferralStatus.SENT).order_by("acknowledge_due_at", "id")


def awaiting_outcome(actor: Actor, *, now: dt.datetime | None = None) -> QuerySet[Referral]:
    """Received referrals whose appointment has passed with no attendance or absence recorded,
    the oldest appointment first. An EXISTS rather than a join: the rows, and the count, are
    of referrals, never of appointments."""
    now = now or timezone.now()
    passed = Appointment.objects.filter(
        referral_id=OuterRef("pk"), outcome=AppointmentOutcome.PENDING, starts_at__lt=now
    )
    return (
        received(actor, now=now)
        .filter(Exists(passed), status=ReferralStatus.APPOINTMENT_SET)
        .annotate(appointment_at=Subquery(passed.order_by("starts_at").values("starts_at")[:1]))
        .order_by("appointment_at", "id")
    )


def caseload(
    actor: Actor, *, now: dt.datetime | None = None, user: int | None = None
) -> QuerySet[Pathway]:
    """The acting user's open pathways (référent, or in charge of a received referral still
    handled: `access.caseload_of`, whose `now` and `user` these are), the latest opened
    first."""
    return access.caseload_of(actor, now=now, user=user).order_by("-opened_at", "-id")


def overdue_actions(actor: Actor) -> QuerySet[PlanAction]:
    """The plan actions the acting organisation holds and let pass their due date."""
    return overdue_actions_for(actor)


def sent_to_look_at(actor: Actor) -> QuerySet[Referral]:
    """Referrals the acting user sent whose receiver's answer needs them (« à regarder »,
    `sent_referrals.NEEDS_ATTENTION`), the latest sent first."""
    return referrals_sent(actor, by=SentBy.ME).filter(needs_attention()).order_by("-sent_at", "-id")
