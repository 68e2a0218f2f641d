"""Break-glass through both doors (API and page), with the real broker up and down.

Finding 3 of issue 12: the opening answered 500 (API and page) yet stayed open, unjournaled,
and the DPO was never told — Celery refused to queue the notification task after commit (its
time limit was below the global soft limit), and no test had ever queued it. Now the DPOs'
notices are outbox rows written with the opening, and queueing the relay can fail without
failing anything.
"""

import os
import time

import pytest
from django.test import Client
from kombu.exceptions import OperationalError

from notifications.models import OutboxMessage, OutboxStatus
from parcours.models import AccessEvent, BreakGlass, Role
from tests.factories import MembershipFactory, PersonFactory, ReferralFactory
from tests.processes import start_beat, start_worker, stop, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REASON = "Adapter le poste de travail proposé dès le premier jour"


@pytest.fixture
def scene(make_actor):
    """A SIAE counsellor who may open a break-glass on a referral received, and the SIAE's two
    DPOs (a counsellor and another organisation's DPO are not told)."""
    referral = ReferralFactory(sent=True, pathway__person=PersonFactory(rqth=True))
    receiver = make_actor(organisation=referral.receiver_organisation)
    dpos = [MembershipFactory(organisation=receiver.organisation, role=Role.DPO) for _ in "ab"]
    MembershipFactory(organisation=receiver.organisation, role=Role.COUNSELLOR)
    MembershipFactory(organisation=referral.sender_organisation, role=Role.DPO)
    return referral, receiver, sorted(d.user.email for d in dpos)


def open_through(door: str, referral, receiver, client_for) -> int:
    """POST the opening through `door`; the status code, as a browser or a partner sees it."""
    payload = {"category": "health", "reason": REASON}
    if door == "api":
        client = client_for(receiver)
        client.raise_request_exception = False  # a crash is a 500, as in production
        url = f"/api/v1/pathways/{referral.pathway_id}/break-glass/"
    else:
        client = Client(raise_request_exception=False)
        client.force_login(receiver.user)
        url = f"/personnes/{referral.pathway.person_id}/acces-exceptionnel/"
    return client.post(url, payload).status_code


SUCCESS = {"api": 201, "page": 302}  # the page redirects to the person, with a message


def assert_opened_and_journaled(referral) -> BreakGlass:
    grant = BreakGlass.objects.get(pathway_id=referral.pathway_id)
    journaled = AccessEvent.objects.get(operation="break_glass")
    assert journaled.basis == f"break_glass:{grant.pk}"
    return grant


def recipients(sink) -> list[str]:
    return sorted(r for m in sink.messages() for r in m.rcpt_tos)


@pytest.mark.parametrize("door", ["api", "page"])
def test_break_glass_succeeds_and_each_dpo_gets_one_mail(
    door, scene, client_for, celery_worker_process, mail_sink
):
    """The regression test of finding 3 (500 on both doors before the fix)."""
    referral, receiver, dpo_emails = scene

    assert open_through(door, referral, receiver, client_for) == SUCCESS[door]

    grant = assert_opened_and_journaled(referral)
    assert (
        sorted(OutboxMessage.objects.filter(break_glass=grant).values_list("to_email", flat=True))
        == dpo_emails
    )
    # The relay woken after commit sends them on the real worker, to the real SMTP server.
    wait_until(lambda: len(mail_sink.messages()) >= 2, what="the DPOs' mails")
    wait_until(
        lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
        what="the notices recorded as sent",
    )
    assert recipients(mail_sink) == dpo_emails
    assert all("Accès exceptionnel ouvert" in m.subject for m in mail_sink.messages())


@pytest.mark.parametrize("door", ["api", "page"])
def test_broker_down_the_opening_stands_and_the_mails_leave_once_it_is_back(
    door, scene, client_for, private_broker, mail_sink, tmp_path, caplog
):
    referral, receiver, dpo_emails = scene
    private_broker.stop()  # the broker this process queues to is unreachable

    started = time.monotonic()
    assert open_through(door, referral, receiver, client_for) == SUCCESS[door]
    assert time.monotonic() - started < 10  # a dead broker costs the request about a second

    grant = assert_opened_and_journaled(referral)
    notices = OutboxMessage.objects.filter(break_glass=grant)
    assert sorted(notices.values_list("to_email", flat=True)) == dpo_emails
    assert set(notices.values_list("status", flat=True)) == {OutboxStatus.PENDING}
    (failure,) = [r for r in caplog.records if r.name == "parcours.queueing"]
    assert failure.getMessage().startswith("queueing notifications.outbox_relay failed")
    assert isinstance(failure.exc_info[1], OperationalError)  # refused by the dead broker

    # The broker comes back with a worker and beat; nothing re-queues the wake-up that was
    # lost: the beat's periodic relay finds the rows.
    private_broker.start()
    worker = start_worker(
        name=f"bg-{door}-{os.getpid()}",
        broker_url=private_broker.url,
        log_path=tmp_path / "worker.log",
        email_url=mail_sink.url,
    )
    beat_log = tmp_path / "beat.log"
    beat = start_beat(
        broker_url=private_broker.url,
        log_path=beat_log,
        schedule=tmp_path / "beat-schedule",
        OUTBOX_RELAY_SECONDS="1",
    )

    def relay_ticks() -> int:
        return beat_log.read_text().count("notifications.outbox_relay") if beat_log.exists() else 0

    try:
        wait_until(lambda: len(mail_sink.messages()) >= 2, what="the DPOs' mails", timeout=90)
        ticks = relay_ticks()
        wait_until(lambda: relay_ticks() >= ticks + 3, what="three more relay passes")
    finally:
        stop(beat)
        stop(worker)
    assert recipients(mail_sink) == dpo_emails  # exactly one per DPO
    assert len({m.message_id for m in mail_sink.messages()}) == 2
    assert set(notices.values_list("status", flat=True)) == {OutboxStatus.SENT}
