"""Django's database sessions, the session read by a compiled, prepared statement (issue 17).

Every page reads its session first: Django's `SessionStore` builds and compiles
`Session.objects.get(session_key=…, expire_date__gt=now)` on each request (~0.25 ms of CPU),
and PostgreSQL plans it each time. Here the same statement is compiled once
(parcours/compiled.py) and, found by its key, prepared (parcours/prepared_statements.py).
Everything else — decoding, saving, expiry, cycling the key — is Django's.
"""

import datetime as dt

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from parcours.compiled import CompiledQuery

# `QuerySet.get`'s statement: the filter, at most 21 rows (the key is the primary key: one).
_BY_KEY = CompiledQuery(
    Session,
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now)[:21],
    "key",
    "now",
    types={"key": str, "now": dt.datetime},
    prepared=True,
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        found = _BY_KEY.first(key=self.session_key, now=timezone.now())
        if found is None:  # as Django's store: a key that no session holds is forgotten
            self._session_key = None
        return found
