"""The signed checkpoint made on a schedule (beat entry `journal-checkpoint`, task
`parcours.journal_checkpoint_scheduled`): in process, then through real beat and worker
processes logged in as the application's database role."""

# Raw SQL on the journal table (a constant name, never input) simulates tampering.
# ruff: noqa: S608

import io
import logging
import re

import pytest
from django.core.management import call_command

from parcours.gate.journal import journal_record
from parcours.journal_tasks import journal_checkpoint_scheduled
from parcours.models import AccessEvent, AccessOperation, JournalCheckpoint
from parcours.services.journal import (
    journal_signing_key_load,
    public_key_pem,
)
from tests.processes import PrivateRedis, start_beat, start_worker, stop, wait_until

from .conftest import app_database_url

TABLE = AccessEvent._meta.db_table


def record(actor, count=1):
    for _ in range(count):
        journal_record(
            actor=actor, operation=AccessOperation.READ, object_type="pathway", object_id=1
        )


@pytest.fixture
def key_file(tmp_path, settings):
    path = tmp_path / "journal-signing.pem"
    call_command("journal_checkpoint", "--generate-key", str(path), stdout=io.StringIO())
    settings.JOURNAL_SIGNING_KEY_FILE = str(path)
    return path


def test_the_task_is_registered_scheduled_and_bounded(settings):
    from backend.celery import app

    app.loader.import_default_modules()
    task = app.tasks["parcours.journal_checkpoint_scheduled"]
    assert task.soft_time_limit < task.time_limit
    entry = settings.CELERY_BEAT_SCHEDULE["journal-checkpoint"]
    assert entry["task"] == "parcours.journal_checkpoint_scheduled"
    assert entry["schedule"] == 3600  # hourly unless JOURNAL_CHECKPOINT_SECONDS says otherwise
    assert entry["options"]["expires"] == entry["schedule"]
    task.s().freeze()  # queueable with no arguments


@pytest.mark.django_db
def test_without_a_key_the_task_says_so_and_signs_nothing(counsellor, settings, caplog):
    settings.JOURNAL_SIGNING_KEY_FILE = ""
    record(counsellor)
    with caplog.at_level(logging.INFO, logger="parcours.journal_tasks"):
        assert journal_checkpoint_scheduled() is None
    assert "JOURNAL_SIGNING_KEY_FILE n'est pas défini" in caplog.text
    assert not JournalCheckpoint.objects.exists()


@pytest.mark.django_db
def test_the_task_signs_once_per_new_head(counsellor, key_file, caplog):
    with caplog.at_level(logging.INFO, logger="parcours.journal_tasks"):
        assert journal_checkpoint_scheduled() is None  # a fresh installation: nothing to sign
    assert not caplog.records
    record(counsellor, 3)
    assert journal_checkpoint_scheduled() == 3
    assert journal_checkpoint_scheduled() is None  # nothing new: nothing signed
    record(counsellor)
    assert journal_checkpoint_scheduled() == 4
    checkpoints = list(JournalCheckpoint.objects.order_by("chain_seq"))
    assert [c.chain_seq for c in checkpoints] == [3, 4]
    key = journal_signing_key_load(str(key_file))
    assert checkpoints[-1].public_key == public_key_pem(key.public_key())


@pytest.mark.django_db
def test_the_task_logs_an_error_for_an_unreadable_key_or_a_broken_chain(
    counsellor, key_file, settings, caplog
):
    from tests.journal.test_journal import tamper

    record(counsellor, 2)
    settings.JOURNAL_SIGNING_KEY_FILE = str(key_file) + ".missing"
    with caplog.at_level(logging.ERROR, logger="parcours.journal_tasks"):
        assert journal_checkpoint_scheduled() is None
    assert "Clé de signature illisible" in caplog.text

    settings.JOURNAL_SIGNING_KEY_FILE = str(key_file)
    assert journal_checkpoint_scheduled() == 2
    tamper(f"DELETE FROM {TABLE} WHERE chain_seq = 2")  # the newest row, after the checkpoint
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="parcours.journal_tasks"):
        assert journal_checkpoint_scheduled() is None
    assert "Point de contrôle refusé" in caplog.text and "ont été supprimées" in caplog.text
    assert JournalCheckpoint.objects.count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_beat_and_a_worker_logged_in_as_the_app_role_sign_on_schedule(
    app_role, counsellor, key_file, tmp_path
):
    """What `make run` and compose run: beat schedules, the worker (connected as the
    application's role, with the key file) seals and signs. The periodic tasks beat fires
    meanwhile run under the same role without a privilege error."""
    record(counsellor, 3)
    redis = PrivateRedis().start()
    environment = {
        "DATABASE_URL": app_database_url(),
        "JOURNAL_SIGNING_KEY_FILE": str(key_file),
        "JOURNAL_CHECKPOINT_SECONDS": "1",
        "JOURNAL_SEAL_SECONDS": "1",
        "ACCESS_PRUNE_SECONDS": "1",
        "REFERRAL_EXPIRY_SCAN_SECONDS": "1",
        "PARCOURS_ALERT_SCAN_SECONDS": "1",
        "OUTBOX_RELAY_SECONDS": "1",
    }
    worker_log = tmp_path / "worker.log"
    worker = beat = None
    try:
        worker = start_worker(
            name=f"checkpoint-{tmp_path.name}",
            broker_url=redis.url,
            log_path=worker_log,
            **environment,
        )
        beat = start_beat(
            broker_url=redis.url,
            log_path=tmp_path / "beat.log",
            schedule=tmp_path / "beat-schedule",
            **environment,
        )
        checkpoint = wait_until(
            lambda: JournalCheckpoint.objects.first(), timeout=60, what="a scheduled checkpoint"
        )
        fast_tasks = [
            "parcours.journal_seal_pending",
            "parcours.tasks.access_prune_expired",
            "parcours.tasks.referrals_expire_unanswered",
            "notifications.alerts_scan",
            "notifications.outbox_relay",
        ]
        wait_until(
            lambda: all(
                re.search(rf"Task {re.escape(name)}\[[^]]+\] succeeded", worker_log.read_text())
                for name in fast_tasks
            ),
            timeout=60,
            what="every fast periodic task succeeding on the worker",
        )
    finally:
        for process in (beat, worker):
            if process is not None:
                stop(process)
        redis.stop()
    assert checkpoint.chain_seq == 3
    key = journal_signing_key_load(str(key_file))
    assert checkpoint.public_key == public_key_pem(key.public_key())
    log = worker_log.read_text()
    assert "point de contrôle signé à la séquence 3" in log
    assert "permission denied" not in log and "Traceback" not in log, log[-3000:]
