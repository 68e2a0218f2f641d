"""The session read by a compiled, prepared statement (web/session_store.py): Django's
database store's statement and answers — a live session found, an expired one or an unknown
key not (the key forgotten), a session written then read back."""

import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from web.session_store import SessionStore

pytestmark = pytest.mark.django_db


def _loaded(store_class, key):
    store = store_class(key)
    data = store.load()
    return data, store.session_key


def test_the_store_reads_as_django_s_database_store():
    written = SessionStore()
    written["_activity_at"] = 1
    written["acting_organisation"] = 42
    written.save()
    key = written.session_key
    for _again in range(3):  # prepared after the first reads
        assert _loaded(SessionStore, key) == _loaded(DjangoStore, key)
    data, kept = _loaded(SessionStore, key)
    assert data == {"_activity_at": 1, "acting_organisation": 42} and kept == key
    at = timezone.now()
    with time_machine.travel(at, tick=False):
        with CaptureQueriesContext(connection) as ours:
            SessionStore(key).load()
        with CaptureQueriesContext(connection) as django:
            DjangoStore(key).load()
    assert [q["sql"] for q in ours.captured_queries] == [q["sql"] for q in django.captured_queries]


def test_an_expired_session_or_an_unknown_key_is_not_found():
    written = SessionStore()
    written["x"] = "y"
    written.set_expiry(60)
    written.save()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        assert _loaded(SessionStore, written.session_key) == ({}, None)
        assert _loaded(DjangoStore, written.session_key) == ({}, None)
    for key in ("a" * 32, "x" * 300, "é'; --"):
        assert _loaded(SessionStore, key) == _loaded(DjangoStore, key) == ({}, None)
