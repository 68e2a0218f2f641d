"""List endpoints run a fixed number of queries, whatever the number of rows (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parcours.models import Role
from parcours.services.pathway import pathway_add_note

from ..factories import (
    AgreementFactory,
    AppointmentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db


def _pathways(world, n):
    for _ in range(n):
        PathwayFactory(owner_organisation=world.home)


def _referrals(world, n):
    for i in range(n):
        if i % 2:
            ReferralFactory(
                pathway=PathwayFactory(owner_organisation=world.home),
                receiver_organisation=world.siae,
                sent=True,
            )
        else:
            ReferralFactory(
                pathway=PathwayFactory(owner_organisation=world.elsewhere),
                receiver_organisation=world.home,
                accepted=True,
            )


def _appointments(world, n):
    for _ in range(n):
        referral = ReferralFactory(
            pathway=PathwayFactory(owner_organisation=world.home),
            receiver_organisation=world.siae,
            appointment_set=True,
        )
        AppointmentFactory(referral=referral)


def _organisations(world, n):
    for _ in range(n):
        organisation = OrganisationFactory()
        ServiceFactory(organisation=organisation)
        ServiceFactory(organisation=organisation)


def _services(world, n):
    for _ in range(n):
        ServiceFactory(organisation=world.siae)


def _employment_areas(world, n):
    for _ in range(n):
        OrganisationFactory()  # each brings its own employment area


def _agreements(world, n):
    for _ in range(n):
        AgreementFactory(parties=[world.home, OrganisationFactory(), world.siae])


def _memberships(world, n):
    for _ in range(n):
        MembershipFactory(
            user=world.me.user, organisation=OrganisationFactory(), role=Role.COUNSELLOR
        )


def _timeline_events(world, n):
    pathway = world.timeline_pathway
    for i in range(n):
        pathway_add_note(actor=world.me, pathway_id=pathway.pk, kind="note", text=f"note {i}")


# (url, builder, max queries). Budgets: 1 actor lookup, then the page (count + rows, or the
# cursor page alone), then one query per prefetched relation.
LISTS = [
    ("/api/v1/persons/", _pathways, 4),  # actor, count, rows, open pathways
    ("/api/v1/pathways/", _pathways, 2),  # actor, rows (cursor page, joins)
    ("/api/v1/referrals/", _referrals, 2),  # actor, rows (cursor page, joins)
    ("/api/v1/appointments/", _appointments, 3),  # actor, count, rows
    ("/api/v1/organisations/", _organisations, 4),  # actor, count, rows, services
    ("/api/v1/services/", _services, 3),  # actor, count, rows
    ("/api/v1/employment-areas/", _employment_areas, 3),  # actor, count, rows
    ("/api/v1/agreements/", _agreements, 4),  # actor, count, rows, parties
    ("/api/v1/me/", _memberships, 2),  # actor, memberships
    ("/api/v1/pathways/{timeline}/timeline/", _timeline_events, 3),  # actor, pathway, events
]


def _count_queries(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 100} if "me" not in url else None)
    assert response.status_code == 200, response.content
    body = response.json()
    rows = len(body["results"]) if "results" in body else len(body["memberships"])
    return len(queries), rows


@pytest.mark.parametrize(("url", "build", "budget"), LISTS, ids=[row[0] for row in LISTS])
def test_list_query_count_does_not_grow_with_rows(
    url, build, budget, world, client_for, django_assert_max_num_queries
):
    world.timeline_pathway = PathwayFactory(owner_organisation=world.home)
    url = url.format(timeline=world.timeline_pathway.pk)
    client = client_for(world.me)

    build(world, 10)
    with django_assert_max_num_queries(budget):
        client.get(url, {"page_size": 100})
    queries_at_10, rows_at_10 = _count_queries(client, url)

    build(world, 20)
    queries_at_30, rows_at_30 = _count_queries(client, url)

    assert rows_at_30 - rows_at_10 == 20  # the rows are really listed…
    assert rows_at_10 >= 10
    assert queries_at_30 == queries_at_10 <= budget  # …at a constant cost
