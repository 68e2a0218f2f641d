"""The directory's pickers in a real browser (issue 13), against a directory larger than a
picker's page: a counsellor records a consent by searching organisations as she types and
ticking them, then orients the person — types part of an organisation's name, picks it with the
keyboard, reads its service's sheet and delays, sends the referral — and finds people as she
types in the person search (POST: nothing in the URL), page 2 included. axe-core checks every
state (0 serious, critical or moderate violation)."""

import pytest

from parcours.models import Consent, Referral, ReferralStatus, Role
from tests.factories import (
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ServiceFactory,
    UserFactory,
)

from .browser import check_accessibility, follow_link, log_in, shot, tick, tick_for_all

pytestmark = pytest.mark.django_db(transaction=True)

SEARCH_LABEL = "Nom de l'organisme ou d'un de ses services"


def test_pick_organisations_by_search_for_a_consent_and_a_referral(live_server, new_page):
    base = live_server.url
    agency = OrganisationFactory(name="France Travail Lens")
    jardins = OrganisationFactory(siae=True, name="Les Jardins du Bassin")
    maraichage = ServiceFactory(
        organisation=jardins,
        name="Chantier maraîchage",
        description="Culture de légumes biologiques, 26 heures par semaine.",
        eligibility="Personne éligible au PASS IAE, sans condition de diplôme.",
        barriers_addressed=["mobility"],
        usual_delay_days=12,
    )
    ccas = OrganisationFactory(kind="ccas", name="CCAS de Lens")
    for n in range(30):  # more than a picker shows
        OrganisationFactory(kind="association", name=f"Association du Bassin {n:02d}")
    counsellor = UserFactory(first_name="Camille", last_name="Durand")
    MembershipFactory(user=counsellor, organisation=agency, role=Role.COUNSELLOR)
    person = PersonFactory(first_name="Léa", last_name="Martin")
    pathway = PathwayFactory(person=person, owner_organisation=agency, referent=counsellor)

    page = new_page()
    log_in(page, base, counsellor)
    page.goto(f"{base}/personnes/{person.pk}/")
    assert "Association du Bassin" not in page.content()  # the directory is not embedded
    check_accessibility(page, "fiche personne")

    # 1. A consent naming two organisations found by search.
    page.get_by_text("Enregistrer un accord de la personne").click()
    search = page.get_by_label(SEARCH_LABEL)
    search.press_sequentially("jard", delay=40)
    status = page.locator("#accord-organismes-statut")
    status.get_by_text("1 organisme(s) trouvé(s).").wait_for()  # as she types, no button
    assert page.url == f"{base}/personnes/{person.pk}/"  # nothing typed went into a URL
    check_accessibility(page, "accord : recherche d'organismes")
    tick(page, "Les Jardins du Bassin")
    search.fill("")
    search.press_sequentially("ccas", delay=40)
    page.get_by_label("CCAS de Lens").wait_for()
    # The organisation already ticked stays ticked, above what the new search found.
    assert page.get_by_label("Les Jardins du Bassin").is_checked()
    tick(page, "CCAS de Lens")
    tick_for_all(page, "Identité")
    tick_for_all(page, "Parcours, orientations et rendez-vous")
    # Social data with the CCAS only: its own boxes, shown under its name once ticked.
    page.locator(f"input[name=partage_{ccas.pk}]").and_(
        page.get_by_label("Diagnostic social et freins périphériques")
    ).check(force=True)
    check_accessibility(page, "accord : deux organismes cochés")
    shot(page, "accord-recherche-organismes")
    page.get_by_role("button", name="Enregistrer l'accord").click()
    page.get_by_text("L'accord de la personne est enregistré").wait_for()
    common, social = Consent.objects.filter(person=person).order_by("pk")
    assert set(common.organisations.all()) == {jardins, ccas}
    assert common.categories == ["identity", "pathway"]
    assert (list(social.organisations.all()), social.categories) == ([ccas], ["social"])

    # 2. A referral: part of the name, picked with the keyboard, the service's sheet, sent.
    follow_link(page, "Orienter la personne")
    check_accessibility(page, "formulaire d'orientation")
    page.get_by_label(SEARCH_LABEL).press_sequentially("bass", delay=40)
    status = page.locator("#orientation-organisme-statut")
    status.get_by_text("Plus de 20 organismes").wait_for()
    page.get_by_label("Type d'organisme").select_option("siae")  # narrowed by a filter
    status.get_by_text("1 organisme(s) trouvé(s).").wait_for()
    page.get_by_label(SEARCH_LABEL).press("Enter")  # searches again; never sends the form
    radio = page.get_by_role("radio", name="Les Jardins du Bassin")
    radio.wait_for()
    check_accessibility(page, "orientation : organismes trouvés")
    radio.focus()
    page.keyboard.press("Space")
    page.get_by_text("Délais convenus avec Les Jardins du Bassin").wait_for()  # htmx
    sheet = page.locator("#fiche-organisme")
    assert "Culture de légumes biologiques" in sheet.inner_text()
    assert "Personne éligible au PASS IAE" in sheet.inner_text()
    assert "Mobilité" in sheet.inner_text()
    check_accessibility(page, "orientation : fiche de l'organisme")
    page.get_by_role("radio", name="Chantier maraîchage").check(force=True)
    page.get_by_label("Type d'orientation").select_option("substitution")
    page.get_by_label("Motif de l'orientation").fill("Reprise d'activité en chantier d'insertion")
    shot(page, "formulaire-orientation-recherche")
    assert Referral.objects.count() == 0
    page.get_by_role("button", name="Envoyer l'orientation").click()
    page.get_by_text("envoyée.").wait_for()
    referral = Referral.objects.get(pathway=pathway)
    assert (referral.receiver_organisation, referral.receiver_service) == (jardins, maraichage)
    assert referral.status == ReferralStatus.SENT


def test_person_search_as_you_type(live_server, new_page):
    base = live_server.url
    agency = OrganisationFactory(name="France Travail Lens")
    counsellor = UserFactory()
    MembershipFactory(user=counsellor, organisation=agency, role=Role.COUNSELLOR)
    for n in range(25):  # two pages of 20
        PathwayFactory(
            person=PersonFactory(first_name=f"Inès{n}", last_name="Martin"),
            owner_organisation=agency,
        )
    elsewhere = OrganisationFactory(mission_locale=True, name="Mission locale d'Arras")
    PathwayFactory(
        person=PersonFactory(first_name="Marc", last_name="Martinez"), owner_organisation=elsewhere
    )

    page = new_page()
    log_in(page, base, counsellor)
    follow_link(page, "Personnes")
    check_accessibility(page, "recherche de personnes")
    requests = []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    page.get_by_label("Nom (début)").press_sequentially("mart", delay=40)
    page.locator("#resultats caption", has_text="25 personne(s) trouvée(s)").wait_for()  # typed
    assert "Martinez" not in page.content()  # another organisation's
    check_accessibility(page, "recherche de personnes : résultats")
    page.get_by_role("button", name="Page suivante").click()
    page.get_by_text("2 / 2").wait_for()
    assert page.locator("#resultats tbody tr").count() == 5
    check_accessibility(page, "recherche de personnes : page 2")
    searches = [(m, u) for m, u in requests if "/personnes/" in u]
    assert searches and all(m == "POST" and u == f"{base}/personnes/" for m, u in searches)
