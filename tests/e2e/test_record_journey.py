"""The person's record and consent in a real browser (Debian chromium through Playwright), as
the counsellor who holds the record: the address and the situation's flags rectified (first a
postal code of four digits: the French error, what was typed kept), then a consent with its
start and end dates (first an end before the start: the French error, the organisation picked
and the categories ticked kept) — axe on every page and error state. And the denial: a
referral's receiver is offered no « Modifier la fiche » and meets the French 403 page on its
address."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.models import Consent, Person, Role
from tests.factories import MembershipFactory, OrganisationFactory
from tests.web.test_pages import World

from .browser import check_accessibility, follow_link, log_in, tick, tick_for_all

pytestmark = pytest.mark.django_db(transaction=True)

SEARCH_LABEL = "Nom de l'organisme ou d'un de ses services"


def test_the_holder_rectifies_the_record_and_records_a_dated_consent(live_server, new_page):
    world = World()
    OrganisationFactory(kind="departement", name="Département du Pas-de-Calais")
    base = live_server.url
    page = new_page()
    log_in(page, base, world.me)
    person_page = base + reverse("web:person-detail", args=[world.person.pk])

    # The address and the flags: a postal code of four digits first.
    page.goto(person_page)
    follow_link(page, "Modifier la fiche")
    check_accessibility(page, "fiche à modifier")
    page.get_by_label("Adresse").fill("12 rue des Écoles")
    page.get_by_label("Code postal").fill("6230")
    tick(page, "Bénéficiaire du revenu de solidarité active (rSa)")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Code postal : 5 chiffres.").first.wait_for()
    check_accessibility(page, "fiche à modifier (erreurs)")
    assert page.get_by_label("Adresse").input_value() == "12 rue des Écoles"
    assert page.get_by_label(
        "Bénéficiaire du revenu de solidarité active (rSa)", exact=True
    ).is_checked()
    assert Person.objects.get(pk=world.person.pk).postal_code != "6230"
    page.get_by_label("Code postal").fill("62300")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Fiche mise à jour").wait_for()
    person = Person.objects.get(pk=world.person.pk)
    assert (person.address, person.postal_code, person.receives_rsa) == (
        "12 rue des Écoles",
        "62300",
        True,
    )
    check_accessibility(page, "fiche rectifiée")

    # A consent for a year from next week, first with its end before its start.
    today = timezone.localdate()
    starts, ends = today + dt.timedelta(days=7), today + dt.timedelta(days=372)
    page.get_by_text("Enregistrer un accord de la personne").click()
    page.get_by_label(SEARCH_LABEL).press_sequentially("pas-de", delay=40)
    page.get_by_label("Département du Pas-de-Calais").wait_for()
    tick(page, "Département du Pas-de-Calais")
    tick_for_all(page, "Coordonnées")
    page.get_by_label("Valable à partir du").fill(starts.isoformat())
    page.get_by_label("Jusqu'au").fill((starts - dt.timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Enregistrer l'accord").click()
    page.get_by_text("La fin de l'accord ne peut précéder son début.").first.wait_for()
    check_accessibility(page, "accord (dates incohérentes)")
    assert page.get_by_label("Département du Pas-de-Calais").is_checked()
    assert page.get_by_label("Valable à partir du").input_value() == starts.isoformat()
    assert not Consent.objects.filter(person=world.person, ends_on__isnull=False).exists()
    page.get_by_label("Jusqu'au").fill(ends.isoformat())
    page.get_by_role("button", name="Enregistrer l'accord").click()
    page.get_by_text("L'accord de la personne est enregistré").wait_for()
    consent = Consent.objects.get(person=world.person, ends_on__isnull=False)
    assert (consent.starts_on, consent.ends_on) == (starts, ends)
    page.get_by_text(f"à partir du {starts:%d/%m/%Y} jusqu'au {ends:%d/%m/%Y}").wait_for()
    check_accessibility(page, "fiche avec l'accord daté")


def test_a_receiver_is_not_offered_to_rectify_the_record(live_server, new_page):
    world = World()
    receiver = MembershipFactory(organisation=world.siae, role=Role.COUNSELLOR).user
    base = live_server.url
    page = new_page()
    log_in(page, base, receiver)
    page.goto(base + reverse("web:person-detail", args=[world.person.pk]))
    page.get_by_role("heading", name="Léa Martin").wait_for()
    assert page.get_by_role("link", name="Modifier la fiche").count() == 0
    page.goto(base + reverse("web:person-edit", args=[world.person.pk]))
    page.get_by_role("heading", name="Accès refusé").wait_for()
    page.get_by_text("rectifie les données de la personne").wait_for()
    check_accessibility(page, "rectification refusée")
