"""Messages on a referral, end to end: a post queues the relay through the real broker (Redis), a
real Celery worker sends, a real SMTP server receives — exactly one e-mail per message and
recipient, without the message's text or the person's name; and a worker killed while sending
one leaves it to be sent once, under the same Message-ID, after recovery."""

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from notifications.models import OutboxKind, OutboxMessage, OutboxStatus
from notifications.tasks import outbox_relay
from parcours.services.referral_message import referral_message_post
from tests.processes import stop, wait_until

from .conftest import answers_delivered, real_past
from .test_outbox_faults import send, workers  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUESTION = "Léa a-t-elle un moyen de transport pour venir au chantier ?"
ANSWER = "Oui, un vélo : elle viendra jeudi à 9 h."


def _mails_about(messages, reference: str):
    return [m for m in messages if reference in m.subject]


def test_an_exchange_sends_one_mail_per_message_and_recipient(
    journey, celery_worker_process, mail_sink
):
    # The SIAE's counsellor accepts: the referral is now in her charge.
    j = journey(real_past(3)).accept(real_past(2))
    answers_delivered(mail_sink)  # France Travail heard of the acceptance
    reference = j.referral.reference

    # France Travail asks: the SIAE's address and the counsellor in charge are told.
    referral_message_post(actor=j.sender, referral_id=j.referral.pk, text=QUESTION)
    wait_until(lambda: len(mail_sink.messages()) >= 2, what="the question's e-mails")
    # The SIAE's counsellor answers: France Travail's counsellor is told.
    referral_message_post(actor=j.receiver, referral_id=j.referral.pk, text=ANSWER)
    wait_until(lambda: len(mail_sink.messages()) >= 3, what="the answer's e-mail")
    # France Travail thanks: the SIAE's address and its counsellor again.
    referral_message_post(actor=j.sender, referral_id=j.referral.pk, text="Merci !")
    wait_until(lambda: len(mail_sink.messages()) >= 5, what="the thanks' two e-mails")
    outbox_relay.delay().get(timeout=60)  # once more: nothing else leaves
    outbox_relay.delay().get(timeout=60)

    messages = mail_sink.messages()
    question = thanks = [j.receiver_contact, j.receiver_email]
    answer = [j.sender_email]
    assert sorted(r for m in messages for r in m.rcpt_tos) == sorted([*question, *answer, *thanks])
    assert len({m.message_id for m in messages}) == 5
    assert _mails_about(messages, reference) == messages
    for message in messages:
        assert message.subject.startswith(f"[parcours] {reference} : nouveau message de ")
        for secret in (QUESTION, ANSWER, "Merci", "Léa", "Martin", "vélo"):
            assert secret not in message.text, secret
        assert f"/orientations/{j.referral.pk}/#messages" in message.text
    rows = OutboxMessage.objects.filter(kind=OutboxKind.REFERRAL_MESSAGE)
    assert rows.count() == 5
    assert set(rows.values_list("status", flat=True)) == {OutboxStatus.SENT}


def test_a_worker_killed_while_sending_a_message_notice_sends_it_once(
    journey,
    redis_server,
    sink,
    workers,  # noqa: F811
):
    # Still to be answered (nobody at the SIAE in charge yet): one notice, to its address.
    j = journey(real_past(3))
    # The post's wake-up of the relay is lost (the broker of this test is its own): the
    # periodic relay, run here on the private broker, sends the notice.
    with mock.patch("notifications.receivers.enqueue_on_commit") as wake_up:
        referral_message_post(actor=j.sender, referral_id=j.referral.pk, text=QUESTION)
    assert wake_up.call_count == 1
    (row,) = OutboxMessage.objects.filter(kind=OutboxKind.REFERRAL_MESSAGE)
    now = timezone.now()

    sink.stall()
    first = workers("w1")
    send(outbox_relay, redis_server, now=now.isoformat())
    wait_until(sink.data_received.is_set, what="the relay to be inside SMTP DATA")
    stop(first, kill=True)  # SIGKILL while sending
    wait_until(lambda: sink.aborted, what="the server to see the client die")
    sink.release()
    assert sink.messages() == []
    aborted_id = sink.aborted[0]["Message-ID"]

    workers("w2")
    send(outbox_relay, redis_server, now=(now + dt.timedelta(seconds=5)).isoformat())
    # Its lease (OUTBOX_LEASE_SECONDS, 30 s) ran out: taken back and sent, once.
    send(outbox_relay, redis_server, now=(now + dt.timedelta(seconds=45)).isoformat())
    wait_until(lambda: len(sink.messages()) == 1, what="the notice after recovery")
    send(outbox_relay, redis_server, now=(now + dt.timedelta(minutes=20)).isoformat())
    wait_until(
        lambda: OutboxMessage.objects.get(pk=row.pk).status == OutboxStatus.SENT,
        what="the row recorded as sent",
    )
    (mail,) = sink.messages()
    assert mail.rcpt_tos == [j.receiver_contact]
    assert mail.message_id == aborted_id  # the same Message-ID: a duplicate is recognisable
    assert OutboxMessage.objects.get(pk=row.pk).attempts == 2
