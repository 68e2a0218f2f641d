"""Statements that read by id, and the journal's INSERT, prepared on the server (issue 17).

Django's psycopg connection binds parameters on the client and never prepares: PostgreSQL
parses and plans every statement, and planning is most of a detail's database time (the person
page's 20 statements: ~2.0 ms of planning for ~0.3 ms of execution at 1 M pathways,
docs/performance.md). A compiled query (parcours/compiled.py) already has its SQL fixed: sent
with its values bound on the server and prepared (psycopg's `prepare=True`, the connection's
`_pg3_*` statements), PostgreSQL plans it a few times, then keeps a generic plan.

Only statements whose plan does not depend on an organisation's size are prepared: those that
**find rows by their ids** — a record by its id and scope, a pathway's or a person's rows, a
prefetch by keys, a user's memberships, a page's grant rows — and the journal's one-row INSERT.
A list over an organisation's scope is not: its best plan depends on the organisation (63,000
pathways seen or 700), and PostgreSQL's generic plan, chosen for an average one, made the large
organisation's referrals 8× slower in the trial (docs/performance.md, « Prepared statements »).
Those keep Django's path, planned on each request.

Django's path is kept too whenever someone watches the connection's statements — its query log
(DEBUG, `CaptureQueriesContext`, the HTTP bench's capture of the floor's SQL) or an execute
wrapper (tests/replica) — so that what they see is what Django would have sent, literals in
place; and on another database than PostgreSQL (`make run` on SQLite).
"""

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

_TIMESTAMPTZ = "timestamptz"
_ONLY_WHEN_ASKED = 2**31 - 1  # executions before psycopg prepares a statement by itself


def watched(connection: Any) -> bool:
    """Whether the connection's statements are logged or wrapped (Django's path then)."""
    return bool(connection.queries_logged or connection.execute_wrappers)


def fetch(
    connection: Any,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any],
    *,
    prepared: bool,
    one: bool = False,
) -> list:
    """The statement's rows (its first only: `one`), prepared on the server when `prepared`
    and nobody watches the connection, else through Django's cursor."""
    if not prepared or connection.vendor != "postgresql" or watched(connection):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchmany(1) if one else cursor.fetchall()
    # What Django's `connection.cursor()` checks and sets up, then a server-binding cursor.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django opens the connection with no threshold, and psycopg then prepares nothing,
        # even when asked. Django's own cursors bind on the client and never prepare; with a
        # threshold no statement reaches, psycopg prepares only what `prepare=True` asks.
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        _same_time_zone(connection, cursor)
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchmany(1) if one else cursor.fetchall()


def _same_time_zone(connection: Any, cursor: psycopg.Cursor) -> None:
    """As `DatabaseWrapper.create_cursor`: timestamps read in the connection's time zone."""
    oid = connection.connection.adapters.types[_TIMESTAMPTZ].oid
    loader = connection.connection.adapters.get_loader(oid, Format.TEXT)
    if connection.timezone != getattr(loader, "timezone", None):
        register_tzloader(connection.timezone, cursor)
