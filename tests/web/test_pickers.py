"""The directory's pickers (issue 13): the consent and referral forms show the organisations
picked and a search (never the whole directory), htmx refreshes the results as the user types,
the chosen organisation's sheet shows its services and delays, and the forms still post the
picked ids — with JavaScript or without. The person search answers as the user types too: by
POST, within scope, journaled."""

import pytest
from django.test import Client
from django.urls import reverse

from parcours.models import AccessEvent, Consent, Referral, Role
from parcours.selectors.directory import PICKER_LIMIT
from tests.factories import (
    AgreementFactory,
    EmploymentAreaFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ServiceFactory,
    UserFactory,
)

from .test_pages import World, client_of

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
PICKER = reverse("web:directory-organisations")


@pytest.fixture
def world():
    world = World()
    world.area = EmploymentAreaFactory(name="Bassin de Béthune")
    world.jardins = ServiceFactory(
        organisation=world.siae,
        name="Chantier maraîchage",
        description="Culture de légumes biologiques, 26 h par semaine.",
        eligibility="Personne éligible au PASS IAE.",
        barriers_addressed=["mobility", "isolation"],
        usual_delay_days=12,
    )
    # A directory larger than a picker's page, all named alike.
    world.crowd = [
        OrganisationFactory(kind="association", name=f"Association Solidarité {n:02d}")
        for n in range(PICKER_LIMIT + 5)
    ]
    world.ccas = OrganisationFactory(
        kind="ccas", name="CCAS de Béthune", employment_area=world.area
    )
    ServiceFactory(
        organisation=world.ccas, name="Accès au logement", barriers_addressed=["housing"]
    )
    return world


def _journal_after(before: int):
    return list(AccessEvent.objects.filter(id__gt=before).order_by("id"))


def _last_event() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


# --- The organisation picker ------------------------------------------------------------------


def test_anonymous_asking_the_picker_goes_to_the_login_page(world):
    for url in (PICKER, reverse("web:directory-organisation", args=[world.siae.pk])):
        response = Client().get(url, {"annuaire-q": "jard"}, headers=HTMX)
        assert response.status_code == 302
        assert response.url.startswith("/connexion/?next=")


def test_a_user_without_membership_gets_the_403_page_from_the_picker(world):
    response = client_of(UserFactory()).get(PICKER, {"annuaire-q": "jard"}, headers=HTMX)
    assert response.status_code == 403
    assert "aucune organisation" in response.content.decode()


def test_the_picker_finds_by_name_or_service_and_journals_nothing(world):
    before = _last_event()
    client = client_of(world.me)
    fragment = client.get(
        PICKER, {"annuaire-q": "JARD", "champ": "receiver_organisation"}, headers=HTMX
    ).content.decode()
    assert "<main" not in fragment  # a fragment, not a page
    assert f'name="receiver_organisation" value="{world.siae.pk}"' in fragment
    assert 'type="radio"' in fragment
    assert "Structure d&#x27;insertion par l&#x27;activité économique" in fragment  # kind, in words
    assert "Chantier maraîchage" in fragment
    assert "1 organisme(s) trouvé(s)." in fragment
    assert 'hx-swap-oob="innerHTML"' in fragment  # the status a screen reader hears
    # By one of its services' names, whatever the case and wherever in the name.
    fragment = client.get(
        PICKER, {"annuaire-q": "maraî", "champ": "organisations"}, headers=HTMX
    ).content.decode()
    assert f'type="checkbox" id="accord-organismes-{world.siae.pk}"' in fragment
    assert _journal_after(before) == []  # the directory holds no personal data


def test_the_picker_filters_by_area_kind_and_barrier(world):
    client = client_of(world.me)

    def found(**filters) -> str:
        data = {f"annuaire-{k}": v for k, v in filters.items()} | {"champ": "organisations"}
        return client.get(PICKER, data, headers=HTMX).content.decode()

    by_area = found(area=world.area.pk)
    assert "CCAS de Béthune" in by_area and "Chantier Les Jardins" not in by_area
    by_kind = found(kind="siae")
    assert "Chantier Les Jardins" in by_kind and "CCAS de Béthune" not in by_kind
    by_barrier = found(barrier="mobility")
    assert "Chantier Les Jardins" in by_barrier and "CCAS de Béthune" not in by_barrier
    assert "Aucun organisme ne correspond" in found(q="jardins", barrier="housing")


def test_the_picker_shows_a_page_at_most_and_never_the_acting_organisation(world):
    client = client_of(world.me)
    fragment = client.get(
        PICKER, {"annuaire-q": "solidarité", "champ": "organisations"}, headers=HTMX
    ).content.decode()
    assert fragment.count('name="organisations"') == PICKER_LIMIT  # the organisations listed
    assert f"Plus de {PICKER_LIMIT} organismes correspondent" in fragment
    fragment = client.get(
        PICKER, {"annuaire-q": "France Travail", "champ": "organisations"}, headers=HTMX
    ).content.decode()
    assert "France Travail Lens" not in fragment  # the acting organisation


def test_what_the_form_holds_stays_picked_whatever_the_search(world):
    picked = world.crowd[-1]
    fragment = (
        client_of(world.me)
        .get(
            PICKER,
            {"annuaire-q": "jardins", "champ": "organisations", "organisations": [picked.pk]},
            headers=HTMX,
        )
        .content.decode()
    )
    assert f'value="{picked.pk}" checked' in fragment  # kept, though the search is another
    assert f'value="{world.siae.pk}"' in fragment and f'value="{world.siae.pk}" checked' not in (
        fragment
    )
    assert fragment.index(picked.name) < fragment.index("Chantier Les Jardins")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"annuaire-area": "abc"}, "La recherche n&#x27;a pas pu être faite"),
        ({"annuaire-kind": "banque"}, "La recherche n&#x27;a pas pu être faite"),
        ({"annuaire-q": "x" * 101}, "La recherche n&#x27;a pas pu être faite"),
        ({"annuaire-q": "jard", "organisations": ["abc", "-1", "9" * 30, "²", "١٢"]}, "trouvé"),
        ({"annuaire-q": "jard", "champ": "<script>"}, "Chantier Les Jardins"),
    ],
)
def test_bad_input_to_the_picker_is_answered_in_french(world, data, says):
    data = {"champ": "organisations"} | data
    for headers in (HTMX, {}):
        response = client_of(world.me).get(PICKER, data, headers=headers)
        assert response.status_code == 200
        assert says in response.content.decode()
        assert "<script>" not in response.content.decode().split("</header>")[-1]


def test_the_directory_page_works_without_javascript(world):
    page = (
        client_of(world.me)
        .get(PICKER, {"annuaire-q": "jardins", "champ": "organisations"})
        .content.decode()
    )
    assert "<h1>Annuaire des partenaires</h1>" in page
    sheet = reverse("web:directory-organisation", args=[world.siae.pk])
    assert f'href="{sheet}"' in page
    assert 'name="organisations"' not in page and 'type="radio"' not in page


# --- The organisation's sheet -----------------------------------------------------------------


def test_the_sheet_shows_services_eligibility_barriers_and_delays(world):
    url = reverse("web:directory-organisation", args=[world.siae.pk])
    fragment = (
        client_of(world.me).get(url, {"champ": "receiver_service"}, headers=HTMX).content.decode()
    )
    assert f'name="receiver_service" value="{world.jardins.pk}"' in fragment
    assert "Culture de légumes biologiques" in fragment
    assert "Personne éligible au PASS IAE." in fragment
    assert "Mobilité, Isolement" in fragment and "mobility" not in fragment
    assert "Premier rendez-vous habituellement sous 12 jours" in fragment
    assert "Délais convenus avec Chantier Les Jardins" in fragment
    assert "Délais par défaut" in fragment
    # The page of its own, without JavaScript: the same sheet, no form field.
    page = client_of(world.me).get(url).content.decode()
    assert "<h1>Chantier Les Jardins</h1>" in page and "Culture de légumes" in page
    assert 'name="receiver_service"' not in page


def test_the_sheet_gives_the_agreement_delays_in_force(world):
    agreement = AgreementFactory(
        parties=[world.home, world.siae],
        acknowledge_within_working_days=2,
        first_appointment_within_days=9,
    )
    url = reverse("web:directory-organisation", args=[world.siae.pk])
    fragment = client_of(world.me).get(url, headers=HTMX).content.decode()
    assert agreement.pk
    assert "Selon la convention de partenariat en vigueur" in fragment
    assert "réponse sous 2 jours ouvrés" in fragment
    assert "premier rendez-vous sous 9 jours" in fragment


def test_a_missing_organisation_has_no_sheet(world):
    url = reverse("web:directory-organisation", args=[world.ccas.pk + 1000])
    response = client_of(world.me).get(url, headers=HTMX)
    assert response.status_code == 404


# --- The consent form -------------------------------------------------------------------------


def test_the_person_page_no_longer_embeds_the_directory(world):
    page = client_of(world.me).get(reverse("web:person-detail", args=[world.person.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Association Solidarité" not in html  # no organisation of the directory as such
    # The consent form is loaded when its section opens (htmx), or opened by a link without
    # JavaScript: the page carries neither its picker nor its categories.
    form_url = reverse("web:consent-create", args=[world.person.pk])
    assert f'hx-get="{form_url}" hx-trigger="toggle once"' in html
    assert f'<a class="fr-link" href="{form_url}">Ouvrir le formulaire d\'accord</a>' in html
    assert 'name="organisations"' not in html


def test_the_consent_form_suggests_the_pathway_partners_and_journals_them(world):
    url = reverse("web:consent-create", args=[world.person.pk])
    before = AccessEvent.objects.count()
    fragment = client_of(world.me).get(url, headers=HTMX)
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert "<html" not in html  # the fragment htmx puts into the section
    assert "Association Solidarité" not in html
    # Before any search: the partners of the pathway's referrals (the SIAE), not ticked.
    assert f'type="checkbox" id="accord-organismes-{world.siae.pk}"' in html
    assert f'value="{world.siae.pk}" checked' not in html
    assert html.count('name="organisations"') == 1
    assert "Léa" not in html  # the fragment does not name the person
    read = AccessEvent.objects.order_by("-id").first()
    assert AccessEvent.objects.count() == before + 1  # the partners suggested are the pathway's
    assert (read.operation, read.object_type, read.object_id) == (
        "read",
        "person",
        world.person.pk,
    )
    assert read.categories == ["pathway"]


def test_the_consent_form_has_a_page_of_its_own_without_javascript(world):
    page = client_of(world.me).get(reverse("web:consent-create", args=[world.person.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h1>Enregistrer un accord de Léa Martin</h1>" in html
    assert f'type="checkbox" id="accord-organismes-{world.siae.pk}"' in html
    read = AccessEvent.objects.order_by("-id").first()
    assert sorted(read.categories) == ["identity", "pathway"]


def test_the_consent_form_is_not_found_out_of_scope(world):
    url = reverse("web:consent-create", args=[world.foreign_pathway.person_id])
    for headers in ({}, HTMX):
        response = client_of(world.me).get(url, headers=headers)
        assert response.status_code == 404
        assert 'name="organisations"' not in response.content.decode()


def test_a_consent_naming_organisations_found_by_search_is_recorded(world):
    picked = [world.ccas.pk, world.crowd[3].pk]
    response = client_of(world.me).post(
        reverse("web:consent-create", args=[world.person.pk]),
        {
            "organisations": picked,
            "categories": ["contact"],
            "purpose": "Accès au logement",
            "evidence_kind": "oral",
            "annuaire-q": "solidarité",  # the search the user typed is sent along, harmless
        },
    )
    assert response.status_code == 302
    consent = Consent.objects.get(purpose="Accès au logement")
    assert sorted(consent.organisations.values_list("pk", flat=True)) == sorted(picked)


def test_the_consent_search_without_javascript_keeps_what_was_typed(world):
    before = Consent.objects.count()
    response = client_of(world.me).post(
        reverse("web:consent-create", args=[world.person.pk]),
        {
            "rechercher": "organisations",
            "annuaire-q": "béthune",
            "organisations": [world.crowd[0].pk],
            "categories": ["contact"],
            "purpose": "Logement d'urgence",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert Consent.objects.count() == before  # a search saves nothing
    assert '<details class="fr-mb-3w" id="accord-nouveau" open>' in page
    assert f'value="{world.ccas.pk}"' in page  # found
    assert f'value="{world.crowd[0].pk}" checked' in page  # still picked
    assert 'value="Logement d&#x27;urgence"' in page  # what was typed
    assert 'value="contact" checked' in page
    assert "Ce champ est obligatoire." not in page  # not validated yet


def test_a_consent_with_an_unknown_organisation_is_a_french_error(world):
    response = client_of(world.me).post(
        reverse("web:consent-create", args=[world.person.pk]),
        {
            "organisations": ["abc"],
            "categories": ["contact"],
            "purpose": "Coordination",
            "evidence_kind": "oral",
        },
    )
    assert response.status_code == 400
    assert "n’est pas une valeur correcte" in response.content.decode() or (
        "valeur correcte" in response.content.decode()
    )


# --- The referral form ------------------------------------------------------------------------


def _referral_url(world) -> str:
    return reverse("web:referral-create", args=[world.pathway.pk])


def test_the_referral_form_lists_no_organisation_before_a_search(world):
    html = client_of(world.me).get(_referral_url(world)).content.decode()
    assert "Association Solidarité" not in html and "Chantier Les Jardins" not in html
    assert "Saisissez une partie du nom" in html
    assert 'name="receiver_organisation"' not in html  # nothing to pick yet
    html = client_of(world.me).get(_referral_url(world), {"annuaire-q": "jard"}).content.decode()
    assert f'type="radio" id="orientation-organisme-{world.siae.pk}"' in html


def test_a_referral_to_an_organisation_and_service_found_by_search_is_sent(world):
    target = OrganisationFactory(name="France Travail Arras")
    service = ServiceFactory(organisation=target, name="Inscription")
    response = client_of(world.me).post(
        _referral_url(world),
        {
            "annuaire-q": "arras",
            "receiver_organisation": target.pk,
            "receiver_service": service.pk,
            "kind": "substitution",
            "reason": "Inscription comme demandeur d'emploi",
        },
    )
    assert response.status_code == 302
    referral = Referral.objects.get(receiver_organisation=target)
    assert referral.receiver_service == service


def test_the_referral_search_without_javascript_shows_the_picked_sheet(world):
    before = Referral.objects.count()
    response = client_of(world.me).post(
        _referral_url(world),
        {
            "rechercher": "receiver_organisation",
            "annuaire-q": "jardins",
            "receiver_organisation": world.siae.pk,
            "reason": "Remobilisation",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert Referral.objects.count() == before
    assert f'value="{world.siae.pk}" checked' in page
    assert f'name="receiver_service" value="{world.jardins.pk}"' in page  # its sheet
    assert "Délais convenus avec Chantier Les Jardins" in page
    assert "Remobilisation</textarea>" in page
    assert "Ce champ est obligatoire." not in page


@pytest.mark.parametrize("value", ["abc", "", "0", "99999999999999999999", "²", "١٢"])
def test_a_referral_to_no_valid_organisation_is_a_french_error(world, value):
    response = client_of(world.me).post(
        _referral_url(world),
        {"receiver_organisation": value, "kind": "substitution", "reason": "Motif"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Ce champ est obligatoire." in page or "Sélectionnez un choix valide" in page
    assert not Referral.objects.filter(reason="Motif").exists()


def test_a_service_of_another_organisation_is_refused(world):
    target = OrganisationFactory(name="France Travail Arras")
    response = client_of(world.me).post(
        _referral_url(world),
        {
            "receiver_organisation": target.pk,
            "receiver_service": world.jardins.pk,
            "kind": "substitution",
            "reason": "Motif",
        },
    )
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not Referral.objects.filter(reason="Motif").exists()


# --- The person search as the user types -------------------------------------------------------


SEARCH = reverse("web:person-search")


def test_anonymous_searching_as_they_type_goes_to_the_login_page(world):
    response = Client().post(SEARCH, {"last_name": "Mar"}, headers=HTMX)
    assert response.status_code == 302 and response.url.startswith("/connexion/?next=")


def test_the_search_fragment_lists_and_journals_the_persons_in_scope(world):
    before = _last_event()
    response = client_of(world.me).post(SEARCH, {"last_name": "Mar"}, headers=HTMX)
    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<main" not in fragment and "Martin" in fragment
    assert "1 personne(s) trouvée(s)" in fragment
    (row,) = _journal_after(before)
    assert (row.operation, row.object_type, row.object_ids) == ("list", "person", [world.person.pk])
    assert row.categories == ["identity"]
    assert row.user_id == world.me.pk and row.detail["door"] == "page"


def test_the_search_fragment_never_returns_a_person_out_of_scope(world):
    hidden = PersonFactory(first_name="Marc", last_name="Martinez")
    PathwayFactory(person=hidden, owner_organisation=world.elsewhere)
    before = _last_event()
    fragment = client_of(world.me).post(SEARCH, {"last_name": "Mar"}, headers=HTMX).content.decode()
    assert "Martin" in fragment and "Martinez" not in fragment
    (row,) = _journal_after(before)
    assert row.object_ids == [world.person.pk]
    # The organisation that holds Martinez sees him, never Léa Martin.
    before = _last_event()
    fragment = (
        client_of(world.stranger).post(SEARCH, {"last_name": "Mar"}, headers=HTMX).content.decode()
    )
    assert "Martinez" in fragment and "Léa" not in fragment
    assert [r.object_ids for r in _journal_after(before)] == [[hidden.pk]]


def test_a_manager_searching_as_they_type_sees_no_one(world):
    manager = MembershipFactory(organisation=world.home, role=Role.MANAGER).user
    fragment = client_of(manager).post(SEARCH, {"last_name": "Mar"}, headers=HTMX)
    assert "Martin" not in fragment.content.decode()


def test_the_search_as_you_type_posts_and_says_what_is_wrong(world):
    page = client_of(world.me).get(SEARCH).content.decode()
    assert f'hx-post="{SEARCH}"' in page and "hx-get" not in page.split("<main")[-1]
    fragment = (
        client_of(world.me)
        .post(SEARCH, {"birth_date": "31/02/1990"}, headers=HTMX)
        .content.decode()
    )
    assert "La recherche n'a pas pu être faite" in fragment
    assert "Saisissez une date valide." in fragment


def test_a_search_whose_only_match_is_already_picked_says_so(db):
    """After a consent form came back with an error, « Jardins » still typed and Les Jardins
    ticked: the picker said « Aucun organisme ne correspond », which read as if it were not
    found."""
    from parcours.actor import Actor
    from parcours.models import Role
    from tests.factories import MembershipFactory, OrganisationFactory
    from web.views.directory import build_picker

    home = OrganisationFactory(name="France Travail Lens")
    gardens = OrganisationFactory(siae=True, name="Les Jardins du Bassin")
    user = MembershipFactory(organisation=home, role=Role.COUNSELLOR).user
    actor = Actor(user=user, organisation=home, role=Role.COUNSELLOR)
    picker = build_picker(
        actor,
        field_name="organisations",
        data={"annuaire-q": "Jardins"},
        picked=[str(gardens.pk)],
    )
    assert [o.pk for o in picker.picked] == [gardens.pk]
    assert picker.status == "Aucun autre organisme ne correspond à cette recherche."
