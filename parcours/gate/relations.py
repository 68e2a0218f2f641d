"""How the acting organisation stands to a record: the relation half of a `rules.Rule`.

Relations to a pathway are the ones that open access (selectors/relationships.py: owner,
référent, care team, parties of a referral — open or recently ended); a referral adds which
party the organisation is on that referral; a consent adds whether the organisation collected it.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.db.models import Model, Prefetch, QuerySet, prefetch_related_objects
from django.utils import timezone

from ..access import committee_area_ids
from ..actor import Actor
from ..compiled import CompiledQueries, CompiledQuery
from ..models import (
    AccessRequest,
    Agreement,
    CareTeamMember,
    Committee,
    CommitteeProposal,
    Consent,
    Pathway,
    PlanAction,
    Referral,
)
from ..rules import Relation
from ..selectors.relationships import OPEN_CARE_TEAM, relationships_of

M = TypeVar("M", bound=Model)


def relations_to_pathway(actor: Actor, pathway: Pathway) -> frozenset[Relation]:
    if actor.link is not None:
        # A receiver's link stands to its referral only (`relations_to_referral`): no rule on
        # the pathway itself is its to take.
        return frozenset()
    relationship = relationships_of(pathway, now=timezone.now()).get(actor.organisation.pk)
    if relationship is None:
        return frozenset()
    return frozenset(Relation(reason) for reason in relationship.reasons)


def _referrals_fetched() -> QuerySet[Referral]:
    return Referral.objects.select_related("receiver_organisation", "sender_organisation").order_by(
        "-created_at"
    )


def _open_care_team_fetched() -> QuerySet[CareTeamMember]:
    return (
        CareTeamMember.objects.filter(ended_at__isnull=True)
        .select_related("organisation")
        .order_by("started_at", "pk")
    )


def pathways_of_person(person_id: int) -> QuerySet[Pathway]:
    """Every pathway of the person, newest first, with what their relationships are made of:
    the referrals (their two organisations joined, newest first) and the open care team (its
    organisation joined, in the order it was formed). Not a scope: a page that shows them keeps
    only those `access.grants_for` gives categories of, and the referrals and members its
    per-pathway rules let through (`access.pathway_referrals_shown`,
    `access.pathway_care_team_shown`) — one fetch serving the relations and the page."""
    return (
        Pathway.objects.filter(person_id=person_id)
        .prefetch_related(
            Prefetch("referrals", _referrals_fetched()),
            Prefetch("care_team", _open_care_team_fetched(), to_attr=OPEN_CARE_TEAM),
        )
        .order_by("-opened_at")
    )


# `pathways_of_person` as the person page reads it (its three organisations and référent
# joined), each statement compiled once (issue 17: built and compiled on every page, ~3.5 of
# its ~5 ms of CPU): the pathways by person, then the two prefetches by the pathways' ids — one
# compiled statement per number of pathways, as the ORM's prefetch writes them.
PERSON_PAGE_RELATED = ("referent", "owner_organisation", "referent_organisation")
_PATHWAYS = CompiledQuery(
    Pathway,
    # Its prefetches compiled apart (below): the statement of the pathways alone.
    lambda person: (
        pathways_of_person(person).select_related(*PERSON_PAGE_RELATED).prefetch_related(None)
    ),
    "person",
    types={"person": int},
    prepared=True,  # by id (parcours/prepared_statements.py)
)
_COMPILED_PREFETCH = 8  # more pathways than this for one person: the ORM's prefetch


def _by_pathways(fetched: Callable[[], QuerySet[M]], model: type[M]) -> CompiledQueries[int, M]:
    """`fetched()` filtered as the ORM's prefetch filters it, by `count` pathway ids."""

    def make(count: int) -> CompiledQuery[M]:
        names = [f"pathway{n}" for n in range(count)]
        return CompiledQuery(
            model,
            lambda **ids: fetched().filter(pathway__in=[ids[name] for name in names]),
            *names,
            types=dict.fromkeys(names, int),
            prepared=True,
        )

    return CompiledQueries(make)


_REFERRALS = _by_pathways(_referrals_fetched, Referral)
_CARE_TEAM = _by_pathways(_open_care_team_fetched, CareTeamMember)
_REFERRALS_CACHE = Referral._meta.get_field("pathway").remote_field.cache_name  # "referrals"


def pathways_of_person_fetched(person_id: int) -> list[Pathway]:
    """`list(pathways_of_person(person_id).select_related(*PERSON_PAGE_RELATED))` through
    the compiled statements: the same three statements, the same instances, each pathway's
    referrals and open care team left where the ORM's prefetch leaves them (tests/access)."""
    pathways = _PATHWAYS.all(person=person_id)
    if len(pathways) > _COMPILED_PREFETCH:
        lookups = pathways_of_person(person_id)._prefetch_related_lookups  # type: ignore[attr-defined]
        prefetch_related_objects(pathways, *lookups)
        return pathways
    if not pathways:
        return pathways
    ids = {f"pathway{n}": pathway.pk for n, pathway in enumerate(pathways)}
    referrals: dict[int, list[Referral]] = defaultdict(list)
    for referral in _REFERRALS[len(pathways)].all(**ids):
        referrals[referral.pathway_id].append(referral)
    members: dict[int, list[CareTeamMember]] = defaultdict(list)
    for member in _CARE_TEAM[len(pathways)].all(**ids):
        members[member.pathway_id].append(member)
    for pathway in pathways:
        # As `prefetch_related_objects` leaves them: each row knows its pathway, the referrals
        # a related queryset holding its rows, the open care team a list (to_attr).
        for referral in referrals[pathway.pk]:
            Referral.pathway.field.set_cached_value(referral, pathway)
        for member in members[pathway.pk]:
            CareTeamMember.pathway.field.set_cached_value(member, pathway)
        cached = pathway.referrals._apply_rel_filters(_referrals_fetched())  # type: ignore[attr-defined]
        cached._result_cache = referrals[pathway.pk]
        cached._prefetch_done = True
        if not hasattr(pathway, "_prefetched_objects_cache"):
            pathway._prefetched_objects_cache = {}  # type: ignore[attr-defined]
        pathway._prefetched_objects_cache[_REFERRALS_CACHE] = cached  # type: ignore[attr-defined]
        setattr(pathway, OPEN_CARE_TEAM, members[pathway.pk])
    return pathways


def relations_to_person(
    actor: Actor, person_id: int, *, pathways: Iterable[Pathway] | None = None
) -> frozenset[Relation]:
    """The union over the person's pathways (a person is followed through their pathways).
    `pathways`: every one of them, already fetched by `pathways_of_person` (no query then)."""
    relations: set[Relation] = set()
    if pathways is None:
        pathways = Pathway.objects.filter(person_id=person_id).prefetch_related("referrals")
    for pathway in pathways:
        relations |= relations_to_pathway(actor, pathway)
    return frozenset(relations)


def relations_to_referral(actor: Actor, referral: Referral) -> frozenset[Relation]:
    """The party the organisation is on this very referral (not on the pathway's others); a
    receiver's link is the receiver of its own referral and of no other."""
    if actor.link is not None and actor.link.referral_id != referral.pk:
        return frozenset()
    relations = set()
    if referral.sender_organisation_id == actor.organisation.pk:
        relations.add(Relation.SENDER)
    if referral.receiver_organisation_id == actor.organisation.pk:
        relations.add(Relation.RECEIVER)
    return frozenset(relations)


def relations_to_consent(actor: Actor, consent: Consent) -> frozenset[Relation]:
    relations = set(relations_to_person(actor, consent.person_id))
    if consent.collected_by_organisation_id == actor.organisation.pk:
        relations.add(Relation.COLLECTOR)
    return frozenset(relations)


def relations_to_agreement(actor: Actor, agreement: Agreement) -> frozenset[Relation]:
    if agreement.parties.filter(pk=actor.organisation.pk).exists():
        return frozenset({Relation.PARTY})
    return frozenset()


def relations_to_access_request(actor: Actor, request: AccessRequest) -> frozenset[Relation]:
    """The organisation that holds the file answers a request to join it; the one that asked
    has no relation to answer with."""
    if request.pathway.owner_organisation_id == actor.organisation.pk:
        return frozenset({Relation.OWNER})
    return frozenset()


def relations_to_plan_action(
    actor: Actor, plan_action: PlanAction, pathway_relations: frozenset[Relation] | None = None
) -> frozenset[Relation]:
    """The organisation's relations to the action's pathway (pass them when known, e.g. for a
    whole plan), and whether it holds this action."""
    relations = set(
        relations_to_pathway(actor, plan_action.pathway)
        if pathway_relations is None
        else pathway_relations
    )
    if plan_action.owner_organisation_id == actor.organisation.pk:
        relations.add(Relation.ACTION_OWNER)
    return frozenset(relations)


def relations_to_committee(actor: Actor, committee: Committee) -> frozenset[Relation]:
    """Whether the actor coordinates the session's area, whether its organisation is invited."""
    relations = set()
    if committee.employment_area_id in committee_area_ids(actor):
        relations.add(Relation.AREA_COORDINATOR)
    if committee.attendees.filter(pk=actor.organisation.pk).exists():
        relations.add(Relation.ATTENDEE)
    return frozenset(relations)


def relations_to_proposal(actor: Actor, proposal: CommitteeProposal) -> frozenset[Relation]:
    """The area's coordinator, the proposing organisation, an organisation invited to the
    session the case is on the agenda of."""
    relations = set()
    if proposal.employment_area_id in committee_area_ids(actor):
        relations.add(Relation.AREA_COORDINATOR)
    if proposal.proposer_organisation_id == actor.organisation.pk:
        relations.add(Relation.PROPOSER)
    if (
        proposal.committee_id is not None
        and Committee.attendees.through.objects.filter(
            committee_id=proposal.committee_id, organisation_id=actor.organisation.pk
        ).exists()
    ):
        relations.add(Relation.ATTENDEE)
    return frozenset(relations)
