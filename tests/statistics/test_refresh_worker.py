"""The refresh queued for real: the retention job, run by a Celery worker through a broker of
the test's own, queues `parcours.referral_figures_refresh` when it ends, and the worker computes
the figures (never the web process, never per request)."""

import os

import pytest
from celery.backends.redis import RedisBackend
from celery.states import READY_STATES, SUCCESS
from django.utils import timezone
from kombu import Connection

from backend.celery import app
from parcours.models import ReferralFigureRefresh, ReferralMonthlyFigure
from tests.processes import start_worker, stop, wait_until

from .conftest import make_world


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_retention_job_queues_the_refresh_which_a_worker_runs(private_broker, tmp_path):
    world = make_world(1, refresh=False)
    assert not ReferralMonthlyFigure.objects.exists()
    worker = start_worker(
        name=f"statistics-{os.getpid()}",
        broker_url=private_broker.url,
        log_path=tmp_path / "worker.log",
    )
    results = RedisBackend(app=app, url=private_broker.url)
    try:
        with Connection(private_broker.url) as connection:
            queued = app.tasks["parcours.retention_apply"].apply_async(
                kwargs={"now": timezone.now().isoformat()}, connection=connection
            )
        meta = wait_until(
            lambda: (m := results.get_task_meta(queued.id))["status"] in READY_STATES and m,
            timeout=120,
            what="the retention job",
        )
        assert meta["status"] == SUCCESS, meta["traceback"]
        # The refresh it queued, run by the same worker.
        refresh = wait_until(
            ReferralFigureRefresh.objects.first, timeout=120, what="the figures' refresh"
        )
        assert world.month.isoformat() in refresh.months
        cell = ReferralMonthlyFigure.objects.get()
        assert (cell.sent, cell.answered, cell.refused_no_capacity) == (16, 13, 3)
    finally:
        stop(worker)
    assert "parcours.referral_figures_refresh" in (tmp_path / "worker.log").read_text()
