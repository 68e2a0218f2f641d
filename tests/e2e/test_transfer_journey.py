"""Réorientation in a real browser (Debian chromium through Playwright, issue 14): the SIAE that
received Léa's referral proposes another partner instead of refusing — searched in the directory
as it types, picked with its service, a reason —, France Travail confirms it in the DSFR modal,
and both referral pages say where Léa went and where the new referral comes from. axe-core checks
every state (0 serious, critical or moderate violation)."""

import pytest
from django.urls import reverse

from parcours.models import Referral, ReferralStatus, Role
from tests.factories import (
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    ServiceFactory,
)
from tests.web.test_pages import World

from .browser import check_accessibility, log_in, modal_opened, shot

pytestmark = pytest.mark.django_db(transaction=True)

SEARCH_LABEL = "Nom de l'organisme ou d'un de ses services"
REASON = "Un chantier d'insertion en espaces verts, à dix minutes de chez elle"


def test_the_receiver_proposes_a_transfer_and_the_sender_confirms_it(live_server, new_page):
    world = World()
    base = live_server.url
    receiver = MembershipFactory(organisation=world.siae, role=Role.COUNSELLOR).user
    regie = OrganisationFactory(siae=True, name="Régie de quartier Liévin")
    espaces_verts = ServiceFactory(
        organisation=regie,
        name="Chantier espaces verts",
        eligibility="Personne éligible au PASS IAE.",
        usual_delay_days=8,
    )
    # Léa agreed to the Régie receiving what a referral carries.
    ConsentFactory(person=world.person, organisations=[regie])
    referral_page = base + reverse("web:referral-detail", args=[world.outgoing.pk])

    # 1. The SIAE proposes the Régie instead of refusing.
    page = new_page()
    log_in(page, base, receiver)
    page.goto(referral_page)
    check_accessibility(page, "orientation reçue")
    page.get_by_role("link", name="Proposer une réorientation").click()
    page.get_by_role("heading", name="Proposer une réorientation").wait_for()
    check_accessibility(page, "réorientation : formulaire")
    page.get_by_label(SEARCH_LABEL).press_sequentially("régie", delay=40)
    radio = page.get_by_role("radio", name="Régie de quartier Liévin")
    radio.wait_for()
    check_accessibility(page, "réorientation : partenaires trouvés")
    radio.focus()
    page.keyboard.press("Space")
    page.get_by_role("radio", name="Chantier espaces verts").wait_for()  # its sheet (htmx)
    page.get_by_role("radio", name="Chantier espaces verts").check(force=True)
    page.get_by_label("Motif de la réorientation").fill(REASON)
    check_accessibility(page, "réorientation : partenaire et service choisis")
    shot(page, "reorientation-proposition")
    page.get_by_role("button", name="Proposer la réorientation").click()
    page.get_by_text("Réorientation vers Régie de quartier Liévin proposée").wait_for()
    page.get_by_role(
        "heading", name="Réorientation proposée vers Régie de quartier Liévin"
    ).wait_for()
    check_accessibility(page, "orientation : réorientation proposée")
    proposed = Referral.objects.get(pk=world.outgoing.pk)
    assert proposed.status == ReferralStatus.TRANSFER_PROPOSED
    assert (proposed.transfer_organisation, proposed.transfer_service) == (regie, espaces_verts)

    # 2. France Travail confirms in the modal (« Annuler » first: nothing written).
    sender = new_page()
    log_in(sender, base, world.me)
    sender.goto(referral_page)
    sender.get_by_text(f"motif : {REASON}").wait_for()
    check_accessibility(sender, "orientation envoyée : réorientation à confirmer")
    sender.get_by_role("button", name="Confirmer la réorientation").click()
    modal = sender.get_by_role("dialog", name="Confirmer la réorientation ?")
    modal.get_by_text(
        "une nouvelle orientation, à votre nom, sera envoyée aussitôt à Régie de quartier "
        "Liévin (Chantier espaces verts)"
    ).wait_for()
    modal_opened(sender, "modale-confirm_transfer")
    check_accessibility(sender, "réorientation (fenêtre de confirmation)")
    shot(sender, "reorientation-confirmation")
    modal.get_by_role("button", name="Annuler").click()
    modal.wait_for(state="hidden")
    assert Referral.objects.get(pk=world.outgoing.pk).status == ReferralStatus.TRANSFER_PROPOSED

    sender.get_by_role("button", name="Confirmer la réorientation").click()
    modal_opened(sender, "modale-confirm_transfer")
    modal.get_by_role("button", name="Confirmer la réorientation").click()
    sender.get_by_text("« confirmer la réorientation » fait").wait_for()
    original = Referral.objects.get(pk=world.outgoing.pk)
    assert original.status == ReferralStatus.TRANSFERRED
    new = original.transferred_to
    assert (new.receiver_organisation, new.receiver_service, new.status) == (
        regie,
        espaces_verts,
        ReferralStatus.SENT,
    )

    # 3. The original says where Léa went; the new referral where it comes from.
    sender.get_by_role("heading", name="Réorientée vers Régie de quartier Liévin").wait_for()
    check_accessibility(sender, "orientation réorientée")
    sender.get_by_role("link", name=f"l'orientation {new.reference}").click()
    sender.get_by_text("Suite de la réorientation de").wait_for()
    assert original.reference in sender.locator("#suite-de").inner_text()
    check_accessibility(sender, "nouvelle orientation")
    shot(sender, "reorientation-suite")
