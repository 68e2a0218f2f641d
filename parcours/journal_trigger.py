"""The PostgreSQL trigger that keeps the access journal append-only.

Installed after every `migrate` (post_migrate, also sent by the test database set-up with
--no-migrations), idempotently: CREATE OR REPLACE FUNCTION, DROP TRIGGER IF EXISTS, CREATE TRIGGER.
Rules (docs/journal.md):
- INSERT: always allowed.
- UPDATE: only sealing, i.e. the row was not sealed yet (row_hash = '') and nothing but
  chain_seq, prev_hash and row_hash changes.
- DELETE: only inside `services.journal.journal_purge` (SET LOCAL parcours.journal_purge = 'on').
- TRUNCATE: only with parcours.journal_purge = 'on', or parcours.journal_allow_truncate = 'on'
  (set by backend/settings/test.py alone, so that test database flushes keep working).
Other database engines: nothing is installed.
"""

from typing import Any

from django.db import connections

APPEND_ONLY_MESSAGE = "Le journal des accès est en ajout seul : modification interdite."
FUNCTION_NAME = "parcours_journal_guard"
ROW_TRIGGER = "parcours_journal_guard_row"
TRUNCATE_TRIGGER = "parcours_journal_guard_truncate"


def trigger_sql(table: str) -> list[str]:
    message = APPEND_ONLY_MESSAGE.replace("'", "''")
    return [
        f"""
CREATE OR REPLACE FUNCTION {FUNCTION_NAME}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.row_hash = ''
           AND (to_jsonb(NEW) - 'chain_seq' - 'prev_hash' - 'row_hash')
               = (to_jsonb(OLD) - 'chain_seq' - 'prev_hash' - 'row_hash') THEN
            RETURN NEW;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF coalesce(current_setting('parcours.journal_purge', true), '') = 'on' THEN
            RETURN OLD;
        END IF;
    ELSIF TG_OP = 'TRUNCATE' THEN
        IF coalesce(current_setting('parcours.journal_purge', true), '') = 'on'
           OR coalesce(current_setting('parcours.journal_allow_truncate', true), '') = 'on' THEN
            RETURN NULL;
        END IF;
    END IF;
    RAISE EXCEPTION '{message}' USING ERRCODE = 'P0001', TABLE = TG_TABLE_NAME;
END;
$$""",
        f"DROP TRIGGER IF EXISTS {ROW_TRIGGER} ON {table}",
        f"CREATE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION_NAME}()",
        f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {table}",
        f"CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION_NAME}()",
    ]


def install_journal_trigger(*, using: str = "default", apps: Any = None, **kwargs: Any) -> None:
    """post_migrate handler: (re)install the guard when the journal table exists (PostgreSQL)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if apps is not None:
        try:
            model = apps.get_model("parcours", "AccessEvent")
        except LookupError:  # migrated to a state before the journal existed
            return
    else:
        from .models import AccessEvent as model
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return
        quoted = connection.ops.quote_name(table)
        for statement in trigger_sql(quoted):
            cursor.execute(statement)
