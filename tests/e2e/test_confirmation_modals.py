"""Destructive referral moves in a real browser (Debian chromium through Playwright): the button
opens the DSFR modal that names the person and what follows (axe on the open modal), « Annuler »
closes it with nothing written, « Confirmer » makes the move. Without JavaScript the same button
posts the form, which comes back with the sentence and the confirmation button."""

import pytest
from django.urls import reverse

from parcours.models import Referral, ReferralStatus, Role
from tests.factories import MembershipFactory
from tests.web.test_pages import World

from .browser import PASSWORD, check_accessibility, log_in, modal_opened, shot

pytestmark = pytest.mark.django_db(transaction=True)


def _person(referral: Referral) -> str:
    person = referral.pathway.person
    return f"{person.first_name} {person.last_name}"


def test_refusing_a_referral_is_confirmed_in_a_modal(live_server, new_page):
    world = World()
    base = live_server.url
    page = new_page()
    log_in(page, base, world.me)
    page.goto(base + reverse("web:referral-detail", args=[world.incoming.pk]))
    page.get_by_label("Motif de refus").select_option(label="Plus de place disponible")

    page.get_by_role("button", name="Refuser l'orientation").click()
    modal = page.get_by_role("dialog", name="Refuser l'orientation ?")
    modal.get_by_text(
        f"L'orientation de {_person(world.incoming)} vers France Travail Lens sera refusée"
    ).wait_for()
    modal_opened(page, "modale-refuse")
    check_accessibility(page, "refus (fenêtre de confirmation)")
    shot(page, "orientation-refus-confirmation")
    modal.get_by_role("button", name="Annuler").click()
    modal.wait_for(state="hidden")
    assert Referral.objects.get(pk=world.incoming.pk).status == ReferralStatus.SENT

    page.get_by_role("button", name="Refuser l'orientation").click()
    modal.get_by_role("button", name="Confirmer le refus").click()
    page.get_by_text("« refuser » fait").wait_for()
    assert Referral.objects.get(pk=world.incoming.pk).status == ReferralStatus.REFUSED
    check_accessibility(page, "orientation refusée")


def test_withdrawing_without_javascript_asks_on_the_page(live_server, browser):
    world = World()
    MembershipFactory(organisation=world.home, role=Role.COUNSELLOR)
    base = live_server.url
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    try:
        page = context.new_page()
        # The login form by hand: axe (log_in checks each page with it) needs JavaScript.
        page.goto(f"{base}/connexion/")
        page.get_by_label("Nom d’utilisateur").fill(world.me.username)
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(f"{base}/")
        page.goto(base + reverse("web:referral-detail", args=[world.outgoing.pk]))
        page.get_by_role("button", name="Retirer").click()
        page.get_by_text("rien n'a encore été enregistré").wait_for()
        page.get_by_text(f"L'orientation de {_person(world.outgoing)} vers").wait_for()
        assert Referral.objects.get(pk=world.outgoing.pk).status == ReferralStatus.SENT
        page.get_by_role("button", name="Confirmer le retrait").click()
        page.get_by_text("« retirer » fait").wait_for()
        assert Referral.objects.get(pk=world.outgoing.pk).status == ReferralStatus.WITHDRAWN
    finally:
        context.close()
