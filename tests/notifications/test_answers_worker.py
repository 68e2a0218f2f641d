"""The answers to the sender (issue 14) under the outbox's fault tests: a receiver's move, made
through the real service, wakes the relay through a real broker; a real worker sends to a real
SMTP server. Each (move, recipient) is e-mailed exactly once — worker killed mid-send, broker
restarted or down at the commit, two beats and two workers at once, SMTP 4xx then 2xx, SMTP 5xx
(recorded, visible, never retried) — and a daily digest carries each answer once.

The crash tests run their own Redis (this test process's broker too, `private_broker`, so the
moves' wake-ups land there), SMTP server and workers; the SMTP error tests use the session's.
"""

import datetime as dt
import os

import pytest
from django.utils import timezone
from kombu import Connection

from notifications.models import (
    AnswerNotice,
    NotificationPreference,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from notifications.tasks import digests_send, outbox_relay
from tests.processes import start_beat, start_worker, stop, wait_until

from .conftest import real_past

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MINUTE = dt.timedelta(minutes=1)
SENSITIVE = ("Léa", "Martin", "0612345678", "psychiatrique", "justice", "soins", "RQTH")


@pytest.fixture
def workers(private_broker, sink, tmp_path):
    """Workers on the private broker (the one this process queues to); all stopped at the end."""
    started = []

    def start(name: str = "w1"):
        process = start_worker(
            name=f"answers-{name}-{os.getpid()}",
            broker_url=private_broker.url,
            log_path=tmp_path / f"{name}.log",
            email_url=sink.url,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process)


def send(task, broker, **kwargs) -> None:
    """Publish a task on the private broker, as beat would."""
    with Connection(broker.url) as connection:
        task.apply_async(kwargs=kwargs, connection=connection)


def all_sent() -> bool:
    return not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()


def assert_each_answer_mailed_once(sink, journeys) -> None:
    """One e-mail per (move, sender), no other, none doubled; each names no one."""
    expected = sorted(
        (notice.event_id, notice.email)
        for j in journeys
        for notice in AnswerNotice.objects.filter(referral=j.referral)
    )
    assert expected, "no answer was told"
    by_outbox = {
        m.pk: (m.event_id, m.to_email) for m in OutboxMessage.objects.filter(kind=OutboxKind.ANSWER)
    }
    received = sorted(by_outbox[int(m.message["X-Parcours-Outbox"])] for m in sink.messages())
    assert received == expected
    assert sorted(r for m in sink.messages() for r in m.rcpt_tos) == sorted(e for _, e in expected)
    assert len({m.message_id for m in sink.messages()}) == len(expected)
    for message in sink.messages():
        for body in (message.text, message.html):
            assert not [secret for secret in SENSITIVE if secret in body]


def moves(j, start: dt.datetime):
    """The receiver accepts, then sets an appointment: two answers to the sender."""
    j.accept(start)
    j.book(start + MINUTE, starts_at=start + dt.timedelta(days=2))
    return j


def test_worker_killed_while_sending_an_answer(journey, private_broker, sink, workers):
    j = journey(real_past(10))
    sink.stall()
    first = workers("w1")
    j.accept(real_past(9))  # commits, then wakes the relay through the private broker
    wait_until(sink.data_received.is_set, what="the relay to be inside SMTP DATA")
    (row,) = OutboxMessage.objects.filter(kind=OutboxKind.ANSWER)
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENDING

    stop(first, kill=True)  # SIGKILL while sending
    wait_until(lambda: sink.aborted, what="the server to see the client die")
    sink.release()
    assert sink.messages() == []  # nothing was accepted
    aborted_id = sink.aborted[0]["Message-ID"]

    workers("w2")
    now = timezone.now()
    # Within its lease (OUTBOX_LEASE_SECONDS, 30 s) the row still looks in use: left alone.
    send(outbox_relay, private_broker, now=(now + dt.timedelta(seconds=5)).isoformat())
    # Its lease ran out, seconds after the crash: taken back and sent, once.
    send(outbox_relay, private_broker, now=(now + dt.timedelta(seconds=45)).isoformat())
    wait_until(lambda: len(sink.messages()) == 1, what="the answer after recovery")
    send(outbox_relay, private_broker, now=(now + 20 * MINUTE).isoformat())
    wait_until(all_sent, what="every row recorded as sent")
    assert_each_answer_mailed_once(sink, [j])
    assert sink.messages()[0].message_id == aborted_id  # the same Message-ID, sent again
    row.refresh_from_db()
    assert row.attempts == 2


def test_the_broker_restarted_or_down_at_the_commit_loses_no_answer(
    journey, private_broker, sink, workers, caplog
):
    early, lost, offline = journey(real_past(10)), journey(real_past(10)), journey(real_past(10))
    first = workers("w1")
    sink.stall()
    early.accept(real_past(9))
    wait_until(sink.data_received.is_set, what="the relay to be mid-send")
    private_broker.stop()  # Redis dies under the worker while it is inside SMTP DATA…
    private_broker.start()
    sink.release()  # …which it finishes, once
    wait_until(all_sent, what="the in-flight answer recorded as sent")
    stop(first)

    # A wake-up queued while no worker runs, then Redis restarted empty: the message is gone.
    lost.accept(real_past(9) + MINUTE)
    private_broker.stop()
    private_broker.start()
    # Down at the commit: the move stands, its wake-up is only a log line.
    private_broker.stop()
    offline.accept(real_past(9) + 2 * MINUTE)
    assert offline.refresh().referral.status == "accepted"
    assert any("notifications.outbox_relay" in r.getMessage() for r in caplog.records)
    private_broker.start()

    workers("w2")  # nothing in the queues: the two rows wait in the database
    assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count() == 2
    assert len(sink.messages()) == 1
    send(outbox_relay, private_broker)  # the next beat tick finds them
    wait_until(lambda: len(sink.messages()) == 3, what="the two answers left")
    send(outbox_relay, private_broker)
    wait_until(all_sent, what="every row recorded as sent")
    assert_each_answer_mailed_once(sink, [early, lost, offline])


def test_two_beats_and_two_workers_mail_each_answer_once(
    journey, private_broker, sink, workers, tmp_path
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
        # Now on the real clock (no alert falls due): each move wakes the relay too.
        journeys = [moves(journey(timezone.now()), timezone.now()) for _ in range(5)]
        wait_until(lambda: len(sink.messages()) >= 10, what="10 answers", timeout=90)
        # Both schedulers fire several more relays over the same rows.
        wait_until(lambda: ticks(1) >= 6 and ticks(2) >= 6, what="more ticks", timeout=60)
    finally:
        for beat in beats:
            stop(beat)
    wait_until(all_sent, what="every row recorded as sent")
    assert_each_answer_mailed_once(sink, journeys)


def test_two_digest_runs_at_once_put_each_answer_in_one_digest(
    journey, private_broker, sink, workers
):
    journeys = [journey(real_past(10)) for _ in range(3)]
    for j in journeys:
        NotificationPreference.objects.create(user=j.sender.user, answers_mode="digest")
        moves(j, real_past(9))
    assert not OutboxMessage.objects.exists()  # nothing at once
    workers("w1")
    workers("w2")
    morning = real_past(8)
    for _ in range(2):  # as two beats firing the daily digest, consumed by two workers
        send(digests_send, private_broker, now=morning.isoformat())
    wait_until(lambda: len(sink.messages()) == 3, what="one digest per sender")
    send(digests_send, private_broker, now=morning.isoformat())  # a third run: nothing left
    send(outbox_relay, private_broker)
    wait_until(all_sent, what="every digest recorded as sent")
    digests = OutboxMessage.objects.filter(kind=OutboxKind.DIGEST)
    assert digests.count() == 3
    assert sorted(r for m in sink.messages() for r in m.rcpt_tos) == sorted(
        j.sender_email for j in journeys
    )
    for j in journeys:
        notices = AnswerNotice.objects.filter(referral=j.referral)
        assert notices.count() == 2
        (digest,) = {n.outbox for n in notices}
        assert digest.kind == OutboxKind.DIGEST and digest.to_email == j.sender_email
    for message in sink.messages():
        assert message.subject == "[parcours] Récapitulatif : 2 réponse(s) à vos orientations"
        assert not [secret for secret in SENSITIVE if secret in message.text]


def run(task, at: dt.datetime):
    return task.delay(now=at.isoformat()).get(timeout=60)


def test_smtp_4xx_then_2xx_sends_the_answer_once(journey, celery_worker_process, mail_sink):
    j = journey(real_past(10))
    mail_sink.answer_next(["451 4.3.0 Serveur surchargé, réessayez plus tard"])
    j.accept(real_past(9))  # wakes the shared worker's relay: refused once
    wait_until(lambda: mail_sink.attempts == 1, what="the refusal")
    row = wait_until(
        lambda: (
            OutboxMessage.objects.filter(kind=OutboxKind.ANSWER, attempts=1, smtp_code=451)
            .exclude(status=OutboxStatus.SENDING)
            .first()
        ),
        what="the refusal recorded",
    )
    assert row.status == OutboxStatus.PENDING and "451" in row.last_error
    run(outbox_relay, row.next_attempt_at - dt.timedelta(seconds=1))
    assert mail_sink.messages() == []  # not yet: its backoff
    run(outbox_relay, row.next_attempt_at)
    assert len(mail_sink.messages()) == 1
    for hours in (1, 24):  # later passes send nothing more
        run(outbox_relay, row.next_attempt_at + dt.timedelta(hours=hours))
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert_each_answer_mailed_once(mail_sink, [j])


def test_smtp_5xx_fails_the_answer_once_visibly_without_retries(
    journey, celery_worker_process, mail_sink, client_for
):
    j = journey(real_past(10))
    mail_sink.refuse(j.sender_email, "550 5.1.1 Adresse inconnue")
    j.accept(real_past(9))
    row = wait_until(
        lambda: OutboxMessage.objects.filter(
            kind=OutboxKind.ANSWER, status=OutboxStatus.FAILED
        ).first(),
        what="the permanent refusal recorded",
    )
    assert (row.smtp_code, row.attempts) == (550, 1)
    assert "Adresse inconnue" in row.last_error
    for hours in (1, 5, 48):  # no retry storm: later passes never try it again
        run(outbox_relay, timezone.now() + dt.timedelta(hours=hours))
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert mail_sink.attempts == 0 and mail_sink.messages() == []
    # Shown to the sender, who still has the answer on their home.
    (answer,) = client_for(j.sender).get("/api/v1/answers/").json()["results"]
    assert (answer["email_status"], answer["email_status_label"]) == ("failed", "Échec définitif")
    assert answer["seen_at"] is None
