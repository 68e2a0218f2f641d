"""Session activity stamped at most once a minute (issue 17): a page no longer writes its session
on every request, and the idle timeout (PARCOURS_SESSION_IDLE_MINUTES) still slides with
activity and still ends an idle session."""

import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _expiry(client: Client) -> dt.datetime:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_a_page_writes_its_session_at_most_once_a_minute(make_actor):
    client = Client()
    client.force_login(make_actor().user)
    url = reverse("web:preferences")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get(url)  # the first request stamps it
        first = _expiry(client)
    later = time_machine.travel(start + dt.timedelta(seconds=30), tick=False)
    with later, CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    writes = [q["sql"] for q in queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]
    assert writes == []
    assert _expiry(client) == first
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        client.get(url)
        assert _expiry(client) == first + dt.timedelta(seconds=61)


def test_an_active_session_outlives_the_idle_timeout_and_an_idle_one_ends(make_actor, settings):
    client = Client()
    client.force_login(make_actor().user)
    url = reverse("web:preferences")
    start = timezone.now()
    idle = dt.timedelta(minutes=settings.PARCOURS_SESSION_IDLE_MINUTES)
    with time_machine.travel(start, tick=False):
        client.get(url)
    for minutes in (20, 40, 60):  # a request every 20 minutes: still signed in after an hour
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            assert client.get(url).status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=60) + idle + dt.timedelta(seconds=1)):
        response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/connexion/")
