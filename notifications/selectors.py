"""Reads of the alerting machinery. System reads (the scan) take `now`; user reads are scoped
through `parcours.access`, the one place that decides who sees a referral."""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import BooleanField, Exists, OuterRef, QuerySet
from django.db.models.expressions import RawSQL

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
        # Never an alert about a referral its recipients cannot see: an archived pathway is seen
        # by its owner alone (an open referral's parties otherwise always keep it, ADR 0010).
        pathway__archived_at__isnull=True,
        **{f"{rule.due_field}__lte": now},
    ).filter(~_not_yet_raised(kind))


def appointments_past_grace(*, now: dt.datetime) -> QuerySet[Appointment]:
    """Pending appointments past start + grace with no outcome recorded, on referrals still
    waiting for that appointment, not yet alerted as no-shows."""
    return Appointment.objects.filter(
        outcome=AppointmentOutcome.PENDING,
        outcome_due_at__lte=now,
        referral__status=ReferralStatus.APPOINTMENT_SET,
        referral__pathway__archived_at__isnull=True,
    ).filter(~_not_yet_raised(AlertKind.NO_SHOW, "referral_id"))


PAGE = 500


def _keyset_pages(queryset: QuerySet, field: str, columns: tuple[str, ...]) -> Iterator[tuple]:
    """The rows of `queryset` in (`field`, id) order, PAGE at a time, each page starting after the
    last row seen: `(field, id) > (last deadline, last id)`.

    Why pages: ordered by the partial index's column with a LIMIT, the planner walks that index
    and stops early; one unbounded query (sort of every due row, anti-join on the alerts) took
    0.5–1 s per kind at 3 M referrals, the pages take tens of ms (docs/performance.md). The row
    comparison becomes an index bound. `columns` must start with the id, then `field`.
    """
    table = queryset.model._meta.db_table
    column = queryset.model._meta.get_field(field).column
    after = f'("{table}"."{column}", "{table}"."id") > (%s, %s)'  # names from the model's meta
    last: tuple | None = None
    while True:
        page = queryset
        if last is not None:
            page = page.filter(RawSQL(after, last, output_field=BooleanField()))  # noqa: S611
        rows = list(page.order_by(field, "pk").values_list(*columns)[:PAGE])
        yield from rows
        if len(rows) < PAGE:
            return
        last = (rows[-1][1], rows[-1][0])


def referrals_due(kind: str, *, now: dt.datetime) -> Iterator[DueReferral]:
    """Every referral that must get a level-1 alert of `kind` now, oldest deadline first, read in
    keyset pages (the caller may insert alerts between two pages)."""
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
        for referral_id, due_at, appointment_id in _keyset_pages(
            recorded.annotate(missed=last_missed), "no_show_at", ("pk", "no_show_at", "missed")
        ):
            yield DueReferral(referral_id, due_at or now, appointment_id)
        for appointment_id, due_at, referral_id in _keyset_pages(
            appointments_past_grace(now=now),
            "outcome_due_at",
            ("pk", "outcome_due_at", "referral_id"),
        ):
            yield DueReferral(referral_id, due_at or now, appointment_id)
        return
    field = RULES[kind].due_field
    for referral_id, due_at in _keyset_pages(
        referrals_past_deadline(kind, now=now), field, ("pk", field)
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
            referral__pathway__archived_at__isnull=True,  # seen by its owner alone
        )
        .filter(~Exists(escalated))
        .order_by("created_at", "pk")
    )


def alerts_visible_to(actor: Actor) -> QuerySet[Alert]:
    """Alerts about referrals the actor's organisation sent or received and may see."""
    return Alert.objects.filter(referral__in=access.referrals_concerning(actor))
