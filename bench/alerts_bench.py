"""No-show alerts at national scale: the periodic scan over ~3 M referrals, and the outbox relay.

Run against a database filled by `manage.py seed_scale --pathways 1000000`, see bench/README.md §7:

    DJANGO_SECRET_KEY=x DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours_bench_alerts \\
    DJANGO_SETTINGS_MODULE=backend.settings.local .venv/bin/python bench/alerts_bench.py \\
        [--due-fraction 0.01] [--mails 2000] [--repeat 20] [--no-analyze]

What it does, in order (it prints numbers; it never asserts on a duration):

1. Arranges the data at a chosen `now` (the run's clock, to the minute): every alert, delivery
   and outbox row is deleted (TRUNCATE); every waiting referral past one of its deadlines is
   moved out of due range (the deadline is put 1–16 days after `now`); then a deterministic
   sample — `--due-fraction` of *all* referrals, drawn among those in a waiting state (sent,
   accepted, appointment_set, no_show) in md5(id, seed) order — gets one deadline 1 h–20 days
   before `now` (a third of them a second one: the `never_arrived` deadline as well). So exactly
   that many referrals are due and none has an alert. Plain SQL UPDATEs on the bench database,
   then VACUUM ANALYZE. Bench artefact: the non-sampled `no_show` referrals get a `no_show_at`
   in the future (there is no other way to make them "not due" without an alert).
2. Counts: referrals, rows of each partial index, due referrals per kind (from the selectors).
3. EXPLAIN (ANALYZE, BUFFERS) of every selection query the scan runs (the SQL captured while
   `notifications.selectors.referrals_due` runs), and whether each uses its partial index.
4. Times the selection queries alone (`list(referrals_due(kind, now))`, the four kinds), a first
   `alerts_scan(now)` that raises every due alert and writes its deliveries and outbox rows,
   then — after `ANALYZE` of the notifications tables, autovacuum's job (`--no-analyze`: none,
   and their statistics deleted, as on a fresh deployment) — steady-state `alerts_scan(now)`
   passes (nothing left to raise: what beat runs every 5 minutes), with a per-phase breakdown
   and the slowest SQL of one pass.
   Each selection measurement runs two variants, interleaved: **shipped** (the selectors as
   they are: since 529c2d5, keyset pages of 500 ordered by `(deadline, id)`) and **unbounded**
   (`unbounded_referrals_due` below: the same querysets each read in one query, as first
   written — what the bench measured first, kept for the comparison). The unbounded variant
   also gets a first scan of its own (alerts deleted again before it).
5. Relay throughput: an aiosmtpd sink in this process (a thread, 127.0.0.1, free port, answers
   250 and records each Message-ID and SMTP session), Django's SMTP backend pointed at it,
   `--mails` outbox rows left pending (the others are parked a year ahead),
   `outbox_relay(now, budget_seconds=600)`: mails/s end to end (claim + build and render + SMTP
   + record) and a check that the sink received exactly that many distinct Message-IDs. Then
   the same with a new SMTP session for every message (the backend closed after each send, as
   the relay did before it opened its connection once per pass), and the SQL of a 20-mail pass.

It refuses a database whose name does not contain "bench": it rewrites deadlines.
"""

import argparse
import datetime as dt
import email
import email.policy
import logging
import os
import socket
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, nullcontext
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

import django

django.setup()

from aiosmtpd.controller import Controller  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.mail.backends import smtp as smtp_backend  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import OuterRef  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from measures import pct, rows, scalar, sql  # noqa: E402

from notifications import selectors  # noqa: E402
from notifications.models import (  # noqa: E402
    Alert,
    AlertKind,
    Delivery,
    OutboxMessage,
    OutboxStatus,
)
from notifications.rules import RULES  # noqa: E402
from notifications.selectors import DueReferral, referrals_due  # noqa: E402
from notifications.services import alerts as alerts_service  # noqa: E402
from notifications.services import outbox as outbox_service  # noqa: E402
from notifications.services import relay as relay_service  # noqa: E402
from parcours.models import (  # noqa: E402
    Appointment,
    AppointmentOutcome,
    Referral,
    ReferralStatus,
)

settings.DEBUG = False  # no query log kept (CaptureQueriesContext forces it where needed)
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
logging.getLogger("notifications").setLevel(logging.WARNING)  # one INFO line per scan

REFERRAL = Referral._meta.db_table
APPOINTMENT = Appointment._meta.db_table
NOTIFICATION_TABLES = (
    Alert._meta.db_table,
    Delivery._meta.db_table,
    OutboxMessage._meta.db_table,
)
WAITING = ("sent", "accepted", "appointment_set", "no_show")
GRACE_HOURS = getattr(settings, "PARCOURS_DEFAULT_NO_SHOW_GRACE_HOURS", 24)

# Partial index → (table, its condition): the rows the scan may ever read.
PARTIAL_INDEXES = {
    "referral_awaiting_answer_idx": (REFERRAL, "status = 'sent'"),
    "referral_awaiting_booking_idx": (REFERRAL, "status = 'accepted'"),
    "referral_awaiting_arrival_idx": (
        REFERRAL,
        "status IN ('accepted', 'appointment_set', 'no_show')",
    ),
    "referral_no_show_idx": (REFERRAL, "status = 'no_show'"),
    "appointment_outcome_due_idx": (APPOINTMENT, "outcome = 'pending'"),
}
# Selection query (its FROM table) → the partial index its plan must use.
EXPECTED_INDEX = {
    AlertKind.UNANSWERED: {REFERRAL: "referral_awaiting_answer_idx"},
    AlertKind.NO_APPOINTMENT: {REFERRAL: "referral_awaiting_booking_idx"},
    AlertKind.NO_SHOW: {
        REFERRAL: "referral_no_show_idx",
        APPOINTMENT: "appointment_outcome_due_idx",
    },
    AlertKind.NEVER_ARRIVED: {REFERRAL: "referral_awaiting_arrival_idx"},
}


# --- The first version's selection, for comparison ---------------------------------------------


def unbounded_referrals_due(kind: str, *, now: dt.datetime) -> Iterator[DueReferral]:
    """`selectors.referrals_due` as first written (49f303a): the same querysets, each read in
    one unbounded query (ordered by the deadline; by the model's default ordering for the two
    no-show sources). Kept to show what the keyset pages of 529c2d5 changed."""
    if kind == AlertKind.NO_SHOW:
        recorded = Referral.objects.filter(
            status=ReferralStatus.NO_SHOW, no_show_at__lte=now
        ).filter(~selectors._not_yet_raised(kind))
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
        for appointment_id, referral_id, due_at in selectors.appointments_past_grace(
            now=now
        ).values_list("pk", "referral_id", "outcome_due_at"):
            yield DueReferral(referral_id, due_at or now, appointment_id)
        return
    field = RULES[kind].due_field
    for referral_id, due_at in (
        selectors.referrals_past_deadline(kind, now=now).order_by(field).values_list("pk", field)
    ):
        yield DueReferral(referral_id, due_at)


VARIANTS: dict[str, Callable[..., Iterator[DueReferral]]] = {
    "shipped": referrals_due,
    "unbounded": unbounded_referrals_due,
}


def variant(name: str):
    """Make alerts_scan select with this variant."""
    if name == "shipped":
        return nullcontext()
    return mock.patch.object(alerts_service, "referrals_due", VARIANTS[name])


# --- Helpers -----------------------------------------------------------------------------------


def p50_p95(values: list[float]) -> str:
    return f"p50 {statistics.median(values):8.1f} ms | p95 {pct(values, 0.95):8.1f} ms"


def load() -> str:
    """The machine's load: other work running beside the bench skews its p95s."""
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min) / {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def truncate_notifications() -> None:
    sql(f"TRUNCATE {', '.join(NOTIFICATION_TABLES)} RESTART IDENTITY CASCADE")  # answer notices


def forget_notification_statistics() -> None:
    """As on a fresh deployment: no column statistics yet (TRUNCATE and an ANALYZE of the empty
    tables leave the previous run's in pg_statistic). Needs a superuser; bench databases only."""
    sql(
        "DELETE FROM pg_statistic WHERE starelid = ANY(%s::regclass[])",
        [list(NOTIFICATION_TABLES)],
    )


def analyze_notifications() -> float:
    t0 = time.perf_counter()
    for table in NOTIFICATION_TABLES:
        sql(f"ANALYZE {table}")
    return time.perf_counter() - t0


def shape(statement: str) -> str:
    return statement.split(" WHERE ")[0][:120] if " WHERE " in statement else statement[:120]


def top_queries(captured: Iterable[dict], limit: int = 8) -> None:
    """Captured SQL grouped by statement shape (up to WHERE), by total time."""
    shapes: dict[str, list[float]] = defaultdict(list)
    for query in captured:
        shapes[shape(query["sql"])].append(float(query["time"]) * 1000)
    for text, times in sorted(shapes.items(), key=lambda item: -sum(item[1]))[:limit]:
        print(
            f"  {len(times):5d} × {statistics.fmean(times):7.2f} ms = {sum(times):8.0f} ms  {text}"
        )


class Phases:
    """Wall time spent in named functions (wrapped with mock.patch), summed per name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()

    def wrap(self, name: str, function: Callable) -> Callable:
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t0
                self.calls[name] += 1

        return timed

    def wrap_iter(self, name: str, function: Callable) -> Callable:
        """For a generator: only the time spent producing its items counts."""

        def timed(*args, **kwargs) -> Iterator:
            iterator = iter(function(*args, **kwargs))
            self.calls[name] += 1
            while True:
                t0 = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    self.seconds[name] += time.perf_counter() - t0
                    return
                self.seconds[name] += time.perf_counter() - t0
                yield item

        return timed

    def line(self, total: float) -> str:
        """Nested phases are indented: only the top-level ones count towards `other`."""
        parts = [
            f"{name.strip()} {seconds * 1000:,.0f} ms ({self.calls[name]}×)"
            for name, seconds in self.seconds.items()
        ]
        top = sum(s for n, s in self.seconds.items() if not n.startswith(" "))
        return ", ".join([*parts, f"other {(total - top) * 1000:,.0f} ms"])


def scan_phases(phases: Phases) -> ExitStack:
    stack = ExitStack()
    targets = {
        "resolve stale": (alerts_service, "alerts_resolve_stale", phases.wrap),
        "selection": (alerts_service, "referrals_due", phases.wrap_iter),
        "raise": (alerts_service, "alerts_raise", phases.wrap),
        "  insert alerts": (alerts_service, "_insert_alerts", phases.wrap),
        "  deliveries + outbox": (alerts_service, "deliveries_create", phases.wrap),
        "    recipients": (outbox_service, "recipients_for", phases.wrap),
        "escalate": (alerts_service, "alerts_escalate", phases.wrap),
    }
    for name, (module, attribute, wrapper) in targets.items():
        stack.enter_context(
            mock.patch.object(module, attribute, wrapper(name, getattr(module, attribute)))
        )
    return stack


# --- 1. Arrange the data -----------------------------------------------------------------------


def arrange(now: dt.datetime, fraction: float, seed: int) -> int:
    """Exactly round(fraction × referrals) referrals due at `now`, no alert anywhere."""
    t0 = time.perf_counter()
    truncate_notifications()
    total = scalar(f"SELECT count(*) FROM {REFERRAL}")
    target = round(fraction * total)
    # Out of due range: 1–8 days after `now` (9–16 for the first-appointment deadline), spread
    # by id (deterministic).
    later = "%(now)s + interval '1 day' + ({alias}id %% 10080) * interval '1 minute'"
    moved = sql(
        f"""
        UPDATE {REFERRAL} SET
          acknowledge_due_at = CASE WHEN status = 'sent' AND acknowledge_due_at <= %(now)s
              THEN {later.format(alias="")} ELSE acknowledge_due_at END,
          appointment_due_at = CASE WHEN status = 'accepted' AND appointment_due_at <= %(now)s
              THEN {later.format(alias="")} ELSE appointment_due_at END,
          first_appointment_due_at = CASE
              WHEN status IN ('accepted', 'appointment_set', 'no_show')
               AND first_appointment_due_at <= %(now)s
              THEN {later.format(alias="")} + interval '8 days' ELSE first_appointment_due_at END,
          no_show_at = CASE WHEN status = 'no_show' AND no_show_at <= %(now)s
              THEN {later.format(alias="")} ELSE no_show_at END
        WHERE (status = 'sent' AND acknowledge_due_at <= %(now)s)
           OR (status = 'accepted' AND appointment_due_at <= %(now)s)
           OR (status IN ('accepted', 'appointment_set', 'no_show')
               AND first_appointment_due_at <= %(now)s)
           OR (status = 'no_show' AND no_show_at <= %(now)s)
        """,
        {"now": now},
    )
    moved_appointments = sql(
        f"""
        UPDATE {APPOINTMENT} a SET
          outcome_due_at = {later.format(alias="a.")},
          starts_at = {later.format(alias="a.")} - %(grace)s * interval '1 hour'
        WHERE a.outcome = 'pending' AND a.outcome_due_at <= %(now)s
        """,
        {"now": now, "grace": GRACE_HOURS},
    )
    # The sample: md5(id, seed) order among the waiting referrals; recipe and age from its bytes.
    sql("DROP TABLE IF EXISTS bench_due")
    sql(
        f"""
        CREATE TEMP TABLE bench_due AS
        SELECT id, status,
               get_byte(h, 0) %% 3 AS recipe,
               (1 + (get_byte(h, 1) * 256 + get_byte(h, 2)) %% 480) * interval '1 hour' AS age
        FROM (
            SELECT id, status, decode(md5(id::text || ':' || %(seed)s), 'hex') AS h
            FROM {REFERRAL} WHERE status = ANY(%(waiting)s)
        ) s
        ORDER BY h LIMIT %(target)s
        """,
        {"seed": str(seed), "waiting": list(WAITING), "target": target},
    )
    sampled = scalar("SELECT count(*) FROM bench_due")
    if sampled != target:
        raise SystemExit(f"Only {sampled:,} waiting referrals for a target of {target:,}.")
    # recipe 0, 1: the status's own deadline only; recipe 2: the never_arrived one too
    # (appointment_set, recipe 2: never_arrived only, the appointment itself still ahead).
    sql(
        f"""
        UPDATE {REFERRAL} r SET
          acknowledge_due_at = CASE WHEN d.status = 'sent' THEN %(now)s - d.age
              ELSE r.acknowledge_due_at END,
          appointment_due_at = CASE WHEN d.status = 'accepted' THEN %(now)s - d.age
              ELSE r.appointment_due_at END,
          no_show_at = CASE WHEN d.status = 'no_show' THEN %(now)s - d.age ELSE r.no_show_at END,
          first_appointment_due_at = CASE WHEN d.status <> 'sent' AND d.recipe = 2
              THEN %(now)s - d.age / 2 ELSE r.first_appointment_due_at END
        FROM bench_due d WHERE r.id = d.id
        """,
        {"now": now},
    )
    sql(
        f"""
        UPDATE {APPOINTMENT} a SET
          outcome_due_at = %(now)s - d.age,
          starts_at = %(now)s - d.age - %(grace)s * interval '1 hour'
        FROM bench_due d
        WHERE a.referral_id = d.id AND a.outcome = 'pending'
          AND d.status = 'appointment_set' AND d.recipe <> 2
        """,
        {"now": now, "grace": GRACE_HOURS},
    )
    by_status = dict(
        rows("SELECT status || ' / recipe ' || recipe, count(*) FROM bench_due GROUP BY 1")
    )
    arranged = time.perf_counter() - t0
    t0 = time.perf_counter()
    for table in (REFERRAL, APPOINTMENT, *NOTIFICATION_TABLES):
        sql(f"VACUUM (ANALYZE) {table}")
    print(
        f"Arranged at now = {now.isoformat()}: {moved:,} waiting referrals and "
        f"{moved_appointments:,} pending appointments moved out of due range, then "
        f"{sampled:,} referrals made due (seed {seed}) in {arranged:.1f} s; "
        f"VACUUM ANALYZE {time.perf_counter() - t0:.1f} s"
    )
    print(
        "Sample by status / recipe: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(by_status.items()))
    )
    return target


# --- 2. Counts ---------------------------------------------------------------------------------


def counts(now: dt.datetime) -> dict[str, list]:
    total = scalar(f"SELECT count(*) FROM {REFERRAL}")
    appointments = scalar(f"SELECT count(*) FROM {APPOINTMENT}")
    print(f"\n## Data\n\n{total:,} referrals, {appointments:,} appointments.\n")
    print("| partial index | rows (index condition) | size |")
    print("|---|---:|---:|")
    for index, (table, condition) in PARTIAL_INDEXES.items():
        indexed = scalar(f"SELECT count(*) FROM {table} WHERE {condition}")
        size = scalar("SELECT pg_size_pretty(pg_relation_size(%s::regclass))", [index])
        print(f"| `{index}` | {indexed:,} | {size} |")
    due: dict[str, list] = {kind: list(referrals_due(kind, now=now)) for kind in AlertKind.values}
    distinct = {row.referral_id for rows in due.values() for row in rows}
    print(
        "\nDue at now (level-1 alerts to raise): "
        + ", ".join(f"{kind} {len(rows):,}" for kind, rows in due.items())
        + f" — {sum(len(r) for r in due.values()):,} alerts on {len(distinct):,} distinct "
        f"referrals ({100 * len(distinct) / total:.3f} % of all referrals)"
    )
    return due


# --- 3. EXPLAIN --------------------------------------------------------------------------------


def selection_sql(select: Callable, kind: str, now: dt.datetime) -> list[tuple[str, str, int]]:
    """(label, SQL, statements of that shape) for each statement shape the selection of `kind`
    runs: the first statement as executed and, for keyset pages, the last page too."""
    with CaptureQueriesContext(connection) as captured:
        for _row in select(kind, now=now):
            pass
    by_shape: dict[str, list[str]] = defaultdict(list)
    for query in captured.captured_queries:
        by_shape[shape(query["sql"])].append(query["sql"])
    found = []
    for statements in by_shape.values():
        found.append(("first page" if len(statements) > 1 else "", statements[0], len(statements)))
        if len(statements) > 1:
            found.append(("last page", statements[-1], len(statements)))
    return found


def explain_all(now: dt.datetime, label: str, *, show_sql: bool) -> dict[str, dict[str, bool]]:
    print(f"\n## EXPLAIN (ANALYZE, BUFFERS) of the selection queries — {label}")
    verdicts: dict[str, dict[str, bool]] = {}
    for name, select in VARIANTS.items():
        verdicts[name] = {}
        for kind in AlertKind.values:
            for page, statement, runs in selection_sql(select, kind, now):
                # The first column selected is the id of the table the query reads.
                table = APPOINTMENT if statement.startswith(f'SELECT "{APPOINTMENT}"') else REFERRAL
                index = EXPECTED_INDEX[kind][table]
                plan = "\n".join(r[0] for r in rows(f"EXPLAIN (ANALYZE, BUFFERS) {statement}"))
                used = index in plan
                key = f"{kind} ({table.split('_')[1]}{', ' + page if page else ''})"
                verdicts[name][key] = used
                print(
                    f"\n### {name} — {kind}, FROM {table}{', ' + page if page else ''}: {index} "
                    f"{'used' if used else '**NOT USED**'} ({runs} statement(s) of this shape)"
                )
                if show_sql:
                    print(f"\n```sql\n{statement}\n```")
                print(f"\n```\n{plan}\n```")
    return verdicts


# --- 4. Timings --------------------------------------------------------------------------------


def time_selection(now: dt.datetime, repeat: int, label: str) -> None:
    """Both variants, interleaved kind by kind, after a warm-up pass."""
    print(f"\n## Selection queries alone — {label}, {repeat} runs (ms)\n")
    per: dict[tuple[str, str], list[float]] = defaultdict(list)
    totals: dict[str, list[float]] = defaultdict(list)
    rows: dict[tuple[str, str], int] = {}
    for _ in range(repeat + 1):
        total = dict.fromkeys(VARIANTS, 0.0)
        for kind in AlertKind.values:
            for name, select in VARIANTS.items():
                t0 = time.perf_counter()
                rows[(name, kind)] = len(list(select(kind, now=now)))
                elapsed = (time.perf_counter() - t0) * 1000
                per[(name, kind)].append(elapsed)
                total[name] += elapsed
        for name in VARIANTS:
            totals[name].append(total[name])
    print("| kind | rows | shipped (pages) p50 / p95 | unbounded p50 / p95 |")
    print("|---|---:|---:|---:|")
    for kind in AlertKind.values:
        cells = [
            f"{statistics.median(per[(n, kind)][1:]):.1f} / {pct(per[(n, kind)][1:], 0.95):.1f}"
            for n in VARIANTS
        ]
        print(f"| {kind} | {rows[('shipped', kind)]:,} | {' | '.join(cells)} |")
    cells = [
        f"{statistics.median(totals[n][1:]):.1f} / {pct(totals[n][1:], 0.95):.1f}" for n in VARIANTS
    ]
    print(f"| **all four kinds** | | {' | '.join(cells)} |")
    if any(rows[("shipped", k)] != rows[("unbounded", k)] for k in AlertKind.values):
        print("!! the two variants returned different row counts")


def first_scan(now: dt.datetime, expected: int, name: str, *, capture: bool = False) -> None:
    phases = Phases()
    capturing = CaptureQueriesContext(connection)
    with variant(name), scan_phases(phases), capturing if capture else nullcontext():
        t0 = time.perf_counter()
        report = alerts_service.alerts_scan(now=now)
        elapsed = time.perf_counter() - t0
    raised = sum(report.raised.values())
    print(
        f"\n## First scan ({name} selection): raises everything due\n\n"
        f"**{elapsed:.2f} s**: {report.as_dict()}\n"
        f"{raised:,} alerts (**{raised / elapsed:,.0f} alerts/s**), {report.messages:,} outbox "
        f"messages ({report.messages / elapsed:,.0f}/s), "
        f"{Delivery.objects.count():,} deliveries\n"
        f"Phases: {phases.line(elapsed)}"
    )
    if raised != expected:
        print(f"!! expected {expected:,} alerts, raised {raised:,}")
    if capture:
        queries = capturing.captured_queries
        print(f"\nSQL of this scan ({len(queries):,} statements, captured), by shape:")
        top_queries(queries, limit=12)


def steady_scans(now: dt.datetime, repeat: int) -> None:
    """Both variants, interleaved pass by pass."""
    elapsed: dict[str, list[float]] = defaultdict(list)
    phase_ms: dict[tuple[str, str], list[float]] = defaultdict(list)
    for name in VARIANTS:  # warm-up
        with variant(name):
            alerts_service.alerts_scan(now=now)
    for _ in range(repeat):
        for name in VARIANTS:
            phases = Phases()
            with variant(name), scan_phases(phases):
                t0 = time.perf_counter()
                report = alerts_service.alerts_scan(now=now)
                elapsed[name].append((time.perf_counter() - t0) * 1000)
            if sum(report.raised.values()) or report.escalated or report.resolved:
                print(f"!! steady-state scan did something: {report.as_dict()}")
            for phase in ("resolve stale", "selection", "raise", "escalate"):
                phase_ms[(name, phase)].append(phases.seconds[phase] * 1000)
    print(f"\n## Steady-state alerts_scan (everything already alerted), {repeat} passes (ms)\n")
    print("| | shipped (pages) p50 / p95 | unbounded p50 / p95 |")
    print("|---|---:|---:|")
    for label, values in [
        ("**alerts_scan**", elapsed),
        *[
            (phase, {n: phase_ms[(n, phase)] for n in VARIANTS})
            for phase in ("resolve stale", "selection", "raise", "escalate")
        ],
    ]:
        cells = [
            f"{statistics.median(values[n]):.1f} / {pct(values[n], 0.95):.1f}" for n in VARIANTS
        ]
        print(f"| {label} | {' | '.join(cells)} |")
    for name in VARIANTS:
        with variant(name), CaptureQueriesContext(connection) as captured:
            alerts_service.alerts_scan(now=now)
        print(f"\nOne steady-state pass, {name}: {len(captured.captured_queries)} SQL statements:")
        top_queries(captured.captured_queries)


# --- 5. Relay ----------------------------------------------------------------------------------


class SinkHandler:
    """Answers 250 to everything; records Message-IDs and the SMTP sessions used."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.message_ids: list[str] = []
        self.sessions: set = set()

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.compat32)
        with self.lock:
            self.message_ids.append(parsed["Message-ID"])
            self.sessions.add(session)  # the object, not its id: ids could be reused
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def leave_pending(now: dt.datetime, mails: int) -> int:
    """Exactly `mails` pending rows due at `now` (the oldest); the others wait a year."""
    table = OutboxMessage._meta.db_table
    sql(
        f"UPDATE {table} SET next_attempt_at = %s WHERE status = 'pending'",
        [now + dt.timedelta(days=365)],
    )
    return sql(
        f"UPDATE {table} SET next_attempt_at = %(now)s WHERE id IN (SELECT id FROM {table} "
        "WHERE status = 'pending' ORDER BY id LIMIT %(n)s)",
        {"now": now, "n": mails},
    )


SEND_MESSAGES = smtp_backend.EmailBackend.send_messages


def _send_then_close(backend, email_messages):
    """send_messages, then close: a new SMTP session for every message."""
    try:
        return SEND_MESSAGES(backend, email_messages)
    finally:
        backend.close()


def relay_run(
    now: dt.datetime, mails: int, handler: SinkHandler, label: str, *, per_message: bool
) -> None:
    pending = leave_pending(now, mails)
    before_ids = len(handler.message_ids)
    before_sessions = len(handler.sessions)
    phases = Phases()
    sent_before = OutboxMessage.objects.filter(status=OutboxStatus.SENT).count()
    with ExitStack() as stack:
        for name, attribute in (
            ("claim", "outbox_claim"),
            ("build (query + render)", "build_email"),
            ("step (record + take)", "outbox_record_and_take"),
        ):
            original = getattr(relay_service, attribute)
            stack.enter_context(
                mock.patch.object(relay_service, attribute, phases.wrap(name, original))
            )
        send = _send_then_close if per_message else SEND_MESSAGES
        stack.enter_context(
            mock.patch.object(smtp_backend.EmailBackend, "send_messages", phases.wrap("SMTP", send))
        )
        t0 = time.perf_counter()
        report = relay_service.outbox_relay(now=now, budget_seconds=600)
        elapsed = time.perf_counter() - t0
    received = handler.message_ids[before_ids:]
    sent_rows = OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() - sent_before
    print(
        f"\n### {label}\n\n{pending:,} pending → {report.as_dict()} in {elapsed:.2f} s: "
        f"**{report.sent / elapsed:,.0f} mails/s** ({elapsed / max(report.sent, 1) * 1000:.2f} ms "
        f"per mail)\nSink: {len(received):,} messages, {len(set(received)):,} distinct "
        f"Message-IDs, {len(handler.sessions) - before_sessions:,} SMTP sessions; "
        f"rows now sent: {sent_rows:,}"
    )
    print(f"Phases: {phases.line(elapsed)}")
    ok = len(received) == len(set(received)) == report.sent == sent_rows == mails
    print("Check: " + ("exactly N distinct Message-IDs received" if ok else "!! MISMATCH"))
    if report.errors:
        print(f"Errors: {report.errors[:3]}")


def relay_queries(now: dt.datetime, mails: int = 20) -> None:
    """The SQL of a small relay pass, by statement shape: where a mail's time goes."""
    leave_pending(now, mails)
    with CaptureQueriesContext(connection) as captured:
        relay_service.outbox_relay(now=now, budget_seconds=600)
    print(f"\nSQL of a relay pass of {mails} mails, by shape:")
    top_queries(captured.captured_queries)


def commit_latency(samples: int = 50) -> list[float]:
    """ms per committed one-row INSERT: the WAL flush every recorded mail pays."""
    sql("CREATE TABLE IF NOT EXISTS bench_commit_probe (id integer)")
    times = []
    try:
        for i in range(samples):
            t0 = time.perf_counter()
            with transaction.atomic():
                sql("INSERT INTO bench_commit_probe VALUES (%s)", [i])
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        sql("DROP TABLE bench_commit_probe")
    return times


def relay_bench(now: dt.datetime, mails: int) -> None:
    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        pending = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()
        print(
            f"\n## Outbox relay to a local SMTP sink (aiosmtpd, 127.0.0.1:{port}, same process)"
            f"\n\n{pending:,} pending outbox rows after the first scan; batch "
            f"{settings.OUTBOX_BATCH_SIZE} per claim"
        )
        if pending < 2 * mails:
            raise SystemExit(f"Only {pending:,} pending rows for 2 × {mails:,} mails.")
        probe = commit_latency()
        print(
            f"Commit of a one-row INSERT (synchronous_commit {scalar('SHOW synchronous_commit')}): "
            f"{p50_p95(probe)}"
        )
        relay_run(now, mails, handler, "As shipped (relay.py)", per_message=False)
        relay_run(now, mails, handler, "A new SMTP session per message", per_message=True)
        relay_queries(now)
        everything = handler.message_ids
        print(f"\nAll runs: {len(everything):,} messages, {len(set(everything)):,} distinct IDs")
        print(
            f"Alerts notified: {Alert.objects.filter(state='notified').count():,} "
            f"of {Alert.objects.count():,}"
        )
    finally:
        controller.stop()


# --- Main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due-fraction", type=float, default=0.01)
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="no statistics on the notifications tables, as on a fresh deployment with "
        "autovacuum off: they are deleted, and not collected after the first scan",
    )
    args = parser.parse_args()

    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        raise SystemExit(f"Refusing to run on {name!r}: bench databases only.")
    now = timezone.now().replace(second=0, microsecond=0)
    print(
        f"# Alert scan and outbox relay bench — database {name}, now {now.isoformat()}, "
        f"PostgreSQL {scalar('SHOW server_version')}, autovacuum {scalar('SHOW autovacuum')}, "
        f"{load()}"
    )
    arrange(now, args.due_fraction, args.seed)
    if args.no_analyze:
        forget_notification_statistics()
    due = counts(now)
    expected = sum(len(rows) for rows in due.values())
    before = explain_all(now, "1 % due, no alert yet", show_sql=True)
    time_selection(now, args.repeat, "1 % due, no alert yet")

    first_scan(now, expected, "shipped", capture=True)
    if not args.no_analyze:
        print(f"\nANALYZE of the notifications tables: {analyze_notifications():.2f} s")
    time_selection(now, args.repeat, "steady state, everything alerted")
    steady_scans(now, args.repeat)
    after = explain_all(now, "steady state, everything alerted", show_sql=False)

    # The unbounded variant's first scan, from the same start: no alert, stats of an empty table.
    truncate_notifications()
    analyze_notifications()
    if args.no_analyze:
        forget_notification_statistics()
    first_scan(now, expected, "unbounded")
    if not args.no_analyze:
        print(f"\nANALYZE of the notifications tables: {analyze_notifications():.2f} s")

    print(f"\n{load()} before the relay")
    relay_bench(now, args.mails)
    print(f"\n{load()} at the end")
    for label, verdicts in (("1 % due", before), ("steady state", after)):
        for variant_name, found in verdicts.items():
            print(
                f"Partial index used, {label}, {variant_name}: "
                + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in found.items())
            )


if __name__ == "__main__":
    main()
