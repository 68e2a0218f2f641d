"""« Accès API » (issue 15), beyond the page matrix and the form fuzz: the secret is shown once
and never cached, the pages are the organisation's administrators' alone, and a revoked or
renewed token is shown as such."""

import pytest
from django.test import Client
from django.urls import reverse

from parcours.models import ApiToken, Role
from tests.factories import MembershipFactory, OrganisationFactory, api_token_for

pytestmark = pytest.mark.django_db

# Swept here rather than in test_pages' table (whose visitor is a counsellor).
API_TOKEN_PAGES = {"api-tokens", "api-token-renew", "api-token-revoke"}
NEW_TOKEN = {
    "system_name": "Logiciel rSa",
    "member": "",
    "role": "social_worker",
    "scopes": ["referrals:read", "referrals:write"],
    "valid_days": "60",
    "requests_per_minute": "30",
}


@pytest.fixture
def admin():
    return MembershipFactory(organisation=OrganisationFactory(name="Département"), role=Role.ADMIN)


def _client(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.mark.parametrize("name", sorted(API_TOKEN_PAGES))
def test_anonymous_goes_to_the_login_page(name, admin):
    token, _secret = api_token_for(admin)
    kwargs = {} if name == "api-tokens" else {"pk": token.pk}
    method = Client().get if name == "api-tokens" else Client().post
    response = method(reverse(f"web:{name}", kwargs=kwargs))
    assert response.status_code == 302 and response.url.startswith("/connexion/?next=")


def test_the_secret_is_shown_once_and_never_cached(admin):
    client = _client(admin)
    created = client.post(reverse("web:api-tokens"), NEW_TOKEN)
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    token = ApiToken.objects.get()
    html = created.content.decode()
    start = html.index('id="jeton-cree"')
    secret = html[start:].split('value="', 1)[1].split('"', 1)[0]
    assert secret.startswith(token.prefix) and len(secret) > 40
    assert (token.scopes, token.requests_per_minute) == (["referrals:read", "referrals:write"], 30)
    again = client.get(reverse("web:api-tokens"))
    assert "no-store" in again["Cache-Control"]
    assert secret not in again.content.decode()
    assert f"{token.prefix}…" in again.content.decode()


def test_a_member_may_be_the_account_and_the_menu_shows_the_page_to_administrators(admin):
    colleague = MembershipFactory(organisation=admin.organisation, role=Role.COUNSELLOR)
    client = _client(admin)
    page = client.get(reverse("web:api-tokens")).content.decode()
    assert 'href="/organisation/acces-api/"' in page  # the menu's « Accès API »
    response = client.post(
        reverse("web:api-tokens"), {**NEW_TOKEN, "member": str(colleague.user_id), "role": ""}
    )
    assert response.status_code == 200
    assert ApiToken.objects.get().account == colleague.user
    counsellor_home = _client(colleague).get(reverse("web:home")).content.decode()
    assert 'href="/organisation/acces-api/"' not in counsellor_home


def test_states_are_named_in_french(admin):
    renewed, _ = api_token_for(admin, system_name="Ancien logiciel")
    successor, _ = api_token_for(admin, system_name="Nouveau logiciel")
    successor.replaces = renewed
    successor.save()
    client = _client(admin)
    revoked, _ = api_token_for(admin, system_name="Logiciel retiré")
    client.post(reverse("web:api-token-revoke", kwargs={"pk": revoked.pk}), {"confirm": "1"})
    page = client.get(reverse("web:api-tokens")).content.decode()
    for label in ("Actif", "Renouvelé (valable jusqu&#x27;à son expiration)", "Révoqué"):
        assert label in page, label
    assert "révoqué par un administrateur" in page
    assert "administrator" not in page and "password_changed" not in page
