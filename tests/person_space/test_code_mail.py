"""The one-time code's way to the person (issue 19), through the real relay: the outbox row
written with the code, the relay woken on commit, a real Celery worker on real Redis sending to
a real SMTP server — exactly one e-mail, with the code that opens the space; nothing for an
address nobody has; nothing once the code is spent before the relay runs."""

import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from notifications.models import OutboxKind, OutboxMessage, OutboxStatus
from tests.processes import wait_until

from .world import BIRTH, EMAIL, build_world

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SIGN_IN = reverse("web:person-space-sign-in")
CODE = reverse("web:person-space-code")
SPACE = reverse("web:person-space")


def test_the_code_arrives_once_by_e_mail_and_opens_the_space(celery_worker_process, mail_sink):
    world = build_world()
    client = Client()
    client.post(SIGN_IN, {"email": EMAIL, "birth_date": BIRTH.isoformat()})
    wait_until(lambda: len(mail_sink.to(EMAIL)) >= 1, what="the person's code")
    wait_until(
        lambda: OutboxMessage.objects.filter(
            kind=OutboxKind.PERSON_CODE, status=OutboxStatus.SENT
        ).exists(),
        what="the outbox row marked sent",
    )
    time.sleep(1)  # a second e-mail would have arrived by now
    [mail] = mail_sink.to(EMAIL)
    assert mail.subject == "Votre code pour ouvrir votre espace parcours"
    match = re.search(r"Votre code : (\d{6})", mail.text)
    assert match, mail.text
    assert match.group(1) in mail.html
    assert "Inès" not in mail.text and "Robert" not in mail.text  # no identity in the mail
    assert client.post(CODE, {"code": match.group(1)}).url == SPACE
    assert "Mon espace parcours" in client.get(SPACE).text
    assert world.person.sign_in_codes.get().mail_code == ""  # spent: the plain code is gone


def test_an_unknown_address_gets_no_e_mail(celery_worker_process, mail_sink):
    build_world()
    client = Client()
    response = client.post(
        SIGN_IN, {"email": "personne.inconnue@exemple.fr", "birth_date": BIRTH.isoformat()}
    )
    assert response.status_code == 302 and response.url == CODE
    # The known address, asked after: its e-mail arrives, and it is the only one.
    Client().post(SIGN_IN, {"email": EMAIL, "birth_date": BIRTH.isoformat()})
    wait_until(lambda: len(mail_sink.messages()) >= 1, what="the known person's code")
    time.sleep(1)
    assert [r for m in mail_sink.messages() for r in m.rcpt_tos] == [EMAIL]
