"""The alert e-mails' fault tests on RabbitMQ, production's broker (issue 17): quorum queues,
publisher confirms, no result store (backend/settings/base.py). The same end as on Redis
(test_outbox_faults.py): exactly one mail per due alert recipient, none lost, none doubled.

Where RabbitMQ differs, the tests say so: a message a dead worker held is delivered again at
once (Redis waits for its visibility timeout), and a broker killed and restarted keeps what it
confirmed (the Redis of our machines keeps nothing).

One RabbitMQ node of the session's own (`rabbitmq_node` in tests/conftest.py: its ports, its
directories, no plugin), started once (several seconds); each test takes a virtual host of its
own on it (`rabbitmq`). No result store: a test waits for a task through its worker's log.
"""

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from kombu import Connection

from backend.broker import quorum_queues
from notifications.models import Alert, OutboxMessage, OutboxStatus
from notifications.services.alerts import alerts_scan as scan_in_process
from notifications.tasks import alerts_scan, outbox_relay
from tests.processes import (
    RabbitVhost,
    process_env,
    start_worker,
    stop,
    wait_until,
)

from .conftest import real_past
from .test_outbox_faults import assert_exactly_one_mail_per_recipient, due_journeys

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)
QUEUES = ("celery", "prompt", "mail")  # backend/settings/base.py, CELERY_TASK_ROUTES


@pytest.fixture
def workers(rabbitmq, sink, tmp_path):
    """Start workers on this test's virtual host; all are stopped at the end. Each returned
    process knows its log (`log_path`)."""
    started = []

    def start(name: str = "w1", queues: str = "celery,mail,prompt"):
        log_path = tmp_path / f"{name}.log"
        process = start_worker(
            name=f"rabbit-{name}-{os.getpid()}",
            broker_url=rabbitmq.url,
            log_path=log_path,
            email_url=sink.url,
            queues=queues,
        )
        process.log_path = log_path  # type: ignore[attr-defined]
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process, kill=True)  # the virtual host is thrown away: no graceful shutdown needed


def send(task, rabbitmq: RabbitVhost, **kwargs) -> str:
    """Publish a task as beat or another task would: to its queue, declared as the workers
    declare it (a quorum queue; RabbitMQ refuses a declaration with other arguments), with
    publisher confirms. Returns the task's id."""
    queues = {
        q.name: q
        for q in quorum_queues(QUEUES, delivery_limit=settings.PARCOURS_QUEUE_DELIVERY_LIMIT)
    }
    queue = settings.CELERY_TASK_ROUTES.get(task.name, {}).get("queue", "celery")
    with Connection(rabbitmq.url, transport_options={"confirm_publish": True}) as connection:
        result = task.apply_async(
            kwargs=kwargs, connection=connection, queue=queues[queue], ignore_result=True
        )
    return result.id


def succeeded(worker, task_id: str) -> bool:
    return f"[{task_id}] succeeded" in Path(worker.log_path).read_text(errors="replace")


def run(task, rabbitmq: RabbitVhost, worker, at: dt.datetime) -> None:
    """`task` at `at`, on `worker`, waited for (no result store: its log says it succeeded)."""
    task_id = send(task, rabbitmq, now=at.isoformat())
    wait_until(lambda: succeeded(worker, task_id), what=f"{task.name} at {at}")


def all_sent() -> bool:
    return not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()


# --- The queues --------------------------------------------------------------------------------

# A routing key that went through Celery's native delayed delivery: the delay's 28 bits, then
# the queue's own key.
DELAYED_KEY = re.compile(r"^(?:[01]\.){28}mail$")


def test_tasks_queue_through_rabbitmq_quorum_queues(journey, rabbitmq, sink, workers):
    """The settings' queues on a real RabbitMQ: the three are quorum queues with a delivery
    limit; a task queued by the application's own path (parcours.queueing, in a process on the
    RabbitMQ settings, publisher confirms) waits in `mail` until a worker takes it; a countdown
    goes through the delayed-delivery exchanges (quorum queues cannot hold it back), then into
    `mail`; and the e-mails leave once each."""
    (j,), due = due_journeys(journey, 1)
    scan_in_process(now=due)  # the alert and its two e-mails are in the outbox
    # A worker of the `celery` queue alone declares the three queues and the delayed-delivery
    # exchanges, and leaves `mail` alone.
    workers("bulk", queues="celery")
    now = due.isoformat()
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from parcours.queueing import enqueue\n"
        "from notifications.tasks import outbox_relay\n"
        "assert settings.PARCOURS_BROKER_IS_RABBITMQ and settings.CELERY_RESULT_BACKEND is None\n"
        f"assert enqueue('notifications.outbox_relay', catch_up='the test', now='{now}')\n"
        f"outbox_relay.apply_async(kwargs={{'now': '{now}'}}, countdown=1)\n"
    )
    published = subprocess.run(
        [sys.executable, "-c", code],
        env=process_env(broker_url=rabbitmq.url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert published.returncode == 0, published.stderr

    queues = rabbitmq.queues()
    limit = settings.PARCOURS_QUEUE_DELIVERY_LIMIT
    for name in QUEUES:
        assert queues[name]["type"] == "quorum"
        assert queues[name]["arguments"]["x-delivery-limit"] == limit

    # Both messages are in `mail` (the delayed one after its second): looked at, then put back.
    with Connection(rabbitmq.url) as connection:
        mail = connection.SimpleQueue(quorum_queues(("mail",), delivery_limit=limit)[0])
        seen = []
        while len(seen) < 2:
            seen.append(mail.get(block=True, timeout=30))
        keys = {m.delivery_info["routing_key"] for m in seen}
        names = {m.headers["task"] for m in seen}
        for message in seen:
            message.requeue()
        mail.close()
    assert names == {"notifications.outbox_relay"}
    assert "mail" in keys and any(DELAYED_KEY.match(key) for key in keys), keys
    assert sink.messages() == []  # nobody consumed `mail` yet

    workers("prompt", queues="prompt,mail")
    wait_until(all_sent, what="every row recorded as sent")
    wait_until(lambda: rabbitmq.ready("mail") == 0, what="`mail` drained")
    assert_exactly_one_mail_per_recipient(sink, [j])


# --- Faults ------------------------------------------------------------------------------------


def test_worker_killed_while_sending(journey, rabbitmq, sink, workers):
    """As on Redis, plus: RabbitMQ gives the dead worker's message to the next worker at once
    (no visibility timeout) — that second run of the pass finds the row still leased and leaves
    it; the lease running out is what sends it again, once."""
    (j,), due = due_journeys(journey, 1)
    scan_in_process(now=due)
    sink.stall()
    first = workers("w1")
    interrupted = send(outbox_relay, rabbitmq, now=due.isoformat())
    wait_until(sink.data_received.is_set, what="the relay to be inside SMTP DATA")
    in_flight = OutboxMessage.objects.filter(status=OutboxStatus.SENDING)
    assert in_flight.count() == 1

    stop(first, kill=True)  # SIGKILL while sending
    wait_until(lambda: sink.aborted, what="the server to see the client die")
    sink.release()
    assert sink.messages() == []
    aborted_id = sink.aborted[0]["Message-ID"]
    # Unacknowledged (acks_late), the pass's message is back in its queue as soon as the
    # worker's connection dropped.
    wait_until(lambda: rabbitmq.ready("mail") == 1, what="the interrupted pass back in `mail`")

    second = workers("w2")
    wait_until(lambda: succeeded(second, interrupted), what="the interrupted pass, run again")
    wait_until(lambda: len(sink.messages()) == 1, what="the other mail")
    assert in_flight.count() == 1  # within its lease: left alone by the pass run again
    run(outbox_relay, rabbitmq, second, due + 10 * SECOND)
    assert in_flight.count() == 1
    run(outbox_relay, rabbitmq, second, due + 45 * SECOND)  # the lease ran out: taken back
    run(outbox_relay, rabbitmq, second, due + 20 * MINUTE)
    assert all_sent()
    assert_exactly_one_mail_per_recipient(sink, [j])
    assert aborted_id in {m.message_id for m in sink.messages()}
    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [1, 2]


def test_rabbitmq_killed_and_restarted_mid_run(journey, rabbitmq, sink, workers):
    """The broker dies while a relay pass is sending and a scan waits in its queue. On Redis
    both messages are gone and the next beat tick catches up (test_redis_restarted_mid_run);
    RabbitMQ kept them (quorum queues, confirmed publish): once it is back, the interrupted pass
    is delivered again — and finds nothing left to send twice — and the kept scan raises the late
    alerts without any new tick."""
    early, due_early = due_journeys(journey, 2)
    scan_in_process(now=due_early)  # 4 e-mails waiting
    # Sent an hour later: due an hour later (well before any escalation of the early ones).
    late = [journey(real_past(40) + dt.timedelta(hours=1, minutes=n)) for n in range(2)]
    due_late = max(j.referral.acknowledge_due_at for j in late) + MINUTE

    # The relay's worker alone: the scan waits in `prompt` (a worker of `prompt,mail` would
    # already hold it, one message per queue: quorum queues count the prefetch per consumer).
    relay_worker = workers("mail", queues="mail")
    sink.stall()
    relay_id = send(outbox_relay, rabbitmq, now=due_early.isoformat())
    wait_until(sink.data_received.is_set, what="the relay to be mid-send")
    send(alerts_scan, rabbitmq, now=due_late.isoformat())  # confirmed: in the queue's log

    rabbitmq.stop()  # SIGKILL, like a crash
    sink.release()  # the pass goes on without its broker
    wait_until(lambda: len(sink.messages()) == 4, what="the in-flight relay to finish")
    rabbitmq.start()
    # Kept across the crash: the scan, still waiting; no alert of the late referrals yet.
    wait_until(lambda: rabbitmq.ready("prompt") == 1, what="the scan kept in `prompt`")
    assert not Alert.objects.filter(referral__in=[j.referral for j in late]).exists()

    # The interrupted pass, never acknowledged, is delivered again to the reconnected worker.
    wait_until(
        lambda: Path(relay_worker.log_path).read_text().count(f"[{relay_id}] succeeded") == 2,
        what="the interrupted pass, run again",
        timeout=90,
    )
    assert len(sink.messages()) == 4  # …which sent nothing twice

    workers("prompt", queues="prompt")  # the kept scan runs; nothing new was queued
    wait_until(lambda: len(sink.messages()) == 8, what="the kept scan's mails")
    wait_until(all_sent, what="every row recorded as sent")
    assert_exactly_one_mail_per_recipient(sink, early + late)


def test_smtp_4xx_is_retried_with_backoff_then_delivered(journey, rabbitmq, sink, workers):
    """The SMTP server refuses (451) then recovers; every pass goes through RabbitMQ."""
    (j,), due = due_journeys(journey, 1)
    sink.answer_next(["451 4.3.0 Serveur surchargé, réessayez plus tard"] * 4)
    worker = workers("w1")
    run(alerts_scan, rabbitmq, worker, due)  # wakes the relay through RabbitMQ (same `now`)
    wait_until(lambda: sink.attempts == 2, what="the first two refusals")
    rows = OutboxMessage.objects.order_by("id")
    # A fresh query each poll: iterating `rows` itself would cache its first answer, read while
    # the worker may not yet have committed the refusals, and the wait could never end.
    wait_until(
        lambda: list(rows.all().values_list("status", "attempts")) == [("pending", 1)] * 2,
        what="the refusals recorded",
    )
    assert [r.smtp_code for r in rows] == [451, 451]
    assert all(r.next_attempt_at == due + MINUTE for r in rows)  # 60 s, then doubling

    run(outbox_relay, rabbitmq, worker, due + 59 * SECOND)
    assert sink.attempts == 2  # not yet
    run(outbox_relay, rabbitmq, worker, due + MINUTE)
    assert sink.attempts == 4  # refused again: the next wait is 120 s
    assert set(rows.values_list("next_attempt_at", flat=True)) == {due + 3 * MINUTE}
    run(outbox_relay, rabbitmq, worker, due + 3 * MINUTE)
    assert len(sink.messages()) == 2
    run(outbox_relay, rabbitmq, worker, due + 60 * MINUTE)
    assert_exactly_one_mail_per_recipient(sink, [j])
    assert sorted(rows.values_list("attempts", flat=True)) == [3, 3]


def test_a_poison_message_is_dropped_after_the_delivery_limit(rabbitmq, settings):
    """A task that kills its worker on every delivery is handed back each time (a prefork
    worker rejects it with requeue when it loses the child: `reject_on_worker_lost`); the quorum
    queue drops it once it was returned more than PARCOURS_QUEUE_DELIVERY_LIMIT times, instead of
    feeding it to the workers forever. (Its rows stay in the database for the periodic runs.)"""
    settings.PARCOURS_QUEUE_DELIVERY_LIMIT = 2  # the queue as `send` declares it
    task_id = send(outbox_relay, rabbitmq)
    deliveries = []
    with Connection(rabbitmq.url) as connection:
        mail = connection.SimpleQueue(quorum_queues(("mail",), delivery_limit=2)[0])
        for _ in range(4):
            try:
                message = mail.get(block=True, timeout=2)  # a requeued one comes in ms
            except mail.Empty:
                break
            deliveries.append(message.headers["id"])
            message.reject(requeue=True)  # the worker died with it
        mail.close()
    assert deliveries == [task_id] * 3  # delivered, then returned twice; the third return drops it
    assert rabbitmq.ready("mail") == 0
