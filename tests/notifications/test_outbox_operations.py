"""Operators act on the outbox (issue 16, finding 5): failed or cancelled e-mails sent again,
pending or failed ones cancelled — from the admin (superusers) or `manage.py outbox_requeue` —
never a message being handed to SMTP or one already sent."""

import datetime as dt
import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from notifications.models import OutboxKind, OutboxMessage, OutboxStatus
from notifications.services.outbox_operations import outbox_cancel, outbox_resend
from notifications.services.relay import outbox_relay
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _message(status: str, **fields) -> OutboxMessage:
    now = timezone.now()
    extra = {
        OutboxStatus.SENT: {"sent_at": now},
        OutboxStatus.SENDING: {"claimed_at": now, "claim_token": uuid.uuid4()},
        OutboxStatus.FAILED: {"failed_at": now, "smtp_code": 550, "last_error": "550 inconnu"},
    }.get(status, {})
    values = {
        "kind": OutboxKind.SIGN_IN_REQUEST,
        "to_email": f"{status}@exemple.fr",
        "status": status,
        "attempts": 8 if status == OutboxStatus.FAILED else 1,
        "next_attempt_at": now,
        "created_at": now,
        **extra,
        **fields,
    }
    return OutboxMessage.objects.create(**values)


@pytest.fixture
def messages():
    return {status: _message(status) for status in OutboxStatus.values}


def _statuses() -> dict[str, str]:
    return dict(OutboxMessage.objects.values_list("to_email", "status"))


def test_resend_puts_back_failed_and_cancelled_ones_only(messages):
    operator = UserFactory(first_name="Alice", last_name="Opératrice")
    assert outbox_resend(operator=operator, message_ids=[m.pk for m in messages.values()]) == 2
    statuses = _statuses()
    assert statuses["failed@exemple.fr"] == statuses["cancelled@exemple.fr"] == "pending"
    assert (statuses["sent@exemple.fr"], statuses["sending@exemple.fr"]) == ("sent", "sending")
    failed = OutboxMessage.objects.get(pk=messages["failed"].pk)
    assert (failed.attempts, failed.smtp_code, failed.failed_at) == (0, None, None)
    assert failed.last_error.startswith("Renvoi demandé le ")
    assert failed.last_error.endswith(" par Alice Opératrice")


def test_cancel_stops_pending_and_failed_ones_only(messages):
    assert outbox_cancel(operator=None, message_ids=[m.pk for m in messages.values()]) == 2
    statuses = _statuses()
    assert statuses["pending@exemple.fr"] == statuses["failed@exemple.fr"] == "cancelled"
    assert (statuses["sent@exemple.fr"], statuses["sending@exemple.fr"]) == ("sent", "sending")
    assert OutboxMessage.objects.get(pk=messages["pending"].pk).last_error.startswith("Annulé le ")


def test_outbox_requeue_sends_again_what_failed(messages):
    old = _message(OutboxStatus.FAILED, to_email="ancien@exemple.fr")
    OutboxMessage.objects.filter(pk=old.pk).update(failed_at=timezone.now() - dt.timedelta(days=9))
    out = io.StringIO()
    call_command("outbox_requeue", "--dry-run", stdout=out)
    assert out.getvalue().startswith("2 e-mail(s) en échec seraient remis à envoyer")
    assert _statuses()["failed@exemple.fr"] == "failed"  # a dry run changes nothing

    since = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    call_command("outbox_requeue", "--since", since, stdout=io.StringIO())
    statuses = _statuses()
    assert (statuses["failed@exemple.fr"], statuses["ancien@exemple.fr"]) == ("pending", "failed")

    with pytest.raises(CommandError, match="Date invalide : « hier »"):
        call_command("outbox_requeue", "--since", "hier")


def test_the_admin_s_actions_are_the_operators(messages):
    operator = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator)
    url = "/admin/notifications/outboxmessage/"
    page = client.get(url, {"status__exact": "failed"})
    assert page.status_code == 200
    assert "550 inconnu" in page.content.decode()  # the error column
    answer = client.post(
        url,
        {"action": "resend", "_selected_action": [messages["failed"].pk, messages["sent"].pk]},
        follow=True,
    )
    assert "1 e-mail(s) remis à envoyer ; 1 ignoré(s)" in answer.content.decode()
    assert _statuses()["failed@exemple.fr"] == "pending"
    client.post(url, {"action": "cancel", "_selected_action": [messages["pending"].pk]})
    assert _statuses()["pending@exemple.fr"] == "cancelled"


def test_a_message_sent_again_is_taken_by_the_next_relay_pass(messages):
    OutboxMessage.objects.exclude(pk=messages["failed"].pk).delete()
    outbox_resend(operator=None, message_ids=[messages["failed"].pk])
    report = outbox_relay(now=timezone.now() + dt.timedelta(seconds=1))
    again = OutboxMessage.objects.get(pk=messages["failed"].pk)
    assert again.attempts == 1  # claimed afresh, with a new retry budget
    # This bare row names no ProConnect sign-in: the relay finds nothing to say and cancels it.
    assert (report.cancelled, again.status) == (1, OutboxStatus.CANCELLED)
