"""Signing in, in a real browser (issue 15): a DPO sets up an authenticator app at the first
sign-in (the code computed here from the secret the page shows, as the app would), keeps the
recovery codes, signs out, signs in again with a code — a wrong one refused in French — and an
agent who keeps typing a wrong password is locked out. Every page is checked with axe-core."""

import re

import pytest

from parcours.models import AccessEvent, Role
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.second_factor import code_from_secret, next_code

from .browser import PASSWORD, check_accessibility, shot

pytestmark = pytest.mark.django_db(transaction=True)


def _password(page, base: str, user, password: str = PASSWORD) -> None:
    page.goto(f"{base}/connexion/")
    page.get_by_label("Nom d’utilisateur").fill(user.username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_a_dpo_sets_up_the_second_factor_and_signs_in_with_it(live_server, new_page):
    base = live_server.url
    organisation = OrganisationFactory(name="Département du Pas-de-Calais")
    dpo = UserFactory(first_name="Marc", last_name="Lambert")
    MembershipFactory(user=dpo, organisation=organisation, role=Role.DPO)
    page = new_page()

    _password(page, base, dpo)
    page.wait_for_url(f"{base}/compte/double-authentification/**")
    page.get_by_role("heading", name="Obligatoire pour votre compte").wait_for()
    assert page.get_by_role("img", name=re.compile("QR code")).count() == 1
    check_accessibility(page, "activation de la double authentification")
    shot(page, "double-authentification")
    # Only the way out: the menu is not there before the second factor.
    assert page.get_by_role("link", name="Préférences").count() == 0
    secret = page.locator("#cle-secrete").inner_text()
    page.get_by_label("Code affiché par l'application").fill(code_from_secret(secret))
    page.get_by_role("button", name="Activer").click()

    page.wait_for_url(f"{base}/compte/double-authentification/codes-de-secours/**")
    codes = page.locator(".parcours-recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    check_accessibility(page, "codes de secours")
    page.get_by_role("link", name="J'ai noté mes codes, continuer").click()
    page.wait_for_url(f"{base}/protection-des-donnees/")

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{base}/connexion/")
    _password(page, base, dpo)
    page.wait_for_url(f"{base}/connexion/verification/**")
    check_accessibility(page, "vérification en deux étapes")
    page.get_by_label("Code de vérification").fill("12345678")
    page.get_by_role("button", name="Vérifier").click()
    page.get_by_text("Ce code n'est pas le bon").wait_for()
    check_accessibility(page, "code refusé")
    page.wait_for_timeout(1100)  # django-otp refuses any code for a second after a wrong one
    device = dpo.totpdevice_set.get(confirmed=True)
    page.get_by_label("Code de vérification").fill(next_code(device))
    page.get_by_role("button", name="Vérifier").click()
    page.wait_for_url(f"{base}/protection-des-donnees/")
    assert list(
        AccessEvent.objects.filter(user=dpo, object_type="account")
        .order_by("id")
        .values_list("operation", flat=True)
    ) == ["otp_enrolled", "otp_failed"]


def test_an_agent_is_locked_out_after_five_wrong_passwords(live_server, new_page):
    base = live_server.url
    agent = MembershipFactory(organisation=OrganisationFactory(name="France Travail Lens")).user
    page = new_page()
    for _ in range(4):
        _password(page, base, agent, "pas le bon")
        page.get_by_text("Saisissez un nom d'utilisateur et un mot de passe valides").wait_for()
    _password(page, base, agent, "pas le bon")
    page.get_by_role("heading", name="Compte temporairement verrouillé").wait_for()
    _password(page, base, agent)  # the right one, refused while locked
    page.get_by_role("heading", name="Compte temporairement verrouillé").wait_for()
    assert "15 minutes" in page.content()
    check_accessibility(page, "compte verrouillé")
    shot(page, "compte-verrouille")
    assert AccessEvent.objects.filter(user=agent, operation="lockout").count() == 1
