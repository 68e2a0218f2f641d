"""« Webhooks » (issue 19), beyond the page matrix and the form fuzz: the secret is shown once
and never cached, a rotation shows the new secret and how long the old one still signs, the
delivery log shows each attempt and replays a message."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parcours.models import Role, WebhookDelivery, WebhookSubscription
from parcours.services.webhook_delivery import webhooks_deliver
from tests.factories import MembershipFactory, OrganisationFactory, WebhookSubscriptionFactory

from ..notifications.conftest import real_past
from ..webhooks.conftest import (  # noqa: F401 (fixtures)
    journey,
    pathway_world,
    receiver,
    subscribe,
)

pytestmark = pytest.mark.django_db

# Swept here rather than in test_pages' table (whose visitor is a counsellor).
WEBHOOK_PAGES = {
    "webhooks",
    "webhook-change",
    "webhook-rotate",
    "webhook-disable",
    "webhook-deliveries",
    "webhook-replay",
}
NEW_WEBHOOK = {
    "description": "Logiciel rSa",
    "url": "https://partenaire.example.org/webhooks",
    "events": ["referral.sent", "referral.accepted"],
}


@pytest.fixture
def admin():
    return MembershipFactory(organisation=OrganisationFactory(name="Département"), role=Role.ADMIN)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _secret_in(html: str) -> str:
    start = html.index('id="secret-cree"')
    return html[start:].split('value="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("name", sorted(WEBHOOK_PAGES))
def test_anonymous_goes_to_the_login_page(name):
    kwargs = {} if name == "webhooks" else {"pk": 1}
    method = Client().get if name in ("webhooks", "webhook-deliveries") else Client().post
    response = method(reverse(f"web:{name}", kwargs=kwargs))
    assert response.status_code == 302 and response.url.startswith("/connexion/?next=")


def test_the_secret_is_shown_once_and_never_cached(admin):
    client = _client(admin.user)
    created = client.post(reverse("web:webhooks"), NEW_WEBHOOK)
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    subscription = WebhookSubscription.objects.get()
    secret = _secret_in(created.content.decode())
    assert secret == subscription.secret and secret.startswith("whsec_")
    again = client.get(reverse("web:webhooks"))
    assert "no-store" in again["Cache-Control"]
    html = again.content.decode()
    assert secret not in html
    assert f"{subscription.secret_prefix}…" in html
    assert "<li>Orientation acceptée</li>" in html  # the event's label, never its code


def test_a_rotation_shows_the_new_secret_and_the_overlap(admin):
    client = _client(admin.user)
    first = _secret_in(client.post(reverse("web:webhooks"), NEW_WEBHOOK).content.decode())
    subscription = WebhookSubscription.objects.get()
    rotated = client.post(reverse("web:webhook-rotate", kwargs={"pk": subscription.pk}))
    html = rotated.content.decode()
    assert _secret_in(html) != first
    assert "L'ancien secret signe encore les messages" in html
    subscription.refresh_from_db()
    assert subscription.previous_secret == first


def test_the_delivery_log_shows_each_attempt_and_replays(
    journey,  # noqa: F811 (the fixture imported above)
    receiver,  # noqa: F811
    subscribe,  # noqa: F811
):
    j = journey(real_past(1))
    admin, issued = subscribe(j.receiver.organisation, receiver)
    j.accept(real_past(0))
    receiver.script = [503]
    webhooks_deliver()
    client = _client(admin.user)
    page = client.get(reverse("web:webhook-deliveries", kwargs={"pk": issued.subscription.pk}))
    html = page.content.decode()
    assert "Orientation acceptée" in html
    assert f"Orientation {j.referral.reference}" in html
    assert "réponse 503" in html
    assert "En attente" in html
    delivery = WebhookDelivery.objects.get()
    replay = client.post(reverse("web:webhook-replay", kwargs={"pk": delivery.pk}), follow=True)
    assert "remis en file d&#x27;envoi" in replay.content.decode()
    assert webhooks_deliver().delivered == 1
    html = client.get(
        reverse("web:webhook-deliveries", kwargs={"pk": issued.subscription.pk})
    ).content.decode()
    assert "Reçu par le système partenaire" in html and "réponse 200" in html


def test_the_navigation_shows_webhooks_to_administrators_only(admin):
    assert 'href="/organisation/webhooks/"' in _client(admin.user).get("/").content.decode()
    counsellor = MembershipFactory(organisation=admin.organisation, role=Role.COUNSELLOR)
    assert (
        'href="/organisation/webhooks/"' not in _client(counsellor.user).get("/").content.decode()
    )


def test_a_change_with_wrong_input_shows_the_form_again_with_its_values(admin):
    subscription = WebhookSubscriptionFactory(organisation=admin.organisation)
    client = _client(admin.user)
    url = reverse("web:webhook-change", args=[subscription.pk])

    shown = client.get(url).content.decode()
    assert 'value="https://partenaire.example.org/webhooks"' in shown
    assert 'value="referral.accepted" checked' in shown

    answer = client.post(
        url,
        {"description": "Logiciel rSa v2", "url": "http://10.0.0.7/hooks", "events": []},
    )
    html = answer.content.decode()
    assert answer.status_code == 400
    assert 'value="Logiciel rSa v2"' in html  # kept
    assert 'value="http://10.0.0.7/hooks"' in html
    assert "Ce champ est obligatoire." in html  # no event chosen
    subscription.refresh_from_db()
    assert subscription.description == "Logiciel rSa"  # nothing changed

    answer = client.post(url, {**NEW_WEBHOOK, "url": "http://partenaire.example.org/hooks"})
    assert answer.status_code == 400
    assert "https" in answer.content.decode()
    subscription.refresh_from_db()
    assert subscription.url == "https://partenaire.example.org/webhooks"


def test_a_change_keeps_the_secret_and_is_offered_on_active_subscriptions_only(admin):
    subscription = WebhookSubscriptionFactory(organisation=admin.organisation)
    client = _client(admin.user)
    change = reverse("web:webhook-change", args=[subscription.pk])
    assert change in client.get(reverse("web:webhooks")).content.decode()

    answer = client.post(change, {**NEW_WEBHOOK, "url": "https://rsa.example.org/parcours"})
    assert answer.status_code == 302
    subscription.refresh_from_db()
    assert subscription.url == "https://rsa.example.org/parcours"
    assert subscription.events == ["referral.sent", "referral.accepted"]
    assert subscription.secret == "whsec_" + "A" * 44

    WebhookSubscription.objects.filter(pk=subscription.pk).update(disabled_at=timezone.now())
    assert change not in client.get(reverse("web:webhooks")).content.decode()


def test_the_form_shows_the_referral_events_then_the_pathway_ones_and_accepts_them(admin):
    client = _client(admin.user)
    html = client.get(reverse("web:webhooks")).content.decode()
    form = html[html.index('id="nouvel-abonnement"') :]
    # Two groups, in this order, each box with its French label (the code only as a value).
    order = [
        "<legend",
        ">Orientations<",
        ">Orientation envoyée (reçue)</label>",
        ">Réorientation refusée</label>",
        ">Parcours<",
        ">Référent du parcours changé</label>",
        ">Modalité d&#x27;accompagnement changée</label>",
        ">Parcours clôturé</label>",
    ]
    positions = [form.index(text) for text in order]
    assert positions == sorted(positions)
    assert ">pathway.closed<" not in form

    created = client.post(
        reverse("web:webhooks"),
        {**NEW_WEBHOOK, "events": ["pathway.closed", "referral.sent", "pathway.modality_changed"]},
    )
    assert created.status_code == 200
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["referral.sent", "pathway.modality_changed", "pathway.closed"]
    assert "<li>Parcours clôturé</li>" in created.content.decode()

    change = reverse("web:webhook-change", args=[subscription.pk])
    shown = client.get(change).content.decode()
    assert 'value="pathway.closed" checked' in shown
    assert 'value="pathway.referent_changed" >' in shown  # not chosen
    answer = client.post(change, {**NEW_WEBHOOK, "events": ["pathway.referent_changed"]})
    assert answer.status_code == 302
    subscription.refresh_from_db()
    assert subscription.events == ["pathway.referent_changed"]


def test_the_delivery_log_shows_a_pathway_delivery(
    pathway_world,  # noqa: F811 (the fixture imported above)
    receiver,  # noqa: F811
    subscribe,  # noqa: F811
):
    from parcours.services import pathway as pathway_services

    admin, issued = subscribe(pathway_world.partner, receiver, events=["pathway.closed"])
    pathway_services.pathway_close(
        actor=pathway_world.owner, pathway_id=pathway_world.pathway.pk, outcome="job"
    )
    webhooks_deliver()
    html = (
        _client(admin.user)
        .get(reverse("web:webhook-deliveries", kwargs={"pk": issued.subscription.pk}))
        .content.decode()
    )
    assert "Parcours clôturé" in html
    assert f"Parcours n°{pathway_world.pathway.pk}" in html
    assert "Reçu par le système partenaire" in html and "réponse 200" in html
