"""What the person agrees to share, category by category (issue 13): the consent form's
categories for every organisation picked and each picked organisation's own; the service
records one consent per group of categories going to the same recipients, all or nothing; the
API offers the same (POST /api/v1/consents/choices/)."""

import copy

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from parcours.actor import actor_for
from parcours.errors import InvalidInput
from parcours.models import AccessEvent, Consent, Person, Role
from parcours.services.consent import ConsentChoice, consent_groups, consent_record_choices
from tests.factories import MembershipFactory, OrganisationFactory
from tests.rows import snapshot
from tests.worlds import built_once

from .test_page_matrix import World

pytestmark = pytest.mark.django_db


class ChoicesWorld(World):
    def __init__(self):
        super().__init__()
        self.departement = OrganisationFactory(departement_council=True, name="Département 62")
        self.cap_emploi = OrganisationFactory(kind="cap_emploi", name="Cap emploi Artois")


@pytest.fixture(scope="module")
def world_template(django_db_setup, django_db_blocker):
    """Built once for the module, each test on a copy (tests/worlds.py)."""
    with built_once(django_db_blocker):
        yield ChoicesWorld()


@pytest.fixture
def world(world_template, db):
    return copy.deepcopy(world_template)


def _new_consents(world):
    return list(
        Consent.objects.filter(person=world.person)
        .exclude(pk__in=world.siae_consents)
        .order_by("pk")
    )


def _recipients(consent) -> tuple[list[str], list[int]]:
    return consent.categories, sorted(consent.organisations.values_list("pk", flat=True))


# --- the service ---------------------------------------------------------------------------------


def test_categories_going_to_the_same_recipients_make_one_consent():
    groups = consent_groups(
        [
            ConsentChoice(["pathway"], [2, 1]),
            ConsentChoice(["identity"], [1, 2]),
            ConsentChoice(["social"], [3]),
            ConsentChoice(["health"], [], ["cap_emploi"]),
            ConsentChoice(["justice"]),  # no recipient: not shared
        ]
    )
    assert groups == [
        ConsentChoice(["identity", "pathway"], [1, 2]),
        ConsentChoice(["social"], [3]),
        ConsentChoice(["health"], [], ["cap_emploi"]),
    ]


@pytest.mark.parametrize(
    "choices",
    [
        [],
        [ConsentChoice(["identity"])],
        [ConsentChoice(["identity"], [1]), ConsentChoice(["identity"], [2])],
    ],
    ids=["nothing", "no-recipient", "a-category-twice"],
)
def test_choices_that_share_nothing_or_twice_are_refused(choices):
    with pytest.raises(InvalidInput) as error:
        consent_groups(choices)
    assert "choices" in error.value.fields


def test_one_consent_per_group_in_one_call(world):
    actor = actor_for(world.me)
    consents = consent_record_choices(
        actor=actor,
        person_id=world.person.pk,
        choices=[
            ConsentChoice(["identity", "pathway"], [world.siae.pk, world.departement.pk]),
            ConsentChoice(["social"], [world.departement.pk]),
            ConsentChoice(["health"], [world.cap_emploi.pk]),
        ],
        purpose="Coordination de l'accompagnement",
        evidence_kind="oral",
    )
    assert [_recipients(c) for c in consents] == [
        (["identity", "pathway"], sorted([world.siae.pk, world.departement.pk])),
        (["social"], [world.departement.pk]),
        (["health"], [world.cap_emploi.pk]),
    ]
    writes = AccessEvent.objects.filter(operation="write", object_type="consent")
    assert sorted(writes.values_list("object_id", flat=True)) == [c.pk for c in consents]


def test_a_bad_group_writes_nothing(world):
    """The second group names an organisation that does not exist: the first group's consent,
    already saved in the transaction, is undone with it."""
    before = snapshot()
    with pytest.raises(InvalidInput) as error:
        consent_record_choices(
            actor=actor_for(world.me),
            person_id=world.person.pk,
            choices=[
                ConsentChoice(["identity"], [world.siae.pk]),
                ConsentChoice(["social"], [999_999]),
            ],
            purpose="Coordination",
            evidence_kind="oral",
        )
    assert error.value.fields == {"organisations": ["Organisation inconnue."]}
    assert snapshot() == before
    assert _new_consents(world) == []


def test_a_manager_may_not_record_choices(world):
    """A manager sees no person's identity: not found, as for the other consent writes."""
    with pytest.raises(Person.DoesNotExist):
        consent_record_choices(
            actor=actor_for(world.manager),
            person_id=world.person.pk,
            choices=[ConsentChoice(["identity"], [world.siae.pk])],
            purpose="Coordination",
            evidence_kind="oral",
        )
    assert _new_consents(world) == []


# --- the page ------------------------------------------------------------------------------------


def _post(client, world, user, data):
    client.force_login(user)
    return client.post(
        reverse("web:consent-create", args=[world.person.pk]),
        {"purpose": "Coordination de l'accompagnement", "evidence_kind": "oral", **data},
    )


def test_the_page_records_one_consent_per_group_of_categories(client, world):
    """Identity and pathway with every partner picked, social data with the département only,
    health with Cap emploi only."""
    picked = [world.siae.pk, world.departement.pk, world.cap_emploi.pk]
    response = _post(
        client,
        world,
        world.me,
        {
            "organisations": picked,
            "categories": ["identity", "pathway"],
            f"partage_{world.departement.pk}": ["social"],
            f"partage_{world.cap_emploi.pk}": ["health"],
        },
    )
    assert response.status_code == 302
    assert [_recipients(c) for c in _new_consents(world)] == [
        (["identity", "pathway"], sorted(picked)),
        (["social"], [world.departement.pk]),
        (["health"], [world.cap_emploi.pk]),
    ]
    page = client.get(response.url).content.decode()
    assert "L&#x27;accord de la personne est enregistré." in page


def test_the_picker_offers_each_organisations_own_categories(client, world):
    client.force_login(world.me)
    form_url = reverse("web:consent-create", args=[world.person.pk])
    page = client.get(form_url, headers={"HX-Request": "true"}).content.decode()
    # The pathway's partner is suggested with its boxes (shown once it is ticked).
    assert f'name="partage_{world.siae.pk}" value="health"' in page
    assert f"En plus, avec {world.siae.name} seulement" in page


def test_errors_are_french_and_keep_the_organisations_and_their_categories(client, world):
    before = snapshot()
    response = _post(
        client,
        world,
        world.me,
        {
            "organisations": [world.siae.pk, world.departement.pk],
            f"partage_{world.departement.pk}": ["social"],
            "purpose": "",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Choisissez au moins une catégorie partagée avec « Chantier Les Jardins »." in page
    assert "Ce champ est obligatoire." in page  # the purpose
    assert f'value="{world.siae.pk}" checked' in page
    assert f'value="{world.departement.pk}" checked' in page
    assert f'name="partage_{world.departement.pk}" value="social" checked' in page
    assert snapshot() == before


def test_a_partner_records_choices_too_and_a_stranger_finds_nothing(client, world):
    response = _post(
        client,
        world,
        world.receiver,
        {
            "organisations": [world.siae.pk],
            f"partage_{world.siae.pk}": ["contact"],
        },
    )
    assert response.status_code == 302
    assert [_recipients(c) for c in _new_consents(world)] == [(["contact"], [world.siae.pk])]
    before = snapshot()
    response = _post(
        client,
        world,
        world.stranger,
        {"organisations": [world.siae.pk], "categories": ["contact"]},
    )
    assert response.status_code == 404
    assert snapshot() == before


# --- kinds of organisation on the page -----------------------------------------------------------


def _kinds_of(consent) -> tuple[list[str], list[int], list[str]]:
    return (*_recipients(consent), consent.organisation_kinds)


def _consent_list(page: str) -> str:
    """The person page's list of consents (its section, before the form)."""
    start = page.index("Accords de la personne</h2>")
    return page[start : page.index("Enregistrer un accord de la personne", start)]


def test_the_page_records_kinds_with_the_categories_for_all(client, world):
    """The kinds ticked go with the categories shared with every recipient, as the API's
    `organisation_kinds`; a category ticked under one organisation's name stays its own."""
    response = _post(
        client,
        world,
        world.me,
        {
            "organisations": [world.siae.pk],
            "organisation_kinds": ["mission_locale", "cap_emploi"],
            "categories": ["identity", "pathway"],
            f"partage_{world.siae.pk}": ["social"],
        },
    )
    assert response.status_code == 302
    assert [_kinds_of(c) for c in _new_consents(world)] == [
        (["identity", "pathway"], [world.siae.pk], ["cap_emploi", "mission_locale"]),
        (["social"], [world.siae.pk], []),
    ]
    writes = AccessEvent.objects.filter(
        operation="write", object_type="consent", detail__action="consent.record"
    )
    assert sorted(writes.values_list("object_id", flat=True)) == [
        c.pk for c in _new_consents(world)
    ]
    listed = _consent_list(client.get(response.url).content.decode())
    assert (
        "Chantier Les Jardins, tout organisme de type « Cap emploi », tout organisme de type "
        "« Mission locale » — Identité, Parcours" in listed
    )
    assert "mission_locale" not in listed and "cap_emploi" not in listed


def test_a_consent_may_name_kinds_only(client, world):
    response = _post(
        client,
        world,
        world.me,
        {"organisation_kinds": ["mission_locale"], "categories": ["contact"]},
    )
    assert response.status_code == 302
    assert [_kinds_of(c) for c in _new_consents(world)] == [(["contact"], [], ["mission_locale"])]
    page = client.get(response.url).content.decode()
    listed = _consent_list(page)
    assert "accompagnement — tout organisme de type « Mission locale » — Coordonnées" in listed
    # The person's timeline says to whom too.
    timeline = page[page.index('id="chronologie"') :]
    assert "Accord de la personne donné : tout organisme de type « Mission locale »" in timeline


def test_the_form_offers_the_kinds_by_their_french_names(client, world):
    client.force_login(world.me)
    form_url = reverse("web:consent-create", args=[world.person.pk])
    page = client.get(form_url, headers={"HX-Request": "true"}).content.decode()
    assert "Types d&#x27;organisation" in page or "Types d'organisation" in page
    for code, name in (("mission_locale", "Mission locale"), ("ccas", "CCAS / CIAS")):
        assert f'name="organisation_kinds" value="{code}"' in page
        assert f">{name}</label>" in page


@pytest.mark.parametrize("who", ["manager", "stranger"])
def test_who_may_not_record_a_consent_records_no_kind_either(client, world, who):
    """A manager does not see the person's identity, a stranger not the person: not found,
    nothing written."""
    before = snapshot()
    response = _post(
        client,
        world,
        getattr(world, who),
        {"organisation_kinds": ["mission_locale"], "categories": ["contact"]},
    )
    assert response.status_code == 404
    assert snapshot() == before


def test_without_organisation_nor_kind_the_form_comes_back_in_french(client, world):
    before = snapshot()
    response = _post(
        client,
        world,
        world.me,
        {"categories": ["contact", "social"], "purpose": "Insertion", "ends_on": "2031-12-31"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    # Under the picker and under the kinds: the rule is about both.
    assert page.count("Choisissez au moins une organisation ou un type d&#x27;organisation.") == 2
    assert 'id="fieldset-id_organisation_kinds"' in page
    assert 'name="categories" value="contact" checked' in page
    assert 'name="categories" value="social" checked' in page
    assert 'value="Insertion"' in page and 'value="2031-12-31"' in page
    assert snapshot() == before


def test_kinds_without_categories_for_all_come_back_with_the_kinds_ticked(client, world):
    """The kinds receive the categories for all: none ticked, nothing to share with them (the
    categories ticked under an organisation's name are for that organisation only)."""
    before = snapshot()
    response = _post(
        client,
        world,
        world.me,
        {
            "organisations": [world.siae.pk],
            f"partage_{world.siae.pk}": ["contact"],
            "organisation_kinds": ["mission_locale", "plie"],
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Cochez les catégories que reçoivent les types d&#x27;organisation." in page
    assert 'name="organisation_kinds" value="mission_locale" checked' in page
    assert 'name="organisation_kinds" value="plie" checked' in page
    assert 'name="organisation_kinds" value="ccas" checked' not in page
    assert f'name="partage_{world.siae.pk}" value="contact" checked' in page
    assert snapshot() == before


# --- the API -------------------------------------------------------------------------------------


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def _payload(world, **changes):
    return {
        "person": world.person.pk,
        "choices": [
            {"category": "identity", "organisations": [world.siae.pk, world.departement.pk]},
            {"category": "pathway", "organisations": [world.siae.pk, world.departement.pk]},
            {"category": "social", "organisations": [world.departement.pk]},
            {"category": "health", "organisation_kinds": ["cap_emploi"]},
            {"category": "justice"},
        ],
        "purpose": "Coordination de l'accompagnement",
        "evidence_kind": "signed_form",
        **changes,
    }


def test_the_api_records_the_same_choices(world):
    response = _api(world.me).post("/api/v1/consents/choices/", _payload(world), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(c["categories"], c["organisation_kinds"]) for c in body] == [
        (["identity", "pathway"], []),
        (["social"], []),
        (["health"], ["cap_emploi"]),
    ]
    assert len(_new_consents(world)) == 3


def test_a_partner_records_choices_through_the_api(world):
    response = _api(world.receiver).post(
        "/api/v1/consents/choices/",
        _payload(world, choices=[{"category": "contact", "organisations": [world.siae.pk]}]),
        format="json",
    )
    assert response.status_code == 201, response.content
    assert _new_consents(world)[0].collected_by_organisation == world.siae


@pytest.mark.parametrize("who", ["stranger", "manager"])
def test_who_does_not_see_the_person_gets_a_404_and_nothing_is_written(world, who):
    before = snapshot()
    response = _api(getattr(world, who)).post(
        "/api/v1/consents/choices/", _payload(world), format="json"
    )
    assert response.status_code == 404
    assert snapshot() == before


def test_a_bad_group_through_the_api_is_a_400_and_writes_nothing(world):
    before = snapshot()
    payload = _payload(
        world,
        choices=[
            {"category": "identity", "organisations": [world.siae.pk]},
            {"category": "social", "organisations": [999_999]},
        ],
    )
    response = _api(world.me).post("/api/v1/consents/choices/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["organisations"] == ["Organisation inconnue."]
    assert snapshot() == before


def test_a_partner_without_relation_is_refused_even_with_a_member_of_a_role(world):
    """A counsellor of an organisation with no relation to the person: not found."""
    outsider = MembershipFactory(organisation=world.target, role=Role.COUNSELLOR).user
    response = _api(outsider).post("/api/v1/consents/choices/", _payload(world), format="json")
    assert response.status_code == 404
