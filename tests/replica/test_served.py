"""The read replica as production runs it: gunicorn (two workers, persistent connections)
started with DATABASE_URL on the private primary and DATABASE_REPLICA_URL on its replica, over
real HTTP. The DPO's report is served from the replica; a DPO who just exported reads the
export on the next request, whichever worker answers (the pin is in Redis); the replica
stopped, the report still answers 200, from the primary."""

import datetime as dt
import uuid

import pytest
import requests
from django.utils import timezone

from tests.factories import api_token_for
from tests.health.test_database_resilience import start_gunicorn, wait_for_liveness
from tests.processes import stop

ROUNDS = 6  # requests after the write: with two workers, both answer some of them


@pytest.fixture
def server(world, replicated, tmp_path):
    log_path = tmp_path / "gunicorn.log"
    process, base = start_gunicorn(
        log_path,
        DATABASE_URL=replicated.primary.url(replicated.database),
        DATABASE_REPLICA_URL=replicated.replica.url(replicated.database),
        # Replay is paused below: the lag grows, and an hour of it is still served.
        DATABASE_REPLICA_MAX_LAG_SECONDS="3600",
        DATABASE_REPLICA_CHECK_SECONDS="0",
        PARCOURS_TEST_PIN_PREFIX=f"parcours-pins-served-{uuid.uuid4().hex}",
    )
    try:
        wait_for_liveness(process, base, log_path)
        yield base, log_path
    finally:
        stop(process)


def _session(actor) -> requests.Session:
    _, secret = api_token_for(actor)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {secret}"
    return session


def _report(session: requests.Session, base: str, person) -> list[dict]:
    today = timezone.localdate()
    response = session.get(
        f"{base}/api/v1/dpo/persons/{person.pk}/access-report/",
        params={"from": (today - dt.timedelta(days=1)).isoformat(), "to": today.isoformat()},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def _seen(rows: list[dict], actor, operation: str) -> bool:
    return any(
        row["operation"] == operation and row["user"] == actor.user.get_full_name() for row in rows
    )


def test_reports_over_http_read_the_replica_pin_the_writer_and_survive_its_loss(
    server, world, replicated
):
    base, log_path = server
    person, counsellor, dpo, other = (
        world[k] for k in ("person", "counsellor", "dpo", "other_dpo")
    )
    counsellor_api, dpo_api, other_api = _session(counsellor), _session(dpo), _session(other)
    _report(dpo_api, base, person)  # the tokens' first use is stamped, then replicated
    _report(other_api, base, person)
    replicated.wait_replayed()

    replicated.pause_replay()
    read = counsellor_api.get(f"{base}/api/v1/persons/{person.pk}/", timeout=30)
    assert read.status_code == 200  # a journal row, on the primary only
    replicated.wait_received()
    assert not _seen(_report(dpo_api, base, person), counsellor, "Consultation")  # the replica

    pack = dpo_api.post(f"{base}/api/v1/dpo/persons/{person.pk}/subject-access-pack/", timeout=30)
    assert pack.status_code == 200, pack.text
    for _ in range(ROUNDS):  # pinned: the primary, on either worker
        rows = _report(dpo_api, base, person)
        assert _seen(rows, dpo, "Export")
        assert _seen(rows, counsellor, "Consultation")
    assert not _seen(_report(other_api, base, person), dpo, "Export")  # not pinned: the replica

    replicated.replica.stop()
    try:
        for _ in range(ROUNDS):
            assert _seen(_report(other_api, base, person), dpo, "Export")  # 200, the primary's
    finally:
        replicated.restart_replica()
    assert "read replica: does not answer; reading the primary" in log_path.read_text()
