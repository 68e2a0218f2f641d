"""Fault tests of the alert e-mails. Each ends with the same check: exactly one mail per due
alert recipient, none lost, none doubled.

The crash tests run their own Redis server and their own worker processes (tests/processes.py),
so that killing or restarting them never disturbs the rest of the suite; the SMTP error tests use
the session's worker and SMTP server. Time is injected (`now`), never waited for.
"""

import datetime as dt
import os

import pytest
from django.utils import timezone
from kombu import Connection

from notifications.models import (
    Alert,
    Delivery,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Reminder,
    ReminderDeadline,
    ReminderState,
)
from notifications.services.alerts import alerts_scan as scan_in_process
from notifications.services.relay import outbox_relay as relay_in_process
from notifications.services.reminders import reminders_send as reminders_in_process
from notifications.tasks import alerts_scan, outbox_relay, reminders_send
from parcours.models import Membership, Role
from tests.processes import PrivateRedis, start_beat, start_worker, stop, wait_until

from .conftest import real_past
from .smtp_sink import SmtpSink

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def workers(redis_server, sink, tmp_path):
    """Start workers on the private Redis; all are stopped at the end."""
    started = []

    def start(name: str = "w1"):
        process = start_worker(
            name=f"faults-{name}-{os.getpid()}",
            broker_url=redis_server.url,
            log_path=tmp_path / f"{name}.log",
            email_url=sink.url,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process)


def send(task, redis_server: PrivateRedis, **kwargs) -> None:
    """Publish a task on the private broker (as beat or a previous task would)."""
    with Connection(redis_server.url) as connection:
        task.apply_async(kwargs=kwargs, connection=connection)


def due_journeys(journey, count: int):
    """`count` sent referrals whose answer is overdue; returns them and a moment past due."""
    journeys = [journey(real_past(40) + dt.timedelta(minutes=n)) for n in range(count)]
    return journeys, max(j.referral.acknowledge_due_at for j in journeys) + MINUTE


def assert_exactly_one_mail_per_recipient(sink: SmtpSink, journeys) -> None:
    expected = sorted(address for j in journeys for address in (j.sender_email, j.receiver_contact))
    received = sorted(r for m in sink.messages() for r in m.rcpt_tos)
    assert received == expected
    assert Delivery.objects.count() == len(expected)
    assert len({m.message_id for m in sink.messages()}) == len(expected)
    assert Alert.objects.count() == len(journeys)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}


def test_worker_killed_while_sending(journey, redis_server, sink, workers):
    (j,), due = due_journeys(journey, 1)
    scan_in_process(now=due)  # the alert and its two e-mails are in the outbox
    sink.stall()
    first = workers("w1")
    send(outbox_relay, redis_server, now=due.isoformat())
    wait_until(sink.data_received.is_set, what="the relay to be inside SMTP DATA")
    in_flight = OutboxMessage.objects.filter(status=OutboxStatus.SENDING)
    assert in_flight.count() == 1  # claimed one at a time: a relay that dies holds one

    stop(first, kill=True)  # SIGKILL while sending
    wait_until(lambda: sink.aborted, what="the server to see the client die")
    sink.release()
    assert sink.messages() == []  # nothing was accepted
    aborted_id = sink.aborted[0]["Message-ID"]

    workers("w2")
    # Within its lease (OUTBOX_LEASE_SECONDS, 30 s) the row still looks in use by a live relay:
    # left alone; the other message goes out.
    send(outbox_relay, redis_server, now=(due + 10 * SECOND).isoformat())
    # (The server has the mail a moment before the relay records it: both are waited for.)
    wait_until(
        lambda: (
            len(sink.messages()) == 1
            and OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 1
        ),
        what="the other mail, sent and recorded",
    )
    assert in_flight.count() == 1
    # Its lease ran out — seconds after the crash, not ten minutes: taken back and sent, once.
    send(outbox_relay, redis_server, now=(due + 45 * SECOND).isoformat())
    wait_until(lambda: len(sink.messages()) == 2, what="the two mails after recovery")
    send(outbox_relay, redis_server, now=(due + 20 * MINUTE).isoformat())
    wait_until(
        lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
        what="every row recorded as sent",
    )
    assert_exactly_one_mail_per_recipient(sink, [j])
    # The mail interrupted by the crash went out again under the same Message-ID.
    assert aborted_id in {m.message_id for m in sink.messages()}
    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [1, 2]


def test_redis_restarted_mid_run(journey, redis_server, sink, workers):
    early, due_early = due_journeys(journey, 2)
    scan_in_process(now=due_early)  # 4 e-mails waiting
    # Sent an hour later: due an hour later (well before any escalation of the early ones).
    late = [journey(real_past(40) + dt.timedelta(hours=1, minutes=n)) for n in range(2)]
    due_late = max(j.referral.acknowledge_due_at for j in late) + MINUTE

    workers("w1")
    sink.stall()
    send(outbox_relay, redis_server, now=due_early.isoformat())
    wait_until(sink.data_received.is_set, what="the relay to be mid-send")
    # While the worker is busy, the next scan is queued… and Redis dies with it.
    send(alerts_scan, redis_server, now=due_late.isoformat())
    redis_server.stop()
    redis_server.start()  # same port, empty: the queued scan and the in-flight task are gone
    sink.release()
    wait_until(lambda: len(sink.messages()) == 4, what="the in-flight relay to finish")
    assert not Alert.objects.filter(referral__in=[j.referral for j in late]).exists()

    # The next beat ticks (scan, then relay) find everything in the database.
    send(alerts_scan, redis_server, now=due_late.isoformat())
    wait_until(lambda: len(sink.messages()) == 8, what="the late alerts' mails", timeout=60)
    send(outbox_relay, redis_server, now=(due_late + MINUTE).isoformat())
    wait_until(
        lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
        what="every row recorded as sent",
    )
    assert_exactly_one_mail_per_recipient(sink, early + late)


def test_two_beat_schedulers_at_once(journey, redis_server, sink, workers, tmp_path):
    journeys, _due = due_journeys(journey, 10)  # due now on the real clock
    workers("w1")
    workers("w2")  # two workers, so that the two beats' scans really overlap
    beats = [
        start_beat(
            broker_url=redis_server.url,
            log_path=tmp_path / f"beat{n}.log",
            schedule=tmp_path / f"beat{n}-schedule",
            PARCOURS_ALERT_SCAN_SECONDS="1",
            OUTBOX_RELAY_SECONDS="1",
        )
        for n in (1, 2)
    ]

    def ticks(n: int) -> int:
        path = tmp_path / f"beat{n}.log"
        return path.read_text().count("notifications.alerts_scan") if path.exists() else 0

    try:
        wait_until(lambda: len(sink.messages()) >= 20, what="20 mails", timeout=90)
        # Let both schedulers fire several more scans over the same due referrals.
        wait_until(lambda: ticks(1) >= 6 and ticks(2) >= 6, what="more ticks", timeout=60)
    finally:
        for beat in beats:
            stop(beat)
    send(outbox_relay, redis_server)
    wait_until(
        lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
        what="every row recorded as sent",
    )
    assert_exactly_one_mail_per_recipient(sink, journeys)


def test_the_scan_stands_when_its_relay_wake_up_cannot_be_queued(
    journey, private_broker, sink, tmp_path, caplog
):
    """The scan's e-mails are committed before it wakes the relay: a dead broker at that moment
    costs a log line, never the scan (which would otherwise fail after its work)."""
    (j,), due = due_journeys(journey, 1)
    private_broker.stop()
    report = alerts_scan(now=due.isoformat())  # the task's body, in this process
    assert report["messages"] == 2
    (failure,) = [r for r in caplog.records if r.name == "parcours.queueing"]
    assert "notifications.outbox_relay" in failure.getMessage()
    assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count() == 2

    private_broker.start()
    worker = start_worker(
        name=f"faults-wake-{os.getpid()}",
        broker_url=private_broker.url,
        log_path=tmp_path / "worker.log",
        email_url=sink.url,
    )
    try:
        send(outbox_relay, private_broker, now=due.isoformat())  # beat's next relay pass
        wait_until(
            lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
            what="every row recorded as sent",
        )
    finally:
        stop(worker)
    assert_exactly_one_mail_per_recipient(sink, [j])


def run(task, at: dt.datetime):
    return task.delay(now=at.isoformat()).get(timeout=60)


def test_smtp_4xx_is_retried_with_backoff_then_delivered(journey, celery_worker_process, mail_sink):
    (j,), due = due_journeys(journey, 1)
    mail_sink.answer_next(["451 4.3.0 Serveur surchargé, réessayez plus tard"] * 4)
    run(alerts_scan, due)
    wait_until(lambda: mail_sink.attempts == 2, what="the first two refusals")
    run(outbox_relay, due)  # after the scan's relay: the rows wait for their next attempt
    rows = list(OutboxMessage.objects.order_by("id"))
    assert [(r.status, r.attempts, r.smtp_code) for r in rows] == [("pending", 1, 451)] * 2
    assert all(r.next_attempt_at == due + MINUTE for r in rows)  # 60 s, then doubling
    assert "451" in rows[0].last_error

    run(outbox_relay, due + 59 * dt.timedelta(seconds=1))
    assert mail_sink.attempts == 2  # not yet
    run(outbox_relay, due + MINUTE)
    assert mail_sink.attempts == 4  # refused again: the next wait is 120 s
    assert set(OutboxMessage.objects.values_list("next_attempt_at", flat=True)) == {
        due + 3 * MINUTE
    }
    run(outbox_relay, due + 3 * MINUTE)
    assert len(mail_sink.messages()) == 2
    run(outbox_relay, due + 60 * MINUTE)
    assert_exactly_one_mail_per_recipient(mail_sink, [j])
    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [3, 3]


def test_smtp_5xx_is_recorded_as_failed_visible_and_not_retried(
    journey, celery_worker_process, mail_sink, client_for
):
    (j,), due = due_journeys(journey, 1)
    mail_sink.refuse(j.receiver_contact, "550 5.1.1 Adresse inconnue")
    run(alerts_scan, due)
    wait_until(lambda: len(mail_sink.messages()) == 1, what="the sender's mail")
    run(outbox_relay, due)
    failed = OutboxMessage.objects.get(to_email=j.receiver_contact)
    assert (failed.status, failed.smtp_code, failed.attempts) == ("failed", 550, 1)
    assert "Adresse inconnue" in failed.last_error

    for hours in (1, 5, 48):  # later passes never try it again
        run(outbox_relay, due + dt.timedelta(hours=hours))
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert [m.rcpt_tos for m in mail_sink.messages()] == [[j.sender_email]]

    # Shown to the people concerned, with the server's answer.
    response = client_for(j.sender).get("/api/v1/alerts/")
    (alert,) = response.json()["results"]
    by_address = {d["email"]: d for d in alert["deliveries"]}
    assert by_address[j.receiver_contact]["status"] == "failed"
    assert by_address[j.receiver_contact]["status_label"] == "Échec définitif"
    assert "550" in by_address[j.receiver_contact]["last_error"]
    assert by_address[j.sender_email]["status"] == "sent"


# --- reminders and rungs of escalation (issue 14) ------------------------------------------------
#
# The same faults, over the two new kinds of e-mail: a reminder to the receiver's counsellors
# before a deadline (`notifications.reminders_send`) and a rung of an alert's escalation ladder
# (`notifications.alerts_scan`). The check is the outbox's own: every row written is received
# once, under its own Message-ID, and recorded as sent; and the rows are exactly the expected
# ones (one per reminder and address, one per rung alert and address).


def assert_every_row_mailed_once(sink: SmtpSink, expected: list[str]) -> None:
    rows = list(OutboxMessage.objects.exclude(kind=OutboxKind.ANSWER))
    assert sorted(r.to_email for r in rows) == sorted(expected)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    received = sorted(r for m in sink.messages() for r in m.rcpt_tos)
    assert received == sorted(expected)
    assert len({m.message_id for m in sink.messages()}) == len(rows)


def reminder_due(journey, *, hours_ago: int = 12):
    """A referral accepted a little over four days ago: an appointment is to be set within the
    day (5 calendar days after acceptance), and the reminder of it (24 h before) fell due
    `hours_ago` hours ago."""
    accepted_at = timezone.now() - dt.timedelta(days=4, hours=hours_ago)
    j = journey(accepted_at - dt.timedelta(hours=2))
    j.accept(accepted_at)
    # The sender hears of the acceptance before the faults: the acceptance's commit woke the
    # session's shared worker, which may send it first; else this process's relay does.
    relay_in_process()
    wait_until(
        lambda: (
            not OutboxMessage.objects.filter(kind=OutboxKind.ANSWER)
            .exclude(status=OutboxStatus.SENT)
            .exists()
        ),
        what="the acceptance's answer sent",
    )
    reminder = Reminder.objects.get(referral=j.referral, deadline=ReminderDeadline.APPOINTMENT)
    assert reminder.remind_at <= timezone.now() < reminder.due_at
    return j


def rung_due(journey):
    """An alert raised 80 hours ago, neither acknowledged nor answered: the default ladder's
    rung (the managers, after 72 h) is due. Its level-1 e-mails are in the outbox too."""
    j = journey(real_past(40), with_managers=True)
    scan_in_process(now=timezone.now() - dt.timedelta(hours=80))
    return j


def managers(j) -> list[str]:
    return list(
        Membership.objects.filter(
            organisation__in=[j.sender.organisation, j.receiver.organisation], role=Role.MANAGER
        ).values_list("user__email", flat=True)
    )


def test_worker_killed_while_sending_a_reminder_and_a_rung(journey, redis_server, sink, workers):
    reminded, escalated = reminder_due(journey), rung_due(journey)
    now = timezone.now()
    assert reminders_in_process(now=now).messages == 1
    assert scan_in_process(now=now).escalated == 1
    expected = [reminded.receiver_email, escalated.sender_email, escalated.receiver_contact]
    expected += managers(escalated)
    assert OutboxMessage.objects.exclude(kind=OutboxKind.ANSWER).count() == len(expected) == 5

    sink.stall()
    first = workers("w1")
    send(outbox_relay, redis_server, now=now.isoformat())
    wait_until(sink.data_received.is_set, what="the relay to be inside SMTP DATA")
    stop(first, kill=True)  # SIGKILL while sending
    wait_until(lambda: sink.aborted, what="the server to see the client die")
    sink.release()
    assert sink.messages() == []

    workers("w2")
    send(outbox_relay, redis_server, now=(now + MINUTE).isoformat())  # still in use: left alone
    send(outbox_relay, redis_server, now=(now + 11 * MINUTE).isoformat())  # taken back, sent
    wait_until(lambda: len(sink.messages()) == 5, what="the five mails after recovery")
    send(outbox_relay, redis_server, now=(now + 20 * MINUTE).isoformat())
    wait_until(
        lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
        what="every row recorded as sent",
    )
    assert_every_row_mailed_once(sink, expected)
    # A scan and a reminder pass again afterwards: nothing more.
    assert reminders_in_process(now=now + 30 * MINUTE).messages == 0
    assert scan_in_process(now=now + 30 * MINUTE).escalated == 0


def test_redis_restarted_with_the_reminder_and_rung_scans_queued(
    journey, redis_server, sink, workers
):
    reminded, escalated = reminder_due(journey), rung_due(journey)
    now = timezone.now()
    workers("w1")
    sink.stall()
    # The worker is busy sending the level-1 e-mails when both scans are queued…
    send(outbox_relay, redis_server, now=(now - MINUTE).isoformat())
    wait_until(sink.data_received.is_set, what="the relay to be mid-send")
    send(reminders_send, redis_server, now=now.isoformat())
    send(alerts_scan, redis_server, now=now.isoformat())
    redis_server.stop()  # …and Redis dies with them
    redis_server.start()
    sink.release()
    wait_until(lambda: len(sink.messages()) == 2, what="the in-flight relay to finish")
    assert not Reminder.objects.filter(state=ReminderState.NOTIFIED).exists()
    assert not Alert.objects.filter(level__gt=1).exists()

    # The next beat ticks find everything in the database.
    send(reminders_send, redis_server, now=now.isoformat())
    send(alerts_scan, redis_server, now=now.isoformat())
    wait_until(lambda: len(sink.messages()) == 5, what="the reminder's and the rung's mails")
    send(outbox_relay, redis_server, now=(now + MINUTE).isoformat())
    wait_until(
        lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
        what="every row recorded as sent",
    )
    expected = [reminded.receiver_email, escalated.sender_email, escalated.receiver_contact]
    assert_every_row_mailed_once(sink, expected + managers(escalated))


def test_two_beat_schedulers_remind_and_escalate_once(
    journey, redis_server, sink, workers, tmp_path
):
    reminded = [reminder_due(journey, hours_ago=h) for h in (6, 8, 10)]
    escalated = [rung_due(journey) for _ in range(3)]
    expected = [j.receiver_email for j in reminded]
    for j in escalated:
        expected += [j.sender_email, j.receiver_contact, *managers(j)]
    assert len(expected) == 15
    workers("w1")
    workers("w2")
    beats = [
        start_beat(
            broker_url=redis_server.url,
            log_path=tmp_path / f"beat{n}.log",
            schedule=tmp_path / f"beat{n}-schedule",
            PARCOURS_ALERT_SCAN_SECONDS="1",
            PARCOURS_REMINDER_SCAN_SECONDS="1",
            OUTBOX_RELAY_SECONDS="1",
        )
        for n in (1, 2)
    ]

    def ticks(n: int, task: str) -> int:
        path = tmp_path / f"beat{n}.log"
        return path.read_text().count(task) if path.exists() else 0

    try:
        wait_until(lambda: len(sink.messages()) >= 15, what="15 mails", timeout=90)
        wait_until(
            lambda: all(
                ticks(n, task) >= 6
                for n in (1, 2)
                for task in ("notifications.alerts_scan", "notifications.reminders_send")
            ),
            what="more ticks of both scans",
            timeout=60,
        )
    finally:
        for beat in beats:
            stop(beat)
    send(outbox_relay, redis_server)
    wait_until(
        lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
        what="every row recorded as sent",
    )
    assert_every_row_mailed_once(sink, expected)
    assert Alert.objects.filter(level=2).count() == 3
    assert Reminder.objects.filter(state=ReminderState.NOTIFIED).count() == 3


def test_smtp_4xx_on_a_reminder_is_retried_then_delivered_once(
    journey, celery_worker_process, mail_sink
):
    j = reminder_due(journey)
    now = timezone.now()
    mail_sink.answer_next(["451 4.3.0 Serveur surchargé, réessayez plus tard"] * 2)
    assert run(reminders_send, now)["messages"] == 1
    wait_until(lambda: mail_sink.attempts == 1, what="the first refusal")
    run(outbox_relay, now)  # after the scan's relay: the row waits for its next attempt
    row = OutboxMessage.objects.get(kind="reminder")
    assert (row.status, row.attempts, row.smtp_code) == ("pending", 1, 451)
    run(outbox_relay, now + MINUTE)  # refused again: the next wait is 120 s
    run(outbox_relay, now + 3 * MINUTE)
    run(outbox_relay, now + 60 * MINUTE)
    assert run(reminders_send, now + 60 * MINUTE)["messages"] == 0
    assert_every_row_mailed_once(mail_sink, [j.receiver_email])
    assert OutboxMessage.objects.get(kind="reminder").attempts == 3


def test_smtp_5xx_on_a_rung_is_failed_visible_and_not_retried(
    journey, celery_worker_process, mail_sink, client_for
):
    j = rung_due(journey)
    manager = managers(j)[0]
    mail_sink.refuse(manager, "550 5.1.1 Adresse inconnue")
    now = timezone.now()
    assert run(alerts_scan, now)["escalated"] == 1
    wait_until(lambda: len(mail_sink.messages()) == 3, what="every mail but the refused one")
    for hours in (1, 5, 48):
        run(outbox_relay, now + dt.timedelta(hours=hours))
    failed = OutboxMessage.objects.get(to_email=manager)
    assert (failed.status, failed.smtp_code, failed.attempts) == ("failed", 550, 1)
    assert sorted(r for m in mail_sink.messages() for r in m.rcpt_tos) == sorted(
        [j.sender_email, j.receiver_contact, *[m for m in managers(j) if m != manager]]
    )
    # Shown to the people concerned on the rung's alert, with the server's answer.
    response = client_for(j.sender).get("/api/v1/alerts/?level=2")
    (rung,) = response.json()["results"]
    assert rung["audience"] == "managers"
    by_address = {d["email"]: d for d in rung["deliveries"]}
    assert by_address[manager]["status"] == "failed" and "550" in by_address[manager]["last_error"]


# --- issue 16: the relay recovers in seconds ------------------------------------------------------


def _terminate_other_connections() -> int:
    """Drop every other session on the test database (the worker's, its lease keeper's), as a
    PostgreSQL restart or failover would."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_database_connection_dropped_during_smtp_loses_no_send(
    journey, redis_server, sink, workers
):
    """The server said 250 while the relay's database connection was gone: the send is recorded
    on a fresh connection — not sent again when the lease runs out (8 duplicate pairs before)."""
    (j,), due = due_journeys(journey, 1)
    scan_in_process(now=due)
    sink.stall()
    workers("w1")
    send(outbox_relay, redis_server, now=due.isoformat())
    wait_until(sink.data_received.is_set, what="the relay to be inside SMTP DATA")
    assert _terminate_other_connections() >= 1
    sink.release()  # 250: accepted
    wait_until(lambda: sink.messages(), what="the first mail accepted")
    first_id = sink.messages()[0].message_id
    wait_until(
        lambda: OutboxMessage.objects.filter(status=OutboxStatus.SENT).exists(),
        what="the send recorded on a fresh connection",
    )
    # Later passes, past every lease: the other message goes, the first never again.
    send(outbox_relay, redis_server, now=(due + MINUTE).isoformat())
    send(outbox_relay, redis_server, now=(due + 20 * MINUTE).isoformat())
    wait_until(
        lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
        what="every row recorded as sent",
    )
    assert_exactly_one_mail_per_recipient(sink, [j])
    assert [m.message_id for m in sink.messages()].count(first_id) == 1
    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [1, 1]


def test_a_slow_smtp_server_never_makes_a_pass_outlive_its_task(
    journey, redis_server, sink, tmp_path
):
    """3 s per message (the audit's slow server): passes stop claiming at their budget, so none
    is killed by its time limit with a message in flight — every e-mail once."""
    journeys, due = due_journeys(journey, 4)  # 8 e-mails
    scan_in_process(now=due)
    sink.slow(3)
    worker = start_worker(
        name=f"slow-{os.getpid()}",
        broker_url=redis_server.url,
        log_path=tmp_path / "slow.log",
        email_url=sink.url,
        OUTBOX_RELAY_BUDGET_SECONDS="5",
    )
    try:
        for _ in range(8):  # as beat would, pass after pass
            send(outbox_relay, redis_server, now=due.isoformat())
        wait_until(
            lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
            timeout=90,
            what="every row recorded as sent",
        )
    finally:
        stop(worker)
    assert_exactly_one_mail_per_recipient(sink, journeys)
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}
    assert "SoftTimeLimitExceeded" not in (tmp_path / "slow.log").read_text()


def test_an_smtp_outage_longer_than_the_retry_budget_keeps_the_mail_waiting(
    journey, sink, caplog, settings
):
    """Past OUTBOX_MAX_ATTEMPTS transient failures the message waits (said at ERROR) instead of
    failing for good; when the server is back, it goes. (This process relays, to the test's own
    SMTP server.)"""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    (j,), due = due_journeys(journey, 1)
    scan_in_process(now=due)
    OutboxMessage.objects.update(attempts=settings.OUTBOX_MAX_ATTEMPTS)
    sink.answer_next(["451 4.3.0 Try again later"] * 2)
    relay_in_process(now=due)
    waiting = OutboxMessage.objects.filter(status=OutboxStatus.PENDING)
    assert waiting.count() == 2
    assert all("toujours en attente" in m.last_error for m in waiting)
    assert any(r.levelname == "ERROR" and "still waiting" in r.message for r in caplog.records)
    relay_in_process(now=due + dt.timedelta(seconds=settings.OUTBOX_RETRY_MAX_SECONDS + 1))
    assert_exactly_one_mail_per_recipient(sink, [j])
