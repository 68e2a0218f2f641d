"""ProConnect sign-in end to end, against a real OpenID provider on loopback (the certified
`oidc-provider` package, tools/oidc-provider) — no HTTP response is mocked: parcours fetches the
provider's discovery document, keys, tokens and signed userinfo over real HTTP, and the agent's
"browser" at the provider (tests/oidc_provider.py) fills its real login form.

These are also the page matrix's allow and deny rows of the three ProConnect pages
(`PROCONNECT_PAGES`, left out of tests/web/test_page_matrix.py, whose world has no provider).
"""

import secrets
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from notifications.models import OutboxKind, OutboxMessage, OutboxStatus
from parcours.api.actor import SESSION_KEY
from parcours.models import Membership, ProConnectIdentity, Role, SignInRequest
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory, valid_siret
from tests.oidc_provider import Agent, LocalOidcProvider, ProviderBrowser
from tests.processes import wait_until
from web.proconnect import ID_TOKEN_SESSION_KEY

pytestmark = pytest.mark.django_db

PROCONNECT_PAGES = {"proconnect-start", "proconnect-callback", "proconnect-logged-out"}
START = "/connexion/proconnect/"
UNKNOWN_SIRET = valid_siret(987_654)


class Scene:
    """France Travail Lens (its SIRET known to parcours) with a counsellor who also works for a
    Mission locale, the organisation's administrator, a platform administrator; at the provider:
    the counsellor, a newcomer of the same establishment, and an agent of an establishment
    parcours does not know."""

    def __init__(self):
        self.mission_locale = OrganisationFactory(name="AAA Mission locale", mission_locale=True)
        self.home = OrganisationFactory(name="France Travail Lens")
        self.counsellor = UserFactory(username="claire", email="claire.dubois@francetravail.fr")
        # First in the list of memberships: the acting organisation must come from the SIRET.
        MembershipFactory(user=self.counsellor, organisation=self.mission_locale)
        MembershipFactory(user=self.counsellor, organisation=self.home)
        self.admin = MembershipFactory(organisation=self.home, role=Role.ADMIN).user
        self.superuser = UserFactory(username="plateforme", is_superuser=True, is_staff=True)
        self.agent = Agent(
            login="claire",
            siret=self.home.siret,
            email="Claire.Dubois@francetravail.fr",  # ProConnect's case: found all the same
            given_name="Claire",
            usual_name="Dubois",
        )
        self.newcomer = Agent(
            login="nouveau", siret=self.home.siret, email="karim.benali@francetravail.fr"
        )
        self.stranger = Agent(
            login="inconnu", siret=UNKNOWN_SIRET, email="agent@autre-structure.fr"
        )

    @property
    def agents(self) -> list[Agent]:
        return [self.agent, self.newcomer, self.stranger]


@pytest.fixture
def scene():
    return Scene()


@pytest.fixture
def provider(scene, settings):
    """The local provider, parcours configured to use it (as http://testserver)."""
    server = LocalOidcProvider(base_url="http://testserver", agents=scene.agents).start()
    for name, value in server.settings().items():
        setattr(settings, name, value)
    yield server
    server.stop()


def text(response) -> str:
    """The page's text as read (apostrophes are escaped in the HTML)."""
    return unescape(response.content.decode())


def sign_in(client: Client, provider, agent: Agent, browser: ProviderBrowser | None = None):
    """The button, the provider's login form, the way back: the callback's response."""
    browser = browser or ProviderBrowser(provider)
    start = client.post(START)
    assert start.status_code == 302 and start.url.startswith(provider.issuer), start
    back = browser.open(start.url)
    if back is None:  # the provider asks for credentials (no session there yet)
        back = browser.sign_in(agent)
    assert back is not None and back.startswith("http://testserver/"), browser.page[:300]
    return client.get(back.removeprefix("http://testserver")), back, browser


# --- a known agent ---------------------------------------------------------------------------


def test_the_authorization_request_is_proconnect_s(scene, provider):
    """Authorization code, PKCE S256, state and nonce of 32 characters or more (ProConnect's
    minimum), acr_values=eidas1, ProConnect's scopes, the registered redirect URI."""
    response = Client().post(START)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.url).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [provider.client_id]
    assert query["redirect_uri"] == ["http://testserver/connexion/proconnect/retour/"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["acr_values"] == ["eidas1"]
    assert set(query["scope"][0].split()) >= {"openid", "email", "siret", "uid", "usual_name"}


def test_a_known_agent_lands_on_a_traiter_acting_for_the_siret_s_organisation(scene, provider):
    client = Client()
    response, _back, _browser = sign_in(client, provider, scene.agent)

    assert response.status_code == 302 and response.url == "/"
    assert client.session["_auth_user_id"] == str(scene.counsellor.pk)
    assert client.session[SESSION_KEY] == scene.home.pk  # not the Mission locale, listed first
    assert client.session[ID_TOKEN_SESSION_KEY].count(".") == 2  # kept for the logout
    home = client.get("/")
    assert home.status_code == 200
    assert "À traiter" in home.content.decode()
    assert "France Travail Lens" in home.content.decode()
    identity = ProConnectIdentity.objects.get(user=scene.counsellor)
    assert (identity.sub, identity.uid) == (scene.agent.sub, scene.agent.uid)
    assert not OutboxMessage.objects.exists()
    assert not SignInRequest.objects.exists()


def test_the_subject_finds_the_account_once_linked(scene, provider):
    """The second sign-in finds the account by its ProConnect subject, even after the address
    changed at parcours."""
    sign_in(Client(), provider, scene.agent)
    scene.counsellor.email = "claire.d@ancien-domaine.fr"
    scene.counsellor.save()
    client = Client()
    response, _back, _browser = sign_in(client, provider, scene.agent)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(scene.counsellor.pk)


def test_next_is_kept_when_it_is_a_page_of_parcours(scene, provider):
    for target, landing in (
        ("/orientations/recues/", "/orientations/recues/"),
        ("https://ailleurs.example/", "/"),
    ):
        client = Client()
        browser = ProviderBrowser(provider)
        start = client.post(START, {"next": target})
        back = browser.open(start.url) or browser.sign_in(scene.agent)
        assert client.get(back.removeprefix("http://testserver")).url == landing


# --- state, nonce, signature: what is not ours is refused, in French ---------------------------


def test_a_replayed_callback_is_refused_in_french(scene, provider):
    client = Client()
    response, back, _browser = sign_in(client, provider, scene.agent)
    assert response.status_code == 302
    path = back.removeprefix("http://testserver")

    # The same callback again, in the same browser (its state was used) and in another one.
    for replay in (client, Client()):
        before = replay.session.get("_auth_user_id")
        refused = replay.get(path)
        assert refused.status_code == 400
        page = text(refused)
        assert 'lang="fr"' in page
        assert "n'est pas (ou plus) attendu" in page
        assert replay.session.get("_auth_user_id") == before


def test_a_forged_callback_is_refused_in_french(scene, provider):
    """A callback this browser never started: a state of its own, an error of its own."""
    client = Client()
    client.post(START)  # a real state waits in the session; the forged one is not it
    for query in (
        {"code": "forged", "state": secrets.token_urlsafe(32)},
        {"code": "forged"},
        {"error": "access_denied", "state": "x" * 43},
    ):
        response = client.get("/connexion/proconnect/retour/", query)
        assert response.status_code == 400
        assert "n'est pas (ou plus) attendu" in text(response)
    assert "_auth_user_id" not in client.session


def test_a_code_swapped_into_another_browser_s_callback_is_refused(scene, provider):
    """The attacker's code and state, replayed from the victim's browser: the state is not in
    the victim's session (login CSRF stopped)."""
    attacker = Client()
    start = attacker.post(START)
    browser = ProviderBrowser(provider)
    back = browser.open(start.url) or browser.sign_in(scene.agent)
    victim = Client()
    victim.post(START)
    response = victim.get(back.removeprefix("http://testserver"))
    assert response.status_code == 400
    assert "_auth_user_id" not in victim.session


def test_an_id_token_issued_for_another_nonce_is_refused(scene, provider):
    """The ID token carries the nonce of the request the provider answered: a session that
    expects another one (a token injected from another login) refuses it."""
    client = Client()
    start = client.post(START)
    state = parse_qs(urlsplit(start.url).query)["state"][0]
    session = client.session
    session[f"_state_proconnect_{state}"]["data"]["nonce"] = secrets.token_urlsafe(32)
    session.save()
    browser = ProviderBrowser(provider)
    back = browser.open(start.url) or browser.sign_in(scene.agent)
    response = client.get(back.removeprefix("http://testserver"))
    assert response.status_code == 400
    assert "n'a pas pu être vérifiée" in text(response)
    assert "_auth_user_id" not in client.session


def test_an_id_token_below_the_required_acr_is_refused(scene, provider, settings):
    """The provider signs eidas1; a deployment that requires eidas2 refuses it."""
    settings.PROCONNECT_ACR_VALUES = "eidas2"
    client = Client()
    response, _back, _browser = sign_in(client, provider, scene.agent)
    assert response.status_code == 400
    assert "niveau d'authentification" in text(response)
    assert "_auth_user_id" not in client.session


def test_a_provider_that_does_not_answer_gets_a_french_page(scene, settings):
    from tests.processes import free_port

    settings.PROCONNECT_CLIENT_ID = "parcours"
    settings.PROCONNECT_CLIENT_SECRET = "secret"
    settings.PROCONNECT_ISSUER = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    response = Client().post(START)
    assert response.status_code == 503
    assert "ProConnect ne répond pas" in text(response)


# --- refusals: the French page, and the administrators told once ---------------------------


def test_an_unknown_siret_gets_the_french_page_and_the_platform_administrators_are_told_once(
    scene, provider
):
    for attempt in (1, 2):
        client = Client()
        response, _back, _browser = sign_in(client, provider, scene.stranger)
        assert response.status_code == 403
        page = text(response)
        assert "Votre structure n'utilise pas encore parcours" in page
        assert "SIRET" in page
        assert "Se déconnecter de ProConnect" in page
        assert "_auth_user_id" not in client.session
        request = SignInRequest.objects.get()
        assert (request.reason, request.siret, request.attempts) == (
            "unknown_organisation",
            UNKNOWN_SIRET,
            attempt,
        )
        notices = OutboxMessage.objects.filter(kind=OutboxKind.SIGN_IN_REQUEST)
        assert list(notices.values_list("to_email", flat=True)) == [scene.superuser.email]
    # Nobody was given an account.
    assert not get_user_model().objects.filter(email=scene.stranger.email).exists()


def test_a_newcomer_of_a_known_organisation_awaits_activation_until_an_administrator_acts(
    scene, provider
):
    for _attempt in (1, 2):
        client = Client()
        response, _back, _browser = sign_in(client, provider, scene.newcomer)
        assert response.status_code == 403
        page = text(response)
        assert "Votre compte attend son activation" in page
        assert "France Travail Lens" in page
        assert "_auth_user_id" not in client.session
    user = get_user_model().objects.get(email=scene.newcomer.email)
    assert not user.has_usable_password()
    membership = Membership.objects.get(user=user)
    assert (membership.organisation, membership.role, membership.is_active) == (
        scene.home,
        Role.COUNSELLOR,
        False,
    )
    # The organisation's administrator, once, however often the agent tried.
    notices = OutboxMessage.objects.filter(kind=OutboxKind.SIGN_IN_REQUEST)
    assert list(notices.values_list("to_email", flat=True)) == [scene.admin.email]
    assert SignInRequest.objects.get().attempts == 2

    membership.is_active = True  # what the administrator does in the admin
    membership.save()
    client = Client()
    response, _back, _browser = sign_in(client, provider, scene.newcomer)
    assert response.status_code == 302 and response.url == "/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/").status_code == 200


def test_a_deactivated_account_is_refused_like_one_awaiting_activation(scene, provider):
    scene.counsellor.is_active = False
    scene.counsellor.save()
    client = Client()
    response, _back, _browser = sign_in(client, provider, scene.agent)
    assert response.status_code == 403
    assert "Votre compte attend son activation" in text(response)
    assert "_auth_user_id" not in client.session


def test_a_siret_that_is_no_siret_is_refused_and_nobody_is_told(scene, settings):
    broken = Agent(login="casse", siret="12345678901234", email="agent@exemple.fr")
    server = LocalOidcProvider(base_url="http://testserver", agents=[broken]).start()
    try:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        client = Client()
        response, _back, _browser = sign_in(client, server, broken)
    finally:
        server.stop()
    assert response.status_code == 403
    assert "SIRET valide" in text(response)
    assert not SignInRequest.objects.exists()
    assert not OutboxMessage.objects.exists()


# --- logout ends the provider's session ---------------------------------------------------------


def test_logout_ends_the_provider_session_and_the_next_sign_in_asks_for_credentials(
    scene, provider
):
    client = Client()
    response, _back, browser = sign_in(client, provider, scene.agent)
    assert response.status_code == 302
    id_token = client.session[ID_TOKEN_SESSION_KEY]

    # Control: while the provider's session lasts, signing in again asks nothing.
    again = Client()
    start = again.post(START)
    assert browser.open(start.url) is not None
    assert not browser.shows_login_form

    logout = client.post(reverse("web:logout"))
    assert logout.status_code == 302
    assert "_auth_user_id" not in client.session  # the local session ended first
    end_session = urlsplit(logout.url)
    query = parse_qs(end_session.query)
    assert logout.url.startswith(provider.issuer + "/session/end")
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://testserver/deconnexion/proconnect/retour/"]
    assert len(query["state"][0]) >= 32

    assert browser.open(logout.url) is None  # the provider's logout page (it submits itself)
    back = browser.confirm_logout()
    assert back is not None and back.startswith("http://testserver/deconnexion/proconnect/retour/")
    landed = client.get(back.removeprefix("http://testserver"), follow=True)
    assert "Vous êtes déconnecté(e) de parcours et de ProConnect." in text(landed)

    # The provider's session is over: the next sign-in asks for the credentials again.
    start = Client().post(START)
    assert browser.open(start.url) is None
    assert browser.shows_login_form


def test_a_logout_return_with_a_state_not_ours_only_says_so(scene, provider):
    client = Client()
    response = client.get("/deconnexion/proconnect/retour/", {"state": "x" * 43}, follow=True)
    assert response.status_code == 200
    assert "n'a pas pu être confirmée" in text(response)


def test_a_refused_agent_may_end_the_provider_session_to_try_another_account(scene, provider):
    client = Client()
    response, _back, browser = sign_in(client, provider, scene.stranger)
    assert response.status_code == 403
    logout = client.post(reverse("web:logout"))
    assert logout.url.startswith(provider.issuer + "/session/end")
    browser.open(logout.url)
    back = browser.confirm_logout()
    client.get(back.removeprefix("http://testserver"))
    response, _back, _browser = sign_in(client, provider, scene.agent, browser)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(scene.counsellor.pk)


def test_a_password_session_logs_out_as_before(scene, provider):
    client = Client()
    client.force_login(scene.counsellor)
    response = client.post(reverse("web:logout"))
    assert response.status_code == 302 and response.url == "/connexion/"


# --- off unless configured ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROCONNECT_PAGES))
def test_the_pages_are_not_found_while_proconnect_is_not_configured(name, settings):
    settings.PROCONNECT_CLIENT_ID = ""
    response = Client().get(reverse(f"web:{name}"))
    assert response.status_code == 404
    assert "Page introuvable" in text(response)


def test_the_login_page_offers_proconnect_only_when_configured(scene, settings):
    settings.PROCONNECT_CLIENT_ID = ""
    assert "S’identifier avec" not in Client().get("/connexion/").content.decode()
    settings.PROCONNECT_CLIENT_ID = "parcours"
    settings.PROCONNECT_CLIENT_SECRET = "secret"
    settings.PROCONNECT_ISSUER = "https://fca.integ01.dev-agentconnect.fr/api/v2"
    page = Client().get("/connexion/").content.decode()
    assert '<span class="fr-connect__brand">ProConnect</span>' in page
    assert "Qu’est-ce que ProConnect ?" in page
    assert 'action="/connexion/proconnect/"' in page


# --- the administrators' e-mail, sent once through the real worker and SMTP server -------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_administrators_e_mail_leaves_once(scene, provider, celery_worker_process, mail_sink):
    for _attempt in (1, 2, 3):
        response, _back, _browser = sign_in(Client(), provider, scene.stranger)
        assert response.status_code == 403
    wait_until(lambda: len(mail_sink.messages()) >= 1, what="the administrators' e-mail")
    wait_until(
        lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
        what="the notice recorded as sent",
    )
    (mail,) = mail_sink.messages()
    assert mail.rcpt_tos == [scene.superuser.email]
    assert "Connexion ProConnect d'une structure inconnue" in mail.subject
    body = mail.text
    assert scene.stranger.email in body and UNKNOWN_SIRET in body
    assert "Tentatives de connexion" in body
    assert OutboxMessage.objects.count() == 1


def test_junk_in_the_provider_s_ways_back_is_refused_in_french_never_a_500(scene, provider):
    client = Client(raise_request_exception=False)
    client.post(START)
    for junk in ("\x00", "x" * 5000, "é/../", "javascript:alert(1)"):
        for query in ({"code": junk, "state": junk}, {"error": junk, "state": junk}, {"iss": junk}):
            response = client.get("/connexion/proconnect/retour/", query)
            assert response.status_code == 400, (query, response.status_code)
            assert "n'est pas (ou plus) attendu" in text(response)
        response = client.get("/deconnexion/proconnect/retour/", {"state": junk})
        assert (response.status_code, response.url) == (302, "/connexion/")
        response = client.post(START, {"next": junk})
        assert response.status_code == 302 and response.url.startswith(provider.issuer)
        assert "proconnect_next" not in client.session
