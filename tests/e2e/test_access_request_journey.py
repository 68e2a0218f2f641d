"""Asking for a record held elsewhere, and the person's objection, in a real browser (Debian
chromium through Playwright) — axe on every page and form state, errors included.

A Mission locale counsellor creates a person France Travail already follows: the duplicate is
named without a word of the record, the request is sent (first without its reason: the French
error, what was typed kept), France Travail sees it on « À traiter » and accepts, and the Mission
locale then opens the record. A counsellor records the person's objection, then the holder lifts
it. The denials: a manager (who sees no identity) and an organisation that does not work with the
person meet the 404 page on the record; a referral's receiver is not offered to lift an
objection."""

import pytest
from django.urls import reverse

from parcours.models import AccessRequest, CareTeamMember, Objection, Person, Role
from tests.factories import MembershipFactory, OrganisationFactory, valid_nir
from tests.web.test_pages import World

from .browser import check_accessibility, log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)

NIR = valid_nir(52)


def _create(page, base, first_name: str) -> None:
    page.goto(base + reverse("web:person-create"))
    page.get_by_label("Prénom").fill(first_name)
    page.get_by_label("Nom", exact=True).fill("Robert")
    page.get_by_label("Date de naissance").fill("2004-04-02")
    page.get_by_label("NIR (numéro de sécurité sociale)").fill(NIR)
    page.get_by_role("button", name="Enregistrer").click()


def test_a_counsellor_asks_for_a_record_held_elsewhere_and_gets_it(live_server, new_page):
    holding = MembershipFactory(
        organisation=OrganisationFactory(name="France Travail Lens"), role=Role.COUNSELLOR
    ).user
    asking = MembershipFactory(
        organisation=OrganisationFactory(mission_locale=True, name="Mission locale Arras"),
        role=Role.COUNSELLOR,
    ).user
    base = live_server.url

    holder = new_page()
    log_in(holder, base, holding)
    _create(holder, base, "Inès")
    holder.get_by_text("La personne a été créée").wait_for()
    person = Person.objects.get()

    # The duplicate, as the Mission locale meets it: no name of the record, a button.
    asker = new_page()
    log_in(asker, base, asking)
    _create(asker, base, "Ines")
    asker.get_by_text("suivie par une autre organisation").first.wait_for()
    check_accessibility(asker, "doublon")
    asker.get_by_role("button", name="Demander l'accès à son dossier").click()
    assert asker.get_by_label("NIR de la personne").input_value() == NIR
    check_accessibility(asker, "demande d'accès pré-remplie")

    # Sent without its reason: the French error, the identifier still there.
    asker.get_by_role("button", name="Envoyer la demande").click()
    asker.get_by_text("Ce champ est obligatoire.").first.wait_for()
    check_accessibility(asker, "demande d'accès (erreurs)")
    assert asker.get_by_label("NIR de la personne").input_value() == NIR
    assert not AccessRequest.objects.exists()
    asker.get_by_label("Motif de la demande").fill("Entrée en contrat d'engagement jeune")
    asker.get_by_role("button", name="Envoyer la demande").click()
    asker.get_by_text("Votre demande est envoyée").wait_for()
    check_accessibility(asker, "demandes envoyées")

    # France Travail: « À traiter », the request, accepted.
    holder.goto(base + "/")
    holder.get_by_text("Demandes d'accès à traiter : 1").wait_for()
    holder.goto(base + reverse("web:access-requests"))
    holder.get_by_text("Entrée en contrat d'engagement jeune").wait_for()
    check_accessibility(holder, "demandes reçues")
    shot(holder, "demande-acces")
    holder.get_by_role("button", name="Accepter : ajouter à l'équipe de suivi").click()
    holder.get_by_text("Acceptée").first.wait_for()
    assert CareTeamMember.objects.filter(
        pathway__person=person, organisation__name="Mission locale Arras"
    ).exists()

    # The Mission locale now opens the record.
    asker.goto(base + reverse("web:person-detail", args=[person.pk]))
    asker.get_by_role("heading", name="Inès Robert").wait_for()
    check_accessibility(asker, "fiche ouverte après la demande")


def test_the_objection_is_recorded_then_lifted(live_server, new_page):
    world = World()
    base = live_server.url
    page = new_page()
    log_in(page, base, world.me)
    person_page = base + reverse("web:person-detail", args=[world.person.pk])

    page.goto(person_page)
    page.get_by_text("Enregistrer l'opposition de la personne").click()
    # Too long a reason: the French error, the form open again with the words kept.
    page.get_by_label("Ce que dit la personne (facultatif)").fill("x" * 1001)
    page.get_by_role("button", name="Enregistrer l'opposition").click()
    page.get_by_text("au plus 1000 caractères").first.wait_for()
    check_accessibility(page, "opposition (erreurs)")
    assert not Objection.objects.filter(person=world.person).exists()
    page.get_by_label("Ce que dit la personne (facultatif)").fill(
        "Ne souhaite pas que ses données circulent."
    )
    page.get_by_role("button", name="Enregistrer l'opposition").click()
    page.get_by_text("L'opposition est enregistrée").wait_for()
    page.get_by_text("s'est opposée au partage de ses données").wait_for()
    check_accessibility(page, "fiche avec opposition")

    page.get_by_role("button", name="Enregistrer la levée de l'opposition").click()
    page.get_by_text("L'opposition est levée.").wait_for()
    assert Objection.objects.get(person=world.person).withdrawn_at is not None


def test_a_manager_and_a_stranger_are_refused(live_server, new_page):
    world = World()
    manager = MembershipFactory(organisation=world.home, role=Role.MANAGER).user
    base = live_server.url

    page = new_page()
    log_in(page, base, manager)
    page.goto(base + reverse("web:person-detail", args=[world.person.pk]))
    # A manager sees no identity: the record is not found, the opposition is not offered.
    page.get_by_role("heading", name="Page introuvable").wait_for()
    check_accessibility(page, "fiche refusée au responsable")

    # The receiver of a referral records an objection but does not lift one: no such button.
    receiver = MembershipFactory(organisation=world.siae, role=Role.COUNSELLOR).user
    world.objection()
    receiving = new_page()
    log_in(receiving, base, receiver)
    receiving.goto(base + reverse("web:person-detail", args=[world.person.pk]))
    receiving.get_by_text("s'est opposée au partage de ses données").wait_for()
    assert receiving.get_by_role("button", name="Enregistrer la levée de l'opposition").count() == 0
    check_accessibility(receiving, "opposition vue du destinataire")

    stranger = new_page()
    log_in(stranger, base, world.stranger)
    stranger.goto(base + reverse("web:person-detail", args=[world.person.pk]))
    stranger.get_by_role("heading", name="Page introuvable").wait_for()
    check_accessibility(stranger, "fiche d'une autre organisation")
    assert Objection.objects.get(person=world.person).withdrawn_at is None
