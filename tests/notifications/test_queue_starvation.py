"""Queues that cannot starve each other (issue 16, finding 3): the deployment's two workers —
`prompt,mail` (scan, reminders, digests, sealer, relay) and `celery` (bulk work) — as `make run`
and docker-compose start them, on a private Redis. The default queue is flooded with access
recomputes (each re-marking every pathway of its organisations, as an agreement's change does)
while referrals are overdue: the alert e-mails still leave at once, while the flood is still
queued behind the bulk worker."""

import datetime as dt
import os
import time

import pytest
from kombu import Connection

from notifications.tasks import alerts_scan
from parcours.models import Organisation
from tests.bulk import clone_pathways
from tests.factories import PathwayFactory
from tests.processes import PrivateRedis, start_worker, stop, wait_until

from .conftest import real_past

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FLOOD = 30  # recompute messages
PATHWAYS = 2000  # of a flooded organisation: a run takes its whole time budget (30 s)


def _queued(redis_server: PrivateRedis, queue: str) -> int:
    with Connection(redis_server.url) as connection:
        return connection.default_channel.client.llen(queue)


def test_a_flood_of_recomputes_never_delays_the_alert_mails(journey, redis_server, sink, tmp_path):
    from parcours.tasks import access_recompute_owned_by

    journeys = [journey(real_past(40) + dt.timedelta(minutes=n)) for n in range(2)]
    due = max(j.referral.acknowledge_due_at for j in journeys) + dt.timedelta(minutes=1)
    flooded = [Organisation.objects.get(pk=journeys[0].sender.organisation.pk)]
    clone_pathways(PathwayFactory(owner_organisation=flooded[0]), PATHWAYS)

    with Connection(redis_server.url) as connection:
        for _ in range(FLOOD):
            access_recompute_owned_by.apply_async(
                kwargs={"organisation_ids": [o.pk for o in flooded]}, connection=connection
            )
    assert _queued(redis_server, "celery") == FLOOD

    started = []
    try:
        for name, queues in (("bulk", "celery"), ("prompt", "prompt,mail")):
            started.append(
                start_worker(
                    name=f"starve-{name}-{os.getpid()}",
                    broker_url=redis_server.url,
                    log_path=tmp_path / f"{name}.log",
                    email_url=sink.url,
                    queues=queues,
                )
            )
        # The bulk worker is busy with the flood.
        wait_until(lambda: _queued(redis_server, "celery") < FLOOD, what="the flood to start")
        queued_at = time.monotonic()
        with Connection(redis_server.url) as connection:
            alerts_scan.apply_async(kwargs={"now": due.isoformat()}, connection=connection)
        expected = 2 * len(journeys)  # the sender and the receiver's contact, per referral
        wait_until(lambda: len(sink.messages()) >= expected, timeout=60, what="the alert mails")
        delay = time.monotonic() - queued_at
        still_queued = _queued(redis_server, "celery")
    finally:
        for process in started:
            stop(process, kill=True)

    # A run of the flood lasts its budget (30 s): one worker for everything would wait for it.
    assert delay < 10, f"{delay:.1f} s"
    # The e-mails left while the flood was still waiting for the bulk worker.
    assert still_queued > 0, "the flood was over before the mails: nothing was shown"
    assert sorted(r for m in sink.messages() for r in m.rcpt_tos) == sorted(
        address for j in journeys for address in (j.sender_email, j.receiver_contact)
    )
