"""List endpoints run a fixed number of queries, whatever the number of rows (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parcours.api.views import REFERRAL_PARTIES
from parcours.models import Role
from parcours.services.pathway import pathway_add_note

from ..factories import (
    AgreementFactory,
    AnswerNoticeFactory,
    AppointmentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
    ReferralMessageFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db


def _pathways(world, n):
    for _ in range(n):
        PathwayFactory(owner_organisation=world.home)


def _referrals(world, n):
    """Half sent by home, half received; each with a message of the other party (the rows'
    unread counts are annotated in the list's own query)."""
    for i in range(n):
        if i % 2:
            referral = ReferralFactory(
                pathway=PathwayFactory(owner_organisation=world.home),
                receiver_organisation=world.siae,
                sent=True,
            )
            ReferralMessageFactory(referral=referral, from_receiver=True)
        else:
            referral = ReferralFactory(
                pathway=PathwayFactory(owner_organisation=world.elsewhere),
                receiver_organisation=world.home,
                accepted=True,
            )
            ReferralMessageFactory(referral=referral)


def _messages(world, n):
    ReferralMessageFactory.create_batch(n, referral=world.thread)


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
        AgreementFactory(
            parties=[world.home, OrganisationFactory(), world.siae],
            ladder=[(24, "counsellors"), (72, "managers")],
        )


def _memberships(world, n):
    for _ in range(n):
        MembershipFactory(
            user=world.me.user, organisation=OrganisationFactory(), role=Role.COUNSELLOR
        )


def _answers(world, n):
    for _ in range(n):
        referral = ReferralFactory(
            pathway=PathwayFactory(owner_organisation=world.home),
            sender_user=world.me.user,
            receiver_organisation=world.siae,
            accepted=True,
        )
        AnswerNoticeFactory(referral=referral, recipient=world.me.user)


def _timeline_events(world, n):
    pathway = world.timeline_pathway
    for i in range(n):
        pathway_add_note(actor=world.me, pathway_id=pathway.pk, kind="note", text=f"note {i}")


# (url, builder, max queries). Budgets: 1 actor lookup, then the page (count + rows, or the
# cursor page alone), then one query per prefetched relation. Endpoints over people's records
# add the actor's grants on the page's pathways (GRANTS: group and user grants in one UNION
# query, once per page: the categories shown and, for the journal, their bases and purpose) and
# the access journal (JOURNAL: one INSERT per request, however many groups of rows it writes).
GRANTS = 1
JOURNAL = 1
# Scoped querysets first fetch the actor's own (break-glass) grants, so the main query keeps a
# plain semi-join on the group's grants (docs/performance.md): one query per scoped queryset.
PERSONAL_GRANTS = 1
# A read of one pathway (its timeline) is journaled from what the view already holds: the
# pathway's person and the grants it fetched for the response; the INSERT alone.
DETAIL_JOURNAL = JOURNAL
LISTS = [
    # actor, rows (keyset pages, no COUNT: issue 17), pathways (open one, categories), journal
    ("/api/v1/persons/", _pathways, 3 + PERSONAL_GRANTS + GRANTS + JOURNAL),
    # actor, rows (cursor, joins)
    ("/api/v1/pathways/", _pathways, 2 + PERSONAL_GRANTS + GRANTS + JOURNAL),
    # actor, rows (cursor, with pathway and person), one lookup per party relation (not joined:
    # the joins made PostgreSQL plan for longer than the list ran, parcours/api/views.py
    # `served_referrals`)
    (
        "/api/v1/referrals/",
        _referrals,
        2 + len(REFERRAL_PARTIES) + PERSONAL_GRANTS + GRANTS + JOURNAL,
    ),
    # actor, count, rows with their referral and pathway (not redacted), grants for the journal
    ("/api/v1/appointments/", _appointments, 3 + PERSONAL_GRANTS + GRANTS + JOURNAL),
    ("/api/v1/organisations/", _organisations, 4),  # actor, count, rows, services
    ("/api/v1/services/", _services, 3),  # actor, count, rows
    ("/api/v1/employment-areas/", _employment_areas, 3),  # actor, count, rows
    # actor, count, rows, parties, each party's answer (with its organisation), the rungs of
    # each escalation ladder
    ("/api/v1/agreements/", _agreements, 6),
    ("/api/v1/me/", _memberships, 2),  # actor, memberships
    # actor, the scope's personal grants, count, rows (with referral, organisations, service,
    # event, appointment, outbox): the answers name no person, nothing journaled (issue 14)
    ("/api/v1/answers/", _answers, 3 + PERSONAL_GRANTS),
    # actor, pathway, categories (events of visible categories only), events, journal
    (
        "/api/v1/pathways/{timeline}/timeline/",
        _timeline_events,
        3 + PERSONAL_GRANTS + GRANTS + DETAIL_JOURNAL,
    ),
    # actor, referral, messages (with authors), marking read (the referral located again, the
    # mark, the newest message, the mark created if missing and moved forward; its transaction
    # is a savepoint inside the test's: two more statements), journal
    (
        "/api/v1/referrals/{thread}/messages/",
        _messages,
        3 + 5 + 2 + PERSONAL_GRANTS + GRANTS + DETAIL_JOURNAL,
    ),
]
# Lists of people's records: every request writes exactly one journal row; the shared directory
# and the actor's own profile are not journaled.
JOURNALED = {
    "/api/v1/persons/",
    "/api/v1/pathways/",
    "/api/v1/referrals/",
    "/api/v1/appointments/",
    "/api/v1/pathways/{timeline}/timeline/",
    "/api/v1/referrals/{thread}/messages/",
}


def _count_queries(client, url) -> tuple[int, int, int]:
    """(queries, rows listed, journal rows inserted) for one GET of `url`."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 100} if "me" not in url else None)
    assert response.status_code == 200, response.content
    body = response.json()
    rows = len(body["results"]) if "results" in body else len(body["memberships"])
    journal_inserts = sum(
        q["sql"].startswith('INSERT INTO "parcours_accessevent"') for q in queries.captured_queries
    )
    return len(queries), rows, journal_inserts


@pytest.mark.parametrize(("url", "build", "budget"), LISTS, ids=[row[0] for row in LISTS])
def test_list_query_count_does_not_grow_with_rows(
    url, build, budget, world, client_for, django_assert_max_num_queries
):
    world.timeline_pathway = PathwayFactory(owner_organisation=world.home)
    world.thread = ReferralFactory(
        pathway=PathwayFactory(owner_organisation=world.elsewhere),
        receiver_organisation=world.home,
        accepted=True,
    )
    journaled = url in JOURNALED
    url = url.format(timeline=world.timeline_pathway.pk, thread=world.thread.pk)
    client = client_for(world.me)

    build(world, 10)
    with django_assert_max_num_queries(budget):
        client.get(url, {"page_size": 100})
    queries_at_10, rows_at_10, journal_at_10 = _count_queries(client, url)

    build(world, 20)
    queries_at_30, rows_at_30, journal_at_30 = _count_queries(client, url)

    assert rows_at_30 - rows_at_10 == 20  # the rows are really listed…
    assert rows_at_10 >= 10
    assert queries_at_30 == queries_at_10 <= budget  # …at a constant cost
    # One journal INSERT per request, whatever the number of rows (never one per row).
    assert journal_at_10 == journal_at_30 == (JOURNAL if journaled else 0)
