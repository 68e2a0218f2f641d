"""The care team (équipe de suivi) in a real browser (Debian chromium through Playwright): a
counsellor of the organisation that holds the record adds a partner found by searching the
directory as she types, then removes it with a reason after a confirmation — the French errors
first (nothing picked, no reason), axe on every page and error state. And the denial: a partner
organisation without the lead relation sees no button and meets the French 403 page on the
address; one without any relation, the 404 page."""

import pytest
from django.urls import reverse

from parcours.models import CareTeamMember, Role
from tests.factories import MembershipFactory, OrganisationFactory
from tests.web.test_pages import World

from .browser import check_accessibility, follow_link, log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)

SEARCH_LABEL = "Nom de l'organisme ou d'un de ses services"


def test_the_holder_adds_then_removes_a_partner(live_server, new_page):
    world = World()
    partner = OrganisationFactory(kind="cap_emploi", name="Cap emploi Artois")
    base = live_server.url
    page = new_page()
    log_in(page, base, world.me)
    person_page = base + reverse("web:person-detail", args=[world.person.pk])
    page.goto(person_page)
    page.get_by_text("Aucune organisation n'a été ajoutée à l'équipe de suivi.").wait_for()

    # Add: nothing picked first (the French error), then found by search as she types.
    follow_link(page, "Ajouter une organisation")
    check_accessibility(page, "équipe de suivi : ajout")
    page.get_by_role("button", name="Ajouter à l'équipe de suivi").click()
    page.get_by_text("Ce champ est obligatoire.").first.wait_for()
    check_accessibility(page, "équipe de suivi : ajout (erreurs)")
    page.get_by_label(SEARCH_LABEL).press_sequentially("cap em", delay=40)
    page.locator("#equipe-organisme-statut").get_by_text("1 organisme(s) trouvé(s).").wait_for()
    page.get_by_role("radio", name="Cap emploi Artois").check(force=True)
    shot(page, "equipe-de-suivi-ajout")
    page.get_by_role("button", name="Ajouter à l'équipe de suivi").click()
    page.get_by_text("L'organisation fait désormais partie de l'équipe de suivi.").wait_for()
    member = CareTeamMember.objects.get(pathway=world.pathway, organisation=partner)
    check_accessibility(page, "fiche avec l'équipe de suivi")

    # Remove: a confirmation page; without a reason, the French error; then done.
    page.get_by_role("link", name="Retirer Cap emploi Artois de l'équipe de suivi").click()
    page.get_by_text("Confirmez-vous le retrait ?").wait_for()
    check_accessibility(page, "équipe de suivi : retrait")
    page.get_by_role("button", name="Confirmer le retrait").click()
    page.get_by_text("Ce champ est obligatoire.").wait_for()
    check_accessibility(page, "équipe de suivi : retrait (erreurs)")
    assert CareTeamMember.objects.get(pk=member.pk).ended_at is None
    page.get_by_label("Motif du retrait").fill("Accompagnement vers l'emploi terminé")
    page.get_by_role("button", name="Confirmer le retrait").click()
    page.get_by_text("Cap emploi Artois ne fait plus partie de l'équipe de suivi").wait_for()
    member.refresh_from_db()
    assert member.ended_at is not None
    assert member.end_reason == "Accompagnement vers l'emploi terminé"
    page.get_by_text("Aucune organisation n'a été ajoutée à l'équipe de suivi.").wait_for()


def test_a_partner_without_the_lead_relation_cannot_manage_the_team(live_server, new_page):
    world = World()
    receiver = MembershipFactory(organisation=world.siae, role=Role.COUNSELLOR).user
    member = world.care_team_member()
    base = live_server.url
    page = new_page()
    log_in(page, base, receiver)
    page.goto(base + reverse("web:person-detail", args=[world.person.pk]))
    page.get_by_text("Mission locale Arras").first.wait_for()  # it sees the team…
    assert page.get_by_role("link", name="Ajouter une organisation").count() == 0  # …no button
    assert page.get_by_role("link", name="Retirer").count() == 0
    response = page.goto(base + reverse("web:care-team-add", args=[world.pathway.pk]))
    assert response is not None and response.status == 403
    page.get_by_text("Seule l'organisation qui porte le parcours").wait_for()
    check_accessibility(page, "équipe de suivi : ajout refusé")
    response = page.goto(base + reverse("web:care-team-end", args=[member.pk]))
    assert response is not None and response.status == 403
    # An organisation with no relation to the person: the record is not found.
    outsider = MembershipFactory(organisation=OrganisationFactory(kind="ccas")).user
    stranger_page = new_page()
    log_in(stranger_page, base, outsider)
    response = stranger_page.goto(base + reverse("web:care-team-add", args=[world.pathway.pk]))
    assert response is not None and response.status == 404
    stranger_page.get_by_text("Page introuvable").first.wait_for()
