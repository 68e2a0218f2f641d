"""Refreshing the referral statistics (issue 18): `ReferralMonthlyFigure` rows computed from the
referrals by GROUP BY in the database — never per request, never a loop over referrals.

Which months are recomputed (incremental):
- the current month and the `months_back` before it (every run: what is still moving);
- the months of the referrals changed since the previous run began, minus `OVERLAP` (a
  transaction that saved before that run began but committed after it is caught here), in
  every version the history keeps of them: a declined réorientation restamps `sent_at`, and the
  month the referral left must lose it;
- the months of the referrals whose alerts (notifications) were raised or resolved since;
- every month with `full=True` (`manage.py referral_figures_refresh --full`, the demo's seed),
  and on the first run with no full run on record: the first ever, and the first after a
  migration that adds columns to the figures (it forgets the previous runs, so that months no
  incremental run would revisit get their new columns without an operator's command).

A month is rebuilt whole, in one transaction: its cells are deleted, then written again from the
referrals sent in it. Anonymisation keeps the referrals' partners, states and dates and writes
with `.update()` (no `updated_at` move): it changes no figure, and a refresh after it gives the
same numbers (tests/statistics/test_refresh.py).

Side effects: none beyond the figures and one `ReferralFigureRefresh` row. Not journaled: the
figures hold no personal data (the access journal records accesses to people's records).
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from ..dates import add_months
from ..models import (
    Appointment,
    AppointmentOutcome,
    Referral,
    ReferralFigureRefresh,
    ReferralMonthlyFigure,
    ReferralOutcome,
    ReferralStatus,
    RefusalReason,
)

# Months recomputed on every run besides the current one: answers, appointments and outcomes
# of recent referrals still come in.
MONTHS_BACK = 2
# How far before the previous run's start changed referrals are looked for (see above).
OVERLAP = dt.timedelta(hours=1)
# One refresh at a time (PostgreSQL advisory lock; the key is arbitrary but fixed).
LOCK_KEY = 1_804_180_018

KEYS = ("month", "sender_organisation_id", "receiver_organisation_id", "receiver_service_id")


@dataclass
class RefreshReport:
    months: list[dt.date] = field(default_factory=list)
    cells: int = 0
    full: bool = False

    def as_dict(self) -> dict:
        return {
            "months": [m.isoformat() for m in self.months],
            "cells": self.cells,
            "full": self.full,
        }


def _month_of(field_name: str) -> TruncMonth:
    # Months in Paris time: a referral sent on 31 March at 23:30 is March's.
    return TruncMonth(field_name, output_field=DateField(), tzinfo=timezone.get_current_timezone())


def _month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    paris = timezone.get_current_timezone()
    end_month = add_months(month, 1)
    return (
        dt.datetime(month.year, month.month, 1, tzinfo=paris),
        dt.datetime(end_month.year, end_month.month, 1, tzinfo=paris),
    )


def _sent_in(months: Iterable[dt.date]) -> Q:
    ranges = [Q(sent_at__gte=start, sent_at__lt=end) for start, end in map(_month_bounds, months)]
    return reduce(or_, ranges, Q(pk__in=[]))


def _duration(later: str | Coalesce, earlier: str) -> ExpressionWrapper:
    later_expression = F(later) if isinstance(later, str) else later
    return ExpressionWrapper(later_expression - F(earlier), output_field=DurationField())


def _seconds(value: dt.timedelta | None) -> int:
    return max(int(value.total_seconds()), 0) if value is not None else 0


def _referral_cells(referrals: QuerySet[Referral]) -> dict[tuple, dict[str, Any]]:
    """The referral counts of each cell, in one GROUP BY."""
    answered_at = Coalesce("accepted_at", "refused_at", "transfer_proposed_at", "transferred_at")
    first_appointment = Subquery(
        Appointment.objects.filter(referral=OuterRef("pk"))
        .exclude(outcome=AppointmentOutcome.CANCELLED)
        .order_by("starts_at")
        .values("starts_at")[:1]
    )
    answered = Q(answered_at__isnull=False, answered_at__gte=F("sent_at"))
    booked = Q(first_appointment_at__isnull=False, first_appointment_at__gte=F("sent_at"))
    refusals = {
        f"refused_{reason}": Count(
            "pk", filter=Q(status=ReferralStatus.REFUSED, refusal_reason=reason)
        )
        for reason in RefusalReason.values
    }
    outcomes = {
        f"outcome_{outcome}": Count("pk", filter=Q(status=ReferralStatus.CLOSED, outcome=outcome))
        for outcome in ReferralOutcome.values
    }
    rows = (
        referrals.annotate(
            month=_month_of("sent_at"),
            answered_at=answered_at,
            first_appointment_at=first_appointment,
        )
        .values(*KEYS, "receiver_organisation__employment_area_id")
        .order_by()
        .annotate(
            sent=Count("pk"),
            answered=Count("pk", filter=answered),
            answer_time=Sum(_duration("answered_at", "sent_at"), filter=answered),
            answered_on_time=Count(
                "pk", filter=answered & Q(answered_at__lte=F("acknowledge_due_at"))
            ),
            accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
            refused=Count("pk", filter=Q(status=ReferralStatus.REFUSED)),
            expired=Count("pk", filter=Q(status=ReferralStatus.EXPIRED)),
            withdrawn=Count("pk", filter=Q(status=ReferralStatus.WITHDRAWN)),
            transferred=Count("pk", filter=Q(status=ReferralStatus.TRANSFERRED)),
            with_appointment=Count("pk", filter=booked),
            appointment_time=Sum(_duration("first_appointment_at", "sent_at"), filter=booked),
            appointment_on_time=Count(
                "pk",
                filter=booked
                & Q(accepted_at__isnull=False)
                & Q(first_appointment_at__lte=F("first_appointment_due_at")),
            ),
            closed=Count("pk", filter=Q(status=ReferralStatus.CLOSED)),
            **refusals,
            **outcomes,
        )
    )
    cells = {}
    for row in rows:
        key = tuple(row.pop(k) for k in KEYS)
        row["employment_area_id"] = row.pop("receiver_organisation__employment_area_id")
        row["answer_seconds"] = _seconds(row.pop("answer_time"))
        row["appointment_seconds"] = _seconds(row.pop("appointment_time"))
        cells[key] = row
    return cells


def _appointment_cells(referrals: QuerySet[Referral]) -> dict[tuple, dict[str, int]]:
    """Appointments kept and missed of each cell's referrals, in one GROUP BY."""
    rows = (
        Appointment.objects.filter(referral__in=referrals.values("pk"))
        .annotate(
            month=_month_of("referral__sent_at"),
            sender_organisation_id=F("referral__sender_organisation_id"),
            receiver_organisation_id=F("referral__receiver_organisation_id"),
            receiver_service_id=F("referral__receiver_service_id"),
        )
        .values(*KEYS)
        .order_by()
        .annotate(
            appointments_attended=Count("pk", filter=Q(outcome=AppointmentOutcome.ATTENDED)),
            appointments_no_show=Count("pk", filter=Q(outcome=AppointmentOutcome.NO_SHOW)),
        )
    )
    return {tuple(row.pop(k) for k in KEYS): row for row in rows}


def _alert_model():
    """The notifications' alert rows, reached through the referral's reverse relation `alerts`
    (the notifications app sits above this one: named by the relation, never imported)."""
    return Referral._meta.get_field("alerts").related_model


# Alert rows: 1 is the alert itself (its rungs of escalation are other rows, not counted).
FIRST_LEVEL = 1
RESOLVED = "resolved"


def _alert_cells(referrals: QuerySet[Referral]) -> dict[tuple, dict[str, int]]:
    """Alerts raised (level 1: one per delay crossed) and resolved of each cell's referrals,
    in one GROUP BY; they count with their referral, in the month it was sent."""
    rows = (
        _alert_model()
        .objects.filter(referral__in=referrals.values("pk"), level=FIRST_LEVEL)
        # The two parties are the alert's own columns (its referral's, copied when raised).
        .annotate(
            month=_month_of("referral__sent_at"),
            receiver_service_id=F("referral__receiver_service_id"),
        )
        .values(*KEYS)
        .order_by()
        .annotate(
            alerts_raised=Count("pk"),
            alerts_resolved=Count("pk", filter=Q(state=RESOLVED)),
        )
    )
    return {tuple(row.pop(k) for k in KEYS): row for row in rows}


def _months_touched(since: dt.datetime) -> set[dt.date]:
    """The months of the referrals changed since `since`, in every version kept of them, and
    of those whose alerts were raised or resolved since (an alert leaves the referral as is)."""
    changed = Referral.objects.filter(updated_at__gte=since, sent_at__isnull=False)
    months = set(changed.annotate(m=_month_of("sent_at")).values_list("m", flat=True).distinct())
    alerted = Referral.objects.filter(
        pk__in=_alert_model()
        .objects.filter(Q(created_at__gte=since) | Q(resolved_at__gte=since))
        .values("referral_id"),
        sent_at__isnull=False,
    )
    months |= set(alerted.annotate(m=_month_of("sent_at")).values_list("m", flat=True).distinct())
    history = Referral.history.model  # type: ignore[attr-defined]
    versions = history.objects.filter(
        id__in=Referral.objects.filter(updated_at__gte=since).values("pk"), sent_at__isnull=False
    )
    months |= set(versions.annotate(m=_month_of("sent_at")).values_list("m", flat=True).distinct())
    return months


def _recent_months(now: dt.datetime, months_back: int) -> set[dt.date]:
    current = timezone.localdate(now).replace(day=1)
    return {add_months(current, -back) for back in range(months_back + 1)}


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


@transaction.atomic
def referral_figures_refresh(
    *, now: dt.datetime | None = None, months_back: int = MONTHS_BACK, full: bool = False
) -> RefreshReport:
    """Recompute the referral statistics of the months that may have moved (all with `full`).

    Idempotent: a second run recomputes the same months to the same numbers. Waits for a
    refresh already running (advisory lock) rather than racing it."""
    started_at = timezone.now()
    now = now or started_at
    _lock()
    full = full or not ReferralFigureRefresh.objects.filter(full=True).exists()
    report = RefreshReport(full=full)
    figures = ReferralMonthlyFigure.objects.all()
    months: set[dt.date] = set()
    if full:
        referrals = Referral.objects.filter(sent_at__isnull=False)
        figures.delete()
    else:
        previous = ReferralFigureRefresh.objects.order_by("-started_at").first()
        months = _recent_months(now, months_back)
        if previous is not None:
            months |= _months_touched(previous.started_at - OVERLAP)
        referrals = Referral.objects.filter(_sent_in(months))
        figures.filter(month__in=months).delete()
    counts = _referral_cells(referrals)
    appointments = _appointment_cells(referrals)
    alerts = _alert_cells(referrals)
    refreshed_at = timezone.now()
    rows = [
        ReferralMonthlyFigure(
            month=month,
            sender_organisation_id=sender,
            receiver_organisation_id=receiver,
            receiver_service_id=service,
            refreshed_at=refreshed_at,
            **values,
            **appointments.get((month, sender, receiver, service), {}),
            **alerts.get((month, sender, receiver, service), {}),
        )
        for (month, sender, receiver, service), values in counts.items()
    ]
    ReferralMonthlyFigure.objects.bulk_create(rows, batch_size=1000)
    report.months = sorted({key[0] for key in counts} if full else months)
    report.cells = len(rows)
    ReferralFigureRefresh.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        months=[m.isoformat() for m in report.months],
        cells=report.cells,
        full=full,
    )
    return report
