"""The relay's batches (issue 17): a batch claimed at once, sent over one SMTP session, each send
recorded right after its 250 — and still every e-mail exactly once.

What is checked is what a real SMTP server received (tests/notifications/smtp_sink.py): every
outbox row once, under its own Message-ID, nothing twice, nothing lost. Time is injected (`now`).
"""

import datetime as dt
import os
import re
import uuid

import psycopg
import pytest
from kombu import Connection

from notifications.mail import build_email, person_label
from notifications.mail_facts import mail_facts_load
from notifications.models import (
    Alert,
    Audience,
    Delivery,
    DeliveryMode,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from notifications.rules import RULES
from notifications.services.alerts import alerts_scan as scan_in_process
from notifications.services.outbox_claims import BATCH_LOCK_SPACE
from notifications.services.relay import outbox_relay as relay_in_process
from notifications.tasks import outbox_relay
from tests.processes import database_url, start_worker, stop, wait_until

from .test_outbox_faults import due_journeys

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def other_session():
    """A second database session, as another relay's: what it locks, it holds until closed."""
    session = psycopg.connect(database_url(), autocommit=True)
    yield session
    session.close()


def hold(session, *message_ids: int) -> None:
    """Take the batch locks of these rows in `session`, as a live relay holding them would."""
    for message_id in message_ids:
        session.execute("SELECT pg_advisory_lock(%s, %s)", [BATCH_LOCK_SPACE, message_id % 2**31])


def in_order() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.order_by("next_attempt_at", "id"))


def assert_each_row_received_once(sink) -> None:
    rows = list(OutboxMessage.objects.all())
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    messages = sink.messages()
    assert sorted(r for m in messages for r in m.rcpt_tos) == sorted(r.to_email for r in rows)
    assert sorted(m.message_id for m in messages) == sorted(r.message_id for r in rows)


def test_a_refused_recipient_fails_alone_and_the_batch_goes_on(journey, smtp):
    journeys, due = due_journeys(journey, 3)
    scan_in_process(now=due)
    rows = in_order()
    assert len(rows) == 6  # one batch (OUTBOX_BATCH_SIZE 100)
    refused = journeys[1].receiver_contact
    assert refused not in (rows[0].to_email, rows[-1].to_email)
    smtp.refuse(refused, "550 5.1.1 Adresse inconnue")

    report = relay_in_process(now=due)
    assert (report.sent, report.failed, report.retried) == (5, 1, 0)
    failed = OutboxMessage.objects.get(to_email=refused)
    assert (failed.status, failed.smtp_code, failed.attempts) == ("failed", 550, 1)
    assert "Adresse inconnue" in failed.last_error
    others = OutboxMessage.objects.exclude(pk=failed.pk)
    assert set(others.values_list("status", "attempts")) == {("sent", 1)}
    messages = smtp.messages()
    assert sorted(r for m in messages for r in m.rcpt_tos) == sorted(o.to_email for o in others)
    assert len({m.message_id for m in messages}) == 5

    relay_in_process(now=due + dt.timedelta(hours=5))  # never tried again, nothing twice
    assert len(smtp.messages()) == 5
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("failed", 1)


def test_the_smtp_connection_dropped_mid_batch(journey, smtp):
    _journeys, due = due_journeys(journey, 3)
    scan_in_process(now=due)
    rows = in_order()
    smtp.drop_data(3)  # the server goes away while the third e-mail is handed over

    report = relay_in_process(now=due)
    assert (report.sent, report.retried) == (5, 1)
    dropped = OutboxMessage.objects.get(pk=rows[2].pk)
    assert (dropped.status, dropped.attempts) == ("pending", 1)
    assert dropped.next_attempt_at == due + MINUTE  # backoff, as for any transient failure
    assert "SMTPServerDisconnected" in dropped.last_error
    messages = smtp.messages()
    assert [m.message_id for m in messages] == [r.message_id for r in rows if r != rows[2]]
    # The rest of the batch went over a new session, after reconnecting.
    assert messages[0].peer == messages[1].peer != messages[2].peer == messages[4].peer

    relay_in_process(now=due + MINUTE)
    assert len(smtp.messages()) == 6
    assert_each_row_received_once(smtp)
    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [1] * 5 + [2]


def test_two_relays_at_once_send_each_of_200_messages_once(journey, redis_server, sink, tmp_path):
    """Two real workers relaying the same outbox side by side, in batches of 20: every message
    reaches the SMTP server once, and both relays did part of the work."""
    (_j,), due = due_journeys(journey, 1)
    scan_in_process(now=due)
    alert = Alert.objects.get()
    extra = OutboxMessage.objects.bulk_create(
        OutboxMessage(
            kind=OutboxKind.ALERT,
            to_email=f"relais{n:03d}@partenaire.test",
            next_attempt_at=due,
            created_at=due,
        )
        for n in range(198)
    )
    Delivery.objects.bulk_create(
        Delivery(
            alert=alert,
            audience=Audience.RECEIVER,
            email=message.to_email,
            mode=DeliveryMode.IMMEDIATE,
            outbox=message,
            created_at=due,
        )
        for message in extra
    )
    assert OutboxMessage.objects.count() == 200
    sink.slow(0.01)  # 10 ms a message: the two relays' batches overlap
    logs = [tmp_path / "relay1.log", tmp_path / "relay2.log"]
    workers = [
        start_worker(
            name=f"relay{n}-{os.getpid()}",
            broker_url=redis_server.url,
            log_path=log,
            email_url=sink.url,
            OUTBOX_BATCH_SIZE="20",
        )
        for n, log in enumerate(logs, start=1)
    ]
    try:
        with Connection(redis_server.url) as connection:
            for _ in range(6):  # as beat and the scans' wake-ups would, several at once
                outbox_relay.apply_async(kwargs={"now": due.isoformat()}, connection=connection)
        wait_until(
            lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
            timeout=90,
            what="every row recorded as sent",
        )

        def sent_by(log) -> int:
            return sum(int(n) for n in re.findall(r"'sent': (\d+)", log.read_text()))

        wait_until(lambda: sum(sent_by(log) for log in logs) == 200, what="the passes' reports")
    finally:
        for worker in workers:
            stop(worker)
    assert len(sink.messages()) == 200
    assert_each_row_received_once(sink)
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}
    assert all(sent_by(log) > 0 for log in logs), [sent_by(log) for log in logs]


def test_render_once_never_lends_one_recipients_content_to_another(journey, smtp):
    journeys, due = due_journeys(journey, 3)
    for j, first_name in zip(journeys, ("Amina", "Bastien", "Chloé"), strict=True):
        person = j.referral.pathway.person
        person.first_name = first_name
        person.save()
    scan_in_process(now=due)
    assert relay_in_process(now=due).sent == 6  # one batch, the templates compiled once

    referral_of = {
        d.outbox_id: d.alert.referral for d in Delivery.objects.select_related("alert__referral")
    }
    rows = {str(r.pk): r for r in OutboxMessage.objects.all()}
    for received in smtp.messages():
        row = rows[received.message["X-Parcours-Outbox"]]
        assert received.rcpt_tos == [row.to_email]
        assert received.message_id == row.message_id
        own = referral_of[row.pk]
        for text in (received.text, received.html):
            assert own.reference in text and f"/orientations/{own.pk}/" in text
            assert person_label(own) in text
            for other in {r for r in referral_of.values() if r.pk != own.pk}:
                assert other.reference not in text
                assert person_label(other) not in text
        # Each audience its own wording: the sender is asked one thing, the receiver another.
        alert = Alert.objects.get(referral=own)
        asks = {str(RULES[alert.kind].ask_sender), str(RULES[alert.kind].ask_receiver)}
        sender = row.to_email == next(j.sender_email for j in journeys if j.referral == own)
        own_ask = str(RULES[alert.kind].ask_sender if sender else RULES[alert.kind].ask_receiver)
        assert own_ask in received.text
        assert all(ask not in received.text for ask in asks - {own_ask})


def test_a_batchs_facts_are_read_once_whatever_its_size(journey, django_assert_num_queries):
    _journeys, due = due_journeys(journey, 3)
    scan_in_process(now=due)
    messages = in_order()
    assert len(messages) == 6
    with django_assert_num_queries(1):  # the deliveries, their alerts, referrals and people
        facts = mail_facts_load(messages)
    with django_assert_num_queries(0):
        emails = [build_email(message, facts) for message in messages]
    # The same e-mails as built one by one from the database.
    for message, email in zip(messages, emails, strict=True):
        alone = build_email(message)
        assert email is not None and alone is not None
        assert (email.subject, email.to, email.body) == (alone.subject, alone.to, alone.body)


def test_rows_held_by_another_relays_batch_are_left_to_it(journey, smtp, other_session):
    _journeys, due = due_journeys(journey, 2)
    scan_in_process(now=due)
    rows = in_order()
    hold(other_session, rows[0].pk, rows[1].pk)  # another relay's batch, still being sent

    assert relay_in_process(now=due).sent == 2
    assert [m.message_id for m in smtp.messages()] == [r.message_id for r in rows[2:]]
    held = OutboxMessage.objects.filter(pk__in=[rows[0].pk, rows[1].pk])
    assert set(held.values_list("status", "attempts")) == {("pending", 0)}  # untouched

    other_session.close()  # that relay died: its batch is free at once, no lease to wait for
    wait_until(lambda: relay_in_process(now=due).sent, what="the freed rows sent")
    assert_each_row_received_once(smtp)
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


def test_an_expired_lease_is_not_taken_back_while_its_relay_lives(journey, smtp, other_session):
    """A row in flight whose lease ran out (its keeper could not renew it) while its relay's
    session still holds the batch: not taken back, so not sent by a second relay. Once that
    session is gone, it is taken back and sent once."""
    (_j,), due = due_journeys(journey, 1)
    scan_in_process(now=due)
    in_flight, other = in_order()
    OutboxMessage.objects.filter(pk=in_flight.pk).update(
        status=OutboxStatus.SENDING,
        claim_token=uuid.uuid4(),
        claimed_at=due - 10 * MINUTE,
        attempts=1,
    )
    hold(other_session, in_flight.pk)

    report = relay_in_process(now=due + MINUTE)  # the lease (30 s) ran out long ago
    assert (report.recovered, report.sent) == (0, 1)
    assert [m.message_id for m in smtp.messages()] == [other.message_id]
    in_flight.refresh_from_db()
    assert (in_flight.status, in_flight.attempts) == ("sending", 1)

    other_session.close()
    wait_until(
        lambda: relay_in_process(now=due + 2 * MINUTE).recovered,
        what="the row taken back once its relay's session is gone",
    )
    relay_in_process(now=due + 2 * MINUTE)
    assert_each_row_received_once(smtp)
    in_flight.refresh_from_db()
    assert in_flight.attempts == 2
