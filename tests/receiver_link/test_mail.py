"""The receiver's link by e-mail (issue 19), through the real relay: a referral sent to a CCAS
without accounts is e-mailed once to its contact address, by a real Celery worker to a real SMTP
server, with a link that opens the referral's page — and no name of the person."""

import re
import time

import pytest
from django.test import Client

from notifications.models import OutboxKind, OutboxMessage, OutboxStatus
from parcours.models import ReceiverLink
from tests.processes import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_link_is_mailed_exactly_once_and_opens_the_page(
    world, celery_worker_process, mail_sink, settings
):
    referral = world.send()  # committed: the relay is woken on commit
    wait_until(lambda: mail_sink.messages(), what="the receiver's link", timeout=90)
    wait_until(
        lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
        what="the outbox row recorded as sent",
    )
    time.sleep(1)  # anything doubled would have arrived by now
    [mail] = mail_sink.messages()
    assert mail.rcpt_tos == ["accueil@ccas-bapaume.fr"]
    assert referral.reference in mail.subject
    text = mail.text
    assert "France Travail Arras" in text
    assert "Léa" not in text and "Martin" not in text and "Hébergée" not in text
    assert "demandez un compte" in text
    [row] = OutboxMessage.objects.filter(kind=OutboxKind.RECEIVER_LINK)
    assert row.receiver_link == ReceiverLink.objects.get(referral=referral)
    url = re.search(r"https?://\S+/lien/\S+/", text).group(0)
    path = "/" + url.split("/", 3)[3]
    response = Client().get(path)
    assert response.status_code == 200
    assert "Léa Martin" in response.content.decode()
