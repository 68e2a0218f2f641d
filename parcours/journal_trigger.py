"""The database side of the access journal's guard: a trigger, a purge window, a purge function.

Installed after every `migrate` (post_migrate, also sent by the test database set-up with
--no-migrations) by the role that runs it — the owner of the tables — idempotently: CREATE TABLE
IF NOT EXISTS, CREATE OR REPLACE FUNCTION, DROP TRIGGER IF EXISTS / CREATE TRIGGER, REVOKE.

The application connects as another role (`manage.py db_grant_app_role`), which may SELECT and
INSERT journal rows and UPDATE only the three sealing columns; it has no DELETE and no TRUNCATE.
On top of those privileges the trigger refuses, whoever asks and whatever the session's settings
(no session variable opens anything any more, docs/journal.md):
- UPDATE: only sealing — the row was not sealed yet, nothing but chain_seq, prev_hash and
  row_hash changes, and all three are set.
- DELETE: only inside `parcours_journal_purge()`. That function is SECURITY DEFINER (it runs as
  the owner) and opens a purge window for its own transaction by inserting the transaction's id
  into `parcours_journal_purge_window`, a table only the owner can write; the trigger asks
  `parcours_journal_purging()` whether such a row exists. The application role can neither
  write that table nor set anything that stands for it.
- TRUNCATE: only by a superuser (Django's `flush` empties tables with TRUNCATE; a superuser can
  switch any trigger off anyway, as the test suite's flush does: tests/flush.py). The owner
  role of a deployment is not a superuser.
The purge function enforces the purge rules itself (`parcours_journal_purge_plan`): a prefix of
the sealed chain, never its head, rows older than the cut-off and than the minimum age
`JOURNAL_PURGE_MIN_AGE_DAYS`, never past the latest checkpoint, whose row must still match it;
and it writes the purge marker row itself.
Other database engines: nothing is installed.
"""

# The SQL below is built from identifiers (model tables, quoted) and constants, never input.
# ruff: noqa: S608

import logging
from typing import Any

from django.conf import settings
from django.db import connections

from .journal_partitions import (
    PARTITIONED_MARK,
    PROTECT_FUNCTION,
    functions_sql,
    journal_partitions_ensure,
    partition_journal_table,
)

logger = logging.getLogger(__name__)

APPEND_ONLY_MESSAGE = "Le journal des accès est en ajout seul : modification interdite."
FUNCTION_NAME = "parcours_journal_guard"
PURGING_FUNCTION = "parcours_journal_purging"
PLAN_FUNCTION = "parcours_journal_purge_plan"
PURGE_FUNCTION = "parcours_journal_purge"
# The signature, for GRANT / REVOKE (PostgreSQL names a function with its argument types).
PURGE_FUNCTION_ARGS = "timestamptz, bigint, text, bigint, bigint, text"
PURGE_WINDOW_TABLE = "parcours_journal_purge_window"
ROW_TRIGGER = "parcours_journal_guard_row"
TRUNCATE_TRIGGER = "parcours_journal_guard_truncate"
# Same key as services.journal.SEAL_LOCK_KEY ("pjournal" as a bigint): the purge holds the
# sealer's lock, so no sealing runs while the chain's start moves.
SEAL_LOCK_KEY = int.from_bytes(b"pjournal", "big")
# How long the purge waits for the lock that detaching a month needs (every insert holds a weaker
# one) before deleting that month's rows instead: journaling never queues behind a purge.
PARTITION_DROP_LOCK_TIMEOUT = "3s"
# canonical_timestamp() in SQL: ISO-8601 UTC with microseconds.
_UTC_FORMAT = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def trigger_sql(
    table: str, *, checkpoint_table: str, schema: str = "public", min_age_days: int = 0
) -> list[str]:
    """Every statement, in order. `schema` and the table names are quoted identifiers; every
    function pins its search_path and names the tables with their schema, so that nothing a
    caller puts on its own search_path is ever used by them."""
    window = f"{schema}.{PURGE_WINDOW_TABLE}"
    purging = f"{schema}.{PURGING_FUNCTION}"
    plan = f"{schema}.{PLAN_FUNCTION}"
    purge = f"{schema}.{PURGE_FUNCTION}"
    journal = f"{schema}.{table}"
    checkpoints = f"{schema}.{checkpoint_table}"
    message = _literal(APPEND_ONLY_MESSAGE)
    return [
        f"""
CREATE TABLE IF NOT EXISTS {window} (
    xact xid8 PRIMARY KEY,
    opened_at timestamptz NOT NULL DEFAULT now()
)""",
        f"COMMENT ON TABLE {window} IS "
        + _literal(
            "Fenêtres de purge du journal des accès : une ligne par transaction de "
            "parcours_journal_purge(), le temps de ses DELETE. Propriétaire seul."
        ),
        f"REVOKE ALL ON {window} FROM PUBLIC",
        f"""
CREATE OR REPLACE FUNCTION {purging}() RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM {window} WHERE xact = pg_current_xact_id_if_assigned()
    )
$$""",
        f"""
CREATE OR REPLACE FUNCTION {schema}.{FUNCTION_NAME}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.chain_seq IS NULL AND OLD.prev_hash = '' AND OLD.row_hash = ''
           AND NEW.chain_seq IS NOT NULL AND NEW.prev_hash <> '' AND NEW.row_hash <> ''
           AND (to_jsonb(NEW) - 'chain_seq' - 'prev_hash' - 'row_hash')
               = (to_jsonb(OLD) - 'chain_seq' - 'prev_hash' - 'row_hash') THEN
            RETURN NEW;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF {purging}() THEN
            RETURN OLD;
        END IF;
    ELSIF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper) THEN
            RETURN NULL;
        END IF;
    END IF;
    RAISE EXCEPTION {message} USING ERRCODE = 'P0001', TABLE = TG_TABLE_NAME;
END;
$$""",
        f"DROP TRIGGER IF EXISTS {ROW_TRIGGER} ON {journal}",
        f"CREATE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {journal} "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.{FUNCTION_NAME}()",
        f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {journal}",
        f"CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {journal} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{FUNCTION_NAME}()",
        # What a purge before `p_before` may delete now: sealed rows first_seq..last_seq
        # (nothing when last_seq < first_seq or is NULL). One place for the rules: the Python
        # service asks it which rows to verify, the purge function asks it again under the lock.
        f"""
CREATE OR REPLACE FUNCTION {plan}(
    p_before timestamptz, OUT first_seq bigint, OUT last_seq bigint, OUT cutoff timestamptz)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    head bigint;
    first_recent bigint;
    checkpoint_seq bigint;
BEGIN
    cutoff := least(p_before, now() - make_interval(days => {int(min_age_days)}));
    SELECT min(chain_seq), max(chain_seq) INTO first_seq, head FROM {journal};
    IF head IS NULL THEN
        RETURN;
    END IF;
    -- Never the head: the sealer continues the chain from it.
    last_seq := head - 1;
    -- A prefix of the chain only: it stops before the first sealed row at or after the cut-off.
    SELECT min(chain_seq) INTO first_recent FROM {journal}
        WHERE chain_seq IS NOT NULL AND occurred_at >= cutoff;
    IF first_recent IS NOT NULL THEN
        last_seq := least(last_seq, first_recent - 1);
    END IF;
    -- Never past the latest signed checkpoint; no checkpoint, no purge.
    SELECT c.chain_seq INTO checkpoint_seq FROM {checkpoints} AS c
        ORDER BY c.chain_seq DESC, c.id DESC LIMIT 1;
    IF checkpoint_seq IS NULL THEN
        last_seq := first_seq - 1;
    ELSE
        last_seq := least(last_seq, checkpoint_seq);
    END IF;
END;
$$""",
        # The one way to delete journal rows. The caller (services.journal.journal_purge) has
        # verified the hashes of rows first_seq..p_last_seq, which SQL cannot recompute;
        # p_last_hash is the hash it found for the last one (compare-and-delete).
        f"""
CREATE OR REPLACE FUNCTION {purge}(
    p_before timestamptz, p_last_seq bigint, p_last_hash text,
    p_user_id bigint, p_organisation_id bigint, p_purpose text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed record;
    stored text;
    checkpoint_seq bigint;
    checkpoint_hash text;
    deleted bigint;
    part record;
    blocked boolean;
    in_partition bigint;
    dropped integer := 0;
    dropped_rows bigint := 0;
    previous_lock_timeout text;
BEGIN
    PERFORM pg_advisory_xact_lock({SEAL_LOCK_KEY});
    SELECT * INTO allowed FROM {plan}(p_before);
    IF p_last_seq IS NULL OR allowed.last_seq IS NULL OR p_last_seq < allowed.first_seq
       OR p_last_seq > allowed.last_seq THEN
        RAISE EXCEPTION 'Purge refusée : jusqu''à la séquence % demandé, les règles de purge '
            'permettent de la séquence % à la séquence %.',
            p_last_seq, allowed.first_seq, allowed.last_seq USING ERRCODE = 'P0001';
    END IF;
    SELECT row_hash INTO stored FROM {journal} WHERE chain_seq = p_last_seq;
    IF stored IS DISTINCT FROM p_last_hash THEN
        RAISE EXCEPTION 'Purge refusée : la ligne de séquence % ne correspond pas à '
            'l''empreinte vérifiée.', p_last_seq USING ERRCODE = 'P0001';
    END IF;
    SELECT c.chain_seq, c.row_hash INTO checkpoint_seq, checkpoint_hash FROM {checkpoints} AS c
        ORDER BY c.chain_seq DESC, c.id DESC LIMIT 1;
    IF (SELECT row_hash FROM {journal} WHERE chain_seq = checkpoint_seq)
       IS DISTINCT FROM checkpoint_hash THEN
        RAISE EXCEPTION 'Purge refusée : la ligne de séquence % ne correspond plus au dernier '
            'point de contrôle signé.', checkpoint_seq USING ERRCODE = 'P0001';
    END IF;
    -- Whole months first (journal_partitions.py): a partition that ends before the cut-off
    -- and holds only rows of the prefix being purged is detached and dropped. A month a lock
    -- keeps busy for more than a few seconds, or one holding a row sealed later than the
    -- prefix, loses its rows by DELETE below instead.
    previous_lock_timeout := current_setting('lock_timeout');
    PERFORM set_config('lock_timeout', '{PARTITION_DROP_LOCK_TIMEOUT}', true);
    FOR part IN
        SELECT c.oid::regclass AS name, substring(pg_get_expr(c.relpartbound, c.oid)
               FROM 'TO \\(''([^'']+)''\\)')::timestamptz AS ends
        FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = '{journal}'::regclass
        ORDER BY 2
    LOOP
        CONTINUE WHEN part.ends IS NULL OR part.ends > allowed.cutoff;
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE chain_seq IS NULL '
                       'OR chain_seq > $1)', part.name) INTO blocked USING p_last_seq;
        CONTINUE WHEN blocked;
        EXECUTE format('SELECT count(*) FROM %s', part.name) INTO in_partition;
        BEGIN
            EXECUTE format('ALTER TABLE {journal} DETACH PARTITION %s', part.name);
            EXECUTE format('DROP TABLE %s', part.name);
            dropped_rows := dropped_rows + in_partition;
            dropped := dropped + 1;
        EXCEPTION WHEN lock_not_available OR object_in_use THEN
            NULL;  -- busy, or rows of this very transaction in it: deleted below
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', previous_lock_timeout, true);
    INSERT INTO {window} (xact) VALUES (pg_current_xact_id());
    DELETE FROM {journal} WHERE chain_seq <= p_last_seq;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    deleted := deleted + dropped_rows;
    DELETE FROM {window} WHERE xact = pg_current_xact_id();
    INSERT INTO {journal} (
        occurred_at, user_id, organisation_id, operation, object_type, object_id, object_ids,
        person_id, categories, purpose, basis, request_id, client_ip, detail,
        chain_seq, prev_hash, row_hash)
    VALUES (
        statement_timestamp(), p_user_id, p_organisation_id, 'purge_marker', 'journal', NULL,
        '[]'::jsonb, NULL, '[]'::jsonb, coalesce(p_purpose, ''), '', '', NULL,
        jsonb_build_object(
            'purged_before', to_char(allowed.cutoff AT TIME ZONE 'UTC', {_UTC_FORMAT}),
            'purged_count', deleted,
            'first_purged_chain_seq', allowed.first_seq,
            'last_purged_chain_seq', p_last_seq,
            'last_purged_row_hash', stored,
            'dropped_partitions', dropped),
        NULL, '', '');
    RETURN deleted;
END;
$$""",
        f"REVOKE ALL ON FUNCTION {purge}({PURGE_FUNCTION_ARGS}) FROM PUBLIC",
    ]


def install_journal_trigger(*, using: str = "default", apps: Any = None, **kwargs: Any) -> None:
    """post_migrate handler: (re)install the guard when the journal table exists (PostgreSQL),
    as its owner; a `migrate` run by another role (nothing to migrate) leaves it as it is."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if apps is not None:
        try:
            model = apps.get_model("parcours", "AccessEvent")
            checkpoint_model = apps.get_model("parcours", "JournalCheckpoint")
        except LookupError:  # migrated to a state before the journal existed
            return
    else:
        from .models import AccessEvent as model
        from .models import JournalCheckpoint as checkpoint_model
    table = model._meta.db_table
    checkpoint_table = checkpoint_model._meta.db_table
    with connection.cursor() as cursor:
        existing = connection.introspection.table_names(cursor)
        if table not in existing or checkpoint_table not in existing:
            return
        cursor.execute(
            "SELECT current_schema(), pg_has_role(current_user, c.relowner, 'USAGE') "
            "FROM pg_class AS c WHERE c.oid = to_regclass(%s)",
            [connection.ops.quote_name(table)],
        )
        schema, owner = cursor.fetchone()
        if not owner:
            logger.warning(
                "Garde du journal non réinstallée : le rôle connecté n'est pas propriétaire de "
                "%s (lancez migrate avec le rôle propriétaire, docs/operations.md).",
                table,
            )
            return
        quote = connection.ops.quote_name
        # A test database is built from the models, not by migration 0028: partitioned here —
        # only when the models are at 0028 or later (a `migrate` to an earlier state must not).
        if any(c.name == PARTITIONED_MARK for c in model._meta.constraints):
            partition_journal_table(cursor, table=table)
        for statement in trigger_sql(
            quote(table),
            schema=quote(schema),
            checkpoint_table=quote(checkpoint_table),
            min_age_days=settings.JOURNAL_PURGE_MIN_AGE_DAYS,
        ):
            cursor.execute(statement)
        for statement in functions_sql(
            table=table,
            schema=quote(schema),
            guard_function=FUNCTION_NAME,
            truncate_trigger=TRUNCATE_TRIGGER,
            window_table=PURGE_WINDOW_TABLE,
        ):
            cursor.execute(statement)
        cursor.execute(
            f"SELECT {quote(schema)}.{PROTECT_FUNCTION}(i.inhrelid::regclass) "
            "FROM pg_inherits AS i WHERE i.inhparent = to_regclass(%s)",
            [quote(table)],
        )
    journal_partitions_ensure(using=using)
