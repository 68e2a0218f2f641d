"""Inbound updates from partner systems with an Idempotency-Key (parcours/api/idempotency.py):
a retry with the same key and body answers the stored response and never applies twice; the
same key with another body is a 422 in French; keys belong to their caller and expire."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from parcours.models import IdempotencyKey, PathwayEvent, Referral, WebhookDelivery
from parcours.services.idempotency import idempotency_keys_purge
from tests.factories import api_token_for

from ..notifications.conftest import real_past

ACCEPT = "/api/v1/referrals/{}/accept/"
APPOINTMENT = "/api/v1/referrals/{}/set-appointment/"


def _token_client(actor) -> APIClient:
    _token, secret = api_token_for(actor)
    return APIClient(HTTP_AUTHORIZATION=f"Token {secret}")


def _soon(hours: int = 48) -> str:
    return (timezone.now() + dt.timedelta(hours=hours)).replace(microsecond=0).isoformat()


@pytest.mark.django_db
def test_a_retried_move_answers_the_stored_response_and_applies_once(journey, receiver, subscribe):
    j = journey(real_past(1))
    subscribe(j.receiver.organisation, receiver, events=["referral.accepted"])
    client = _token_client(j.receiver)
    events_before = PathwayEvent.objects.count()

    first = client.post(ACCEPT.format(j.referral.pk), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 200, first.content
    assert "Idempotent-Replayed" not in first.headers
    retry = client.post(ACCEPT.format(j.referral.pk), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Referral.objects.get(pk=j.referral.pk).status == "accepted"
    assert PathwayEvent.objects.count() == events_before + 1  # one move, one timeline event
    assert WebhookDelivery.objects.count() == 1  # one message to the partner's system


@pytest.mark.django_db
def test_without_a_key_a_second_accept_is_refused_by_the_state_machine(journey):
    j = journey(real_past(1))
    client = _token_client(j.receiver)
    assert client.post(ACCEPT.format(j.referral.pk), {}, format="json").status_code == 200
    assert client.post(ACCEPT.format(j.referral.pk), {}, format="json").status_code == 409


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused_in_french_and_changes_nothing(journey):
    j = journey(real_past(1)).accept(real_past(0))
    client = _token_client(j.receiver)
    url = APPOINTMENT.format(j.referral.pk)
    starts_at = _soon(48)
    first = client.post(url, {"starts_at": starts_at}, format="json", HTTP_IDEMPOTENCY_KEY="rdv")
    assert first.status_code == 200, first.content

    other = client.post(url, {"starts_at": _soon(72)}, format="json", HTTP_IDEMPOTENCY_KEY="rdv")

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert other.json()["detail"].startswith("Cette clé d'idempotence a déjà servi")
    [appointment] = Referral.objects.get(pk=j.referral.pk).appointments.all()
    assert appointment.starts_at == dt.datetime.fromisoformat(starts_at)


@pytest.mark.django_db
def test_a_failed_write_keeps_no_key_so_its_corrected_retry_runs(journey):
    j = journey(real_past(1)).accept(real_past(0))
    client = _token_client(j.receiver)
    url = APPOINTMENT.format(j.referral.pk)
    bad = client.post(url, {"starts_at": "demain"}, format="json", HTTP_IDEMPOTENCY_KEY="r2")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    good = client.post(url, {"starts_at": _soon()}, format="json", HTTP_IDEMPOTENCY_KEY="r2")
    assert good.status_code == 200, good.content
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_caller(journey, make_actor):
    j = journey(real_past(1))
    receiver_client = _token_client(j.receiver)
    assert (
        receiver_client.post(
            ACCEPT.format(j.referral.pk), {}, format="json", HTTP_IDEMPOTENCY_KEY="shared"
        ).status_code
        == 200
    )
    # The sender's system, with the same key string, is another caller: its request runs.
    sender_client = _token_client(j.sender)
    response = sender_client.post(
        f"/api/v1/referrals/{j.referral.pk}/withdraw/",
        {"reason": "La personne a trouvé un emploi"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="shared",
    )
    assert response.status_code == 200, response.content
    assert "Idempotent-Replayed" not in response.headers
    assert IdempotencyKey.objects.count() == 2


@pytest.mark.django_db
def test_a_member_signed_in_is_a_caller_too(journey, client_for):
    j = journey(real_past(1))
    client = client_for(j.receiver)
    url = ACCEPT.format(j.referral.pk)
    assert client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="m").status_code == 200
    again = client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="m")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "clé-accentuée"])
def test_a_malformed_key_is_a_400_in_french(journey, key):
    j = journey(real_past(1))
    client = _token_client(j.receiver)
    response = client.post(
        ACCEPT.format(j.referral.pk), {}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("En-tête Idempotency-Key invalide")
    assert Referral.objects.get(pk=j.referral.pk).status == "sent"


@pytest.mark.django_db
def test_a_key_is_kept_24_hours_then_forgotten_and_purged(journey):
    j = journey(real_past(3)).accept(real_past(2))
    client = _token_client(j.receiver)
    url = APPOINTMENT.format(j.referral.pk)
    assert (
        client.post(url, {"starts_at": _soon(96)}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    ).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        assert idempotency_keys_purge() == 1
        assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_retries_racing_apply_once(journey):
    """Two requests with one key at the same moment: the second waits on the key's row, then
    answers the first's response."""
    j = journey(real_past(1))
    _token, secret = api_token_for(j.receiver)
    url = ACCEPT.format(j.referral.pk)
    answers: list = []
    start = threading.Barrier(2)

    def call() -> None:
        try:
            client = APIClient(HTTP_AUTHORIZATION=f"Token {secret}")
            start.wait()
            answers.append(client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="race"))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(a.status_code for a in answers) == [200, 200]
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert answers[0].json() == answers[1].json()
    assert Referral.objects.get(pk=j.referral.pk).status == "accepted"


def test_the_openapi_document_names_the_header_on_the_moves(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Idempotency-Key" in text
    assert "Cette clé d'idempotence a déjà servi" in text
