"""ProConnect in a real browser (Debian chromium through Playwright), through a real OpenID
provider on loopback (tools/oidc-provider): the « S'identifier avec ProConnect » button on the
login page, the provider's login form; an agent of an establishment parcours does not know is
refused with the French page (the platform's administrator told), ends her ProConnect session;
a known agent lands on « À traiter » for her SIRET's organisation, logs out — which ends the
provider's session: the next sign-in asks for the credentials again. axe on parcours' pages."""

import pytest

from notifications.models import OutboxKind, OutboxMessage
from parcours.models import Role
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory, valid_siret
from tests.oidc_provider import Agent, LocalOidcProvider

from .browser import check_accessibility, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def provider_for_live_server(live_server, settings):
    def start(agents: list[Agent]) -> LocalOidcProvider:
        server = LocalOidcProvider(base_url=live_server.url, agents=agents).start()
        started.append(server)
        for name, value in server.settings().items():
            setattr(settings, name, value)
        return server

    started: list[LocalOidcProvider] = []
    yield start
    for server in started:
        server.stop()


def provider_login(page, agent: Agent) -> None:
    """The provider's own login form (not parcours')."""
    page.get_by_role("heading", name="Connexion (ProConnect local)").wait_for()
    page.get_by_label("Identifiant").fill(agent.login)
    page.get_by_label("Mot de passe").fill(agent.password)
    page.get_by_role("button", name="Se connecter").click()


def test_proconnect_journey(live_server, new_page, provider_for_live_server):
    home = OrganisationFactory(name="France Travail Lens")
    counsellor = UserFactory(
        username="claire", first_name="Claire", last_name="Dubois", email="claire@ft.fr"
    )
    MembershipFactory(user=counsellor, organisation=home, role=Role.COUNSELLOR)
    operator = UserFactory(username="plateforme", is_superuser=True, is_staff=True)
    known = Agent(login="claire", siret=home.siret, email="claire@ft.fr", given_name="Claire")
    stranger = Agent(login="inconnue", siret=valid_siret(4_242_424), email="agent@ccas.fr")
    provider = provider_for_live_server([known, stranger])
    base = live_server.url
    page = new_page()

    # The login page: ProConnect's button (the DSFR's, with ProConnect's wording) beside the form.
    page.goto(f"{base}/connexion/")
    button = page.get_by_role("button", name="S’identifier avec ProConnect")
    button.wait_for()
    page.get_by_role("link", name="Qu’est-ce que ProConnect ?").wait_for()
    check_accessibility(page, "connexion avec ProConnect")
    shot(page, "connexion-proconnect")

    # An agent of an establishment parcours does not know: the French page, no session.
    button.click()
    page.wait_for_url(f"{provider.issuer}/**")
    provider_login(page, stranger)
    page.get_by_role("heading", name="Votre structure n'utilise pas encore parcours").wait_for()
    assert page.url.startswith(f"{base}/connexion/proconnect/retour/")
    page.get_by_text("Les administrateurs de parcours ont été prévenus").wait_for()
    check_accessibility(page, "connexion refusée : structure inconnue")
    shot(page, "connexion-proconnect-structure-inconnue")
    (notice,) = OutboxMessage.objects.filter(kind=OutboxKind.SIGN_IN_REQUEST)
    assert notice.to_email == operator.email

    # She ends her ProConnect session (the provider's logout submits itself), back at the login.
    page.get_by_role("button", name="Se déconnecter de ProConnect").click()
    page.wait_for_url(f"{base}/connexion/")
    page.get_by_text("Vous êtes déconnecté(e) de parcours et de ProConnect.").wait_for()

    # The known agent: the provider asks for credentials, she lands on « À traiter », acting for
    # her SIRET's organisation.
    page.get_by_role("button", name="S’identifier avec ProConnect").click()
    provider_login(page, known)
    page.wait_for_url(f"{base}/")
    page.get_by_role("heading", name="À traiter").first.wait_for()
    page.locator("a[title^='France Travail Lens — changer']").first.wait_for()
    check_accessibility(page, "à traiter après ProConnect")

    # Logout ends the provider's session: the next sign-in asks for the credentials again.
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{base}/connexion/")
    page.get_by_text("Vous êtes déconnecté(e) de parcours et de ProConnect.").wait_for()
    check_accessibility(page, "connexion après déconnexion")
    page.get_by_role("button", name="S’identifier avec ProConnect").click()
    page.wait_for_url(f"{provider.issuer}/interaction/**")
    page.get_by_label("Mot de passe").wait_for()
    # Once only, however often the refused agent came: the outbox still holds one notice.
    assert OutboxMessage.objects.filter(kind=OutboxKind.SIGN_IN_REQUEST).count() == 1
