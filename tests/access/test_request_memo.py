"""The request memo (parcours/request_memo.py): the acting user's personal grants are read once
per HTTP request however many scopes a page builds, never outside a request, and a break-glass
opened during the request is seen at once."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from parcours import access
from parcours.actor import actor_for
from parcours.request_memo import request_memo
from parcours.services.break_glass import break_glass_open

from ..factories import CareTeamMemberFactory, MembershipFactory, PathwayFactory

HIDDEN = "health"  # not opened to a care-team member by its relation alone


def _personal_reads(captured) -> int:
    return sum("pathwayuserobjectpermission" in q["sql"] for q in captured.captured_queries)


def _scopes(actor) -> None:
    list(access.pathways_visible_to(actor, HIDDEN))
    list(access.referrals_visible_to(actor))
    list(access.persons_visible_to(actor))


def _member_of_the_care_team():
    pathway = PathwayFactory()
    member = CareTeamMemberFactory(pathway=pathway)
    user = MembershipFactory(organisation=member.organisation).user
    return pathway, actor_for(user)


def test_inside_a_request_personal_grants_are_read_once_and_a_break_glass_is_seen_at_once(db):
    pathway, actor = _member_of_the_care_team()
    assert not access.pathways_visible_to(actor, HIDDEN).filter(pk=pathway.pk).exists()
    with request_memo():
        with CaptureQueriesContext(connection) as captured:
            _scopes(actor)
        assert _personal_reads(captured) == 1
        break_glass_open(
            actor=actor,
            pathway_id=pathway.pk,
            category=HIDDEN,
            reason="Préparer l'entretien de la semaine prochaine",
        )
        # The grant written by the break-glass made the memo forget what it had read.
        assert access.pathways_visible_to(actor, HIDDEN).filter(pk=pathway.pk).exists()


def test_outside_a_request_nothing_is_remembered(db):
    pathway, actor = _member_of_the_care_team()
    with CaptureQueriesContext(connection) as captured:
        _scopes(actor)
    assert _personal_reads(captured) == 3
    break_glass_open(
        actor=actor,
        pathway_id=pathway.pk,
        category=HIDDEN,
        reason="Préparer l'entretien de la semaine prochaine",
    )
    assert access.pathways_visible_to(actor, HIDDEN).filter(pk=pathway.pk).exists()


def test_each_request_reads_them_afresh(db):
    _pathway, actor = _member_of_the_care_team()
    for _ in range(2):
        with request_memo(), CaptureQueriesContext(connection) as captured:
            _scopes(actor)
        assert _personal_reads(captured) == 1
