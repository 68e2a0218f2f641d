"""The read replica, in this process, against a real primary and streaming replica (issue 17):
the DPO's reports read the replica and an ordinary page the primary; a user who wrote reads the
primary for the pinning window; a replica that does not answer or lags too far is left for the
primary, with a WARNING and never a 500.

How a read is shown to come from the replica: the replica's replay is paused
(`pg_wal_replay_pause()`), something is written on the primary, and what the replica serves
does not hold it — while the statements are also counted per alias.
"""

import datetime as dt
import logging

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from parcours.db_routing import PRIMARY, REPLICA, reads_from_replica
from parcours.models import AccessEvent, Person
from tests.factories import PathwayFactory, api_token_for

from .conftest import counting

ROUTING_LOGGER = "parcours.db_routing"


def _period() -> dict[str, str]:
    today = timezone.localdate()
    return {"from": (today - dt.timedelta(days=1)).isoformat(), "to": today.isoformat()}


def _api(actor) -> APIClient:
    """The API as a partner system: through the actor's token (the real token door)."""
    _, secret = api_token_for(actor)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def _report(client: APIClient, person) -> list[dict]:
    response = client.get(f"/api/v1/dpo/persons/{person.pk}/access-report/", _period())
    assert response.status_code == 200, response.content
    return response.json()["rows"]


def _operations(rows: list[dict], user) -> list[str]:
    return [row["operation"] for row in rows if row["user"] == user.get_full_name()]


def test_a_dpo_report_reads_the_replica_and_an_ordinary_page_the_primary(world, replicated):
    person, counsellor, dpo = world["person"], world["counsellor"], world["dpo"]
    counsellor_api, dpo_api = _api(counsellor), _api(dpo)
    _report(dpo_api, person)  # the token's first use is stamped (bookkeeping) and replicated
    replicated.wait_replayed()

    replicated.pause_replay()
    # On the primary only: the counsellor reads the person (a journal row) and renames them.
    assert counsellor_api.get(f"/api/v1/persons/{person.pk}/").status_code == 200
    Person.objects.filter(pk=person.pk).update(city="Liévin")
    replicated.wait_received()

    with counting() as ordinary:
        page = counsellor_api.get(f"/api/v1/persons/{person.pk}/")
    assert page.status_code == 200
    assert page.json()["city"] == "Liévin"  # the primary's
    assert ordinary.reads(REPLICA) == 0

    reports_before = AccessEvent.objects.filter(operation="report").count()
    with counting() as report:
        rows = _report(dpo_api, person)
    # The replica has not replayed the counsellor's read: the report does not list it …
    assert "Consultation" not in _operations(rows, counsellor.user)
    assert report.reads(REPLICA) > 0
    # … and the report's own journal row went to the primary.
    assert report.writes(PRIMARY) >= 1
    assert report.writes(REPLICA) == 0
    assert AccessEvent.objects.filter(operation="report").count() == reports_before + 1

    replicated.resume_replay()
    assert "Consultation" in _operations(_report(dpo_api, person), counsellor.user)


def test_reads_outside_a_replica_block_never_reach_the_replica(world, replicated):
    replicated.pause_replay()
    fresh = PathwayFactory(owner_organisation=world["organisation"]).person
    replicated.wait_received()
    with counting() as log:
        assert Person.objects.filter(pk=fresh.pk).exists()
        with reads_from_replica():
            assert not Person.objects.filter(pk=fresh.pk).exists()  # not replayed yet
            # A write inside the block goes to the primary, and the rest of the block reads
            # the primary: its own write is never missing.
            Person.objects.filter(pk=fresh.pk).update(city="Arras")
            assert Person.objects.get(pk=fresh.pk).city == "Arras"
    assert log.reads(REPLICA) == 1
    assert log.writes(REPLICA) == 0


@pytest.mark.parametrize("door", ["api", "page"])
def test_a_user_who_just_wrote_reads_their_write_on_the_next_request(world, replicated, door):
    """The DPO exports the person's pack (a POST: the export is journaled), then opens the
    access report: the export is listed although the replica has not replayed it — the DPO is
    pinned to the primary. Another DPO, who wrote nothing, still reads the replica; so does the
    first once the pinning window has passed."""
    person, dpo, other = world["person"], world["dpo"], world["other_dpo"]
    if door == "api":
        writer, reader = _api(dpo), _api(other)
        _report(writer, person)  # the tokens' first use (stamped), then replicated
        _report(reader, person)
        replicated.wait_replayed()
        replicated.pause_replay()
        pack = writer.post(f"/api/v1/dpo/persons/{person.pk}/subject-access-pack/")
        assert pack.status_code == 200, pack.content

        def exports(client) -> list[str]:
            return [op for op in _operations(_report(client, person), dpo.user) if op == "Export"]

    else:
        writer, reader = Client(), Client()
        writer.force_login(dpo.user)
        reader.force_login(other.user)
        replicated.wait_replayed()
        replicated.pause_replay()
        url = reverse("web:dpo-subject-access-pack", args=[person.pk])
        assert writer.post(url).status_code == 200

        def exports(client) -> list[str]:
            response = client.get(reverse("web:dpo-person-report", args=[person.pk]))
            assert response.status_code == 200
            rows = response.context["report"].rows
            return [row.operation for row in rows if row.operation == "Export"]

    replicated.wait_received()
    with counting() as pinned:
        assert exports(writer) == ["Export"]  # their own write, from the primary
    assert pinned.reads(REPLICA) == 0
    with counting() as unpinned:
        assert exports(reader) == []  # the replica's (replay paused)
    assert unpinned.reads(REPLICA) > 0

    later = timezone.now() + dt.timedelta(seconds=settings.DATABASE_REPLICA_PIN_SECONDS + 1)
    with time_machine.travel(later, tick=True), counting() as after_window:
        assert exports(writer) == []
    assert after_window.reads(REPLICA) > 0


def test_a_replica_that_does_not_answer_is_left_for_the_primary(world, replicated, caplog):
    person, counsellor, dpo = world["person"], world["counsellor"], world["dpo"]
    dpo_api = _api(dpo)
    _report(dpo_api, person)
    replicated.replica.stop()
    try:
        assert _api(counsellor).get(f"/api/v1/persons/{person.pk}/").status_code == 200
        with caplog.at_level(logging.WARNING, logger=ROUTING_LOGGER), counting() as log:
            rows = _report(dpo_api, person)  # 200, from the primary
        assert "Consultation" in _operations(rows, counsellor.user)
        assert log.reads(REPLICA) == 0
        assert "read replica: does not answer" in caplog.text
    finally:
        replicated.restart_replica()


def test_a_replica_that_fails_during_a_report_is_replaced_by_the_primary(world, replicated, caplog):
    """Measured healthy, then stopped before the report's queries: the report fails on the
    replica and is made again on the primary (one journal row, not two)."""
    person, counsellor, dpo = world["person"], world["counsellor"], world["dpo"]
    dpo_api = _api(dpo)
    _report(dpo_api, person)
    with override_settings(DATABASE_REPLICA_CHECK_SECONDS=3600):
        with reads_from_replica():
            assert Person.objects.filter(pk=person.pk).exists()  # measured: usable
        replicated.replica.stop()
        try:
            assert _api(counsellor).get(f"/api/v1/persons/{person.pk}/").status_code == 200
            reports_before = AccessEvent.objects.filter(operation="report").count()
            with caplog.at_level(logging.WARNING, logger=ROUTING_LOGGER):
                rows = _report(dpo_api, person)
            assert "Consultation" in _operations(rows, counsellor.user)
            assert "read replica: failed during dpo_person_report" in caplog.text
            assert AccessEvent.objects.filter(operation="report").count() == reports_before + 1
        finally:
            replicated.restart_replica()


def test_a_replica_lagging_beyond_the_setting_is_left_for_the_primary(world, replicated, caplog):
    person, counsellor, dpo = world["person"], world["counsellor"], world["dpo"]
    dpo_api = _api(dpo)
    _report(dpo_api, person)
    replicated.wait_replayed()
    replicated.pause_replay()
    assert _api(counsellor).get(f"/api/v1/persons/{person.pk}/").status_code == 200
    replicated.wait_received()
    # Behind by the age of its last replayed transaction: more than none at all.
    with (
        override_settings(DATABASE_REPLICA_MAX_LAG_SECONDS=0),
        caplog.at_level(logging.WARNING, logger=ROUTING_LOGGER),
        counting() as log,
    ):
        rows = _report(dpo_api, person)
    assert "Consultation" in _operations(rows, counsellor.user)
    assert log.reads(REPLICA) == 0
    assert "behind the primary" in caplog.text
