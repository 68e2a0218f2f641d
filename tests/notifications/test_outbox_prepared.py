"""The record-and-take statement prepared once per database session (issue 17,
notifications/services/outbox_claims.py): prepared on first use, reused for every e-mail of the
session, prepared again when the session lost it (DEALLOCATE) or is a new one (a dropped
connection) — and every e-mail still received once, recorded once. A real SMTP server."""

import uuid

import pytest
from django.db import connection, transaction

from notifications.models import OutboxMessage, OutboxStatus
from notifications.services import outbox_claims
from notifications.services.alerts import alerts_scan as scan_in_process
from notifications.services.relay import outbox_relay as relay_in_process

from .test_outbox_faults import due_journeys
from .test_relay_batch import assert_each_row_received_once

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def new_session():
    """Each test starts on a session of its own (none prepared yet)."""
    connection.close()


def prepared_here() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = %s",
            [outbox_claims.PREPARED_NAME],
        )
        return cursor.fetchone()[0]


def count_prepares(monkeypatch) -> list[str]:
    """The PREPAREs sent, as they are sent."""
    seen: list[str] = []
    real = outbox_claims._execute_prepared

    def counting(cursor, values):
        class Spy:
            def __init__(self, inner):
                self.inner = inner

            def execute(self, sql, params=None):
                if sql.startswith("PREPARE"):
                    seen.append(sql)
                return self.inner.execute(sql, params)

            def fetchone(self):
                return self.inner.fetchone()

        return real(Spy(cursor), values)

    monkeypatch.setattr(outbox_claims, "_execute_prepared", counting)
    return seen


def test_prepared_once_for_a_sessions_mails(journey, smtp, monkeypatch):
    _journeys, due = due_journeys(journey, 3)
    scan_in_process(now=due)
    prepares = count_prepares(monkeypatch)
    report = relay_in_process(now=due)
    assert report.sent == 6
    assert len(prepares) == 1
    assert prepared_here() == 1
    assert_each_row_received_once(smtp)
    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [1] * 6


def test_a_session_that_lost_it_prepares_it_again(journey, smtp, monkeypatch):
    """DEALLOCATE ALL (or DISCARD ALL from a pooler) between two passes: the EXECUTE that fails
    ran nothing; the statement is prepared again and every e-mail goes once."""
    _first, due = due_journeys(journey, 1)
    scan_in_process(now=due)
    prepares = count_prepares(monkeypatch)
    relay_in_process(now=due)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert prepared_here() == 0
    _second, later = due_journeys(journey, 1)  # another referral, its alerts: new rows
    scan_in_process(now=later)
    pending = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()
    assert pending == 2
    report = relay_in_process(now=later)
    assert report.sent == pending
    assert len(prepares) == 2 and prepared_here() == 1
    assert_each_row_received_once(smtp)


def test_a_new_connection_prepares_it_again(journey, smtp, monkeypatch):
    _journeys, due = due_journeys(journey, 1)
    scan_in_process(now=due)
    prepares = count_prepares(monkeypatch)
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(outbox_claims.PREPARE_RECORD_AND_TAKE)  # on a session about to go
    connection.close()
    relay_in_process(now=due)
    assert len(prepares) == 1 and prepared_here() == 1
    assert_each_row_received_once(smtp)


def test_lost_inside_a_transaction_the_callers_transaction_survives(journey, smtp):
    """Not the relay's way (it runs in autocommit), but a caller's transaction is not aborted
    by a statement the session lost: a savepoint holds the error."""
    _journeys, due = due_journeys(journey, 1)
    scan_in_process(now=due)
    relay_in_process(now=due)  # prepared on this session
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    row = OutboxMessage.objects.first()
    assert row is not None
    with transaction.atomic():
        recorded, attempts = outbox_claims.outbox_record_and_take(
            sent=None, take=row.pk, token=uuid.uuid4(), at=due, claimed_at=due
        )
        assert (recorded, attempts) == (False, None)  # sent already: not taken
        assert OutboxMessage.objects.filter(pk=row.pk, status=OutboxStatus.SENT).exists()
