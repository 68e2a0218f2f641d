"""A corrected absence, end to end: the correction queues the relay through the real broker
(Redis), a real Celery worker sends, a real SMTP server receives — exactly one correction e-mail
per partner, and none of the absence's alert e-mails written before the correction and not yet
sent."""

import datetime as dt

import pytest
import time_machine

from notifications.models import OutboxKind, OutboxMessage, OutboxStatus
from notifications.services.alerts import alerts_scan
from notifications.tasks import outbox_relay
from parcours.services.referral import referral_correct_attendance
from tests.processes import wait_until

from .conftest import answers_delivered, real_past

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_corrected_absence_sends_one_correction_mail_per_partner(
    journey, celery_worker_process, mail_sink
):
    j = journey(real_past(10)).accept(real_past(9))
    starts = real_past(8)
    j.book(real_past(9) + dt.timedelta(hours=1), starts_at=starts)
    recorded = starts + dt.timedelta(hours=1)
    j.record_no_show(recorded)
    answers_delivered(mail_sink)  # the sender heard of each move (issue 14); the relay is idle
    # The absence's alert is raised (its e-mails written, not yet relayed)…
    assert alerts_scan(now=recorded + dt.timedelta(minutes=5)).messages == 3
    alert_mails = set(
        OutboxMessage.objects.filter(kind=OutboxKind.ALERT).values_list("pk", flat=True)
    )

    # …then its author corrects it: the correction's own transaction queues the relay.
    with time_machine.travel(recorded + dt.timedelta(minutes=30), tick=False):
        referral_correct_attendance(
            actor=j.receiver, referral_id=j.referral.pk, reason="Erreur de dossier"
        )

    wait_until(lambda: len(mail_sink.messages()) >= 2, what="the two correction e-mails")
    outbox_relay.delay().get(timeout=60)  # once more: nothing else leaves
    messages = mail_sink.messages()
    assert sorted(r for m in messages for r in m.rcpt_tos) == sorted(
        [j.sender_email, j.receiver_contact]
    )
    assert len({m.message_id for m in messages}) == 2
    for message in messages:
        assert message.subject == (
            f"[parcours] {j.referral.reference} : correction — la personne est bien venue"
        )
        assert "La personne est bien venue." in message.text
    assert set(
        OutboxMessage.objects.filter(kind=OutboxKind.CORRECTION).values_list("status", flat=True)
    ) == {OutboxStatus.SENT}
    assert set(
        OutboxMessage.objects.filter(pk__in=alert_mails).values_list("status", flat=True)
    ) == {OutboxStatus.CANCELLED}
