"""The administrators' API for webhooks: subscribe (the secret once), change, rotate, disable,
read the delivery log and replay — allowed to the organisation's administrators, refused to its
other members (403, French), another organisation's records 404 like missing (the endpoint
matrix checks those for every route)."""

import pytest

from parcours.models import Role, WebhookDelivery, WebhookSubscription
from parcours.services.webhook_delivery import webhooks_deliver

from ..notifications.conftest import real_past

pytestmark = pytest.mark.django_db

BASE = "/api/v1/webhook-subscriptions/"
PAYLOAD = {
    "url": "https://partenaire.example.org/webhooks",
    "description": "Logiciel rSa du département",
    "events": ["referral.sent", "referral.closed"],
}


def test_an_administrator_subscribes_and_sees_the_secret_once(make_actor, client_for):
    admin = make_actor(role=Role.ADMIN)
    client = client_for(admin)
    created = client.post(BASE, PAYLOAD, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["secret_prefix"] == body["secret"][:12]
    assert [e["label"] for e in body["events"]] == [
        "Orientation envoyée (reçue)",
        "Orientation clôturée (retour d'information)",
    ]
    listed = client.get(BASE).json()["results"]
    assert [s["id"] for s in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in client.get(f"{BASE}{body['id']}/").json()


def test_a_counsellor_may_not_manage_webhooks(make_actor, client_for):
    counsellor = make_actor()
    client = client_for(counsellor)
    for response in (client.get(BASE), client.post(BASE, PAYLOAD, format="json")):
        assert response.status_code == 403
        assert "administrateurs" in response.json()["detail"]
    assert client.get("/api/v1/webhook-deliveries/").status_code == 403


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://partenaire.example.org/hook", "Seules les adresses https:// sont acceptées."),
        ("https://10.1.2.3/hook", "Cette adresse désigne un réseau privé"),
        ("https://127.0.0.1/hook", "Cette adresse désigne le serveur de parcours lui-même."),
        ("https://user:pw@partenaire.example.org/", "L'adresse ne doit pas contenir d'identifiant"),
        ("ftp://partenaire.example.org/", "L'adresse doit commencer par https://"),
        ("pas une adresse", "500 caractères au plus, sans espace"),
        ("partenaire.example.org/hook", "L'adresse doit commencer par https://"),
        ("https://partenaire.example.org:99999/", "Adresse mal formée."),
        ("", "Ce champ ne peut être vide."),
    ],
)
def test_a_bad_address_is_a_400_in_french(make_actor, client_for, settings, url, message):
    settings.PARCOURS_WEBHOOK_ALLOW_HTTP_LOOPBACK = False  # as in production
    client = client_for(make_actor(role=Role.ADMIN))
    response = client.post(BASE, {**PAYLOAD, "url": url}, format="json")
    assert response.status_code == 400
    assert response.json()["url"][0].startswith(message), response.json()
    assert not WebhookSubscription.objects.exists()


def test_an_unknown_event_is_a_400(make_actor, client_for):
    client = client_for(make_actor(role=Role.ADMIN))
    response = client.post(BASE, {**PAYLOAD, "events": ["referral.deleted"]}, format="json")
    assert response.status_code == 400
    assert "events" in response.json()


def test_change_rotate_and_disable(make_actor, client_for):
    client = client_for(make_actor(role=Role.ADMIN))
    created = client.post(BASE, PAYLOAD, format="json").json()
    url = f"{BASE}{created['id']}/"
    changed = client.put(url, {**PAYLOAD, "events": ["referral.accepted"]}, format="json")
    assert changed.status_code == 200
    assert [e["code"] for e in changed.json()["events"]] == ["referral.accepted"]
    rotated = client.post(f"{url}rotate-secret/")
    assert rotated.status_code == 201
    assert rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_until"] is not None
    disabled = client.post(f"{url}disable/")
    assert (disabled.status_code, disabled.json()["active"]) == (200, False)
    again = client.post(f"{url}rotate-secret/")
    assert again.status_code == 400
    assert again.json()["detail"] == "Cet abonnement est désactivé : créez-en un nouveau."


def test_the_delivery_log_and_replay(journey, receiver, subscribe, client_for, make_actor):
    j = journey(real_past(1))
    admin, issued = subscribe(j.receiver.organisation, receiver)
    j.accept(real_past(0))
    receiver.script = [500]
    webhooks_deliver()
    client = client_for(admin)
    [row] = client.get(
        "/api/v1/webhook-deliveries/", {"subscription": issued.subscription.pk}
    ).json()["results"]
    assert (row["event_type"], row["status"], row["last_status_code"]) == (
        "referral.accepted",
        "pending",
        500,
    )
    assert row["status_label"] == "En attente"
    detail = client.get(f"/api/v1/webhook-deliveries/{row['id']}/").json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500]
    assert detail["attempt_log"][0]["duration_ms"] >= 0
    replayed = client.post(f"/api/v1/webhook-deliveries/{row['id']}/replay/")
    assert replayed.status_code == 200
    assert webhooks_deliver().delivered == 1  # due at once, not after the backoff
    assert WebhookDelivery.objects.get().status == "delivered"
    # A counsellor of the organisation may not replay.
    counsellor = client_for(make_actor(organisation=j.receiver.organisation))
    refused = counsellor.post(f"/api/v1/webhook-deliveries/{row['id']}/replay/")
    assert refused.status_code == 403


PATHWAY_EVENTS = ["pathway.referent_changed", "pathway.modality_changed", "pathway.closed"]


def test_the_pathway_events_are_accepted_and_listed_after_the_referral_ones(make_actor, client_for):
    client = client_for(make_actor(role=Role.ADMIN))
    chosen = ["pathway.closed", "referral.sent", "pathway.referent_changed"]
    created = client.post(BASE, {**PAYLOAD, "events": chosen}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["events"] == [
        {"code": "referral.sent", "label": "Orientation envoyée (reçue)"},
        {"code": "pathway.referent_changed", "label": "Référent du parcours changé"},
        {"code": "pathway.closed", "label": "Parcours clôturé"},
    ]
    changed = client.put(
        f"{BASE}{created.json()['id']}/", {**PAYLOAD, "events": PATHWAY_EVENTS}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert [e["label"] for e in changed.json()["events"]] == [
        "Référent du parcours changé",
        "Modalité d'accompagnement changée",
        "Parcours clôturé",
    ]
    # The schema lists every event a subscription may name, the pathway's included.
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    events = components["WebhookSubscriptionWriteRequest"]["properties"]["events"]["items"]
    listed = components[events["$ref"].rsplit("/", 1)[1]]
    assert listed["enum"][-3:] == PATHWAY_EVENTS
    assert "`pathway.closed` - Parcours clôturé" in listed["description"]


def test_an_unknown_pathway_event_is_a_400_in_french(make_actor, client_for):
    client = client_for(make_actor(role=Role.ADMIN))
    response = client.post(BASE, {**PAYLOAD, "events": ["pathway.deleted"]}, format="json")
    assert response.status_code == 400
    [message] = response.json()["events"]["0"]
    assert message == "«\xa0pathway.deleted\xa0» n'est pas un choix valide."
    assert not WebhookSubscription.objects.exists()


def test_the_delivery_log_shows_a_pathway_delivery(pathway_world, receiver, subscribe, client_for):
    from parcours.services import pathway as pathway_services

    admin, issued = subscribe(pathway_world.partner, receiver, events=PATHWAY_EVENTS)
    pathway_services.pathway_close(
        actor=pathway_world.owner, pathway_id=pathway_world.pathway.pk, outcome="job"
    )
    webhooks_deliver()
    client = client_for(admin)
    [row] = client.get(
        "/api/v1/webhook-deliveries/", {"subscription": issued.subscription.pk}
    ).json()["results"]
    assert (row["event_type"], row["event_label"], row["status"]) == (
        "pathway.closed",
        "Parcours clôturé",
        "delivered",
    )
    assert (row["referral"], row["pathway"]) == (None, pathway_world.pathway.pk)
    assert row["reference"] == str(pathway_world.pathway.pk)  # the message's identifier
    detail = client.get(f"/api/v1/webhook-deliveries/{row['id']}/").json()
    assert detail["pathway"] == pathway_world.pathway.pk
    assert [a["status_code"] for a in detail["attempt_log"]] == [200]


def test_a_referral_delivery_names_its_referral(journey, receiver, subscribe, client_for):
    j = journey(real_past(1))
    admin, _issued = subscribe(j.receiver.organisation, receiver)
    j.accept(real_past(0))
    [row] = client_for(admin).get("/api/v1/webhook-deliveries/").json()["results"]
    assert (row["referral"], row["pathway"]) == (j.referral.pk, None)
    assert row["reference"] == j.referral.reference
