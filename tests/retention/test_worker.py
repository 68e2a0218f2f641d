"""The retention task run by a real Celery worker process, on a Redis of its own.

A private worker and broker, not the session's shared worker: the job recomputes grants, and a
worker process caches permission and content-type ids, which the database flush between
transactional tests renumbers — a shared worker would carry stale ids into the next test.
"""

import datetime as dt
import os

import pytest
import time_machine
from kombu import Connection

from parcours.gate.journal import journal_record
from parcours.models import AccessEvent, AccessOperation, JournalCheckpoint, Pathway
from parcours.retention_tasks import retention_apply_task
from parcours.services.journal import journal_seal_all, journal_verify
from tests.factories import PathwayFactory
from tests.processes import PrivateRedis, start_worker, stop, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_worker(signing_key, settings, tmp_path):
    """A worker on a private Redis, with the journal signing key in its environment."""
    redis_server = PrivateRedis().start()
    process = start_worker(
        name=f"retention-{os.getpid()}",
        broker_url=redis_server.url,
        log_path=tmp_path / "worker.log",
        JOURNAL_SIGNING_KEY_FILE=settings.JOURNAL_SIGNING_KEY_FILE,
    )
    yield redis_server
    stop(process)
    redis_server.stop()


def test_a_real_worker_archives_purges_and_reports(private_worker, make_actor):
    owner = make_actor()
    now = dt.datetime.now(dt.UTC)
    stale = PathwayFactory(
        owner_organisation=owner.organisation, opened_at=now - dt.timedelta(days=3 * 365)
    )
    fresh = PathwayFactory(owner_organisation=owner.organisation)
    with time_machine.travel(now - dt.timedelta(days=400)):
        old_rows = [
            journal_record(actor=owner, operation=AccessOperation.READ, object_type="pathway").pk
            for _ in range(3)
        ]
    journal_record(actor=owner, operation=AccessOperation.READ, object_type="pathway")
    journal_seal_all()

    with Connection(private_worker.url) as connection:
        retention_apply_task.apply_async(kwargs={"now": now.isoformat()}, connection=connection)

    report = wait_until(
        lambda: AccessEvent.objects.filter(
            operation=AccessOperation.REPORT, object_type="retention"
        ).first(),
        timeout=90,
        what="the retention run's report",
    )
    assert report.detail["archived"] == 1 and report.detail["complete"]
    assert report.detail["journal_purged"] == 3
    assert Pathway.objects.get(pk=stale.pk).archived_at == now
    assert Pathway.objects.get(pk=fresh.pk).archived_at is None
    assert not AccessEvent.objects.filter(pk__in=old_rows).exists()
    assert JournalCheckpoint.objects.count() == 1
    journal_seal_all()
    assert journal_verify().ok
