"""The action plan in a real browser (Debian chromium through Playwright): the counsellor who
holds the record adds an objective and an action held by a partner, with a due date — first
sent wrong (a past due date, an empty label): French errors, what was typed kept, axe on the
error state; the partner marks its action done; a manager sees the plan without a button and
meets the French 403 page on the direct address, another organisation the 404 page."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.models import Objective, PlanAction, PlanActionStatus, Role
from tests.factories import MembershipFactory
from tests.web.test_pages import World

from .browser import check_accessibility, follow_link, log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_plan_is_built_by_the_holder_and_reported_on_by_the_partner(live_server, new_page):
    world = World()
    base = live_server.url
    person_page = base + reverse("web:person-detail", args=[world.person.pk])
    page = new_page()
    log_in(page, base, world.me)

    # An objective.
    page.goto(person_page)
    page.get_by_text("Aucun objectif n'est encore fixé.").wait_for()
    follow_link(page, "Ajouter un objectif")
    check_accessibility(page, "ajout d'un objectif")
    page.get_by_label("Objectif").fill("Accéder à un emploi durable")
    page.get_by_role("button", name="Ajouter l'objectif").click()
    page.get_by_text("L'objectif est ajouté au plan d'action.").wait_for()
    objective = Objective.objects.get(pathway=world.pathway)

    # An action held by the SIAE: first with a past due date and no label.
    page.get_by_role("link", name="Ajouter une action").click()
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    page.locator("#id_owner_organisation").select_option(label="Chantier Les Jardins")
    page.locator("#id_due_on").fill(yesterday.isoformat())
    page.get_by_role("button", name="Ajouter l'action").click()
    page.get_by_text("Ce champ est obligatoire.").wait_for()
    assert page.locator("#id_due_on").input_value() == yesterday.isoformat()
    check_accessibility(page, "ajout d'une action (libellé manquant)")
    page.locator("#id_label").fill("Bilan des compétences acquises sur le chantier")
    page.get_by_role("button", name="Ajouter l'action").click()
    page.get_by_text("L'échéance ne peut pas être passée").wait_for()
    assert page.locator("#id_label").input_value() == (
        "Bilan des compétences acquises sur le chantier"
    )
    assert page.locator("#id_owner_organisation").input_value() == str(world.siae.pk)
    check_accessibility(page, "ajout d'une action (échéance passée)")
    shot(page, "plan-action-erreurs")
    due = timezone.localdate() + dt.timedelta(days=14)
    page.locator("#id_due_on").fill(due.isoformat())
    page.get_by_role("button", name="Ajouter l'action").click()
    page.get_by_text("L'action est ajoutée au plan d'action.").wait_for()
    page.get_by_text(f"Chantier Les Jardins — échéance le {due:%d/%m/%Y}").wait_for()
    check_accessibility(page, "fiche avec son plan d'action")
    shot(page, "plan-action")
    action = PlanAction.objects.get(objective=objective)
    assert (action.owner_organisation, action.due_on) == (world.siae, due)

    # The partner that holds the action reports on it.
    partner = MembershipFactory(organisation=world.siae, role=Role.COUNSELLOR).user
    page = new_page()
    log_in(page, base, partner)
    page.goto(person_page)
    assert page.get_by_role("link", name="Ajouter une action").count() == 0
    page.get_by_role("button", name="Marquer comme faite").click()
    page.get_by_text("Le statut de l'action est mis à jour.").wait_for()
    check_accessibility(page, "action faite")
    action.refresh_from_db()
    assert action.status == PlanActionStatus.DONE


def test_a_manager_and_another_organisation_are_offered_nothing(live_server, new_page):
    world = World()
    objective = Objective.objects.create(
        pathway=world.pathway,
        title="Lever le frein de la mobilité",
        created_at=timezone.now(),
        created_by=world.me,
        created_by_organisation=world.home,
    )
    PlanAction.objects.create(
        objective=objective,
        pathway=world.pathway,
        label="Demande d'aide au permis B",
        owner_organisation=world.home,
        due_on=timezone.localdate() - dt.timedelta(days=2),
        created_at=timezone.now(),
        created_by=world.me,
        created_by_organisation=world.home,
    )
    base = live_server.url
    manager = MembershipFactory(organisation=world.home, role=Role.MANAGER).user
    page = new_page()
    log_in(page, base, manager)
    # A manager reads no person's file; the plan's pages refuse them in French.
    page.goto(base + reverse("web:plan-objective-add", args=[world.pathway.pk]))
    page.get_by_text("Seuls les conseillers et travailleurs sociaux tiennent le plan").wait_for()
    check_accessibility(page, "plan refusé (responsable)")

    # The counsellor sees it late; another organisation finds nothing.
    page = new_page()
    log_in(page, base, world.me)
    page.goto(base + reverse("web:person-detail", args=[world.person.pk]))
    page.get_by_text("En retard").first.wait_for()
    page = new_page()
    log_in(page, base, world.stranger)
    response = page.goto(base + reverse("web:plan-action-add", args=[objective.pk]))
    assert response.status == 404
    page.get_by_text("Page introuvable").first.wait_for()
