"""A partnership agreement is a legal basis for the categories it lists, between its parties."""

import datetime as dt

import psycopg
import pytest

from parcours import access
from parcours.errors import InvalidInput
from parcours.models import PendingRecompute, Role
from parcours.services.access_grants import RECOMPUTE_LOCK_KEY, access_recompute_pending
from parcours.services.agreement import agreement_create
from parcours.tasks import access_recompute_owned_by
from tests.factories import CareTeamMemberFactory, OrganisationFactory, PathwayFactory
from tests.processes import database_url

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


def test_the_marks_stay_until_a_recompute_runs_and_one_runner_at_a_time(make_actor):
    """The recompute marks (PendingRecompute) are the durable side of the queued task: a run
    that finds another at work leaves them for it, a run that completes clears them."""
    owner = make_actor(role=Role.MANAGER)
    plie = OrganisationFactory(kind="plie")
    PathwayFactory(owner_organisation=owner.organisation)
    agreement_create(
        actor=owner,
        party_ids=[owner.organisation.pk, plie.pk],
        name="Convention PLIE",
        level="local",
        starts_on=dt.date(2025, 1, 1),
        shared_categories=["identity"],
    )
    marks = PendingRecompute.objects.all()
    assert set(marks.values_list("organisation_id", flat=True)) == {owner.organisation.pk, plie.pk}

    with psycopg.connect(database_url(), autocommit=True) as other_runner:
        other_runner.execute("SELECT pg_advisory_lock(%s)", [RECOMPUTE_LOCK_KEY])
        assert access_recompute_pending() == 0  # another runner is at work
        assert marks.count() == 2
        # Released explicitly: the server frees a closed session's locks a moment later.
        other_runner.execute("SELECT pg_advisory_unlock(%s)", [RECOMPUTE_LOCK_KEY])
    assert access_recompute_pending() == 1
    assert not marks.exists()
    assert access_recompute_pending() == 0  # nothing left: idempotent
