"""The relay's e-mails built ahead in a thread of their own (issue 17, the next step): the failure
windows that opens — a build that raises, a builder thread that dies or hangs, SMTP failing while
the next e-mail is being built, a worker killed while e-mails are built ahead — and still every
e-mail exactly once.

What is checked is what a real SMTP server received (tests/notifications/smtp_sink.py). Time is
injected (`now`).
"""

import datetime as dt
import os
import threading

import pytest
from django.utils import timezone, translation

from notifications.mail_facts import mail_facts_load
from notifications.models import OutboxMessage, OutboxStatus
from notifications.services import relay_builder
from notifications.services.alerts import alerts_scan as scan_in_process
from notifications.services.relay import outbox_relay as relay_in_process
from notifications.tasks import outbox_relay
from tests.processes import start_worker, stop, wait_until

from .test_outbox_faults import due_journeys, send
from .test_relay_batch import assert_each_row_received_once, in_order

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)


def in_the_builder() -> bool:
    return threading.current_thread().name == "outbox-build"


def test_a_build_that_raises_fails_its_row_alone(journey, smtp, monkeypatch):
    """Even an exception that would end a thread (SystemExit) is the row's: recorded on it, tried
    again later; the batch goes on and nothing is sent twice."""
    _journeys, due = due_journeys(journey, 2)
    scan_in_process(now=due)
    rows = in_order()
    broken = rows[1]
    real = relay_builder.prepare

    def prepare(message, facts, *, flatten):
        if message.pk == broken.pk:
            raise SystemExit("would end the builder thread")
        return real(message, facts, flatten=flatten)

    monkeypatch.setattr(relay_builder, "prepare", prepare)
    report = relay_in_process(now=due)
    assert (report.sent, report.retried) == (3, 1)
    broken.refresh_from_db()
    assert (broken.status, broken.attempts) == ("pending", 1)
    assert "BuildFailed" in broken.last_error
    assert [m.message_id for m in smtp.messages()] == [r.message_id for r in rows if r != broken]

    monkeypatch.setattr(relay_builder, "prepare", real)
    relay_in_process(now=due + MINUTE)
    assert_each_row_received_once(smtp)
    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [1, 1, 1, 2]


# The thread's end is reported by the thread hook, as it would be in a worker's log.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_builder_thread_dying_mid_batch(journey, smtp, monkeypatch, caplog):
    """The thread itself ends (outside any build's guard): the relay sees it gone, builds the
    rest of the batch itself; every e-mail once, each tried once."""
    _journeys, due = due_journeys(journey, 3)
    scan_in_process(now=due)
    rows = in_order()
    real_run = relay_builder.Builder._run

    def run(self, message):
        if message.pk == rows[2].pk:
            raise SystemExit  # ends the thread, this e-mail's future never answered
        return real_run(self, message)

    monkeypatch.setattr(relay_builder.Builder, "_run", run)
    report = relay_in_process(now=due)
    assert (report.sent, report.retried, report.failed) == (6, 0, 0)
    assert_each_row_received_once(smtp)
    assert [m.message_id for m in smtp.messages()] == [r.message_id for r in rows]
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}
    assert any("builder is gone" in r.getMessage() for r in caplog.records)


def test_a_hung_builder_is_not_waited_for_past_its_limit(journey, smtp, monkeypatch, caplog):
    """A build that never returns: after BUILD_WAIT_SECONDS the relay builds that e-mail and the
    rest itself; the hung build, when it ends, sends nothing."""
    _journeys, due = due_journeys(journey, 2)
    scan_in_process(now=due)
    rows = in_order()
    monkeypatch.setattr(relay_builder, "BUILD_WAIT_SECONDS", 0.5)
    release = threading.Event()
    real = relay_builder.prepare

    def prepare(message, facts, *, flatten):
        if message.pk == rows[1].pk and in_the_builder():
            release.wait(30)
        return real(message, facts, flatten=flatten)

    monkeypatch.setattr(relay_builder, "prepare", prepare)
    try:
        report = relay_in_process(now=due)
    finally:
        release.set()
    assert report.sent == 4
    assert_each_row_received_once(smtp)
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}
    assert any("did not answer" in r.getMessage() for r in caplog.records)
    relay_in_process(now=due + 20 * MINUTE)  # later passes: nothing more
    assert len(smtp.messages()) == 4


def test_smtp_dropped_while_the_next_mail_is_being_built(journey, smtp, monkeypatch):
    """The connection drops at the second DATA while the third e-mail is being built: the second
    is tried again later, the third goes over a new session, nothing twice."""
    _journeys, due = due_journeys(journey, 3)
    scan_in_process(now=due)
    rows = in_order()
    smtp.drop_data(2)
    real = relay_builder.prepare
    overlapped = []

    def prepare(message, facts, *, flatten):
        if message.pk == rows[2].pk:
            # Built while the second e-mail's exchange fails, not before it.
            wait_until(lambda: smtp.attempts >= 2, timeout=20, what="the second DATA dropped")
            overlapped.append(message.pk)
        return real(message, facts, flatten=flatten)

    monkeypatch.setattr(relay_builder, "prepare", prepare)
    report = relay_in_process(now=due)
    assert overlapped  # the third e-mail was built while the second one's exchange went wrong
    assert (report.sent, report.retried) == (5, 1)
    dropped = OutboxMessage.objects.get(pk=rows[1].pk)
    assert (dropped.status, dropped.attempts) == ("pending", 1)
    assert "SMTPServerDisconnected" in dropped.last_error
    messages = smtp.messages()
    assert [m.message_id for m in messages] == [r.message_id for r in rows if r != rows[1]]
    assert messages[0].peer != messages[1].peer == messages[4].peer  # reconnected once

    relay_in_process(now=due + MINUTE)
    assert_each_row_received_once(smtp)
    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [1] * 5 + [2]


def test_the_builder_writes_in_the_relays_language_and_time_zone(journey, monkeypatch):
    _journeys, due = due_journeys(journey, 1)
    scan_in_process(now=due)
    messages = in_order()
    seen = []
    real = relay_builder.prepare

    def prepare(message, facts, *, flatten):
        seen.append((translation.get_language(), timezone.get_current_timezone_name()))
        return real(message, facts, flatten=flatten)

    monkeypatch.setattr(relay_builder, "prepare", prepare)
    facts = mail_facts_load(messages)
    with (
        translation.override("en"),
        timezone.override("Pacific/Kiritimati"),
        relay_builder.Builder(messages, facts, flatten=True) as builder,
    ):
        while (message := builder.next()) is not None:
            assert builder.prepared(message).data
    assert seen == [("en", "Pacific/Kiritimati")] * len(messages)


def test_worker_killed_inside_data_with_the_next_mails_built(journey, redis_server, sink, tmp_path):
    """A real worker killed while e-mail 1 is inside DATA and the next ones are built: only the
    one in flight is `sending`; those built ahead were never taken (pending, no attempt) and go
    out within the dead relay's lease; the interrupted one once after it, same Message-ID."""
    _journeys, due = due_journeys(journey, 3)
    scan_in_process(now=due)
    sink.stall()

    def worker(name: str):
        return start_worker(
            name=f"builder-{name}-{os.getpid()}",
            broker_url=redis_server.url,
            log_path=tmp_path / f"{name}.log",
            email_url=sink.url,
        )

    first = worker("w1")
    try:
        send(outbox_relay, redis_server, now=due.isoformat())
        wait_until(sink.data_received.is_set, what="the relay to be inside SMTP DATA")
        assert OutboxMessage.objects.filter(status=OutboxStatus.SENDING).count() == 1
        untouched = OutboxMessage.objects.filter(status=OutboxStatus.PENDING, attempts=0)
        assert untouched.count() == 5
    finally:
        stop(first, kill=True)  # SIGKILL while sending
    wait_until(lambda: sink.aborted, what="the server to see the client die")
    sink.release()
    assert sink.messages() == []
    aborted_id = sink.aborted[0]["Message-ID"]

    second = worker("w2")
    try:
        send(outbox_relay, redis_server, now=(due + 10 * SECOND).isoformat())
        wait_until(
            lambda: (
                len(sink.messages()) == 5
                and OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 5
            ),
            what="the five others, sent and recorded within the dead relay's lease",
        )
        send(outbox_relay, redis_server, now=(due + 45 * SECOND).isoformat())
        wait_until(lambda: len(sink.messages()) == 6, what="the interrupted one, after its lease")
        send(outbox_relay, redis_server, now=(due + 20 * MINUTE).isoformat())
        wait_until(
            lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
            what="every row recorded as sent",
        )
    finally:
        stop(second)
    assert_each_row_received_once(sink)
    assert aborted_id in {m.message_id for m in sink.messages()}
    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [1] * 5 + [2]
