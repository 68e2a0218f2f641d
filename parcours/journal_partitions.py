"""The access journal partitioned by month (PostgreSQL declarative partitioning, issue 17).

At national scale the journal grows by about 100 M rows a year. One table per month keeps each
table's indexes the size of a month, lets the DPO's reports (always bounded by dates) read only
the months they cover (partition pruning), and lets the retention purge drop a whole month at
once (`parcours_journal_purge`, journal_trigger.py) instead of deleting rows one by one.

Layout: `parcours_accessevent` is partitioned `BY RANGE (occurred_at)`, with one partition a
month (`parcours_accessevent_p2026_12`, UTC months) and a DEFAULT partition that catches any row
outside them (a clock far off, tests travelling in time): journaling never fails for want of a
partition. Because PostgreSQL requires the partition key in every unique constraint, the
primary key is `(id, occurred_at)` and the chain's rank is unique as `(chain_seq, occurred_at)`;
`id` still comes from one sequence and `chain_seq` from the one sealer under its lock, and
`journal_verify` refuses any repeated rank (docs/journal.md).

Who does what:
- `partition_journal_table` turns the plain table into the partitioned one, once (migration
  0028, and `post_migrate` for a test database built from the models): it copies the rows into
  their months and rebuilds every index, constraint and foreign key from the plain table's own
  definitions. The chain's rows are copied as they are: nothing the hash covers changes.
- `parcours_journal_partitions_ensure(from, months)` (SQL, SECURITY DEFINER: the application's
  role may call it but creates nothing itself) creates the months to come — run after every
  `migrate` and daily by beat (`parcours.journal_partitions_ensure`). A month the DEFAULT
  partition already holds rows of is built from them: the rows move through the guard's purge
  window, the only way rows ever leave a journal table.
- `parcours_journal_partition_protect(partition)` gives every partition the guard's TRUNCATE
  trigger (row triggers are inherited, statement triggers are not) and takes back the privileges
  default privileges would hand the application's role on a table the owner creates: the
  application reads and writes the journal through the parent only.
Other database engines (the SQLite fallback of `make run`): nothing is partitioned.
"""

# The SQL below is built from identifiers (model tables, quoted) and constants, never input.
# ruff: noqa: S608

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils import timezone

ENSURE_FUNCTION = "parcours_journal_partitions_ensure"
ENSURE_FUNCTION_ARGS = "timestamptz, integer"
PROTECT_FUNCTION = "parcours_journal_partition_protect"
# Partitions are created one at a time: two callers (beat and a migrate) never race.
PARTITION_LOCK_KEY = int.from_bytes(b"pjparts", "big")
DEFAULT_PARTITION_SUFFIX = "_default"
# The constraint migration 0028 adds: models that have it describe the partitioned journal.
PARTITIONED_MARK = "journal_chain_seq_unique"
MONTH_PARTITION_SUFFIX = "_p"  # + YYYY_MM


@dataclass(frozen=True)
class JournalPartition:
    name: str
    starts: dt.datetime | None  # None: the DEFAULT partition
    ends: dt.datetime | None
    rows_estimate: int


def month_start(moment: dt.datetime) -> dt.datetime:
    moment = moment.astimezone(dt.UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: dt.datetime) -> dt.datetime:
    return (start + dt.timedelta(days=32)).replace(day=1)


def partition_name(table: str, start: dt.datetime) -> str:
    return f"{table}{MONTH_PARTITION_SUFFIX}{start:%Y_%m}"


def is_partitioned(cursor: Any, table: str) -> bool:
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
    row = cursor.fetchone()
    return row is not None and row[0] == "p"


def functions_sql(
    *, table: str, schema: str, guard_function: str, truncate_trigger: str, window_table: str
) -> list[str]:
    """The two functions, installed after every migrate by the owner (journal_trigger.py).
    `table` is the bare table name (partitions are named after it), `schema` a quoted
    identifier."""
    bare = table
    journal = f"{schema}.{_quote(table)}"
    default = f"{schema}.{_quote(bare + DEFAULT_PARTITION_SUFFIX)}"
    window = f"{schema}.{window_table}"
    protect = f"{schema}.{PROTECT_FUNCTION}"
    return [
        f"""
CREATE OR REPLACE FUNCTION {protect}(p_partition regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    grantee record;
    child_index text;
    wanted text;
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS {truncate_trigger} ON %s', p_partition);
    EXECUTE format('CREATE TRIGGER {truncate_trigger} BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{guard_function}()', p_partition);
    -- The partition's copy of the chain's unique constraint carries the parent's name, so
    -- that a refusal names it as the model does (PostgreSQL would call it <partition>_..._key).
    SELECT c.relname, '{PARTITIONED_MARK}_' || substring(p.relname FROM length('{bare}') + 2)
        INTO child_index, wanted
        FROM pg_inherits AS i
        JOIN pg_class AS c ON c.oid = i.inhrelid
        JOIN pg_index AS x ON x.indexrelid = c.oid
        JOIN pg_class AS p ON p.oid = x.indrelid
        WHERE i.inhparent = to_regclass('{schema}.{_quote(PARTITIONED_MARK)}')
          AND x.indrelid = p_partition;
    IF child_index IS NOT NULL AND child_index <> wanted THEN
        EXECUTE format('ALTER INDEX {schema}.%I RENAME TO %I', child_index, wanted);
    END IF;
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', p_partition);
    FOR grantee IN
        SELECT DISTINCT a.grantee::regrole::text AS name
        FROM pg_class AS c, aclexplode(c.relacl) AS a
        WHERE c.oid = p_partition AND a.grantee <> c.relowner AND a.grantee <> 0
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM %s', p_partition, grantee.name);
    END LOOP;
END;
$$""",
        f"REVOKE ALL ON FUNCTION {protect}(regclass) FROM PUBLIC",
        f"""
CREATE OR REPLACE FUNCTION {schema}.{ENSURE_FUNCTION}(p_from timestamptz, p_months integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET timezone = 'UTC'
AS $$
DECLARE
    starts timestamptz;
    ends timestamptz;
    part text;
    created integer := 0;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('{journal}')) IS DISTINCT FROM 'p'
    THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock({PARTITION_LOCK_KEY});
    starts := date_trunc('month', p_from);
    FOR i IN 1 .. greatest(p_months, 1) LOOP
        ends := starts + interval '1 month';
        part := '{schema}.'
            || quote_ident('{bare}{MONTH_PARTITION_SUFFIX}' || to_char(starts, 'YYYY_MM'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %s (LIKE {journal} INCLUDING DEFAULTS INCLUDING STORAGE)',
                           part);
            -- Rows the DEFAULT partition caught for this month move into it, through the guard's
            -- purge window (the one DELETE it lets through), before the month is attached.
            IF EXISTS (SELECT 1 FROM {default} WHERE occurred_at >= starts AND occurred_at < ends)
            THEN
                INSERT INTO {window} (xact) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
                EXECUTE format('INSERT INTO %s SELECT * FROM {default} '
                               'WHERE occurred_at >= $1 AND occurred_at < $2', part)
                    USING starts, ends;
                DELETE FROM {default} WHERE occurred_at >= starts AND occurred_at < ends;
                DELETE FROM {window} WHERE xact = pg_current_xact_id();
            END IF;
            EXECUTE format('ALTER TABLE {journal} ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)',
                           part, starts, ends);
            PERFORM {protect}(part::regclass);
            created := created + 1;
        END IF;
        starts := ends;
    END LOOP;
    RETURN created;
END;
$$""",
        f"REVOKE ALL ON FUNCTION {schema}.{ENSURE_FUNCTION}({ENSURE_FUNCTION_ARGS}) FROM PUBLIC",
    ]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def partition_journal_table(cursor: Any, *, table: str, now: dt.datetime | None = None) -> bool:
    """Turn the plain journal table into the partitioned one; False when it already is.

    `table` is the bare table name. Run by the owner inside a transaction (a migration's, or
    post_migrate's for a test database). Every index, constraint and foreign key is rebuilt from
    the plain table's own definitions, the primary key and unique constraints with `occurred_at`
    added where PostgreSQL requires the partition key; the `id` sequence continues where the
    identity column stopped."""
    if is_partitioned(cursor, table):
        return False
    plain = table + "_unpartitioned"
    cursor.execute("SELECT to_regclass(%s)::oid", [_quote(table)])
    (oid,) = cursor.fetchone()
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s AND contype IN ('p', 'u', 'f') ORDER BY contype DESC, conname",
        [oid],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index AS i "
        "WHERE i.indrelid = %s AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid) "
        "ORDER BY i.indexrelid",
        [oid],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    cursor.execute(f"SELECT min(occurred_at), max(occurred_at), max(id) FROM {_quote(table)}")
    oldest, newest, last_id = cursor.fetchone()

    cursor.execute(f"ALTER TABLE {_quote(table)} RENAME TO {_quote(plain)}")
    cursor.execute(
        f"CREATE TABLE {_quote(table)} (LIKE {_quote(plain)} INCLUDING STORAGE INCLUDING COMMENTS)"
        " PARTITION BY RANGE (occurred_at)"
    )
    cursor.execute(
        f"CREATE TABLE {_quote(table + DEFAULT_PARTITION_SUFFIX)} PARTITION OF {_quote(table)} "
        "DEFAULT"
    )
    now = now or timezone.now()
    start = month_start(min(oldest, now) if oldest else now)
    last = month_start(max(newest, now) if newest else now)
    ahead = settings.JOURNAL_PARTITION_MONTHS_AHEAD
    for _ in range(ahead):
        last = next_month(last)
    while start <= last:
        cursor.execute(
            f"CREATE TABLE {_quote(partition_name(table, start))} PARTITION OF {_quote(table)} "
            "FOR VALUES FROM (%s) TO (%s)",
            [start, next_month(start)],
        )
        start = next_month(start)
    cursor.execute(f"INSERT INTO {_quote(table)} SELECT * FROM {_quote(plain)}")
    # DROP is not a row operation: the guard's triggers go with the plain table.
    cursor.execute(f"DROP TABLE {_quote(plain)}")

    for name, kind, definition in constraints:
        if kind in ("p", "u") and "occurred_at" not in definition:
            definition = definition.replace(")", ", occurred_at)", 1)
        cursor.execute(f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} {definition}")
    on_plain = re.compile(r" ON (?:ONLY )?(?:[^ ]+\.)?" + re.escape(plain) + " ")
    for definition in indexes:
        cursor.execute(on_plain.sub(f" ON {_quote(table)} ", definition, count=1))
    sequence = table + "_id_seq"
    cursor.execute(f"CREATE SEQUENCE {_quote(sequence)} OWNED BY {_quote(table)}.id")
    if last_id:
        cursor.execute("SELECT setval(%s, %s)", [_quote(sequence), last_id])
    cursor.execute(
        f"ALTER TABLE {_quote(table)} ALTER COLUMN id SET DEFAULT nextval(%s::regclass)",
        [_quote(sequence)],
    )
    return True


def journal_partitions_ensure(
    *, start: dt.datetime | None = None, months: int | None = None, using: str = "default"
) -> int:
    """Create the journal's monthly partitions from `start`'s month (now by default) for
    `months` months (JOURNAL_PARTITION_MONTHS_AHEAD + 1); return how many were created.
    Idempotent. Outside PostgreSQL, or before the journal is partitioned: 0."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return 0
    start = start or timezone.now()
    months = months if months is not None else settings.JOURNAL_PARTITION_MONTHS_AHEAD + 1
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {ENSURE_FUNCTION}(%s, %s)", [start, months])
        return int(cursor.fetchone()[0])


def journal_partitions(*, table: str, using: str = "default") -> list[JournalPartition]:
    """The journal's partitions, oldest first, the DEFAULT one last (operators' view and tests)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint "
            "FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
            [_quote(table)],
        )
        rows = cursor.fetchall()
    partitions = []
    for name, estimate in rows:
        starts = ends = None
        if name.startswith(table + MONTH_PARTITION_SUFFIX):
            starts = dt.datetime.strptime(
                name.removeprefix(table + MONTH_PARTITION_SUFFIX), "%Y_%m"
            ).replace(tzinfo=dt.UTC)
            ends = next_month(starts)
        partitions.append(JournalPartition(name, starts, ends, max(int(estimate), 0)))
    partitions.sort(
        key=lambda p: (p.starts is None, p.starts or dt.datetime.min.replace(tzinfo=dt.UTC))
    )
    return partitions
