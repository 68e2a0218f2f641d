"""Destructive referral moves in a real browser (Debian chromium through Playwright): the button
opens the DSFR modal that names the person and what follows (axe on the open modal), « Annuler »
closes it with nothing written, « Confirmer » makes the move. Without JavaScript the same button
posts the form, which comes back with the sentence and the confirmation button. A wrong absence is
corrected by its author (« Corriger », its reason, the modal); a colleague is not offered it."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.models import Referral, ReferralStatus, Role
from tests.factories import AppointmentFactory, MembershipFactory, PathwayFactory, ReferralFactory
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


def test_the_author_of_a_wrong_absence_corrects_it(live_server, new_page):
    """The receiver records an absence (confirmed in the modal), then sees it was wrong:
    « Corriger » with its reason (first without: the French error), confirmed — the referral
    says « venue » again. A colleague who did not record it is offered no « Corriger »."""
    world = World()
    referral = ReferralFactory(
        pathway=PathwayFactory(owner_organisation=world.siae),
        receiver_organisation=world.home,
        appointment_set=True,
    )
    AppointmentFactory(referral=referral, starts_at=timezone.now() - dt.timedelta(hours=2))
    base = live_server.url
    page = new_page()
    log_in(page, base, world.me)
    referral_page = base + reverse("web:referral-detail", args=[referral.pk])
    page.goto(referral_page)

    page.get_by_role("button", name="Constater l'absence").click()
    modal = page.get_by_role("dialog", name="Constater l'absence ?")
    modal_opened(page, "modale-record_no_show")
    check_accessibility(page, "absence (fenêtre de confirmation)")
    modal.get_by_role("button", name="Confirmer l'absence").click()
    page.get_by_text("« constater l'absence » fait").wait_for()
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.NO_SHOW

    # Wrong: the person came. The reason first left empty.
    page.get_by_role("button", name="Corriger").click()
    modal = page.get_by_role("dialog", name="Corriger la venue ou l'absence ?")
    modal_opened(page, "modale-correct_attendance")
    modal.get_by_role("button", name="Confirmer la correction").click()
    page.get_by_text("Ce champ est obligatoire.").first.wait_for()
    check_accessibility(page, "correction (motif manquant)")
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.NO_SHOW
    page.get_by_label("Motif de la correction").fill("Confusion avec un autre rendez-vous")
    page.get_by_role("button", name="Corriger").click()
    modal_opened(page, "modale-correct_attendance")
    check_accessibility(page, "correction (fenêtre de confirmation)")
    modal.get_by_role("button", name="Confirmer la correction").click()
    page.get_by_text("« corriger la venue ou l'absence » fait").wait_for()
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.ATTENDED
    check_accessibility(page, "orientation corrigée")

    colleague = MembershipFactory(organisation=world.home, role=Role.COUNSELLOR).user
    other = new_page()
    log_in(other, base, colleague)
    other.goto(referral_page)
    other.get_by_role("heading", name="Actions").wait_for()
    assert other.get_by_role("button", name="Corriger").count() == 0
