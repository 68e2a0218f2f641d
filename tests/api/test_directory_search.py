"""The partner directory's search in the API is the pages' (parcours/selectors/directory.py):
by an organisation's name or one of its active services' names, and by a barrier a service
addresses — so a partner's system finds what a counsellor finds in the pickers."""

import pytest

from tests.factories import OrganisationFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def directory():
    gardens = OrganisationFactory(siae=True, name="Les Jardins du Bassin")
    ServiceFactory(
        organisation=gardens, name="Chantier maraîchage", barriers_addressed=["mobility"]
    )
    ServiceFactory(
        organisation=gardens,
        name="Atelier fermé",
        barriers_addressed=["housing"],
        is_active=False,
    )
    return {"gardens": gardens, "other": OrganisationFactory(name="CCAS de Lens")}


def _names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {o["name"] for o in response.json()["results"]}


def test_by_a_service_name_or_the_organisation_s(counsellor, client_for, directory):
    client = client_for(counsellor)
    assert _names(client.get("/api/v1/organisations/", {"q": "maraîch"})) == {
        "Les Jardins du Bassin"
    }
    assert _names(client.get("/api/v1/organisations/", {"q": "ccas"})) == {"CCAS de Lens"}
    # An inactive service is not searched, as in the pickers.
    assert _names(client.get("/api/v1/organisations/", {"q": "Atelier fermé"})) == set()


def test_by_a_barrier_an_active_service_addresses(counsellor, client_for, directory):
    client = client_for(counsellor)
    assert _names(client.get("/api/v1/organisations/", {"barrier": "mobility"})) == {
        "Les Jardins du Bassin"
    }
    assert _names(client.get("/api/v1/organisations/", {"barrier": "housing"})) == set()


def test_an_unknown_barrier_is_a_french_400(counsellor, client_for, directory):
    response = client_for(counsellor).get("/api/v1/organisations/", {"barrier": "teleportation"})
    assert response.status_code == 400
    assert "choix valide" in str(response.json()["barrier"])


@pytest.mark.parametrize(
    "typed", ["maraichage", "MARAÎCHAGE", "jardins du bassin", "JARDÎNS", "Maraîch"]
)
def test_accents_and_case_do_not_matter(counsellor, client_for, directory, typed):
    # A counsellor types « maraichage » on a keyboard without accents, or in capitals.
    assert _names(client_for(counsellor).get("/api/v1/organisations/", {"q": typed})) == {
        "Les Jardins du Bassin"
    }


def test_an_accented_name_is_found_without_its_accents(counsellor, client_for, directory):
    OrganisationFactory(name="École de la deuxième chance de Créteil")
    client = client_for(counsellor)
    for typed in ("ecole", "creteil", "DEUXIEME", "Créteil"):
        assert _names(client.get("/api/v1/organisations/", {"q": typed})) == {
            "École de la deuxième chance de Créteil"
        }
    # A percent sign or an underscore is a letter typed, not a wildcard.
    assert _names(client.get("/api/v1/organisations/", {"q": "%"})) == set()


def test_the_name_filter_ignores_accents_too(counsellor, client_for, directory):
    response = client_for(counsellor).get("/api/v1/organisations/", {"name": "JARDINS DU BASSIN"})
    assert _names(response) == {"Les Jardins du Bassin"}
