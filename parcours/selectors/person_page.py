"""The person page's reads of the pathway it shows, each statement compiled once (issue 17).

The page built and compiled a dozen querysets on every request — more of its CPU than running
them. Once `access.grants_for` has given the actor's categories of the pathway, none of these
reads depends on the actor but through those categories (an `IN` list: one compiled statement
per set of categories) or its organisation (the consents that concern it); the statements are
the querysets of `parcours.access` the page read before, run with the ids as values
(tests/test_person_page_reads.py holds each equal to the ORM's, word for word).
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from .. import access
from ..actor import Actor
from ..categories import DataCategory
from ..compiled import CompiledQueries, CompiledQuery
from ..models import (
    Barrier,
    Consent,
    DiagnosticEntry,
    ModalityPeriod,
    Objection,
    Organisation,
    Pathway,
    PathwayEvent,
)

TIMELINE = 100  # the newest events the page shows


def diagnostic_shape(categories: frozenset[str], pathway: int) -> QuerySet[DiagnosticEntry]:
    return access.pathway_diagnostic_in(pathway, categories).select_related(
        "author", "author_organisation"
    )


def timeline_shape(categories: frozenset[str], pathway: int) -> QuerySet[PathwayEvent]:
    return (
        access.pathway_events_in(pathway, categories)
        .select_related("actor", "organisation", "referral")
        .order_by("-occurred_at", "-id")[:TIMELINE]
    )


def consents_shape(kind: str, organisation: int, person: int) -> QuerySet[Consent]:
    # The actor's organisation (its id and kind) is all the consents' scope reads of it.
    stand_in = Actor(user=None, organisation=Organisation(pk=organisation, kind=kind), role="")
    return (
        access.person_consents_visible_to(stand_in, person, {DataCategory.IDENTITY})
        .prefetch_related("organisations")
        .order_by("-created_at")
    )


def objection_shape(person: int) -> QuerySet[Objection]:
    objections = access.person_objections_visible_to(
        None,  # type: ignore[arg-type]  # not read: the identity category is given
        person,
        {DataCategory.IDENTITY},
    ).filter(withdrawn_at__isnull=True)
    # As QuerySet.first() builds it.
    return (objections if objections.ordered else objections.order_by("pk"))[:1]


def _by_pathway(model, shape) -> CompiledQuery:  # type: ignore[no-untyped-def]
    # By the pathway's id: prepared (parcours/prepared_statements.py).
    return CompiledQuery(model, shape, "pathway", types={"pathway": int}, prepared=True)


_DIAGNOSTIC = CompiledQueries[frozenset[str], DiagnosticEntry](
    lambda categories: _by_pathway(
        DiagnosticEntry, lambda pathway: diagnostic_shape(categories, pathway)
    )
)
_TIMELINE = CompiledQueries[frozenset[str], PathwayEvent](
    lambda categories: _by_pathway(
        PathwayEvent, lambda pathway: timeline_shape(categories, pathway)
    )
)
_BARRIERS = _by_pathway(Barrier, lambda pathway: Barrier.objects.filter(pathway=pathway))
_PERIODS = _by_pathway(
    ModalityPeriod,
    lambda pathway: ModalityPeriod.objects.filter(pathway=pathway).order_by("-started_at"),
)
_CONSENTS = CompiledQueries[str, Consent](
    lambda kind: CompiledQuery(
        Consent,
        lambda organisation, person: consents_shape(kind, organisation, person),
        "organisation",
        "person",
        types={"organisation": int, "person": int},
        repeated=("organisation",),
        prepared=True,
    )
)
_OBJECTION = CompiledQuery(
    Objection, objection_shape, "person", types={"person": int}, prepared=True
)


def diagnostic_of(pathway_id: int, categories: Iterable[str]) -> list[DiagnosticEntry]:
    """`access.diagnostic_visible_to(actor, pathway_id, categories)`, authors joined."""
    return _DIAGNOSTIC[frozenset(categories)].all(pathway=pathway_id)


def timeline_of(pathway_id: int, categories: Iterable[str]) -> list[PathwayEvent]:
    """`access.events_visible_to(actor, pathway_id, categories)`, the newest 100 first."""
    return _TIMELINE[frozenset(categories)].all(pathway=pathway_id)


def barriers_of(pathway: Pathway) -> list[Barrier]:
    """`pathway.barriers.all()`: each knows its pathway, as the related manager leaves it."""
    barriers = _BARRIERS.all(pathway=pathway.pk)
    for barrier in barriers:
        Barrier.pathway.field.set_cached_value(barrier, pathway)
    return barriers


def periods_of(pathway: Pathway) -> list[ModalityPeriod]:
    """`pathway.modality_periods.order_by("-started_at")`, each knowing its pathway."""
    periods = _PERIODS.all(pathway=pathway.pk)
    for period in periods:
        ModalityPeriod.pathway.field.set_cached_value(period, pathway)
    return periods


def consents_of(actor: Actor, person_id: int, categories: Iterable[str]) -> list[Consent]:
    """`access.person_consents_visible_to(actor, person_id, categories)`, newest first, with
    their organisations."""
    if DataCategory.IDENTITY not in categories:
        return []
    return _CONSENTS[actor.organisation.kind].all(
        organisation=actor.organisation.pk, person=person_id
    )


def objection_of(person_id: int, categories: Iterable[str]) -> Objection | None:
    """`access.person_objections_visible_to(actor, person_id, categories)`'s standing one."""
    if DataCategory.IDENTITY not in categories:
        return None
    return _OBJECTION.first(person=person_id)
