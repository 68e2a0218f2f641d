"""The case committee (CLCVP) in a real browser (Debian chromium through Playwright, issue 18):
France Travail's counsellor proposes Léa's stalled pathway from her page, under France Travail's
legal basis; the territorial coordinator plans a session, puts the case on its agenda and records
a decision that creates an action of the plan (held by the Mission locale) and a referral to the
SIAE — axe clean on every page; the coordinator never opens the person's page."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.models import CommitteeProposal, PlanAction, ProposalStatus, Referral
from tests.committee.conftest import make_world
from tests.factories import ConsentFactory

from .browser import check_accessibility, log_in, shot, tick

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_counsellor_proposes_and_the_coordinator_decides(live_server, new_page):
    world = make_world()
    # The person agreed that the SIAE receive her (a referral needs the receiver's basis).
    ConsentFactory(
        person=world.pathway.person,
        organisations=[world.siae],
        collected_by_organisation=world.holder,
    )
    base = live_server.url

    # The counsellor, from the person's page.
    page = new_page()
    log_in(page, base, world.proposer.user)
    page.goto(base + reverse("web:person-detail", args=[world.pathway.person_id]))
    page.get_by_role("link", name="Proposer au comité").click()
    page.get_by_role("heading", name="Proposer au comité de parcours", level=1).wait_for()
    check_accessibility(page, "proposer au comité")
    page.get_by_label("Motif").fill("Parcours à l'arrêt depuis six mois.")
    page.get_by_label("Question posée au comité").fill("Qui peut financer le permis B ?")
    page.get_by_label("Situation, résumée pour le comité").fill(
        "Sans véhicule ; deux formations refusées faute de transport."
    )
    tick(page, "Base légale : Mission de service public de l'emploi")
    shot(page, "comite-proposer")
    page.get_by_role("button", name="Proposer au comité").click()
    page.get_by_text("Le dossier est proposé au comité de parcours").wait_for()
    proposal = CommitteeProposal.objects.get()
    page.close()

    # The coordinator: a session, its agenda, the decision.
    page = new_page()
    # A coordinator's home is the territory's dashboard (web/views/home.py).
    log_in(page, base, world.coordinator.user, landing=reverse("web:statistics"))
    page.locator("#navigation").get_by_role("link", name="Comités de parcours").click()
    page.get_by_role("heading", name="Comités de parcours", level=1).wait_for()
    check_accessibility(page, "comités de parcours")
    page.get_by_role("link", name="Prévoir un comité").click()
    meets_at = timezone.localtime() + dt.timedelta(days=7)
    page.get_by_label("Date et heure").fill(meets_at.strftime("%Y-%m-%dT10:00"))
    page.get_by_label("Lieu ou lien de visioconférence").fill("Maison de l'emploi, salle 2")
    tick(page, "Chantier du Bassin")
    tick(page, "Mission locale de Lens")
    check_accessibility(page, "prévoir un comité")
    page.get_by_role("button", name="Prévoir le comité").click()
    page.get_by_text("Le comité de parcours est prévu.").wait_for()
    page.get_by_label("Dossier à inscrire").select_option(value=str(proposal.pk))
    page.get_by_role("button", name="Inscrire à l'ordre du jour").click()
    page.get_by_text("Le dossier est inscrit à l'ordre du jour.").wait_for()
    shot(page, "comite-ordre-du-jour")
    check_accessibility(page, "ordre du jour")

    decide = f"Enregistrer la décision du dossier {proposal.reference}"
    page.get_by_role("link", name=decide).click()
    page.get_by_label("Décision du comité").fill(
        "La Mission locale monte le dossier d'aide au permis ; orientation vers le chantier."
    )
    tick(page, "Suites décidées (actions ou orientations)")
    page.get_by_label("Action du plan d'action (facultatif)").fill(
        "Monter le dossier d'aide au permis"
    )
    page.get_by_label("Organisation qui porte l'action").select_option(
        label="Mission locale de Lens"
    )
    page.get_by_label("Échéance de l'action").fill(
        (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    )
    page.get_by_label("Orientation vers (facultatif)").select_option(label="Chantier du Bassin")
    page.get_by_label("Motif de l'orientation").fill("Contrat d'insertion proposé par le comité")
    check_accessibility(page, "décision du comité")
    page.get_by_role("button", name="Enregistrer la décision").click()
    page.get_by_text("La décision du comité est enregistrée.").wait_for()
    page.get_by_role("heading", name="Suites créées").wait_for()
    shot(page, "comite-decision")
    check_accessibility(page, "dossier décidé")

    # What the decision said, created as the proposer.
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.DECIDED
    action = PlanAction.objects.get(pathway=world.pathway)
    assert (action.label, action.owner_organisation) == (
        "Monter le dossier d'aide au permis",
        world.care_team,
    )
    referral = Referral.objects.get(pathway=world.pathway)
    assert (referral.sender_organisation, referral.receiver_organisation) == (
        world.holder,
        world.siae,
    )
    # The coordinator never reaches the person's record.
    page.goto(base + reverse("web:person-detail", args=[world.pathway.person_id]))
    page.get_by_text("Page introuvable").first.wait_for()
