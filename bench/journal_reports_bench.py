"""DPO reports over a 10 M-row access journal (issue 7): the per-person report and the per-user
query, measured, never asserted.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours_bench_reports  # + README §1
    .venv/bin/python bench/journal_reports_bench.py [--recreate] [--rows 10000000] [--repeat 5]
        [--drop-os-cache] [--compare-shared-index] [--rebuild-index] [--skip-inserts]

Self-contained (bench/README.md §8): it creates the database named by DATABASE_URL (default
`parcours_bench_reports`; `--recreate` drops it first), migrates it, seeds the population with
`seed_scale` (`--pathways` 100,000 persons and pathways, ~300,000 referrals, `--organisations`
300, no grants: the reports never read them), tops the users up to `--users` (5,000) with
memberships, then generates a `--rows` journal over `--months` (18) with
`bench/journal_generate.py` (INSERTs only, rows unsealed, see there; the report indexes are
dropped for the load and built after it). A database that already holds the journal is reused
as is: each step is skipped when done.

Then, on the last 12 months:

1. Counts, and the size of the journal table and of each of its indexes.
2. `person_access_report(person_id, start, end, version="internal")` — the whole Python call,
   rows materialised — for `--people` people (the `--hot` hot ones first): a first call each
   (`--drop-os-cache`: after emptying the OS page cache; otherwise the counts above left the
   journal in it), then p50 / p95 over `--repeat` rounds, and `list(_events_about(…))` alone.
3. The per-user query: every event of one user over the period, ordered
   (`AccessEvent.objects.filter(user_id=…, occurred_at__gte=…, occurred_at__lt=…)
   .order_by("occurred_at", "id")`, materialised), over 12 months and over 1 month.
4. EXPLAIN (ANALYZE, BUFFERS) of the per-person query of a hot and of an ordinary person (the SQL
   captured while `person_access_report` runs), with and without the report indexes (dropped
   inside a transaction that is rolled back: DDL is transactional, nothing to rebuild), and of
   the per-user query.
5. The same reports without the report indexes (the state before migration 0009), one call
   each; their rows must be exactly those of step 2 (checked). `--compare-shared-index`: the
   same with one GIN index over every list row instead of one per object type.
6. Insert cost: `journal_record` in a loop (`--inserts` rows: 30 % list pages of 35 ids, or list
   pages only) and `INSERT … SELECT` batches of 10,000 list rows, with the report indexes as
   shipped (fastupdate off), with GIN's pending list (fastupdate on) and without them, each in a
   rolled-back transaction; rows/s and per-row p50 / p95 / max; then VACUUM.
7. The subject-access pack for the same people (`--pack-only`: only this).

`--rebuild-index` first drops the report indexes and builds them again as the migration does
(`CREATE INDEX CONCURRENTLY`), timed: what deploying the migration costs on a full journal.

It refuses a database whose name does not contain "bench".
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parcours_bench_reports")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from journal_generate import build_helper_tables, generate_journal  # noqa: E402
from measures import pct, rows, scalar, sql  # noqa: E402

from parcours.gate.journal import journal_record  # noqa: E402
from parcours.models import (  # noqa: E402
    AccessEvent,
    AccessOperation,
    Membership,
    Organisation,
    Pathway,
    Person,
    Role,
)
from parcours.selectors import access_reports  # noqa: E402

settings.DEBUG = False  # no query log kept (CaptureQueriesContext forces it where needed)

JOURNAL = AccessEvent._meta.db_table
# The indexes the report queries rely on (migration 0009), by name.
REPORT_INDEXES = [
    index.name for index in AccessEvent._meta.indexes if index.name.startswith("journal_listed_")
]
EXTRA_USER_PREFIX = "journal-bench-"


# --- Without the report indexes ---------------------------------------------------------------


@contextmanager
def without_report_indexes() -> Iterator[None]:
    """The report indexes dropped inside a transaction that is rolled back (DDL is
    transactional in PostgreSQL): the state before migration 0009, nothing to rebuild after.
    Holds an ACCESS EXCLUSIVE lock on the journal meanwhile: bench databases only."""
    with transaction.atomic():
        for name in REPORT_INDEXES:
            sql(f"DROP INDEX {name}")
        try:
            yield
        finally:
            transaction.set_rollback(True)


@contextmanager
def one_shared_index() -> Iterator[str]:
    """The alternative to one index per object type: a single partial GIN index over every
    list row, built inside a transaction that is rolled back (the per-type ones dropped)."""
    with transaction.atomic():
        for name in REPORT_INDEXES:
            sql(f"DROP INDEX {name}")
        t0 = time.perf_counter()
        sql(
            f"CREATE INDEX journal_listed_ids_idx ON {JOURNAL} "
            "USING gin (object_ids jsonb_path_ops) WHERE operation = 'list'"
        )
        built = time.perf_counter() - t0
        sql(f"ANALYZE {JOURNAL}")
        size = scalar("SELECT pg_size_pretty(pg_relation_size('journal_listed_ids_idx'))")
        try:
            yield f"journal_listed_ids_idx: {size}, built in {built:.0f} s"
        finally:
            transaction.set_rollback(True)


# --- Helpers -----------------------------------------------------------------------------------


def p50_p95(values: list[float]) -> str:
    return f"{statistics.median(values):,.1f} / {pct(values, 0.95):,.1f}"


def drop_os_cache() -> None:
    """`sync; echo 1 > /proc/sys/vm/drop_caches`: the first calls then read the journal from
    disk, except what PostgreSQL's own shared buffers (128 MB here) still hold. Root only, and
    it empties the page cache of everything running on the machine: opt-in."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("1\n")
    say("(OS page cache dropped)")


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min) / {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def say(text: str = "") -> None:
    print(text, flush=True)


# --- 0. The database, the population, the journal ------------------------------------------------


def ensure_database(url: str, *, recreate: bool) -> None:
    """CREATE DATABASE (after DROP … WITH (FORCE) with --recreate), through the `postgres`
    database of the same server, before Django opens its connection."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"Refusing to run on {name!r}: bench databases only.")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as admin_connection:
        if recreate:
            say(f"Dropping database {name}")
            admin_connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = admin_connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            say(f"Creating database {name}")
            admin_connection.execute(f'CREATE DATABASE "{name}"')


def ensure_population(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    say(f"migrate: {time.perf_counter() - t0:.1f} s")
    if not Person.objects.exists():
        call_command(
            "seed_scale",
            pathways=args.pathways,
            organisations=args.organisations,
            seed=args.seed,
            no_grants=True,
        )
    User = get_user_model()
    missing = args.users - User.objects.count()
    if missing > 0:
        t0 = time.perf_counter()
        rng = random.Random(args.seed)
        organisations = list(Organisation.objects.values_list("pk", flat=True))
        # More staff where the caseload is big: weighted by the pathways each one owns.
        weights = dict(Pathway.objects.values_list("owner_organisation").annotate(n=Count("pk")))
        password = make_password(None)
        users = User.objects.bulk_create(
            [
                User(
                    username=f"{EXTRA_USER_PREFIX}{i:05d}",
                    first_name=rng.choice(["Camille", "Nadia", "Julien", "Inès", "Thomas"]),
                    last_name=rng.choice(["Martin", "Benali", "Lefèvre", "N'Diaye", "Roux"]),
                    email=f"{EXTRA_USER_PREFIX}{i:05d}@bench.parcours.example",
                    password=password,
                )
                for i in range(1, missing + 1)
            ],
            batch_size=2000,
        )
        chosen = rng.choices(
            organisations, [weights.get(o, 0) + 50 for o in organisations], k=len(users)
        )
        Membership.objects.bulk_create(
            [
                Membership(user_id=user.pk, organisation_id=org, role=Role.COUNSELLOR)
                for user, org in zip(users, chosen, strict=True)
            ],
            batch_size=2000,
        )
        say(f"{missing:,} users added (counsellors): {time.perf_counter() - t0:.1f} s")


def ensure_journal(args: argparse.Namespace, end: dt.datetime) -> None:
    present = scalar(f"SELECT count(*) FROM {JOURNAL}")
    if present >= args.rows:
        say(f"Journal already holds {present:,} rows: reused.")
        return
    if present:
        raise SystemExit(
            f"The journal holds {present:,} rows, fewer than --rows: it cannot be emptied (the "
            "trigger refuses it); re-run with --recreate."
        )
    t0 = time.perf_counter()
    counts = build_helper_tables(hot=args.hot, seed=args.seed)
    say(f"helper tables {counts}: {time.perf_counter() - t0:.1f} s")
    # The report indexes make bulk list inserts ~25 times slower (docs/performance.md): built
    # after the load instead, as migration 0009 builds them on an existing journal.
    definitions = [
        scalar("SELECT pg_get_indexdef(%s::regclass)", [name]) for name in REPORT_INDEXES
    ]
    for name in REPORT_INDEXES:
        sql(f"DROP INDEX {name}")
    say(
        f"Generating {args.rows:,} journal rows over {args.months} months "
        f"(batches of {args.batch:,}, report indexes dropped), {load()}"
    )
    seconds = generate_journal(
        rows=args.rows,
        months=args.months,
        end=end,
        hot=args.hot,
        hot_share=args.hot_share,
        batch=args.batch,
        counts=counts,
        progress=say,
    )
    say(f"journal: {args.rows:,} rows in {seconds:,.0f} s ({args.rows / seconds:,.0f} rows/s)")
    for definition in definitions:
        t0 = time.perf_counter()
        sql(definition)
        say(f"{definition}: {time.perf_counter() - t0:.1f} s")
    # What autovacuum would do (it is off on this server): statistics and the visibility map.
    t0 = time.perf_counter()
    sql(f"VACUUM (ANALYZE) {JOURNAL}")
    say(f"VACUUM (ANALYZE) {JOURNAL}: {time.perf_counter() - t0:.1f} s")


# --- 1. Counts and sizes -----------------------------------------------------------------------


def counts_and_sizes(start: dt.datetime, end: dt.datetime) -> None:
    say("\n## Journal: rows and sizes\n")
    total = scalar(f"SELECT count(*) FROM {JOURNAL}")
    span = rows(f"SELECT min(occurred_at), max(occurred_at) FROM {JOURNAL}")[0]
    say(f"{total:,} rows from {span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d}")
    say("\n| operation | rows | share |\n|---|---:|---:|")
    for operation, count in rows(
        f"SELECT operation, count(*) FROM {JOURNAL} GROUP BY 1 ORDER BY 2 DESC"
    ):
        say(f"| {operation} | {count:,} | {100 * count / total:.1f} % |")
    say(
        "\nList rows: "
        + ", ".join(
            f"{t} {n:,} ({avg:.1f} ids)"
            for t, n, avg in rows(
                f"SELECT object_type, count(*), avg(jsonb_array_length(object_ids)) "
                f"FROM {JOURNAL} WHERE operation = 'list' GROUP BY 1 ORDER BY 1"
            )
        )
    )
    say(
        f"Users {scalar('SELECT count(DISTINCT user_id) FROM ' + JOURNAL):,}, organisations "
        f"{scalar('SELECT count(DISTINCT organisation_id) FROM ' + JOURNAL):,}; "
        f"period measured: {start:%Y-%m-%d} → {end:%Y-%m-%d}"
    )
    say("\n| relation | size |\n|---|---:|")
    for name, size in rows(
        """
        SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid))
        FROM pg_class c WHERE c.oid = %(t)s::regclass
        UNION ALL
        SELECT 'TOAST', pg_size_pretty(pg_total_relation_size(c.reltoastrelid))
        FROM pg_class c WHERE c.oid = %(t)s::regclass AND c.reltoastrelid <> 0
        UNION ALL
        SELECT i.indexrelid::regclass::text, pg_size_pretty(pg_relation_size(i.indexrelid))
        FROM pg_index i WHERE i.indrelid = %(t)s::regclass
        """,
        {"t": JOURNAL},
    ):
        say(f"| {name} | {size} |")
    total_size = scalar("SELECT pg_size_pretty(pg_total_relation_size(%s::regclass))", [JOURNAL])
    say(f"| **total** | {total_size} |")


# --- 2. People and users to measure ------------------------------------------------------------


def sample_people(count: int, hot: int, seed: int, start: dt.datetime, end: dt.datetime):
    """The hot people first (the most events), then people drawn at random (seeded)."""
    hot_people = [
        person_id
        for (person_id,) in rows(
            f"SELECT person_id FROM {JOURNAL} WHERE person_id IS NOT NULL "
            "AND occurred_at >= %s AND occurred_at < %s "
            f"GROUP BY 1 ORDER BY count(*) DESC LIMIT %s",
            [start, end, min(hot, count)],
        )
    ]
    rng = random.Random(seed)
    person_ids = list(Person.objects.order_by("pk").values_list("pk", flat=True))
    others = [p for p in rng.sample(person_ids, count * 2) if p not in hot_people]
    return hot_people + others[: count - len(hot_people)]


def sample_users(count: int, seed: int) -> list[int]:
    """The two busiest users, then users drawn at random among those who left events."""
    busiest = [
        u
        for (u,) in rows(
            f"SELECT user_id FROM {JOURNAL} WHERE user_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 2"
        )
    ]
    rng = random.Random(seed)
    users = [u for (u,) in rows("SELECT DISTINCT user_id FROM bench_users ORDER BY 1")]
    return busiest + [u for u in rng.sample(users, count) if u not in busiest][: count - 2]


# --- 3. EXPLAIN --------------------------------------------------------------------------------


def journal_query(person_id: int, start: dt.datetime, end: dt.datetime) -> str:
    """The SQL of the journal query `person_access_report` runs (the last one it sends)."""
    with CaptureQueriesContext(connection) as captured:
        access_reports.person_access_report(person_id=person_id, start=start, end=end)
    statements = [q["sql"] for q in captured.captured_queries if JOURNAL in q["sql"]]
    return statements[-1]


def explain(statement: str, title: str, *, show_sql: bool = False, params=None) -> None:
    say(f"\n### {title}\n")
    if show_sql:
        say(f"```sql\n{statement}\n```")
    plan = "\n".join(r[0] for r in rows(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", params))
    say(f"```\n{plan}\n```")


def explain_all(people: list[int], hot: int, user: int, start, end) -> None:
    say("\n## EXPLAIN (ANALYZE, BUFFERS)")
    for label, person_id in (("hot person", people[0]), ("ordinary person", people[hot])):
        count = scalar(f"SELECT count(*) FROM {JOURNAL} WHERE person_id = %s", [person_id])
        statement = journal_query(person_id, start, end)
        explain(
            statement,
            f"per-person report — {label} n°{person_id} ({count:,} events naming them)",
            show_sql=label == "hot person",
        )
        with without_report_indexes():
            explain(statement, f"per-person report without the report indexes — {label}")
    statement, params = per_user_queryset(user, start, end).query.sql_with_params()
    explain(statement, f"per-user query — user n°{user}, 12 months", params=params)


# --- 4. Timings --------------------------------------------------------------------------------


def timed_report(person_id: int, start, end) -> tuple[float, list]:
    t0 = time.perf_counter()
    report = access_reports.person_access_report(
        person_id=person_id, start=start, end=end, version="internal"
    )
    return (time.perf_counter() - t0) * 1000, report.rows


def time_reports(
    people: list[int], hot: int, repeat: int, start, end, *, cold: bool
) -> dict[int, list]:
    """First call per person, then `repeat` rounds; the rows of the first call, per person."""
    first: list[float] = []
    warm: list[float] = []
    hot_warm: list[float] = []
    queryset_ms: list[float] = []
    results: dict[int, list] = {}
    for round_ in range(repeat + 1):
        for index, person_id in enumerate(people):
            elapsed, report_rows = timed_report(person_id, start, end)
            if round_ == 0:
                first.append(elapsed)
                results[person_id] = report_rows
            else:
                warm.append(elapsed)
                if index < hot:
                    hot_warm.append(elapsed)
    for person_id in people:  # the query and the model instances alone, without the rows
        t0 = time.perf_counter()
        list(access_reports._events_about(person_id, start, end))
        queryset_ms.append((time.perf_counter() - t0) * 1000)
    say(
        f"\n## person_access_report, internal version, 12 months — {len(people)} people "
        f"({hot} hot), a first call each then {repeat} rounds (ms), {load()}\n"
    )
    counts = sorted(len(r) for r in results.values())
    say(
        f"Rows per report: median {statistics.median(counts):,.0f}, max {counts[-1]:,} "
        f"(hot people: {', '.join(f'{len(results[p]):,}' for p in people[:hot])})\n"
    )
    say("| | p50 | p95 | max |\n|---|---:|---:|---:|")
    for label, values in (
        ("first call" + (" (OS cache dropped)" if cold else " (OS cache warm)"), first),
        ("first call, hot people", first[:hot]),
        ("first call, the others", first[hot:]),
        (f"{repeat} rounds, all", warm),
        (f"{repeat} rounds, hot people", hot_warm),
        ("`list(_events_about(…))` alone", queryset_ms),
    ):
        say(
            f"| {label} | {statistics.median(values):,.1f} | {pct(values, 0.95):,.1f} | "
            f"{max(values):,.1f} |"
        )
    return results


def time_without_indexes(people: list[int], hot: int, start, end, expected) -> None:
    """The same calls with the report indexes gone: the state before migration 0009."""
    elapsed_ms = []
    differ = []
    with without_report_indexes():
        for person_id in people:
            elapsed, report_rows = timed_report(person_id, start, end)
            elapsed_ms.append(elapsed)
            if report_rows != expected[person_id]:
                differ.append(person_id)
    say(
        f"\nWithout the report indexes (before migration 0009), one call each: "
        f"p50 {statistics.median(elapsed_ms):,.0f} ms, p95 {pct(elapsed_ms, 0.95):,.0f} ms, "
        f"max {max(elapsed_ms):,.0f} ms. "
        + (f"!! different rows for {differ}" if differ else "Same rows for every person.")
    )


def time_shared_index(people: list[int], hot: int, start, end, expected) -> None:
    """The design alternative (`--compare-shared-index`): one GIN index for every list row."""
    elapsed_ms = []
    with one_shared_index() as description:
        explain(
            journal_query(people[hot], start, end),
            f"per-person report, one shared index — ordinary person n°{people[hot]}",
        )
        for _round in range(2):
            elapsed_ms = []
            for person_id in people:
                elapsed, report_rows = timed_report(person_id, start, end)
                elapsed_ms.append(elapsed)
                if report_rows != expected[person_id]:
                    say(f"!! different rows for {person_id}")
    say(
        f"\nOne shared index ({description}), second round: p50 "
        f"{statistics.median(elapsed_ms):,.1f} ms, p95 {pct(elapsed_ms, 0.95):,.1f} ms"
    )


def per_user_queryset(user_id: int, start, end):
    """The per-user report's query: everything one user did over a period, in order."""
    return AccessEvent.objects.filter(
        user_id=user_id, occurred_at__gte=start, occurred_at__lt=end
    ).order_by("occurred_at", "id")


def time_per_user(users: list[int], repeat: int, end, *, cold: bool) -> None:
    say(f"\n## Per-user query — {len(users)} users (the 2 busiest first), {repeat} rounds (ms)\n")
    first_label = "first call" + (" (OS cache dropped before each period)" if cold else "")
    say(f"| period | rows p50 / max | {first_label} p50 / p95 | p50 / p95 |")
    say("|---|---:|---:|---:|")
    for label, days in (("12 months", 365), ("1 month", 30)):
        if cold:
            drop_os_cache()
        start = end - dt.timedelta(days=days)
        first, warm, sizes = [], [], []
        for round_ in range(repeat + 1):
            for user_id in users:
                t0 = time.perf_counter()
                events = list(per_user_queryset(user_id, start, end))
                elapsed = (time.perf_counter() - t0) * 1000
                (first if round_ == 0 else warm).append(elapsed)
                if round_ == 0:
                    sizes.append(len(events))
        say(
            f"| {label} | {statistics.median(sizes):,.0f} / {max(sizes):,} | "
            f"{p50_p95(first)} | {p50_p95(warm)} |"
        )


# --- 5. Insert cost ----------------------------------------------------------------------------


def _record(user, person_ids: list[int], rng: random.Random, *, list_only: bool) -> None:
    """One journal row as the API writes it: a list page of 35 persons, or a detail read."""
    if list_only or rng.random() < 0.3:
        journal_record(
            actor=None,
            user=user,
            operation=AccessOperation.LIST,
            object_type="person",
            object_ids=rng.sample(person_ids, 35),
            categories=["identity", "pathway"],
            detail={"action": "list"},
        )
        return
    person_id = rng.choice(person_ids)
    journal_record(
        actor=None,
        user=user,
        operation=AccessOperation.READ,
        object_type="person",
        object_id=person_id,
        person_id=person_id,
        categories=["contact", "identity", "pathway"],
        basis="legal:owner legal:spe",
        detail={"action": "retrieve"},
    )


def insert_run(count: int, *, list_only: bool, seed: int) -> list[float]:
    """`count` journal_record calls in one transaction, rolled back; per-row ms."""
    user = get_user_model().objects.order_by("pk").first()
    rng = random.Random(seed)
    person_ids = list(Person.objects.order_by("pk").values_list("pk", flat=True))
    elapsed = []
    with transaction.atomic():
        for _ in range(count):
            t0 = time.perf_counter()
            _record(user, person_ids, rng, list_only=list_only)
            elapsed.append((time.perf_counter() - t0) * 1000)
        transaction.set_rollback(True)
    return elapsed


BATCH_INSERT = f"""
INSERT INTO {JOURNAL} (occurred_at, user_id, operation, object_type, object_ids, categories,
                       purpose, basis, request_id, detail, prev_hash, row_hash)
SELECT now(), %(user)s, 'list', 'person',
       (SELECT jsonb_agg(1 + floor(random() * %(people)s)::int) FROM generate_series(1, 35)
        WHERE g > 0),
       '["identity", "pathway"]', '', '', md5(g::text), '{{"action": "list"}}', '', ''
FROM generate_series(1, %(n)s) AS g
"""


def batch_insert_run(n: int) -> float:
    """One INSERT … SELECT of n list rows (35 ids), rolled back; rows/s."""
    user = scalar("SELECT min(user_id) FROM bench_users")
    people = Person.objects.count()
    with transaction.atomic():
        t0 = time.perf_counter()
        sql(BATCH_INSERT, {"user": user, "people": people, "n": n})
        elapsed = time.perf_counter() - t0
        transaction.set_rollback(True)
    return n / elapsed


@contextmanager
def index_mode(name: str) -> Iterator[None]:
    """The report indexes as shipped (fastupdate off), with GIN's pending list (PostgreSQL's
    default, fastupdate on), or absent — the last two in a transaction that is rolled back."""
    if name == "shipped (fastupdate off)":
        yield
        return
    if name == "none":
        with without_report_indexes():
            yield
        return
    with transaction.atomic():
        for index in REPORT_INDEXES:
            sql(f"ALTER INDEX {index} SET (fastupdate = on)")
        try:
            yield
        finally:
            transaction.set_rollback(True)


INDEX_MODES = ("shipped (fastupdate off)", "fastupdate on", "none", "shipped (fastupdate off)")


def insert_cost(count: int, seed: int) -> None:
    say(
        f"\n## Insert cost — journal_record × {count:,} in one transaction (rolled back), "
        f"by state of the report indexes, {load()}\n"
    )
    say("| rows | report indexes | rows/s | per row p50 / p95 / max (ms) |")
    say("|---|---|---:|---:|")
    for label, list_only in (("mix (30 % lists of 35 ids)", False), ("lists of 35 ids only", True)):
        for mode in INDEX_MODES:
            with index_mode(mode):
                values = insert_run(count, list_only=list_only, seed=seed)
            say(
                f"| {label} | {mode} | {len(values) / (sum(values) / 1000):,.0f} | "
                f"{p50_p95(values)} / {max(values):,.1f} |"
            )
    for mode in INDEX_MODES:
        with index_mode(mode):
            rate = batch_insert_run(10_000)
        say(f"| INSERT … SELECT of 10,000 list rows | {mode} | {rate:,.0f} | |")
    # The rolled-back rows are dead tuples (and dead index entries): what autovacuum would
    # clear (it is off on this server), so that a second run measures the same journal.
    t0 = time.perf_counter()
    sql(f"VACUUM {JOURNAL}")
    say(
        f"\n(VACUUM of the journal after the rolled-back inserts: {time.perf_counter() - t0:.1f} s)"
    )


# --- 6. Subject-access pack ------------------------------------------------------------------


def measure_subject_access_pack(people: list[int], hot: int) -> None:
    """The whole subject-access pack (GDPR art. 15) for the same people: every part of the
    record, the person version of the access report over the whole journal kept, the French PDF,
    the JSON and the ZIP — as the DPO's button does it (one `export` journal row each, rolled
    back here so that a second run measures the same journal)."""
    from django.db import transaction

    from parcours.selectors.subject_access import subject_access_data
    from parcours.services.subject_access import subject_access_pack_generate

    say("\n## Subject-access pack (ZIP: PDF + JSON), whole journal kept\n")
    say("| person | access rows | collect (s) | whole pack (s) | ZIP size |")
    say("|---|---:|---:|---:|---:|")
    totals: list[float] = []
    hot_totals: list[float] = []
    for index, person_id in enumerate(people):
        with transaction.atomic():
            t0 = time.perf_counter()
            data = subject_access_data(person_id=person_id, now=timezone.now())
            collect = time.perf_counter() - t0
            t0 = time.perf_counter()
            pack = subject_access_pack_generate(person_id=person_id)
            whole = time.perf_counter() - t0
            transaction.set_rollback(True)
        totals.append(whole)
        if index < hot:
            hot_totals.append(whole)
        say(
            f"| {'hot ' if index < hot else ''}{person_id} | {data['counts']['access_rows']:,} | "
            f"{collect:.2f} | {whole:.2f} | {len(pack.content) / 1024:,.0f} KiB |"
        )
    say(
        f"\nWhole pack p50/p95 over {len(totals)} people: {p50_p95(totals)} s "
        f"(hot people: {p50_p95(hot_totals) if hot_totals else '—'} s); max {max(totals):.2f} s"
    )


def measure_anomalies(end: dt.datetime) -> None:
    """The anomaly report for the organisation with the most events, over 30 and 90 days (the
    generator spreads events over the 24 hours: most findings are "outside working hours")."""
    from django.db.models import Count

    from parcours.selectors.anomalies import anomalies_report

    busiest = (
        AccessEvent.objects.filter(occurred_at__gte=end - dt.timedelta(days=30))
        .values("organisation_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if busiest is None:
        return
    say("\n## Anomaly report, busiest organisation\n")
    for days in (30, 90):
        t0 = time.perf_counter()
        findings = anomalies_report(
            start=end - dt.timedelta(days=days),
            end=end,
            organisation_ids=[busiest["organisation_id"]],
        )
        say(
            f"- {days} days ({busiest['n']:,} events in its last 30): "
            f"{time.perf_counter() - t0:.2f} s, {len(findings):,} findings"
        )


def rebuild_indexes() -> None:
    """What deploying migration 0009 costs on a full journal: the same statements."""
    definitions = {
        name: scalar("SELECT pg_get_indexdef(%s::regclass)", [name]) for name in REPORT_INDEXES
    }
    say("\n## Rebuilding the report indexes as migration 0009 does (CONCURRENTLY)\n")
    for name, definition in definitions.items():
        sql(f"DROP INDEX CONCURRENTLY {name}")
        concurrent = definition.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)
        t0 = time.perf_counter()
        sql(concurrent)
        say(f"- `{concurrent}`: {time.perf_counter() - t0:.1f} s")


# --- Main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recreate", action="store_true", help="drop the database first")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--pathways", type=int, default=100_000)
    parser.add_argument("--organisations", type=int, default=300)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--hot", type=int, default=10, help="people with thousands of events")
    parser.add_argument("--hot-share", type=float, default=0.004, help="events about them")
    parser.add_argument("--batch", type=int, default=250_000)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--inserts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-inserts", action="store_true")
    parser.add_argument("--rebuild-index", action="store_true")
    parser.add_argument(
        "--compare-shared-index",
        action="store_true",
        help="also measure one GIN index over every list row instead of one per object type",
    )
    parser.add_argument("--generate-only", action="store_true", help="stop after the journal")
    parser.add_argument(
        "--pack-only", action="store_true", help="measure only the subject-access pack"
    )
    parser.add_argument(
        "--drop-os-cache",
        action="store_true",
        help="empty the OS page cache before the first calls (root; the WHOLE machine's cache)",
    )
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"], recreate=args.recreate)
    end = timezone.now().replace(microsecond=0)
    ensure_population(args)
    ensure_journal(args, end)
    if args.generate_only:
        return
    # The period of the reports: the 12 months before the journal's last event.
    last = AccessEvent.objects.order_by("-occurred_at").values_list("occurred_at", flat=True)[0]
    end = last.replace(microsecond=0) + dt.timedelta(seconds=1)
    start = end - dt.timedelta(days=365)

    say(f"\n# DPO reports bench — database {connection.settings_dict['NAME']}, {load()}")
    say(
        f"PostgreSQL {scalar('SHOW server_version')}, shared_buffers "
        f"{scalar('SHOW shared_buffers')}, work_mem {scalar('SHOW work_mem')}, "
        f"random_page_cost {scalar('SHOW random_page_cost')}, "
        f"autovacuum {scalar('SHOW autovacuum')}; report indexes: {REPORT_INDEXES}"
    )
    if args.rebuild_index:
        rebuild_indexes()
        sql(f"ANALYZE {JOURNAL}")
    counts_and_sizes(start, end)
    people = sample_people(args.people, args.hot, args.seed, start, end)
    users = sample_users(args.people, args.seed)
    hot = min(args.hot, len(people) - 1)
    if args.pack_only:
        measure_subject_access_pack(people, hot)
        return
    # Counting and sampling read the whole journal: the OS cache holds it now.
    cold = drop_os_cache if args.drop_os_cache else lambda: None
    cold()
    results = time_reports(people, hot, args.repeat, start, end, cold=args.drop_os_cache)
    time_per_user(users, args.repeat, end, cold=args.drop_os_cache)
    explain_all(people, hot, users[-1], start, end)
    time_without_indexes(people, hot, start, end, results)
    if args.compare_shared_index:
        time_shared_index(people, hot, start, end, results)
    if not args.skip_inserts:
        insert_cost(args.inserts, args.seed)
    measure_subject_access_pack(people, hot)
    measure_anomalies(end)


if __name__ == "__main__":
    main()
