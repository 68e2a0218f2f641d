"""Raising, escalating, resolving and acknowledging alerts. Alerts are not historied: their
lifecycle is stamped in their own columns (raised, notified, escalated, resolved, acknowledged).
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from parcours.actor import Actor
from parcours.errors import Conflict
from parcours.models import Referral
from parcours.request_memo import forget
from parcours.services.delays import Ladder, ladders_for

from ..models import ALERT_STATE_MOVES, Alert, AlertKind, AlertLevel, AlertState
from ..models.alert import UNRESOLVED_STATES
from ..rules import RULES
from ..selectors import (
    OPEN_ALERTS_BADGE,
    DueReferral,
    alerts_due_for_escalation,
    alerts_visible_to,
    referrals_due,
)
from .outbox import deliveries_create, outbox_cancel_for

logger = logging.getLogger(__name__)

BATCH = 500  # referrals per transaction: short locks, bounded memory
# After a pass that raised this many alerts (a backlog: first deployment, a long outage), the
# planner's statistics of the notifications tables are refreshed at once: without them the
# scan's anti-joins go from 0.5 s to 5 s at 3 M referrals (docs/performance.md). 0.15 s.
ANALYZE_AFTER = 1000


@dataclass
class ScanReport:
    raised: dict[str, int] = field(default_factory=dict)
    escalated: int = 0
    resolved: int = 0
    messages: int = 0

    def as_dict(self) -> dict:
        return {
            "raised": self.raised,
            "escalated": self.escalated,
            "resolved": self.resolved,
            "messages": self.messages,
        }


def _check_move(source: str, target: str) -> None:
    if (source, target) not in ALERT_STATE_MOVES:
        raise Conflict(
            _("Une alerte « %(source)s » ne peut pas passer à « %(target)s ».")
            % {"source": AlertState(source).label, "target": AlertState(target).label}
        )


@dataclass(frozen=True)
class AlertRow:
    """An alert to insert: level 1 (with when its first rung falls due) or a rung's."""

    referral_id: int
    kind: str
    level: int
    due_at: dt.datetime
    appointment_id: int | None = None
    audience: str = ""
    next_rung_at: dt.datetime | None = None


def _insert_alerts(rows: list[AlertRow], *, now: dt.datetime) -> list[Alert]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the unique (referral, kind, level,
    appointment) decides; a concurrent scan's rows are skipped, never duplicated, never an
    error."""
    if not rows:
        return []
    table = Alert._meta.db_table
    # The referral's two parties go on the alert (the badge's index reads them).
    parties = {
        pk: (sender, receiver)
        for pk, sender, receiver in Referral.objects.filter(
            pk__in={row.referral_id for row in rows}
        ).values_list("pk", "sender_organisation_id", "receiver_organisation_id")
    }
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, 0, %s, '', %s, %s)"] * len(rows))
    params: list = []
    for row in rows:
        params += [row.referral_id, row.kind, row.level, AlertState.OPEN, row.due_at]
        params += [row.appointment_id, row.audience, row.next_rung_at, now]
        params += parties[row.referral_id]
    sql = (
        f"INSERT INTO {table} (referral_id, kind, level, state, due_at, appointment_id, "  # noqa: S608
        "audience, next_rung_at, last_rung, created_at, resolution, sender_organisation_id, "
        f"receiver_organisation_id) VALUES {values} ON CONFLICT DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    return list(Alert.objects.filter(pk__in=ids))


def _ladders(referral_ids: set[int], now: dt.datetime) -> dict[int, Ladder]:
    """Referral id → the escalation ladder that governs its alerts today."""
    pairs = dict(
        (pk, (sender, receiver))
        for pk, sender, receiver in Referral.objects.filter(pk__in=referral_ids).values_list(
            "pk", "sender_organisation_id", "receiver_organisation_id"
        )
    )
    ladders = ladders_for(pairs=set(pairs.values()), on=timezone.localdate(now))
    return {pk: ladders[pair] for pk, pair in pairs.items()}


def alerts_raise(*, kind: str, due: list[DueReferral], now: dt.datetime) -> tuple[int, int]:
    """Level-1 alerts for these referrals and their e-mails, in one transaction; each knows when
    its first rung of escalation falls due. Returns (alerts raised, outbox messages written)."""
    if not due:
        return 0, 0
    with transaction.atomic():
        ladders = _ladders({row.referral_id for row in due}, now)
        rows = [
            AlertRow(
                referral_id=row.referral_id,
                kind=kind,
                level=AlertLevel.FIRST,
                due_at=row.due_at,
                appointment_id=row.appointment_id,
                next_rung_at=ladders[row.referral_id].next_at(raised_at=now, after_order=0),
            )
            for row in due
        ]
        alerts = _insert_alerts(rows, now=now)
        messages = deliveries_create(alerts=alerts, now=now)
    return len(alerts), messages


def alerts_escalate(*, now: dt.datetime) -> tuple[int, int]:
    """The rungs that fell due: for each level-1 alert left as it was (unresolved, nobody took
    it into account), one alert per rung of its ladder whose delay passed — each (alert, rung)
    once, whatever runs twice — to that rung's audience. The ladder is read now (the agreement
    that governs the referral today, else the default one). Returns (rung alerts raised,
    outbox messages written)."""
    escalated = messages = 0
    while True:
        with transaction.atomic():
            candidates = list(
                alerts_due_for_escalation(now=now)
                .select_for_update(of=("self",), skip_locked=True)
                .select_related("referral", "appointment")[:BATCH]
            )
            if not candidates:
                break
            still = [a for a in candidates if RULES[a.kind].holds(a.referral, a)]
            for alert in candidates:
                if alert not in still:
                    _resolve(alert, now=now, why=_("L'orientation a évolué"))
            ladders = _ladders({a.referral_id for a in still}, now)
            rows: list[AlertRow] = []
            for alert in still:
                ladder = ladders[alert.referral_id]
                due = ladder.due(raised_at=alert.created_at, after_order=alert.last_rung, now=now)
                rows += [
                    AlertRow(
                        referral_id=alert.referral_id,
                        kind=alert.kind,
                        level=AlertLevel.FIRST + rung.order,
                        due_at=alert.created_at + dt.timedelta(hours=rung.after_hours),
                        appointment_id=alert.appointment_id,
                        audience=rung.audience,
                    )
                    for rung in due
                ]
                if due:
                    alert.last_rung = due[-1].order
                    if alert.state != AlertState.ESCALATED:
                        _check_move(alert.state, AlertState.ESCALATED)
                        alert.state = AlertState.ESCALATED
                        alert.escalated_at = now
                # Past the rungs just raised; a ladder changed meanwhile is read as it is now.
                alert.next_rung_at = ladder.next_at(
                    raised_at=alert.created_at, after_order=alert.last_rung
                )
            raised = _insert_alerts(rows, now=now)
            messages += deliveries_create(alerts=raised, now=now)
            escalated += len(raised)
            Alert.objects.bulk_update(still, ["state", "escalated_at", "last_rung", "next_rung_at"])
    return escalated, messages


def _resolve(alert: Alert, *, now: dt.datetime, why: str) -> None:
    _check_move(alert.state, AlertState.RESOLVED)
    alert.state = AlertState.RESOLVED
    alert.resolved_at = now
    alert.resolution = why[:200]
    alert.save(update_fields=["state", "resolved_at", "resolution"])
    outbox_cancel_for(alert_ids=[alert.pk], now=now)


def alerts_resolve_for_referral(*, referral: Referral, now: dt.datetime, why: str = "") -> int:
    """Resolve the alerts of a referral that moved on (called in the move's transaction)."""
    resolved = 0
    for alert in (
        Alert.objects.filter(referral=referral, state__in=UNRESOLVED_STATES)
        .select_related("appointment")
        .select_for_update(of=("self",))
    ):
        if not RULES[alert.kind].holds(referral, alert):
            _resolve(
                alert,
                now=now,
                why=why or _("Orientation passée à l'état « %s »") % referral.get_status_display(),
            )
            resolved += 1
    if resolved:
        # A page rendered after this move counts afresh.
        forget(OPEN_ALERTS_BADGE)
    return resolved


def alerts_resolve_stale(*, now: dt.datetime) -> int:
    """Safety net of the scan: unresolved alerts whose rule no longer holds (a move made
    without the domain signal, e.g. a data fix) are resolved."""
    # One pass over the unresolved alerts (partial index alert_unresolved_idx), the rules
    # applied to plain values: the same table as everywhere, no second copy in SQL.
    rows = (
        Alert.objects.filter(state__in=UNRESOLVED_STATES)
        .order_by()
        .values_list("kind", "referral_id", "referral__status", "appointment__outcome")
    )
    stale = {
        referral_id
        for kind, referral_id, status, outcome in rows.iterator(chunk_size=5000)
        if not RULES[kind].holds_for(status, outcome)
    }
    resolved = 0
    for referral in Referral.objects.filter(pk__in=stale):
        with transaction.atomic():
            resolved += alerts_resolve_for_referral(referral=referral, now=now)
    return resolved


def _refresh_statistics() -> None:
    if connection.vendor != "postgresql":
        return
    tables = [Alert._meta.db_table, "notifications_delivery", "notifications_outboxmessage"]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(tables))


def alerts_scan(*, now: dt.datetime) -> ScanReport:
    """One pass: resolve what moved on, raise what is due, escalate what stayed unanswered.
    Safe to run twice at once, or again after a crash: the unique constraint on (referral,
    kind, level, appointment) lets exactly one alert in."""
    report = ScanReport()
    report.resolved = alerts_resolve_stale(now=now)
    for kind in AlertKind.values:
        pending: list[DueReferral] = []
        raised = 0
        for row in referrals_due(kind, now=now):
            pending.append(row)
            if len(pending) == BATCH:
                count, messages = alerts_raise(kind=kind, due=pending, now=now)
                raised += count
                report.messages += messages
                pending = []
        count, messages = alerts_raise(kind=kind, due=pending, now=now)
        report.raised[kind] = raised + count
        report.messages += messages
    report.escalated, messages = alerts_escalate(now=now)
    report.messages += messages
    if sum(report.raised.values()) + report.escalated >= ANALYZE_AFTER:
        _refresh_statistics()
    logger.info("alerts_scan at %s: %s", now.isoformat(), report.as_dict())
    return report


@transaction.atomic
def alert_acknowledge(*, actor: Actor, alert_id: int, now: dt.datetime) -> Alert:
    """The actor has seen the alert and is on it: it climbs no further rung of its ladder
    (acknowledging one of its rungs stops the ladder too). Out of scope → Alert.DoesNotExist
    (404). Acknowledging twice keeps the first stamp."""
    alert = alerts_visible_to(actor).select_for_update(of=("self",)).get(pk=alert_id)
    if alert.state == AlertState.RESOLVED:
        raise Conflict(_("Cette alerte est déjà résolue : il n'y a plus rien à prendre en compte."))
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.acknowledged_by = actor.user
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    # The chain's level-1 alert (this one, or the one this rung escalates) climbs no further.
    same_appointment = (
        Q(appointment_id=alert.appointment_id)
        if alert.appointment_id is not None
        else Q(appointment__isnull=True)
    )
    Alert.objects.filter(
        same_appointment,
        referral_id=alert.referral_id,
        kind=alert.kind,
        level=AlertLevel.FIRST,
    ).exclude(next_rung_at=None).update(next_rung_at=None)
    return alert
