"""The person's sign-in with FranceConnect (issue 19), against the real local OpenID provider
(tools/oidc-provider with FranceConnect's scopes and pivot identity) — nothing mocked: parcours'
client (web/oidc.py, the one ProConnect uses) fetches the discovery document, keys, tokens and
the signed userinfo over real HTTP.

The pivot identity is matched against the records as their duplicate rule folds them (accents,
case, hyphens; all first names or the first; birth or usage name; birth date exact): exactly one
record opens the space; none or several, « Nous ne trouvons pas votre dossier », journaled
without a name; the provider down, a French page, never a 500. Also the allow and deny rows of
the three FranceConnect pages (left out of tests/web/test_page_matrix.py)."""

import datetime as dt
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from parcours.models import AccessEvent, Person
from tests.oidc_provider import Citizen, LocalOidcProvider, ProviderBrowser
from tests.processes import free_port
from web.franceconnect import ID_TOKEN_SESSION_KEY

from .world import BIRTH, build_world

pytestmark = pytest.mark.django_db

START = reverse("web:person-space-franceconnect-start")
SPACE = reverse("web:person-space")
FRANCECONNECT_PAGES = {
    "person-space-franceconnect-start",
    "person-space-franceconnect-callback",
    "person-space-franceconnect-logged-out",
}

# Inès Robert's record (tests/person_space/world.py): « Inès », « Robert », 1994-04-02.
INES = Citizen(
    login="ines",
    given_name="INES Marie-Claire",  # all first names, upper case, no accent: found all the same
    family_name="ROBERT",
    birthdate=BIRTH.isoformat(),
    email="ines.robert@exemple.fr",
)
MARRIED = Citizen(
    login="mariee",
    given_name="Inès",
    family_name="Durand",
    preferred_username="Robert",
    birthdate=BIRTH.isoformat(),
)
NOBODY = Citizen(login="personne", given_name="Jean", family_name="Inconnu", birthdate="1980-01-01")
TWINS = Citizen(login="double", given_name="Paul", family_name="Martin", birthdate="1985-06-15")
WRONG_DAY = Citizen(
    login="autre-jour", given_name="Inès", family_name="Robert", birthdate="1994-04-03"
)


@pytest.fixture
def world():
    world = build_world()
    for _ in range(2):  # two records with the same identity: neither is opened
        Person.objects.create(
            first_name="Paul", last_name="Martin", birth_date=dt.date(1985, 6, 15)
        )
    return world


@pytest.fixture
def provider(world, settings):
    server = LocalOidcProvider(
        base_url="http://testserver",
        agents=[INES, MARRIED, NOBODY, TWINS, WRONG_DAY],
        flavour="franceconnect",
    ).start()
    for name, value in server.settings().items():
        setattr(settings, name, value)
    yield server
    server.stop()


def text(response) -> str:
    return unescape(response.content.decode())


def sign_in(client: Client, provider, citizen: Citizen):
    browser = ProviderBrowser(provider)
    start = client.post(START)
    assert start.status_code == 302 and start.url.startswith(provider.issuer), start
    back = browser.open(start.url)
    if back is None:
        back = browser.sign_in(citizen)
    assert back is not None and back.startswith("http://testserver/"), browser.page[:300]
    return client.get(back.removeprefix("http://testserver")), browser


def test_the_authorization_request_is_franceconnect_s(world, provider):
    response = Client().post(START)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.url).query)
    assert query["redirect_uri"] == [
        "http://testserver/mon-parcours/connexion/franceconnect/retour/"
    ]
    assert query["acr_values"] == ["eidas1"] and query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert set(query["scope"][0].split()) >= {"openid", "given_name", "family_name", "birthdate"}


def test_the_sign_in_page_offers_franceconnect_when_configured(world, provider, settings):
    page = Client().get(reverse("web:person-space-sign-in"))
    assert "S’identifier avec" in text(page)
    # The button's form is answered by a redirect to the provider: allowed by the CSP.
    form_action = next(
        d for d in page.headers["Content-Security-Policy"].split(";") if "form-action" in d
    )
    assert provider.issuer in form_action
    settings.FRANCECONNECT_CLIENT_ID = ""
    assert "FranceConnect" not in text(Client().get(reverse("web:person-space-sign-in")))
    assert Client().post(START).status_code == 404  # off: the pages are not found


@pytest.mark.parametrize("citizen", [INES, MARRIED], ids=["all-first-names", "usage-name"])
def test_one_matching_record_opens_the_space(world, provider, citizen):
    client = Client()
    response, _browser = sign_in(client, provider, citizen)
    assert response.status_code == 302 and response.url == SPACE
    assert client.session[ID_TOKEN_SESSION_KEY].count(".") == 2
    assert "_auth_user_id" not in client.session  # a person, never a staff session
    page = client.get(SPACE)
    assert page.status_code == 200 and "Bonjour Inès Robert" in text(page)
    row = AccessEvent.objects.get(detail__action="person_space.sign_in")
    assert row.person_id == world.person.pk and row.detail["method"] == "franceconnect"
    assert row.organisation_id is None and row.user_id is None


@pytest.mark.parametrize(
    "citizen, matches",
    [(NOBODY, 0), (WRONG_DAY, 0), (TWINS, 2)],
    ids=["nobody", "another-birth-date", "two-records"],
)
def test_no_record_or_several_say_so_in_french_and_are_journaled(world, provider, citizen, matches):
    client = Client()
    response, _browser = sign_in(client, provider, citizen)
    assert response.status_code == 404
    assert "Nous ne trouvons pas votre dossier" in text(response)
    assert "conseiller" in text(response)
    assert client.get(SPACE).url == reverse("web:person-space-sign-in")
    row = AccessEvent.objects.get(detail__action="person_space.sign_in_unmatched")
    assert row.operation == "denied" and row.detail["matches"] == matches
    assert row.person_id is None
    # No name in the journal.
    assert citizen.family_name not in str(row.detail) and citizen.given_name not in str(row.detail)


def test_a_replayed_callback_is_refused_in_french(world, provider):
    client = Client()
    browser = ProviderBrowser(provider)
    back = browser.open(client.post(START).url) or browser.sign_in(INES)
    path = back.removeprefix("http://testserver")
    assert client.get(path).status_code == 302
    again = Client().get(path)  # another browser: no state in its session
    assert again.status_code == 400 and "n'est pas (ou plus) attendu" in text(again)


def test_the_provider_down_is_a_french_page_never_a_500(world, settings):
    settings.FRANCECONNECT_CLIENT_ID = "parcours-test"
    settings.FRANCECONNECT_CLIENT_SECRET = "secret"
    settings.FRANCECONNECT_ISSUER = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    settings.FRANCECONNECT_TIMEOUT_SECONDS = 2
    client = Client(raise_request_exception=False)
    response = client.post(START)
    assert response.status_code == 503
    assert "FranceConnect ne répond pas pour le moment" in text(response)
    callback = client.get(reverse("web:person-space-franceconnect-callback"), {"state": "x"})
    assert callback.status_code == 400  # no state of ours: refused before asking the provider


def test_sign_out_ends_the_franceconnect_session_too(world, provider):
    client = Client()
    sign_in(client, provider, INES)
    response = client.post(reverse("web:person-space-sign-out"))
    assert response.status_code == 302 and response.url.startswith(provider.issuer)
    assert client.get(SPACE).url == reverse("web:person-space-sign-in")
    browser = ProviderBrowser(provider)
    back = browser.open(response.url)
    if back is None:
        back = browser.confirm_logout()
    assert back and back.startswith("http://testserver/mon-parcours/deconnexion/franceconnect/")
    page = client.get(back.removeprefix("http://testserver"))
    assert page.status_code == 200 and "Votre espace est fermé" in text(page)


# --- The three pages' allow and deny rows ----------------------------------------------------


def test_every_franceconnect_page_is_here():
    from tests.web.test_page_matrix import _web_names

    assert {n for n in _web_names() if "franceconnect" in n} == FRANCECONNECT_PAGES


def test_the_pages_deny_when_off_and_wrong_methods(world, settings):
    settings.FRANCECONNECT_CLIENT_ID = ""
    client = Client()
    assert client.post(START).status_code == 404
    assert client.get(reverse("web:person-space-franceconnect-callback")).status_code == 404
    assert client.get(reverse("web:person-space-franceconnect-logged-out")).status_code == 404
    assert client.get(START).status_code == 405
