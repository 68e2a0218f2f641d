"""The journal is kept 12 months (CNIL 2021-122): the retention job signs a checkpoint, then
purges through `journal_purge`, and the remaining chain still verifies."""

import datetime as dt

import pytest
import time_machine

from parcours.gate.journal import journal_record
from parcours.models import AccessEvent, AccessOperation, JournalCheckpoint
from parcours.services.journal import (
    checkpoint_document,
    journal_checkpoint_verify,
    journal_seal_all,
    journal_verify,
)
from parcours.services.retention import retention_apply

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2027, 6, 15, 3, 30, tzinfo=UTC)


def journal_rows(actor, at: dt.datetime, count: int) -> list[int]:
    with time_machine.travel(at, tick=False):
        return [
            journal_record(
                actor=actor, operation=AccessOperation.READ, object_type="pathway", object_id=1
            ).pk
            for _ in range(count)
        ]


def apply(**options):
    with time_machine.travel(NOW, tick=False):
        return retention_apply(now=NOW, **options)


@pytest.fixture
def journal(counsellor):
    """5 rows older than 12 months, 3 younger (one of them a day short of 12 months), sealed."""
    old = journal_rows(counsellor, dt.datetime(2026, 1, 10, tzinfo=UTC), 4)
    old += journal_rows(counsellor, dt.datetime(2026, 6, 14, 3, 0, tzinfo=UTC), 1)
    young = journal_rows(counsellor, dt.datetime(2026, 6, 16, tzinfo=UTC), 1)
    young += journal_rows(counsellor, dt.datetime(2027, 6, 1, tzinfo=UTC), 2)
    journal_seal_all()
    return old, young


def test_purge_after_a_checkpoint_leaves_the_chain_verifying(journal, signing_key):
    old, young = journal

    report = apply()

    assert report.journal_due == 5
    assert report.journal_purged == 5
    assert not AccessEvent.objects.filter(pk__in=old).exists()
    assert AccessEvent.objects.filter(pk__in=young).count() == 3
    checkpoint = JournalCheckpoint.objects.get()
    assert report.journal_checkpoint_seq == checkpoint.chain_seq == 8
    marker = AccessEvent.objects.get(operation=AccessOperation.PURGE_MARKER)
    assert marker.detail["purged_count"] == 5 and marker.user is None
    assert marker.purpose == "Conservation des données : purge du journal des accès"
    assert journal_verify().ok
    journal_seal_all()  # the marker and the run's report join the chain
    verified = journal_verify()
    assert verified.ok and verified.checked == 5 and verified.unsealed == 0
    # The signed checkpoint (the row just before the purge boundary is gone) still checks out
    # against the chain, and the run's report names what it did.
    assert journal_checkpoint_verify(
        checkpoint_document(checkpoint), trusted_public_key=signing_key.public_key()
    ).ok
    run = AccessEvent.objects.get(operation=AccessOperation.REPORT, object_type="retention")
    assert run.detail["journal_purged"] == 5 and run.detail["journal_checkpoint_seq"] == 8

    # Nothing left to purge the same day: no second checkpoint.
    again = apply()
    assert (again.journal_due, again.journal_purged) == (0, 0)
    assert JournalCheckpoint.objects.count() == 1


def test_without_a_signing_key_the_purge_is_skipped_and_reported(journal, settings):
    settings.JOURNAL_SIGNING_KEY_FILE = ""
    old, young = journal

    report = apply()

    assert report.journal_due == 5 and report.journal_purged == 0
    assert "JOURNAL_SIGNING_KEY_FILE" in report.journal_note
    assert "5 ligne(s) en attente" in report.journal_note
    assert report.journal_note in report.summary_lines()
    assert AccessEvent.objects.filter(pk__in=old + young).count() == 8
    assert not JournalCheckpoint.objects.exists()
    run = AccessEvent.objects.get(operation=AccessOperation.REPORT, object_type="retention")
    assert run.detail["journal_note"] == report.journal_note
    assert journal_verify().ok


def test_an_unreadable_key_skips_the_purge(journal, settings, tmp_path):
    settings.JOURNAL_SIGNING_KEY_FILE = str(tmp_path / "missing.pem")
    report = apply()
    assert report.journal_purged == 0
    assert "clé de signature illisible" in report.journal_note


def test_dry_run_counts_the_rows_and_purges_nothing(journal, signing_key):
    count = AccessEvent.objects.count()
    report = apply(dry_run=True)
    assert report.journal_due == 5 and report.journal_purged == 0
    assert AccessEvent.objects.count() == count
    assert not JournalCheckpoint.objects.exists()


def test_a_shorter_journal_rule_purges_more(journal, signing_key):
    from parcours.models import RetentionRule

    RetentionRule.objects.create(category="journal", active_months=6, archived_months=0)
    _old, young = journal
    assert apply().journal_purged == 6  # the row of 16 June 2026 too
    assert set(AccessEvent.objects.filter(pk__in=young).values_list("pk", flat=True)) == set(
        young[1:]
    )
