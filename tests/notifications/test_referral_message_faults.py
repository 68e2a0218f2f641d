"""Messages on a referral (issue 14) under the rest of the outbox's fault tests — the broker down
at the post's commit, two beats and two workers at once, SMTP 4xx then 2xx, SMTP 5xx —: each
(message, recipient) is e-mailed exactly once, or recorded as failed once, visibly. (The worker
killed mid-send: test_referral_message_worker.py.)

The referrals are still to be answered, so a message from France Travail tells the SIAE at its
contact address only (nobody there is in charge yet) and no answer to the sender is written."""

import datetime as dt

import pytest
from django.utils import timezone

from notifications.models import OutboxKind, OutboxMessage, OutboxStatus
from notifications.tasks import outbox_relay
from parcours.services.referral_message import referral_message_post
from tests.processes import start_beat, stop, wait_until

from .conftest import real_past
from .test_answers_worker import all_sent, run, send, workers  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUESTION = "Léa a-t-elle un moyen de transport pour venir au chantier ?"


def post(j, text: str = QUESTION):
    return referral_message_post(actor=j.sender, referral_id=j.referral.pk, text=text)


def assert_each_message_mailed_once(received_by, journeys) -> None:
    """One e-mail per (message, address), no other, none doubled, never the text or the name."""
    rows = OutboxMessage.objects.filter(kind=OutboxKind.REFERRAL_MESSAGE)
    expected = sorted((r.referral_message_id, r.to_email) for r in rows)
    assert sorted(expected) == sorted(
        (message.pk, j.receiver_contact) for j in journeys for message in j.referral.messages.all()
    )
    by_outbox = {r.pk: (r.referral_message_id, r.to_email) for r in rows}
    received = sorted(
        by_outbox[int(m.message["X-Parcours-Outbox"])] for m in received_by.messages()
    )
    assert received == expected
    assert len({m.message_id for m in received_by.messages()}) == len(expected)
    for message in received_by.messages():
        for secret in (QUESTION, "Léa", "Martin"):
            assert secret not in message.text


def test_the_broker_down_at_the_posts_commit_loses_no_notice(
    journey,
    private_broker,
    sink,
    workers,  # noqa: F811
    caplog,
):
    j = journey(real_past(3))
    private_broker.stop()
    message = post(j)  # the message stands; its wake-up of the relay is only a log line
    assert message.pk
    assert any("notifications.outbox_relay" in r.getMessage() for r in caplog.records)
    private_broker.start()
    workers("w1")
    assert OutboxMessage.objects.get(kind=OutboxKind.REFERRAL_MESSAGE).status == "pending"
    send(outbox_relay, private_broker)  # the next beat tick finds it in the database
    wait_until(lambda: len(sink.messages()) == 1, what="the notice")
    send(outbox_relay, private_broker)
    wait_until(all_sent, what="the row recorded as sent")
    assert_each_message_mailed_once(sink, [j])


def test_two_beats_and_two_workers_mail_each_notice_once(
    journey,
    private_broker,
    sink,
    workers,  # noqa: F811
    tmp_path,
):
    workers("w1")
    workers("w2")
    beats = [
        start_beat(
            broker_url=private_broker.url,
            log_path=tmp_path / f"beat{n}.log",
            schedule=tmp_path / f"beat{n}-schedule",
            OUTBOX_RELAY_SECONDS="1",
        )
        for n in (1, 2)
    ]

    def ticks(n: int) -> int:
        path = tmp_path / f"beat{n}.log"
        return path.read_text().count("notifications.outbox_relay") if path.exists() else 0

    try:
        journeys = [journey(real_past(3)) for _ in range(5)]
        for j in journeys:  # each post wakes the relay too
            post(j)
            post(j, "Et a-t-elle son attestation PASS IAE ?")
        wait_until(lambda: len(sink.messages()) >= 10, what="10 notices", timeout=90)
        wait_until(lambda: ticks(1) >= 6 and ticks(2) >= 6, what="more ticks", timeout=60)
    finally:
        for beat in beats:
            stop(beat)
    wait_until(all_sent, what="every row recorded as sent")
    assert_each_message_mailed_once(sink, journeys)


def test_smtp_4xx_then_2xx_sends_the_notice_once(journey, celery_worker_process, mail_sink):
    j = journey(real_past(3))
    mail_sink.answer_next(["451 4.3.0 Serveur surchargé, réessayez plus tard"])
    post(j)  # wakes the shared worker's relay: refused once
    wait_until(lambda: mail_sink.attempts == 1, what="the refusal")
    row = wait_until(
        lambda: (
            OutboxMessage.objects.filter(
                kind=OutboxKind.REFERRAL_MESSAGE, attempts=1, smtp_code=451
            )
            .exclude(status=OutboxStatus.SENDING)
            .first()
        ),
        what="the refusal recorded",
    )
    assert row.status == OutboxStatus.PENDING and "451" in row.last_error
    run(outbox_relay, row.next_attempt_at - dt.timedelta(seconds=1))
    assert mail_sink.messages() == []  # not yet: its backoff
    run(outbox_relay, row.next_attempt_at)
    for hours in (1, 24):  # later passes send nothing more
        run(outbox_relay, row.next_attempt_at + dt.timedelta(hours=hours))
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert_each_message_mailed_once(mail_sink, [j])


def test_smtp_5xx_fails_the_notice_once_without_retries(journey, celery_worker_process, mail_sink):
    j = journey(real_past(3))
    mail_sink.refuse(j.receiver_contact, "550 5.1.1 Adresse inconnue")
    post(j)
    row = wait_until(
        lambda: OutboxMessage.objects.filter(
            kind=OutboxKind.REFERRAL_MESSAGE, status=OutboxStatus.FAILED
        ).first(),
        what="the permanent refusal recorded",
    )
    assert (row.smtp_code, row.attempts) == (550, 1)
    assert "Adresse inconnue" in row.last_error
    for hours in (1, 5, 48):  # no retry storm
        run(outbox_relay, timezone.now() + dt.timedelta(hours=hours))
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert mail_sink.attempts == 0 and mail_sink.messages() == []
