"""Webhooks end to end through the real broker and real worker processes, and their fault
tests modelled on the alert e-mails' (tests/notifications/test_outbox_faults.py): a relay
killed while the partner had not answered, the broker down when the move queues its wake-up,
the partner answering 500 then 200. Each ends with the same check: one delivery recorded for
the event, one `webhook-id` seen by the partner, every request's signature verified by the
`standardwebhooks` package and its FHIR resource valid (a Task; an EpisodeOfCare for a
pathway's closing, which wakes the relay like a move). Tasks are queued (the change's own
wake-up or beat's tick published on the broker), never called. Time is injected (`now`), never
waited for.
"""

import datetime as dt
import os

import pytest
from celery.backends.redis import RedisBackend
from celery.states import READY_STATES, SUCCESS
from django.conf import settings
from django.utils import timezone
from kombu import Connection

from backend.celery import app
from parcours.models import WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus
from parcours.services.pathway import pathway_close
from parcours.services.referral import referral_accept
from parcours.tasks import webhooks_deliver
from tests.processes import start_worker, stop, wait_until

from ..notifications.conftest import real_past

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def beat_tick(broker_url: str, **kwargs) -> str:
    """Publish the relay's task on the broker, as beat's `webhooks-deliver` entry does."""
    with Connection(broker_url) as connection:
        return webhooks_deliver.apply_async(kwargs=kwargs, connection=connection).id


def tick_report(broker_url: str, task_id: str) -> dict:
    """The pass's report, once the worker ran it (results go to the test's Redis)."""
    results = RedisBackend(app=app, url=broker_url)
    meta = wait_until(
        lambda: (m := results.get_task_meta(task_id))["status"] in READY_STATES and m,
        what="the relay's pass to finish",
    )
    assert meta["status"] == SUCCESS, meta["traceback"]
    return meta["result"]


def accept(j) -> None:
    """The receiver accepts now, on the real clock: the test process's receiver verifies the
    signature's timestamp against it (a journey's steps travel in time, in every thread)."""
    referral_accept(actor=j.receiver, referral_id=j.referral.pk)


def assert_one_delivery_per_event(receiver, events: int) -> None:
    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() == events
    assert set(deliveries.values_list("status", flat=True)) == {WebhookDeliveryStatus.DELIVERED}
    assert {r.message_id for r in receiver.received} == set(
        deliveries.values_list("message_id", flat=True)
    )
    for got in receiver.received:
        assert got.verified_with, got.refusals  # with the secret of its subscription
        assert got.fhir_error == ""
    # The answers that reached parcours: one 2xx per event, whatever was retried.
    assert WebhookAttempt.objects.filter(status_code__gte=200, status_code__lt=300).count() == (
        events
    )


@pytest.fixture
def workers(private_broker, tmp_path):
    started = []

    def start(name: str):
        process = start_worker(
            name=f"webhooks-{name}-{os.getpid()}",
            broker_url=private_broker.url,
            log_path=tmp_path / f"{name}.log",
        )
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process)


def test_a_move_wakes_the_relay_through_the_broker_and_the_partner_gets_it_once(
    journey, receiver, subscribe, celery_worker_process
):
    j = journey(real_past(2))
    subscribe(j.receiver.organisation, receiver)
    accept(j)  # its commit queues the relay on the shared broker
    wait_until(
        lambda: WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.DELIVERED).exists(),
        what="the acceptance delivered by the worker",
    )
    assert_one_delivery_per_event(receiver, 1)
    assert receiver.received[0].payload["type"] == "referral.accepted"


def test_a_pathway_closed_wakes_the_relay_and_the_partner_gets_it_once(
    pathway_world, receiver, subscribe, celery_worker_process
):
    subscribe(pathway_world.partner, receiver, events=["pathway.closed"])
    # On the real clock, like `accept`: its commit queues the relay on the shared broker.
    pathway_close(actor=pathway_world.owner, pathway_id=pathway_world.pathway.pk, outcome="job")
    wait_until(
        lambda: WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.DELIVERED).exists(),
        what="the closing delivered by the worker",
    )
    assert_one_delivery_per_event(receiver, 1)
    [got] = receiver.received
    assert got.payload["type"] == "pathway.closed"
    assert got.payload["data"]["resourceType"] == "EpisodeOfCare"
    assert got.payload["data"]["status"] == "finished"
    assert WebhookDelivery.objects.get().pathway_id == pathway_world.pathway.pk


def test_a_relay_killed_while_the_partner_had_not_answered(
    journey, receiver, subscribe, private_broker, workers
):
    j = journey(real_past(2))
    subscribe(j.receiver.organisation, receiver)
    receiver.holding = True  # the partner keeps the first request without answering
    first = workers("w1")
    accept(j)  # its wake-up goes to the test's broker, consumed by w1
    wait_until(receiver.arrived.is_set, what="the relay to be waiting on the partner")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (WebhookDeliveryStatus.SENDING, 1)

    stop(first, kill=True)  # SIGKILL mid-request
    receiver.hold.set()  # the partner answers a relay that is gone

    workers("w2")
    # Within its lease the row still looks in use by a live relay: left alone.
    beat_tick(private_broker.url, now=(timezone.now() + dt.timedelta(seconds=5)).isoformat())
    wait_until(
        lambda: len(receiver.received) == 1 and not WebhookAttempt.objects.exists(),
        what="the tick within the lease to pass",
        timeout=30,
    )
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SENDING
    # Its lease ran out: taken back and sent again, under the same webhook-id.
    lease = dt.timedelta(seconds=settings.PARCOURS_WEBHOOK_LEASE_SECONDS + 5)
    beat_tick(private_broker.url, now=(timezone.now() + lease).isoformat())
    wait_until(
        lambda: WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.DELIVERED).exists(),
        what="the delivery after recovery",
    )
    assert_one_delivery_per_event(receiver, 1)
    assert [r.message_id for r in receiver.received] == [delivery.message_id] * 2
    delivery.refresh_from_db()
    assert delivery.attempts == 2


def test_the_broker_down_when_the_move_queues_its_wake_up(
    journey, receiver, subscribe, private_broker, workers, caplog
):
    j = journey(real_past(2))
    subscribe(j.receiver.organisation, receiver)
    private_broker.stop()
    accept(j)  # the move stands; its wake-up is lost (logged)
    assert "queueing parcours.webhooks_deliver failed" in caplog.text
    assert WebhookDelivery.objects.get().status == WebhookDeliveryStatus.PENDING
    private_broker.start()  # same port, empty
    workers("w1")
    beat_tick(private_broker.url)  # beat's next tick finds the row in the database
    wait_until(
        lambda: WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.DELIVERED).exists(),
        what="the delivery after the broker came back",
    )
    # Another tick sends nothing more.
    assert tick_report(private_broker.url, beat_tick(private_broker.url))["delivered"] == 0
    assert_one_delivery_per_event(receiver, 1)
    assert len(receiver.received) == 1


def test_the_partner_answering_500_then_200(journey, receiver, subscribe, private_broker, workers):
    journeys = [journey(real_past(2) + dt.timedelta(minutes=n)) for n in range(2)]
    for j in journeys:
        subscribe(j.receiver.organisation, receiver)
    receiver.script = [500, 500]
    workers("w1")
    for j in journeys:
        accept(j)
    wait_until(
        lambda: WebhookAttempt.objects.filter(status_code=500).count() == 2,
        what="both first attempts refused",
    )
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}
    later = timezone.now() + dt.timedelta(seconds=settings.PARCOURS_WEBHOOK_RETRY_BASE_SECONDS + 5)
    beat_tick(private_broker.url, now=later.isoformat())
    wait_until(
        lambda: WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.DELIVERED).count() == 2,
        what="both delivered on the retry",
    )
    again = beat_tick(private_broker.url, now=(later + dt.timedelta(hours=1)).isoformat())
    assert tick_report(private_broker.url, again)["delivered"] == 0
    assert_one_delivery_per_event(receiver, 2)
    assert sorted(r.answered for r in receiver.received) == [200, 200, 500, 500]
