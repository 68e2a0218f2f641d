"""Reads of the alerting machinery. System reads (the scan) take `now`; user reads are scoped
through `parcours.access`, the one place that decides who sees a referral."""

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from parcours import access
from parcours.actor import Actor
from parcours.models import Appointment, AppointmentOutcome, Referral, ReferralStatus
from parcours.request_memo import remembered

from .models import Alert, AlertKind, AlertLevel, AlertState, AnswerNotice
from .models.alert import UNRESOLVED_STATES
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


def _no_show_not_yet_raised(referral_ref: str, appointment_ref: str) -> Exists:
    """A no-show alert exists for this very appointment (each absence is alerted once; a second
    one after a re-invitation is another appointment). Without an appointment (0), one per
    referral, as the partial unique constraint `alert_once_per_referral_kind_level` says."""
    return Exists(
        Alert.objects.alias(missed=Coalesce("appointment_id", Value(0))).filter(
            referral_id=OuterRef(referral_ref),
            kind=AlertKind.NO_SHOW,
            level=AlertLevel.FIRST,
            missed=OuterRef(appointment_ref),
        )
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
    ).filter(~_no_show_not_yet_raised("referral_id", "pk"))


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
        # Two sources: a no-show recorded by the receiver, or an outcome never recorded. Each
        # is keyed on the appointment missed: a re-invitation missed again is a new alert.
        last_missed = (
            Appointment.objects.filter(
                referral_id=OuterRef("pk"), outcome=AppointmentOutcome.NO_SHOW
            )
            .order_by("-starts_at", "-id")
            .values("pk")[:1]
        )
        recorded = (
            Referral.objects.filter(status=ReferralStatus.NO_SHOW, no_show_at__lte=now)
            .annotate(missed=Subquery(last_missed))
            .annotate(missed_key=Coalesce("missed", Value(0)))
            .filter(~_no_show_not_yet_raised("pk", "missed_key"))
        )
        for referral_id, due_at, appointment_id in _keyset_pages(
            recorded, "no_show_at", ("pk", "no_show_at", "missed")
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


def alerts_due_for_escalation(*, now: dt.datetime) -> QuerySet[Alert]:
    """Level-1 alerts whose next rung fell due, still unresolved and unacknowledged (the rule
    and the ladder are read again on each before escalating). The filter repeats the partial
    index `alert_awaiting_rung_idx`'s condition so the planner uses it."""
    return Alert.objects.filter(
        level=AlertLevel.FIRST,
        state__in=(AlertState.OPEN, AlertState.NOTIFIED, AlertState.ESCALATED),
        acknowledged_at__isnull=True,
        next_rung_at__isnull=False,
        next_rung_at__lte=now,
        referral__pathway__archived_at__isnull=True,  # seen by its owner alone
    ).order_by("next_rung_at", "pk")


def alerts_visible_to(actor: Actor, *, now: dt.datetime | None = None) -> QuerySet[Alert]:
    """Alerts about referrals the actor's organisation sent or received and may see. The
    alert's own copy of the two parties says the first half by index (the organisation's few
    alerts, not every alert nor every referral it sent or received); the referral's scope
    says the rest."""
    organisation = actor.organisation.pk
    return _in_scope(actor, now).filter(
        Q(sender_organisation_id=organisation) | Q(receiver_organisation_id=organisation)
    )


def _in_scope(actor: Actor, now: dt.datetime | None = None) -> QuerySet[Alert]:
    """Alerts about referrals in the actor's scope (the parties said by the caller)."""
    return Alert.objects.filter(referral__in=access.referrals_concerning(actor, now=now))


def referral_alerts_visible_to(
    actor: Actor, now: dt.datetime | None, referral: int | Referral
) -> QuerySet[Alert]:
    """The alerts of one referral the actor may see, newest first (the referral's page)."""
    return alerts_visible_to(actor, now=now).filter(referral=referral).order_by("-created_at")


# Compiled once per role (issue 17): built and compiled on every referral page before.
# One referral's: prepared (parcours/prepared_statements.py).
REFERRAL_ALERTS = access.ScopedRows(Alert, referral_alerts_visible_to, "referral", prepared=True)


def referral_alerts(actor: Actor, referral: Referral) -> list[Alert]:
    """`referral_alerts_visible_to`'s rows, through the compiled statement (the ORM's for an
    actor whose scope has another shape: personal grants, a receiver's link)."""
    return REFERRAL_ALERTS.read(actor, referral=referral.pk)


def answers_visible_to(actor: Actor) -> QuerySet[AnswerNotice]:
    """The answers told to the acting user about referrals their acting organisation sent and
    still sees (issue 14): a user of two organisations reads each one's answers while acting
    for it, and an answer about a referral the organisation no longer sees (its grace period
    over, the record archived) leaves with it."""
    return AnswerNotice.objects.filter(
        recipient_id=actor.account.pk,
        referral__in=access.referrals_visible_to(actor).filter(
            sender_organisation_id=actor.organisation.pk
        ),
    )


def open_alerts_visible_to(actor: Actor, now: dt.datetime | None = None) -> QuerySet[Alert]:
    """The alerts still to deal with (not resolved) the actor may see: the home page's block,
    the alerts page's default list and the header's badge count this one queryset."""
    # The unresolved states by name: the partial indexes' own condition.
    return alerts_visible_to(actor, now=now).filter(state__in=UNRESOLVED_STATES)


# Their count, compiled once per role: the header's badge on every page (issue 17).
OPEN_ALERTS = access.ScopedCount(Alert, open_alerts_visible_to)


# The request memo's name for the badge's count (forgotten when alerts resolve).
OPEN_ALERTS_BADGE = "open_alerts_badge"


# The header's badge and the home's « Alertes » block count no further: « 99+ » beyond. An
# organisation with thousands of unresolved alerts would otherwise check each one's scope on
# every page (issue 17, at 3 M referrals: 18 ms for 1,500 alerts, 250 ms for 14,500; up to the
# hundredth, 3.5 ms).
BADGE_MOST = 100


def open_alerts_badge(actor: Actor) -> int:
    """The open alerts' count up to `BADGE_MOST` (reached: « 99+ »), read once per request for
    the header's badge and the home's block."""
    return remembered(
        (OPEN_ALERTS_BADGE, actor.user_id, actor.organisation.pk),
        lambda: OPEN_ALERTS.count_up_to(actor, BADGE_MOST),
    )


@dataclass(frozen=True)
class Bounded:
    """A count read up to one past what is said: `shown` (at most the bound) and whether there
    are `more` — « plus de 99 », « 99+ », « Plus de 200 alertes en cours »."""

    shown: int
    more: bool

    @classmethod
    def of(cls, counted: int, most: int) -> "Bounded":
        """`counted` up to `most` + 1 (or further), said up to `most`."""
        return cls(min(counted, most), counted > most)


def open_alerts_badge_bounded(actor: Actor) -> Bounded:
    """The badge's count as the header and the home's block say it: up to 99, « plus de 99 »
    beyond."""
    return Bounded.of(open_alerts_badge(actor), BADGE_MOST - 1)


# Newest first: the home's block and the alerts page.
NEWEST_FIRST = ("-created_at", "-id")

AlertRows = Callable[[QuerySet[Alert]], QuerySet[Alert]]


def _as_they_are(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    return alerts


def _open_alerts_halves(actor: Actor) -> tuple[QuerySet[Alert], QuerySet[Alert]]:
    """`open_alerts_visible_to` in two disjoint halves: the alerts of referrals the organisation
    sent, and of those it received (never both: `referral_sender_is_not_receiver`). Each half
    is one party's partial index (`alert_unresolved_sender_idx`, `…_receiver_idx`: the party,
    then newest first)."""
    organisation = actor.organisation.pk
    # Each half names its party alone: beside the two parties' OR, PostgreSQL would not walk
    # the party's index in order.
    unresolved = _in_scope(actor).filter(state__in=UNRESOLVED_STATES)
    return (
        unresolved.filter(sender_organisation_id=organisation),
        unresolved.filter(receiver_organisation_id=organisation),
    )


def open_alerts_newest(
    actor: Actor, start: int, stop: int, rows: AlertRows = _as_they_are
) -> list[Alert]:
    """`open_alerts_visible_to`'s alerts `start` to `stop`, newest first, read as `rows`
    shapes them (what they join, what they leave unread). Each half walks its index in order,
    checks the scope of each alert it meets and stops once it holds `stop` of them; the two
    halves are merged (`UNION ALL`, then the order and the slice). As one query ordered over
    both parties, PostgreSQL checked the scope of every unresolved alert of the organisation
    before sorting: it cannot tell how many pass (issue 17: 360 ms for 14,500 alerts at 3 M
    referrals, against 0.3 ms)."""
    if stop <= start:
        return []
    sent, received = (
        half.values_list("created_at", "id").order_by(*NEWEST_FIRST)[:stop]
        for half in _open_alerts_halves(actor)
    )
    merged = sent.union(received, all=True).order_by(*NEWEST_FIRST)[start:stop]
    ids = [pk for _created_at, pk in merged]
    found = rows(Alert.objects.all()).in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


class OpenAlertsNewest:
    """The open alerts newest first as Django's `Paginator` reads a list — `count()` and a
    slice — counted up to `most` (the badge's compiled count, `OPEN_ALERTS.count_up_to`, one
    further): the pages reach the `most` newest, and `bounded.more` says whether there are
    others. Its rows: `open_alerts_newest`."""

    def __init__(self, actor: Actor, most: int, rows: AlertRows = _as_they_are):
        self.actor, self.most, self.rows = actor, most, rows
        self._bounded: Bounded | None = None

    @property
    def bounded(self) -> Bounded:
        if self._bounded is None:
            counted = OPEN_ALERTS.count_up_to(self.actor, self.most + 1)
            self._bounded = Bounded.of(counted, self.most)
        return self._bounded

    def count(self) -> int:
        return self.bounded.shown

    def __getitem__(self, index: slice) -> list[Alert]:
        return open_alerts_newest(self.actor, index.start or 0, index.stop, self.rows)
