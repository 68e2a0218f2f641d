"""The person page's reads compiled once (parcours.selectors.person_page,
gate.relations.pathways_of_person_fetched) send the ORM's statements word for word and give its
instances, related rows and prefetches included (issue 17)."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parcours import access
from parcours.actor import actor_for
from parcours.categories import DataCategory
from parcours.gate.relations import (
    PERSON_PAGE_RELATED,
    pathways_of_person,
    pathways_of_person_fetched,
)
from parcours.models import (
    Barrier,
    DiagnosticEntry,
    ModalityPeriod,
    Objection,
    PathwayEvent,
)
from parcours.selectors import person_page
from parcours.selectors.relationships import OPEN_CARE_TEAM

from .factories import (
    CareTeamMemberFactory,
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

EVERY = frozenset(DataCategory)
SOME = frozenset({DataCategory.IDENTITY, DataCategory.PATHWAY})


def _sql(run):
    with CaptureQueriesContext(connection) as queries:
        found = run()
    return found, [q["sql"] for q in queries.captured_queries]


def _same_rows(found, orm):
    assert [type(o) for o in found] == [type(o) for o in orm]
    assert [o.pk for o in found] == [o.pk for o in orm]
    for mine, theirs in zip(found, orm, strict=True):
        for field in type(theirs)._meta.concrete_fields:
            assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.name
        assert mine._state.adding is False and mine._state.db == theirs._state.db


def _a_full_record():
    """A person with two pathways; the newest with referrals (one another's draft), a care team
    (one member gone), diagnostic versions, events of several categories, barriers, periods,
    an objection withdrawn and one standing, consents concerning `home` and one that does not."""
    home, other = OrganisationFactory(), OrganisationFactory(siae=True)
    older = PathwayFactory(
        owner_organisation=home,
        opened_at=timezone.now() - dt.timedelta(days=900),
        status="closed",
        closed_at=timezone.now() - dt.timedelta(days=400),
        outcome="job",
    )
    pathway = PathwayFactory(owner_organisation=home, person=older.person)
    ReferralFactory(
        pathway=pathway, sender_organisation=home, receiver_organisation=other, sent=True
    )
    ReferralFactory(pathway=pathway, sender_organisation=other)  # another's draft
    ReferralFactory(pathway=older, sender_organisation=home, refused=True)
    CareTeamMemberFactory(pathway=pathway, organisation=other)
    CareTeamMemberFactory(
        pathway=pathway,
        started_at=timezone.now() - dt.timedelta(days=10),
        ended_at=timezone.now() - dt.timedelta(days=1),
        end_reason="Suivi terminé",
    )
    author = MembershipFactory(organisation=home).user
    for days, domain in ((3, "housing"), (2, "housing"), (1, "health")):
        DiagnosticEntry.objects.create(
            pathway=pathway,
            author=author,
            author_organisation=home,
            text=f"Version {days}",
            created_at=timezone.now() - dt.timedelta(days=days),
            domain=domain,
            level="",
        )
    for days, category in ((4, "pathway"), (3, "health"), (2, "social"), (1, "pathway")):
        PathwayEvent.objects.create(
            pathway=pathway,
            kind="note",
            occurred_at=timezone.now() - dt.timedelta(days=days),
            actor=author,
            organisation=home,
            category=category,
            text=f"Événement {days}",
        )
    for kind in ("housing", "mobility"):
        Barrier.objects.create(
            pathway=pathway, kind=kind, identified_at=timezone.now(), detail="Précisions"
        )
    ModalityPeriod.objects.filter(pathway=pathway).update(
        ended_at=timezone.now() - dt.timedelta(days=5)
    )
    ModalityPeriod.objects.create(
        pathway=pathway, modality="renforce", started_at=timezone.now() - dt.timedelta(days=5)
    )
    Objection.objects.create(
        person=pathway.person,
        recorded_at=timezone.now() - dt.timedelta(days=30),
        recorded_by=UserFactory(),
        withdrawn_at=timezone.now() - dt.timedelta(days=20),
    )
    Objection.objects.create(
        person=pathway.person, recorded_at=timezone.now(), recorded_by=UserFactory()
    )
    ConsentFactory(person=pathway.person, organisations=[other])
    ConsentFactory(person=pathway.person, collected_by_organisation=other, organisations=[])
    ConsentFactory(
        person=pathway.person, collected_by_organisation=other, organisation_kinds=[home.kind]
    )
    actor = actor_for(MembershipFactory(organisation=home).user, home.pk)
    return pathway, actor


def test_the_pathways_of_a_person_fetched_as_the_orm_fetches_them():
    pathway, _actor = _a_full_record()
    person = pathway.person_id
    pathways_of_person_fetched(person)  # compiled
    found, compiled_sql = _sql(lambda: pathways_of_person_fetched(person))
    orm, orm_sql = _sql(
        lambda: list(pathways_of_person(person).select_related(*PERSON_PAGE_RELATED))
    )
    assert compiled_sql == orm_sql and len(compiled_sql) == 3
    _same_rows(found, orm)
    with CaptureQueriesContext(connection) as later:  # every related row came with them
        for mine, theirs in zip(found, orm, strict=True):
            _same_rows(list(mine.referrals.all()), list(theirs.referrals.all()))
            _same_rows(getattr(mine, OPEN_CARE_TEAM), getattr(theirs, OPEN_CARE_TEAM))
            for referral in mine.referrals.all():
                assert referral.pathway is mine
                assert referral.receiver_organisation.name and referral.sender_organisation.name
            for member in getattr(mine, OPEN_CARE_TEAM):
                assert member.pathway is mine and member.organisation.name
            assert mine.referent == theirs.referent
            assert mine.owner_organisation.name == theirs.owner_organisation.name
    assert later.captured_queries == []
    # A filter on the fetched referrals still reads the pathway's own, as the ORM's would.
    newest = found[0]
    assert list(newest.referrals.filter(status="sent")) == list(
        orm[0].referrals.filter(status="sent")
    )
    assert pathways_of_person_fetched(0) == []


@pytest.mark.parametrize("categories", [EVERY, SOME])
def test_the_pathway_s_reads_are_the_orm_s(categories):
    pathway, actor = _a_full_record()
    cases = [
        (
            lambda: person_page.diagnostic_of(pathway.pk, categories),
            lambda: list(
                access.diagnostic_visible_to(actor, pathway.pk, categories).select_related(
                    "author", "author_organisation"
                )
            ),
        ),
        (
            lambda: person_page.timeline_of(pathway.pk, categories),
            lambda: list(
                access.events_visible_to(actor, pathway.pk, categories)
                .select_related("actor", "organisation", "referral")
                .order_by("-occurred_at", "-id")[:100]
            ),
        ),
        (lambda: person_page.barriers_of(pathway), lambda: list(pathway.barriers.all())),
        (
            lambda: person_page.periods_of(pathway),
            lambda: list(pathway.modality_periods.order_by("-started_at")),
        ),
    ]
    for compiled, orm in cases:
        compiled()
        found, compiled_sql = _sql(compiled)
        expected, orm_sql = _sql(orm)
        assert compiled_sql == orm_sql
        _same_rows(found, expected)
    entries = person_page.diagnostic_of(pathway.pk, categories)
    assert {e.domain for e in entries} == ({"housing", "health"} if categories == EVERY else set())
    assert all(e.author.username and e.author_organisation.name for e in entries)
    events = person_page.timeline_of(pathway.pk, categories)
    assert len(events) == (4 if categories == EVERY else 2)
    assert all(b.pathway is pathway for b in person_page.barriers_of(pathway))
    assert person_page.periods_of(pathway)[0].modality == "renforce"


def test_the_person_s_consents_and_objection_are_the_orm_s():
    pathway, actor = _a_full_record()
    person = pathway.person_id
    elsewhere = actor_for(MembershipFactory(organisation=OrganisationFactory(siae=True)).user)
    for who in (actor, elsewhere, actor):
        person_page.consents_of(who, person, SOME)
        with time_machine.travel(timezone.now(), tick=False):
            found, compiled_sql = _sql(lambda who=who: person_page.consents_of(who, person, SOME))
            expected, orm_sql = _sql(
                lambda who=who: list(
                    access.person_consents_visible_to(who, person, SOME)
                    .prefetch_related("organisations")
                    .order_by("-created_at")
                )
            )
        assert compiled_sql == orm_sql
        _same_rows(found, expected)
        for mine, theirs in zip(found, expected, strict=True):
            assert list(mine.organisations.all()) == list(theirs.organisations.all())
    shown = len(person_page.consents_of(actor, person, SOME))
    assert shown > 0 and person_page.consents_of(elsewhere, person, SOME) == []
    assert person_page.consents_of(actor, person, {DataCategory.PATHWAY}) == []
    # The count of those not shown (one compiled COUNT) is the ORM's count of them.
    not_shown = access.consents_not_shown_count(actor, person)  # the ORM's: excluded ones
    assert not_shown > 0
    assert access.consents_not_shown_count(actor, person, shown) == not_shown
    found, compiled_sql = _sql(lambda: person_page.objection_of(person, SOME))
    expected, orm_sql = _sql(
        lambda: (
            access.person_objections_visible_to(actor, person, SOME)
            .filter(withdrawn_at__isnull=True)
            .first()
        )
    )
    assert compiled_sql == orm_sql
    assert found is not None and found.pk == expected.pk and found.withdrawn_at is None
    assert person_page.objection_of(person, {DataCategory.PATHWAY}) is None


def test_the_plan_compiled_is_the_orm_s():
    from parcours.models import Objective
    from parcours.selectors.action_plan import _with_actions, plan_of

    from .factories import ObjectiveFactory, PlanActionFactory

    pathway, actor = _a_full_record()
    assert plan_of(actor, pathway.pk, SOME) == []  # none yet: compiled, nothing prefetched
    objective = ObjectiveFactory(pathway=pathway)
    PlanActionFactory(objective=objective, owner_organisation=pathway.owner_organisation)
    PlanActionFactory(objective=objective, owner_organisation=pathway.owner_organisation)
    ObjectiveFactory(pathway=pathway)
    ObjectiveFactory()  # another pathway's
    found, compiled_sql = _sql(lambda: plan_of(actor, pathway.pk, SOME))
    expected, orm_sql = _sql(
        lambda: list(_with_actions(Objective.objects.filter(pathway_id=pathway.pk)))
    )
    assert compiled_sql == orm_sql and len(found) == 2
    _same_rows(found, expected)
    with CaptureQueriesContext(connection) as later:
        for mine, theirs in zip(found, expected, strict=True):
            _same_rows(list(mine.actions.all()), list(theirs.actions.all()))
            assert all(a.owner_organisation.name for a in mine.actions.all())
    assert later.captured_queries == []
    assert plan_of(actor, pathway.pk, {DataCategory.IDENTITY}) == []
    # Without the categories: the actor's scope, the same plan.
    assert [o.pk for o in plan_of(actor, pathway.pk)] == [o.pk for o in found]
