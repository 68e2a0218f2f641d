"""PostgreSQL's `timestamptz` values read by psycopg's C loader (issue 17).

Django registers its own loader for `timestamptz` on every PostgreSQL connection
(`django.db.backends.postgresql.psycopg_any.BaseTzLoader`): psycopg's pure-Python loader, then
`replace(tzinfo=<the connection's zone>)`. Parsing in Python costs ~5 µs a value where the C
loader psycopg ships (`psycopg[binary]`) costs ~0.4: a page of 50 referrals reads ~650 of them
(~3 ms of its ~10 ms of CPU).

With `USE_TZ` and the session's time zone UTC (Django sets it: `DatabaseWrapper.timezone_name`),
the C loader gives the same values with the same `tzinfo` object, `datetime.timezone.utc`
(psycopg maps the server's "UTC" to it: `psycopg._tz`). This loader is registered on such a
connection only; it carries the `timezone` Django's cursor compares with its own before
registering its loader again (`DatabaseWrapper.create_cursor`). Held equal to Django's loader
by tests/test_db_datetimes.py.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from psycopg import _cmodule
from psycopg.adapt import Loader

_C = _cmodule._psycopg  # None without the C implementation (psycopg's pure-Python fallback)


class UtcTimestamptzLoader(Loader):
    """psycopg's C `TimestamptzLoader`, with the `timezone` Django's cursor reads."""

    timezone = dt.UTC

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        # The C loader's bound method itself: no Python frame per value.
        self.load = _C.TimestamptzLoader(oid, context).load  # type: ignore[method-assign,union-attr]

    def load(self, data: Any) -> dt.datetime:  # replaced on each instance, above
        raise NotImplementedError


def use_c_timestamptz_loader(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On a new PostgreSQL connection whose session's time zone is UTC, with `USE_TZ`: the C
    loader for `timestamptz` (a `connection_created` receiver)."""
    if connection.vendor != "postgresql" or _C is None or not settings.USE_TZ:
        return
    if connection.timezone is not dt.UTC:
        return
    if connection.connection.info.parameter_status("TimeZone") != "UTC":
        return
    connection.connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
