"""Emptying the test database after a transactional test (pytest-django's `flush`), cheaply.

Django's `flush` empties every table with one TRUNCATE. On PostgreSQL a TRUNCATE gives each
table, index, TOAST table and journal partition a new file (about 580 relations here): 4-6 s a
flush on the shared 2-core machine under load (measured: 5.8-6.4 s with post_migrate, against
1.4-1.7 s here), whichever dozen tables the test wrote to, and `make test` has a few hundred
transactional tests. Here the same flush transaction DELETEs from every table instead (nearly
free on an empty table), with triggers and foreign-key checks off for that transaction only
(`SET LOCAL session_replication_role = replica`, which only a superuser may set): every table
is emptied, so no reference is left dangling; the journal's guard, a trigger that refuses
DELETE outside the retention purge (parcours/journal_trigger.py), does not fire either — a
superuser can switch any trigger off, as the guard's notes say. What the next test finds is
what TRUNCATE left: every table empty, sequences untouched (a flush without
`reset_sequences`), then `post_migrate` as before (content types, permissions, the journal's
guard, the key canary).

Only that case is changed: another database engine, a role that is not a superuser (it may not
switch triggers off), `reset_sequences` or `available_apps` (TRUNCATE … CASCADE) keep Django's
own statements.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.management.commands import flush as flush_command


def _is_superuser(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SHOW is_superuser")
        return cursor.fetchone()[0] == "on"


def delete_everything_sql(original: Callable) -> Callable:
    def sql_flush(style, connection, reset_sequences=True, allow_cascade=False):
        if (
            connection.vendor != "postgresql"
            or reset_sequences
            or allow_cascade
            or not _is_superuser(connection)
        ):
            return original(
                style, connection, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        tables = connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        quote = connection.ops.quote_name
        # Table names from the models, quoted: no input reaches this SQL.
        # Never empty: `flush` sends post_migrate only after a non-empty list.
        return [
            "SET LOCAL session_replication_role = replica",
            *(f"DELETE FROM {quote(table)}" for table in sorted(tables)),  # noqa: S608
            "SET LOCAL session_replication_role = DEFAULT",
        ]

    return sql_flush


@contextmanager
def flush_by_delete() -> Iterator[None]:
    original = flush_command.sql_flush
    flush_command.sql_flush = delete_everything_sql(original)
    try:
        yield
    finally:
        flush_command.sql_flush = original
