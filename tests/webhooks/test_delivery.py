"""Webhooks in process: the deliveries a referral's moves write (in the move's transaction),
what they carry (only what the receiving organisation's grants allow), their Standard Webhooks
signatures checked by a real receiver on loopback with the package's verifier, the FHIR Task
validated there, retries with backoff, rotation and replay. The worker tests (test_worker.py)
drive the same relay through the real broker."""

import datetime as dt
import json

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from parcours.models import WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus
from parcours.services import referral as referral_services
from parcours.services import webhooks as webhook_services
from parcours.services.webhook_delivery import backoff, webhooks_deliver
from parcours.transitions import Action as Move

from ..notifications.conftest import real_past

pytestmark = pytest.mark.django_db


def test_every_move_of_the_state_machine_has_an_event_with_a_french_label():
    assert set(webhook_services.EVENT_OF_MOVE) == set(Move)
    assert set(webhook_services.EVENT_OF_MOVE.values()) == set(webhook_services.REFERRAL_EVENTS)
    # The pathway's own events follow (tests/webhooks/test_pathway_events.py).
    referral_then_pathway = (*webhook_services.REFERRAL_EVENTS, *webhook_services.PATHWAY_EVENTS)
    assert referral_then_pathway == webhook_services.EVENTS
    for event in webhook_services.EVENTS:
        assert webhook_services.event_label(event) != "Événement"


def test_a_sent_referral_reaches_the_receivers_system_signed_and_as_a_fhir_task(
    journey, receiver, subscribe
):
    j = journey(real_past(1))
    # Subscribed after the referral was sent: the next move is the first message.
    subscribe(j.receiver.organisation, receiver)
    j.accept(real_past(0))
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "referral.accepted"
    assert delivery.status == WebhookDeliveryStatus.PENDING

    report = webhooks_deliver()

    assert report.delivered == 1
    [got] = receiver.received
    assert got.verified_with == receiver.secrets
    assert got.fhir_error == ""
    assert got.message_id == delivery.message_id
    assert got.payload["type"] == "referral.accepted"
    task = got.payload["data"]
    assert task["resourceType"] == "Task"
    assert task["status"] == "accepted"
    assert task["businessStatus"]["text"] == "Acceptée"
    assert task["focus"] == {"reference": "#referral"}
    contained = {r["resourceType"]: r for r in task["contained"]}
    assert contained["ServiceRequest"]["identifier"][0]["value"] == j.referral.reference
    assert contained["Patient"]["name"] == [{"family": "Martin", "given": ["Léa"]}]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.status_code == 200 and attempt.error == ""


def test_the_payload_carries_no_data_outside_the_receivers_categories(journey, receiver, subscribe):
    j = journey(real_past(1))
    subscribe(j.receiver.organisation, receiver)
    j.refuse(real_past(0))
    webhooks_deliver()
    [got] = receiver.received
    assert got.fhir_error == ""
    text = got.body.decode()
    # The context note (social, health, justice), the NIR, the phone and the RQTH never leave.
    for secret in ("psychiatrique", "justice", "0612345678", "rqth", j.referral.pathway.person.nir):
        assert secret not in text
    assert got.payload["data"]["statusReason"]["coding"][0]["code"] == "no_capacity"


def test_each_message_is_journaled_as_an_export_to_the_receiving_organisation(
    journey, receiver, subscribe
):
    from parcours.gate.journal import WEBHOOK_PURPOSE
    from parcours.models import AccessEvent

    j = journey(real_past(1))
    subscribe(j.receiver.organisation, receiver)
    j.accept(real_past(0))
    delivery = WebhookDelivery.objects.get()
    [row] = AccessEvent.objects.filter(operation="export", purpose=WEBHOOK_PURPOSE)
    assert row.organisation_id == j.receiver.organisation.pk and row.user_id is None
    assert (row.object_type, row.object_id) == ("referral", j.referral.pk)
    assert row.person_id == j.referral.pathway.person_id
    assert sorted(row.categories) == ["identity", "pathway"]
    assert row.basis  # the receiving organisation's bases for what the message carries
    assert row.detail["webhook_id"] == delivery.message_id
    assert row.detail["event"] == "referral.accepted"


def test_an_organisation_that_sees_nothing_of_the_pathway_gets_no_message(
    journey, receiver, subscribe, make_actor
):
    j = journey(real_past(1))
    stranger = make_actor(name="CCAS de Béthune")
    subscribe(stranger.organisation, receiver)
    j.accept(real_past(0))
    assert not WebhookDelivery.objects.exists()


def test_a_move_rolled_back_writes_no_delivery(journey, receiver, subscribe):
    j = journey(real_past(1))
    subscribe(j.receiver.organisation, receiver)
    with pytest.raises(RuntimeError), transaction.atomic():
        referral_services.referral_accept(actor=j.receiver, referral_id=j.referral.pk)
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the request failed after the move")
    assert not WebhookDelivery.objects.exists()


def test_one_delivery_per_subscription_and_event_however_often_it_is_recorded(
    journey, receiver, subscribe
):
    j = journey(real_past(1))
    subscribe(j.receiver.organisation, receiver)
    j.accept(real_past(0))
    delivery = WebhookDelivery.objects.get()
    again = webhook_services.webhook_events_record(
        referral=j.referral, action=Move.ACCEPT, event_id=delivery.source_event_id, now=real_past(0)
    )
    assert again == 0  # nothing new for a timeline event already delivered
    assert WebhookDelivery.objects.count() == 1


def test_only_the_events_subscribed_to_are_sent(journey, receiver, subscribe):
    j = journey(real_past(2))
    subscribe(j.receiver.organisation, receiver, events=["referral.closed"])
    j.accept(real_past(1))
    assert not WebhookDelivery.objects.exists()
    with time_machine.travel(real_past(0), tick=False):
        referral_services.referral_close(
            actor=j.receiver, referral_id=j.referral.pk, outcome="support_started"
        )
    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == ["referral.closed"]
    webhooks_deliver()
    [got] = receiver.received
    assert got.fhir_error == ""
    assert got.payload["data"]["status"] == "completed"
    assert got.payload["data"]["output"][0]["valueCodeableConcept"]["coding"][0]["code"] == (
        "support_started"
    )


def test_the_sender_side_hears_of_the_receivers_answer(journey, receiver, subscribe):
    j = journey(real_past(1))
    subscribe(j.sender.organisation, receiver, events=["referral.accepted"])
    j.accept(real_past(0))
    webhooks_deliver()
    [got] = receiver.received
    assert got.verified_with and got.fhir_error == ""
    assert got.payload["data"]["owner"]["display"] == j.receiver.organisation.name


def test_a_partner_answering_500_is_retried_after_a_backoff_then_delivered_once(
    journey, receiver, subscribe
):
    j = journey(real_past(1))
    subscribe(j.receiver.organisation, receiver)
    j.accept(real_past(0))
    receiver.script = [500]
    first = webhooks_deliver()
    assert (first.delivered, first.retried) == (0, 1)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert delivery.last_status_code == 500
    assert delivery.next_attempt_at > timezone.now() + backoff(1) - dt.timedelta(seconds=5)
    assert webhooks_deliver().delivered == 0  # not due yet
    later = webhooks_deliver(now=timezone.now() + backoff(1) + dt.timedelta(seconds=1))
    assert later.delivered == 1
    assert [r.answered for r in receiver.received] == [500, 200]
    assert len({r.message_id for r in receiver.received}) == 1
    assert len(receiver.accepted()) == 1
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("started_at"))
    assert [a.status_code for a in log] == [500, 200]
    assert all(a.duration_ms >= 0 for a in log)


def test_backoff_doubles_up_to_its_ceiling(settings):
    settings.PARCOURS_WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.PARCOURS_WEBHOOK_RETRY_MAX_SECONDS = 3600
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_a_delivery_is_given_up_after_the_last_attempt(journey, receiver, subscribe, settings):
    settings.PARCOURS_WEBHOOK_MAX_ATTEMPTS = 2
    j = journey(real_past(1))
    subscribe(j.receiver.organisation, receiver)
    j.accept(real_past(0))
    receiver.script = [503, 503]
    webhooks_deliver()
    assert webhooks_deliver(now=timezone.now() + dt.timedelta(hours=1)).failed == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert delivery.last_error == "Réponse HTTP 503"


def test_an_unreachable_partner_is_logged_and_retried(journey, subscribe, receiver):
    j = journey(real_past(1))
    subscribe(j.receiver.organisation, receiver)
    receiver.stop()  # nothing listens any more
    j.accept(real_past(0))
    assert webhooks_deliver().retried == 1
    [attempt] = WebhookAttempt.objects.all()
    assert attempt.status_code is None
    assert attempt.error.startswith("Échec de connexion")


def test_a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends(
    journey, receiver, subscribe, settings
):
    j = journey(real_past(2))
    admin, issued = subscribe(j.receiver.organisation, receiver)
    old = issued.secret
    rotated = webhook_services.webhook_subscription_rotate(
        actor=admin, subscription_id=issued.subscription.pk
    )
    assert rotated.secret != old and rotated.secret.startswith("whsec_")
    receiver.secrets = [old, rotated.secret]
    j.accept(real_past(1))
    webhooks_deliver()
    [during] = receiver.received
    # Two signatures: a system still on the old secret and one already on the new both verify.
    assert during.verified_with == [old, rotated.secret]
    assert len(during.headers["webhook-signature"].split(" ")) == 2

    overlap = dt.timedelta(hours=settings.PARCOURS_WEBHOOK_ROTATION_OVERLAP_HOURS, minutes=1)
    with time_machine.travel(timezone.now() + overlap):
        delivery = WebhookDelivery.objects.get()
        webhook_services.webhook_delivery_replay(actor=admin, delivery_id=delivery.pk)
        webhooks_deliver()
    after = receiver.received[-1]
    assert after.verified_with == [rotated.secret]


def test_a_replay_sends_the_same_message_again_freshly_signed(journey, receiver, subscribe):
    j = journey(real_past(1))
    admin, _issued = subscribe(j.receiver.organisation, receiver)
    j.accept(real_past(0))
    webhooks_deliver()
    delivery = WebhookDelivery.objects.get()
    replayed = webhook_services.webhook_delivery_replay(actor=admin, delivery_id=delivery.pk)
    assert replayed.status == WebhookDeliveryStatus.PENDING
    assert webhooks_deliver().delivered == 1
    first, second = receiver.received
    assert first.message_id == second.message_id == delivery.message_id
    assert first.body == second.body
    assert second.verified_with and second.fhir_error == ""
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2


def test_a_disabled_subscription_gets_no_new_delivery(journey, receiver, subscribe):
    j = journey(real_past(1))
    admin, issued = subscribe(j.receiver.organisation, receiver)
    webhook_services.webhook_subscription_disable(
        actor=admin, subscription_id=issued.subscription.pk
    )
    j.accept(real_past(0))
    assert not WebhookDelivery.objects.exists()


def test_the_stored_body_is_encrypted_at_rest(journey, receiver, subscribe):
    from django.db import connection

    j = journey(real_past(1))
    subscribe(j.receiver.organisation, receiver)
    j.accept(real_past(0))
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM parcours_webhookdelivery")
        [(raw,)] = cursor.fetchall()
        cursor.execute("SELECT secret FROM parcours_webhooksubscription")
        [(raw_secret,)] = cursor.fetchall()
    assert "Martin" not in raw and "Task" not in raw
    assert not raw_secret.startswith("whsec_")
    assert json.loads(WebhookDelivery.objects.get().body)["data"]["resourceType"] == "Task"


def test_the_persons_access_report_shows_the_export_to_the_partner(
    journey, receiver, subscribe, make_actor, client_for
):
    from parcours.models import Role

    j = journey(real_past(1))
    subscribe(j.receiver.organisation, receiver)
    j.accept(real_past(0))
    dpo = make_actor(organisation=j.sender.organisation, role=Role.DPO)
    person_id = j.referral.pathway.person_id
    response = client_for(dpo).get(f"/api/v1/dpo/persons/{person_id}/access-report/")
    assert response.status_code == 200, response.content
    assert (
        "Information du système partenaire de l'organisation (webhook)" in response.content.decode()
    )
