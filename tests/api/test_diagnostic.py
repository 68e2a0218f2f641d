"""The shared diagnostic through the API: GET lists the domains of the categories the actor sees
(current version and previous ones), journaled as a read of those categories; POST writes a new
version. Every field answered has a category in parcours/categories.py."""

import pytest

from parcours.categories import (
    DIAGNOSTIC_DOMAIN_FIELDS,
    DIAGNOSTIC_FIELDS,
    DIAGNOSTIC_VERSION_FIELDS,
)
from parcours.models import AccessEvent
from tests.factories import CareTeamMemberFactory, ConsentFactory, PathwayFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pathway(world):
    return PathwayFactory(owner_organisation=world.home)


def _url(pathway) -> str:
    return f"/api/v1/pathways/{pathway.pk}/diagnostic/"


def test_a_partner_reads_the_versions_written_and_adds_its_own(world, client_for, pathway):
    owner = client_for(world.me)
    written = owner.post(
        _url(pathway), {"domain": "housing", "text": "Hébergée chez sa sœur", "level": "blocking"}
    )
    assert written.status_code == 201, written.content
    CareTeamMemberFactory(pathway=pathway, organisation=world.siae)
    ConsentFactory(
        person=pathway.person,
        organisations=[world.siae],
        categories=["identity", "pathway", "social"],
    )
    partner = client_for(world.siae_counsellor)
    second = partner.post(_url(pathway), {"domain": "housing", "text": "Logement social attribué"})
    assert second.status_code == 201, second.content

    body = owner.get(_url(pathway)).json()
    assert set(body) == set(DIAGNOSTIC_FIELDS)
    housing = next(d for d in body["domains"] if d["domain"] == "housing")
    assert set(housing) == set(DIAGNOSTIC_DOMAIN_FIELDS)
    assert set(housing["current"]) == set(DIAGNOSTIC_VERSION_FIELDS)
    assert housing["category"] == "social"
    assert housing["current"]["text"] == "Logement social attribué"
    assert housing["current"]["level"] == ""
    assert housing["current"]["author_organisation"]["id"] == world.siae.pk
    assert [v["text"] for v in housing["previous_versions"]] == ["Hébergée chez sa sœur"]
    assert [v["level"] for v in housing["previous_versions"]] == ["blocking"]
    # Owner (legal basis): identity, contact, pathway and social — no health, no justice.
    assert [d["domain"] for d in body["domains"]] == [
        "professional_project",
        "training",
        "mobility",
        "housing",
        "budget",
        "family",
        "access_to_rights",
        "digital",
    ]
    row = AccessEvent.objects.order_by("-id").first()
    assert (row.operation, row.object_type, row.object_id) == ("read", "pathway", pathway.pk)
    assert row.categories == ["pathway", "social"]
    assert row.detail["action"] == "diagnostic.read"


def test_a_partner_without_the_category_neither_reads_nor_writes_the_domain(
    world, client_for, pathway
):
    client_for(world.me).post(_url(pathway), {"domain": "housing", "text": "Hébergée chez sa sœur"})
    CareTeamMemberFactory(pathway=pathway, organisation=world.siae)
    ConsentFactory(
        person=pathway.person, organisations=[world.siae], categories=["identity", "pathway"]
    )
    partner = client_for(world.siae_counsellor)
    body = partner.get(_url(pathway)).json()
    assert [d["domain"] for d in body["domains"]] == ["professional_project", "training"]
    assert "Hébergée" not in str(body)
    refused = partner.post(_url(pathway), {"domain": "housing", "text": "Autre chose"})
    assert refused.status_code == 404


def test_a_manager_is_refused_in_french(world, client_for, pathway):
    response = client_for(world.manager).post(
        _url(pathway), {"domain": "professional_project", "text": "Vise la logistique"}
    )
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Seuls les conseillers et travailleurs sociaux rédigent le diagnostic partagé."
    )
