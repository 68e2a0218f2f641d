"""The partner directory as the pages' pickers search it: organisations matching a few typed
letters (of their name or of one of their services' names, accents and case aside —
parcours/folding.py), an employment area, a kind and a barrier one of their services addresses.
The directory is shared by every member
(`access.organisations_visible_to`); it holds no personal data, so listing it is not journaled."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from .. import access
from ..actor import Actor
from ..folding import folded_contains
from ..models import EmploymentArea, Organisation, Service

# What a picker shows at most: enough to choose from, few enough for a page of a few KB.
PICKER_LIMIT = 20


@dataclass(frozen=True)
class DirectoryQuery:
    text: str = ""
    area: EmploymentArea | None = None
    kind: str = ""
    barrier: str = ""

    def __bool__(self) -> bool:
        return bool(self.text or self.area or self.kind or self.barrier)


def _active_services() -> QuerySet[Service]:
    return Service.objects.filter(organisation=OuterRef("pk"), is_active=True)


def organisations_matching(actor: Actor, query: DirectoryQuery) -> QuerySet[Organisation]:
    """Every organisation of the directory the query describes, the acting one excepted (no one
    orients a person, or records a consent, towards their own organisation), by name."""
    organisations = access.organisations_visible_to(actor).exclude(pk=actor.organisation.pk)
    return matching(organisations, query).order_by("name", "id")


def matching(
    organisations: QuerySet[Organisation], query: DirectoryQuery
) -> QuerySet[Organisation]:
    """`organisations` narrowed to what the query describes: the pages' pickers and the API's
    `GET /api/v1/organisations/?q=…&barrier=…` search alike."""
    if query.text:
        organisations = organisations.filter(
            Q(folded_contains("name", query.text))
            | Exists(_active_services().filter(folded_contains("name", query.text)))
        )
    if query.area is not None:
        organisations = organisations.filter(employment_area=query.area)
    if query.kind:
        organisations = organisations.filter(kind=query.kind)
    if query.barrier:
        # The JSON list's text holds each code in quotes: a portable containment test
        # (PostgreSQL, and the SQLite fallback that has no JSON `contains`).
        organisations = organisations.filter(
            Exists(_active_services().filter(barriers_addressed__icontains=f'"{query.barrier}"'))
        )
    return organisations


def picker_page(
    actor: Actor, query: DirectoryQuery, *, limit: int = PICKER_LIMIT
) -> tuple[list[Organisation], bool]:
    """The first `limit` organisations matching, with their area and active services, and
    whether more match (one row more is read, never a count)."""
    rows = list(
        organisations_matching(actor, query)
        .select_related("employment_area")
        .prefetch_related(_services_prefetch())[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


def organisations_by_ids(actor: Actor, ids) -> list[Organisation]:
    """The organisations a form already holds (picked), in the directory's order."""
    return list(
        access.organisations_visible_to(actor)
        .filter(pk__in=ids)
        .select_related("employment_area")
        .prefetch_related(_services_prefetch())
        .order_by("name", "id")
    )


def organisation_with_services(actor: Actor, pk: int) -> Organisation:
    """One organisation of the directory with its active services (raises DoesNotExist)."""
    return (
        access.organisations_visible_to(actor)
        .select_related("employment_area")
        .prefetch_related(_services_prefetch())
        .get(pk=pk)
    )


def _services_prefetch() -> Prefetch:
    return Prefetch(
        "services",
        Service.objects.filter(is_active=True).order_by("name", "id"),
        to_attr="active_services",
    )
