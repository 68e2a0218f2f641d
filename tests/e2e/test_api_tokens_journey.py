"""A partner system's token, in a real browser (issue 15): France Travail's administrator signs in
(password and second factor), opens « Accès API », makes a mistake (the form comes back in
French, what was typed kept), makes the token, copies the secret shown once, and the system calls
the API with it over HTTP; then the administrator renews it (both work meanwhile) and revokes the
old one through the confirmation modal: the system's next call is refused. axe on every state."""

import json
import re
import urllib.error
import urllib.request

import pytest

from parcours.models import ApiToken, Role
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

from .browser import check_accessibility, log_in, modal_opened, shot, tick

pytestmark = pytest.mark.django_db(transaction=True)
SYSTEM = re.compile(r"^Système")


def _call(base: str, secret: str, path: str = "/api/v1/me/") -> tuple[int, dict]:
    headers = {"Authorization": f"Token {secret}"}
    request = urllib.request.Request(f"{base}{path}", headers=headers)  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_an_administrator_gives_a_system_its_token_renews_and_revokes_it(live_server, new_page):
    base = live_server.url
    home = OrganisationFactory(name="France Travail Lens")
    admin = UserFactory(first_name="Nadia", last_name="Benali")
    MembershipFactory(user=admin, organisation=home, role=Role.ADMIN)
    MembershipFactory(
        user=UserFactory(first_name="Léa", last_name="Conseillère"), organisation=home
    )
    page = new_page()
    log_in(page, base, admin)

    page.get_by_role("link", name="Accès API").first.click()
    page.wait_for_url(f"{base}/organisation/acces-api/")
    page.get_by_text("Aucun jeton d'accès pour l'instant.").wait_for()
    check_accessibility(page, "accès API (vide)")

    # A first try without the technical account's role: refused in French, the name kept.
    page.get_by_label(SYSTEM).fill("Logiciel rSa du département")
    tick(page, "Orientations — lecture")
    page.get_by_role("button", name="Créer le jeton").click()
    page.get_by_text("Choisissez le rôle du compte technique").first.wait_for()
    assert page.get_by_label(SYSTEM).input_value() == "Logiciel rSa du département"
    check_accessibility(page, "accès API (erreur)")

    page.get_by_label("Rôle du compte technique").select_option(label="Conseiller")
    tick(page, "Orientations — lecture")
    tick(page, "Parcours — lecture")
    page.get_by_role("button", name="Créer le jeton").click()
    page.get_by_role("heading", name="Jeton « Logiciel rSa du département » créé").wait_for()
    secret = page.get_by_role(
        "textbox", name=re.compile("^Jeton d’accès|^Jeton d.accès")
    ).input_value()
    assert secret.startswith("prc_")
    check_accessibility(page, "accès API (jeton créé)")
    shot(page, "acces-api-jeton-cree")

    status, me = _call(base, secret)
    assert status == 200 and me["acting_organisation"]["id"] == home.pk
    assert _call(base, secret, "/api/v1/referrals/")[0] == 200
    status, refused = _call(base, secret, "/api/v1/persons/")
    assert status == 403 and "Personnes — lecture" in refused["detail"]

    # Shown once: the list shows its start only.
    page.goto(f"{base}/organisation/acces-api/")
    assert secret not in page.content()
    page.get_by_text(secret[:12] + "…", exact=True).wait_for()

    page.get_by_role("button", name="Renouveler").click()
    page.get_by_role("heading", name="Jeton « Logiciel rSa du département » créé").wait_for()
    successor = page.get_by_role(
        "textbox", name=re.compile("^Jeton d’accès|^Jeton d.accès")
    ).input_value()
    page.get_by_text("L'ancien jeton reste valable jusqu'au").wait_for()
    assert _call(base, secret)[0] == 200 and _call(base, successor)[0] == 200

    page.goto(f"{base}/organisation/acces-api/")
    old = ApiToken.objects.get(replaces__isnull=True)
    page.get_by_role("button", name="Révoquer sans attendre").click()
    modal_opened(page, f"modale-revoke-{old.pk}")
    check_accessibility(page, "accès API (révocation)")
    page.get_by_role("button", name="Révoquer le jeton").click()
    page.get_by_text("révoqué.").first.wait_for()
    status, refused = _call(base, secret)
    assert status == 401 and "révoqué par un administrateur" in refused["detail"]
    assert _call(base, successor)[0] == 200
    check_accessibility(page, "accès API (après révocation)")
