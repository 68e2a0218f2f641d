"""The per-pathway rules applied to rows a page already fetched (`access.pathway_referrals_shown`,
`access.pathway_care_team_shown`) give what their querysets give, and the person page that uses
them reads the person's pathways, referrals and care team once (issue 17)."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parcours import access
from parcours.actor import actor_for
from parcours.categories import DataCategory
from parcours.gate.relations import pathways_of_person, relations_to_person
from parcours.selectors.relationships import OPEN_CARE_TEAM

from ..factories import (
    CareTeamMemberFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db

WITH_PATHWAY = frozenset({DataCategory.IDENTITY, DataCategory.PATHWAY})
WITHOUT_PATHWAY = frozenset({DataCategory.IDENTITY})


def _pathway_of_every_kind():
    """A pathway of `home` with its own draft, another's draft, sent and ended referrals, and a
    care team with a member still in it and one who left."""
    home, other, third = OrganisationFactory(), OrganisationFactory(), OrganisationFactory()
    pathway = PathwayFactory(owner_organisation=home)
    ReferralFactory(pathway=pathway, sender_organisation=home)  # home's own draft
    ReferralFactory(pathway=pathway, sender_organisation=other)  # another's draft
    ReferralFactory(pathway=pathway, sender_organisation=home, sent=True)
    ReferralFactory(
        pathway=pathway, sender_organisation=other, receiver_organisation=home, sent=True
    )
    ReferralFactory(pathway=pathway, sender_organisation=home, refused=True)
    CareTeamMemberFactory(pathway=pathway, organisation=other)
    CareTeamMemberFactory(
        pathway=pathway,
        organisation=third,
        started_at=timezone.now() - dt.timedelta(days=10),
        ended_at=timezone.now() - dt.timedelta(days=1),
        end_reason="Suivi terminé",
    )
    actor = actor_for(MembershipFactory(organisation=home).user, home.pk)
    return pathway, actor


@pytest.mark.parametrize("categories", [WITH_PATHWAY, WITHOUT_PATHWAY])
def test_the_fetched_rows_rules_give_what_the_querysets_give(categories):
    pathway, actor = _pathway_of_every_kind()
    fetched = pathways_of_person(pathway.person_id).get(pk=pathway.pk)
    shown = access.pathway_referrals_shown(actor, fetched.referrals.all(), categories)
    scoped = access.pathway_referrals_visible_to(actor, pathway.pk, categories).order_by(
        "-created_at"
    )
    assert [r.pk for r in shown] == [r.pk for r in scoped]
    members = access.pathway_care_team_shown(getattr(fetched, OPEN_CARE_TEAM), categories)
    open_team = access.pathway_care_team_visible_to(actor, pathway.pk, categories).filter(
        ended_at__isnull=True
    )
    assert sorted(m.pk for m in members) == sorted(m.pk for m in open_team)
    if DataCategory.PATHWAY in categories:  # the case has something to compare
        assert len(shown) == 4 and len(members) == 1


def test_relations_from_the_fetched_pathways_are_the_relations_read_afresh():
    pathway, actor = _pathway_of_every_kind()
    fetched = list(pathways_of_person(pathway.person_id))
    with CaptureQueriesContext(connection) as queries:
        given = relations_to_person(actor, pathway.person_id, pathways=fetched)
    assert not queries.captured_queries
    assert given == relations_to_person(actor, pathway.person_id)
    assert given  # the owner's, at least


def test_the_person_page_reads_each_of_its_rows_once():
    pathway, actor = _pathway_of_every_kind()
    client = Client()
    client.force_login(actor.user)
    url = reverse("web:person-detail", args=[pathway.person_id])
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    for table in ("parcours_pathway", "parcours_referral", "parcours_careteammember"):
        reads = [s for s in selects if s.startswith(f'SELECT "{table}".')]
        assert len(reads) == 1, (table, reads)
    # What was read once is all shown: its referrals but the other's draft, the open team.
    assert len(re.findall(r'href="/orientations/\d+/"', html)) == 4
    assert html.count(", depuis le ") == 1  # the member still in the team, not the one who left
