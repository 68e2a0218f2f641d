"""A partnership agreement is a legal basis for the categories it lists, between its parties."""

import datetime as dt

import pytest

from parcours import access
from parcours.errors import InvalidInput
from parcours.models import Role
from parcours.services.agreement import agreement_create
from parcours.tasks import access_recompute_owned_by
from tests.factories import CareTeamMemberFactory, OrganisationFactory, PathwayFactory

pytestmark = pytest.mark.django_db


def test_agreement_categories_become_a_basis_for_the_parties(
    make_actor, django_capture_on_commit_callbacks
):
    owner = make_actor(role=Role.MANAGER)
    plie = OrganisationFactory(kind="plie")  # no legal basis of its own
    pathway = PathwayFactory(owner_organisation=owner.organisation)
    CareTeamMemberFactory(pathway=pathway, organisation=plie)
    plie_counsellor = make_actor(organisation=plie)
    assert access.categories_for(plie_counsellor, [pathway.pk])[pathway.pk] == frozenset()

    with django_capture_on_commit_callbacks() as callbacks:
        agreement = agreement_create(
            actor=owner,
            party_ids=[owner.organisation.pk, plie.pk],
            name="Convention PLIE",
            level="local",
            starts_on=dt.date(2025, 1, 1),
            shared_categories=["identity", "pathway", "social"],
        )
    assert len(callbacks) == 1  # the parties' pathways are recomputed after commit
    assert access_recompute_owned_by([owner.organisation.pk, plie.pk]) == 1

    seen = access.categories_for(plie_counsellor, [pathway.pk])[pathway.pk]
    assert seen == {"identity", "pathway", "social"}
    assert access.basis_for(plie_counsellor, pathway.pk, ["social"]) == f"agreement:{agreement.pk}"


@pytest.mark.parametrize("category", ["health", "justice"])
def test_an_agreement_never_covers_health_or_justice(make_actor, category):
    owner = make_actor(role=Role.MANAGER)
    with pytest.raises(InvalidInput) as refused:
        agreement_create(
            actor=owner,
            party_ids=[owner.organisation.pk, OrganisationFactory().pk],
            name="Convention",
            level="local",
            starts_on=dt.date(2025, 1, 1),
            shared_categories=["identity", category],
        )
    assert "santé ni la justice" in refused.value.message
