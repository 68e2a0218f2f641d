"""The shared diagnostic in a real browser (Debian chromium through Playwright): the social
worker who holds Léa's record writes « Logement » (first sent empty: the French error, axe on
the form with its errors), a counsellor of a partner in the care team — to whom Léa consented to
show her social situation — reads it and writes a new version, the first one folded under
« Versions précédentes ». And the denials: the SIAE that only sees Léa's identity and pathway
has no « Logement » row and meets « Page introuvable » on its address; the holder's manager is
refused the form in French."""

import re

import pytest
from django.urls import reverse

from parcours.models import DiagnosticEntry, Role
from tests.factories import CareTeamMemberFactory, ConsentFactory, MembershipFactory
from tests.web.test_pages import World

from .browser import check_accessibility, follow_link, log_in, shot, tick

pytestmark = pytest.mark.django_db(transaction=True)
UPDATE = re.compile(r"^(Renseigner|Mettre à jour)")


def _form(world, slug: str) -> str:
    return reverse("web:diagnostic-write", args=[world.pathway.pk, slug])


def test_the_diagnostic_is_written_then_amended_by_a_partner(live_server, new_page):
    world = World()
    social_worker = MembershipFactory(
        organisation=world.home,
        role=Role.SOCIAL_WORKER,
        user__first_name="Nadia",
        user__last_name="Moreau",
    ).user
    partner = MembershipFactory(
        organisation=world.elsewhere,
        role=Role.COUNSELLOR,
        user__first_name="Julie",
        user__last_name="Caron",
    ).user
    CareTeamMemberFactory(pathway=world.pathway, organisation=world.elsewhere)
    ConsentFactory(
        person=world.person,
        organisations=[world.elsewhere],
        categories=["identity", "pathway", "social"],
    )
    base = live_server.url
    person_page = base + reverse("web:person-detail", args=[world.person.pk])

    # The holder's social worker: « Logement », first sent empty.
    page = new_page()
    log_in(page, base, social_worker)
    page.goto(person_page)
    page.get_by_role("heading", name="Diagnostic partagé").wait_for()
    page.get_by_role("link", name="Renseigner : Logement").click()
    page.get_by_role("heading", name="Diagnostic partagé : Logement").wait_for()
    page.get_by_role("button", name="Enregistrer une nouvelle version").click()
    page.get_by_text("Ce champ est obligatoire.").first.wait_for()
    check_accessibility(page, "diagnostic (erreurs)")
    page.get_by_label("Situation de la personne").fill(
        "Hébergée chez sa sœur, demande de logement social déposée."
    )
    tick(page, "Frein bloquant")
    page.get_by_role("button", name="Enregistrer une nouvelle version").click()
    page.get_by_text("Le diagnostic « Logement » est enregistré").wait_for()
    row = page.locator("#diagnostic-logement")
    assert "Hébergée chez sa sœur" in row.inner_text()
    assert "Frein bloquant" in row.text_content()  # the badge shows it in capitals
    assert "Nadia Moreau" in row.inner_text()
    check_accessibility(page, "fiche avec le diagnostic")

    # The care team's counsellor reads it and writes a new version.
    page = new_page()
    log_in(page, base, partner)
    page.goto(person_page)
    assert "Hébergée chez sa sœur" in page.locator("#diagnostic-logement").inner_text()
    follow_link(page, "Mettre à jour : Logement")
    check_accessibility(page, "diagnostic (version actuelle)")
    text = page.get_by_label("Situation de la personne")
    assert text.input_value().startswith("Hébergée chez sa sœur")  # offered to amend
    text.fill("Logement social attribué à Lens, emménagement le mois prochain.")
    tick(page, "Point d'appui")
    page.get_by_role("button", name="Enregistrer une nouvelle version").click()
    page.get_by_text("Le diagnostic « Logement » est enregistré").wait_for()
    row = page.locator("#diagnostic-logement")
    assert "Logement social attribué" in row.inner_text()
    assert "Julie Caron" in row.inner_text()
    row.get_by_text("Versions précédentes (1)").click()
    row.get_by_text("Hébergée chez sa sœur").wait_for()
    check_accessibility(page, "fiche, versions précédentes ouvertes")
    shot(page, "diagnostic-partage")
    versions = DiagnosticEntry.objects.filter(pathway=world.pathway, domain="housing")
    assert [(v.author, v.level) for v in versions.order_by("created_at")] == [
        (social_worker, "blocking"),
        (partner, "strength"),
    ]


def test_who_does_not_hold_the_category_or_the_role_is_refused(live_server, new_page):
    world = World()
    receiver = MembershipFactory(organisation=world.siae, role=Role.COUNSELLOR).user
    manager = MembershipFactory(organisation=world.home, role=Role.MANAGER).user
    base = live_server.url

    # The SIAE received Léa's referral; she shared her identity and pathway with it, not more.
    page = new_page()
    log_in(page, base, receiver)
    page.goto(base + reverse("web:person-detail", args=[world.person.pk]))
    page.get_by_role("heading", name="Diagnostic partagé").wait_for()
    assert page.locator("#diagnostic-logement").count() == 0
    assert page.get_by_role("link", name="Renseigner : Logement").count() == 0
    assert page.get_by_role("link", name="Renseigner : Projet professionnel").count() == 1
    page.goto(base + _form(world, "logement"))
    page.get_by_text("Page introuvable").first.wait_for()

    # The holder's manager steers activity: no situation to read, no diagnostic to write.
    page = new_page()
    log_in(page, base, manager)
    page.goto(base + _form(world, "projet-professionnel"))
    page.get_by_text(
        "Seuls les conseillers et travailleurs sociaux rédigent le diagnostic partagé."
    ).wait_for()
    check_accessibility(page, "diagnostic refusé")
    page.goto(base + _form(world, "logement"))
    page.get_by_text("Page introuvable").first.wait_for()
    assert not DiagnosticEntry.objects.exists()
