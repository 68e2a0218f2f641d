"""The one place that decides who sees what.

Every read path (API viewsets, serializers' redaction, admin, pages, tasks acting for a user)
starts here; a record outside these querysets answers 404 exactly like a missing one.

Rights are materialised per pathway and data category as django-guardian direct foreign-key
object permissions granted to each organisation's Group (and, for break-glass, to a user) by
`parcours.services.access_grants.access_recompute`. Reads filter with an EXISTS on those tables,
the group id and permission ids passed as literal values (docs/performance.md), and honour each
row's interval (`valid_from`, `valid_until`) so that a basis opens and ends on time. The actor's
role narrows further (`parcours.rules.ROLE_CATEGORIES`): managers see only the pathway category;
DPOs and administrators see no record content. Role facts come from the gate's table: nothing
here compares a role.
"""

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.contrib.auth.models import User
from django.db import connections, router
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.db.models.query import MAX_GET_RESULTS
from django.utils import timezone
from django.utils.translation import gettext as _

from . import prepared_statements
from .actor import Actor, active_memberships, membership_area_ids, memberships_of_user
from .categories import ALL_CATEGORIES, DataCategory, permission_codename
from .compiled import CompiledQuery
from .diagnostic_domains import domains_in
from .errors import NotAllowed
from .models import (
    ASSIGNABLE_STATUSES,
    AccessEvent,
    AccessOperation,
    AccessRequest,
    Agreement,
    AgreementAction,
    AgreementParty,
    Appointment,
    BreakGlass,
    CareTeamMember,
    Committee,
    CommitteeProposal,
    Consent,
    DiagnosticEntry,
    Membership,
    Objection,
    Objective,
    Organisation,
    Pathway,
    PathwayEvent,
    PathwayGroupObjectPermission,
    PathwayStatus,
    PathwayUserObjectPermission,
    Person,
    PlanAction,
    Referral,
    ReferralMessage,
    ReferralStatus,
    RightsRequest,
    Role,
)
from .models.grant import permission_ids
from .request_memo import remembered
from .rules import RULES, Action, roles_for
from .rules import role_categories as _role_categories


def role_categories(actor: Actor) -> frozenset[str]:
    return _role_categories(actor.role)


def _may(actor: Actor, action: Action) -> bool:
    """Role-only facts of the gate's table (scopes do not depend on a relation)."""
    return RULES[action].allows_role(actor.role)


def _permission_ids_for(categories: Iterable[str]) -> list[int]:
    ids = permission_ids()
    return sorted(ids[permission_codename(c)] for c in categories)


def _in_force(now: dt.datetime | None = None) -> Q:
    """A grant row whose interval holds now (a basis that starts later is already a row)."""
    now = timezone.now() if now is None else now
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=now)) & (
        Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    )


PERSONAL_GRANTS = "personal_grants"  # the request memo's name for them


def personal_grants(actor: Actor) -> list[tuple[int, int]]:
    """(pathway id, permission id) of the grants in force to the acting user themselves
    (break-glass): read once per request, however many scopes a page builds."""

    def read() -> list[tuple[int, int]]:
        return _PERSONAL_GRANTS.rows(user=actor.account.pk, now=timezone.now())

    if actor.user is None:  # a receiver's link: no account, no personal grant
        return []
    return remembered((PERSONAL_GRANTS, actor.user.pk), read)


def _personal_grants(user: int, now: dt.datetime) -> QuerySet:
    return PathwayUserObjectPermission.objects.filter(_in_force(now), user_id=user).values_list(
        "content_object_id", "permission_id"
    )


# Read on every request that reaches a scope: compiled once (issue 17).
_PERSONAL_GRANTS = CompiledQuery(
    PathwayUserObjectPermission,
    _personal_grants,
    "user",
    "now",
    types={"user": int, "now": dt.datetime},
    repeated=("now",),
    prepared=True,  # a user's grants: by id
)


def _granted(
    actor: Actor,
    categories: Iterable[str],
    pathway_ref: str = "pk",
    *,
    now: dt.datetime | None = None,
) -> Q:
    """EXISTS a valid grant of one of `categories` to the actor's organisation or to the actor."""
    perm_ids = _permission_ids_for(categories)
    if not perm_ids:
        return Q(pk__in=[])
    if actor.link is not None:
        # A receiver's link sees its referral's pathway, under the organisation's grants (the
        # bases the receiver holds), and no other: every scope below narrows through here.
        return Q(
            Exists(
                PathwayGroupObjectPermission.objects.filter(
                    _in_force(now),
                    group_id=actor.organisation.group_id,
                    permission_id__in=perm_ids,
                    content_object_id=OuterRef(pathway_ref),
                )
            ),
            **{pathway_ref: actor.link.pathway_id},
        )
    group_grant = PathwayGroupObjectPermission.objects.filter(
        _in_force(now),
        group_id=actor.organisation.group_id,
        permission_id__in=perm_ids,
        content_object_id=OuterRef(pathway_ref),
    )
    # Personal grants (break-glass) are rare and few: fetch their pathway ids first and keep the
    # organisation's grant a lone EXISTS. `EXISTS(group) OR EXISTS(user)` cannot become a
    # semi-join: PostgreSQL then hashes every grant of the group (200 k rows for a large
    # organisation) or filters the whole recent-first index for a small one (docs/performance.md).
    wanted = set(perm_ids)
    personal = sorted({pathway_id for pathway_id, perm in personal_grants(actor) if perm in wanted})
    if not personal:
        return Q(Exists(group_grant))
    return Q(Exists(group_grant)) | Q(**{f"{pathway_ref}__in": personal})


def pathways_visible_to(
    actor: Actor, category: str | None = None, *, now: dt.datetime | None = None
) -> QuerySet[Pathway]:
    """Pathways of which the actor may see `category` (or, without one, any category)."""
    allowed = role_categories(actor)
    wanted = allowed if category is None else allowed & {category}
    if not wanted:
        return Pathway.objects.none()
    return Pathway.objects.filter(_granted(actor, wanted, now=now))


M = TypeVar("M", bound=Model)


def _compiled_scope(
    model: type[M],
    build: Callable[..., QuerySet[M]],
    *names: str,
    types: Mapping[str, type] | None = None,
    optional: Collection[str] = ("organisation",),
    repeated: Collection[str] = (),
    prepared: bool = False,
) -> CompiledQuery[M]:
    """A query of an actor's scope compiled once (`CompiledQuery`), `build` taking the
    organisation's group and id and the time as values — the time bounding a grant's interval
    at both ends, the id in several places or, when `optional`, in none — then `names`
    (integers unless `types` says otherwise; those in `repeated` may appear more than once)."""
    return CompiledQuery(
        model,
        build,
        "group",
        "organisation",
        "now",
        *names,
        types={
            "group": int,
            "organisation": int,
            "now": dt.datetime,
            **dict.fromkeys(names, int),
            **(types or {}),
        },
        repeated=("organisation", "now", *repeated),
        optional=optional,
        prepared=prepared,
    )


class ScopedRecord(Generic[M]):
    """One record of an actor's scope by id, its query compiled once per role (issue 17).

    `shape(actor, now)` is the scope queryset a door reads the record from (the same function
    the door's ORM path calls, so one definition of the query); its SQL differs between actors
    only by the organisation's group and id (a party of a referral), the time and the record's
    id — and by the actor's personal grants (break-glass), rare, for which `find` raises
    NotCompiled and the caller keeps the ORM's path. Building and compiling that query was
    ~3.5 ms of CPU of a 12 ms pathway detail; running the compiled SQL with the values costs
    nothing but the database (docs/performance.md). Same SQL, same instances, same prefetches
    (tests/test_compiled.py)."""

    def __init__(self, model: type[M], shape: Callable[[Actor, dt.datetime | None], QuerySet[M]]):
        self.model = model
        self._shape = shape
        self._by_role: dict[tuple, CompiledQuery[M]] = {}

    def _compiled(self, actor: Actor) -> CompiledQuery[M]:
        key = _role_key(actor)
        compiled = self._by_role.get(key)
        if compiled is None:

            def build(group: int, organisation: int, now: dt.datetime, pk: int) -> QuerySet[M]:
                # The actor with its organisation's group and id as markers: the role decides
                # the categories (so the permission ids), the group and the id the rows.
                stand_in = _stand_in(actor, group, organisation)
                # As QuerySet.get builds it: no ordering, at most MAX_GET_RESULTS rows.
                found = self._shape(stand_in, now).filter(pk=pk).order_by()
                return found[:MAX_GET_RESULTS]

            # A record by its id: prepared (parcours/prepared_statements.py).
            compiled = _compiled_scope(self.model, build, "pk", prepared=True)
            self._by_role[key] = compiled
        return compiled

    def find(self, actor: Actor, pk: int) -> M | None:
        """The record, or None when it is not in the scope (or missing). Raises NotCompiled
        when the actor holds personal grants or sees nothing: the caller asks the ORM."""
        if not scope_compiles(actor):
            raise NotCompiled
        return self._compiled(actor).first(
            group=actor.organisation.group_id,
            organisation=actor.organisation.pk,
            now=timezone.now(),
            pk=pk,
        )


def scope_compiles(actor: Actor) -> bool:
    """Whether the actor's scope has the shape the compiled scopes read (`ScopedRecord`,
    `ScopedPage`, `ScopedCount`, `ScopedRows`): not a receiver's link, no personal grant
    (break-glass), a role that sees something — else the door asks the ORM."""
    return actor.link is None and not personal_grants(actor) and bool(role_categories(actor))


def _role_key(actor: Actor) -> tuple:
    """What a compiled scope's SQL depends on besides its values: the role (its categories)
    and the permission ids written in the SQL (they change when the tables are re-created: a
    test's flush re-creates the permissions; `permission_ids` forgets them then)."""
    return (actor.role, tuple(sorted(permission_ids().items())))


def _stand_in(actor: Actor, group: int, organisation: int) -> Actor:
    """The actor as a compiled scope is built for: its organisation's group and id are the
    markers (a scope that does not name the id leaves its marker out), never the values of the
    actor the statement happened to be compiled for."""
    return Actor(
        user=actor.user, organisation=Organisation(pk=organisation, group_id=group), role=actor.role
    )


# A filter of a list's page applied to a queryset with a value (a django-filter `Filter.filter`).
Narrowing = Callable[[QuerySet[M], Any], QuerySet[M]]


class ScopedPage(Generic[M]):
    """A cursor page of an actor's scope, its query compiled once per role and page shape
    (issue 17: building and compiling the list's queryset was a quarter of a pathways page's
    CPU, as it was of a detail's before `ScopedRecord`).

    `shape(actor, now)` is the list's queryset (the one the door's ORM path reads); the page is
    `shape`, narrowed by the `own_organisation` filters asked (below), `.order_by(*ordering)`,
    then, past the first page, `.filter(<lookup>=<position>)`, then `[low:high]` — as DRF's
    `CursorPagination` builds it. Its SQL differs between actors only by the group and id of
    their organisation, the time and the cursor's position, once the role, the filters, the
    ordering, the lookup and the slice are fixed: those make the key (at most `SHAPES` of them,
    a cursor's offset being any number; past that, the ORM). Same SQL, same instances
    (tests/test_compiled.py).

    `own_organisation`: the list's filters (name → the filter's own `filter(queryset, value)`,
    in the order the filter set applies them) that a page may be asked with when their value is
    the actor's own organisation — a partner's referrals received or sent: the value is then
    the organisation's id marker, as in the scope."""

    SHAPES = 64

    def __init__(
        self,
        model: type[M],
        shape: Callable[[Actor, dt.datetime | None], QuerySet[M]],
        position: type,
        own_organisation: Mapping[str, Narrowing] | None = None,
    ):
        self.model = model
        self._shape = shape
        self._position = position  # the type of the ordering's first field (the cursor's)
        self.own_organisation: Mapping[str, Narrowing] = dict(own_organisation or {})
        self._by_shape: dict[tuple, CompiledQuery[M]] = {}

    def compiles(self, actor: Actor) -> bool:
        """Whether the actor's scope has the compiled shape: not a receiver's link, no personal
        grant (break-glass), a role that sees something — else the door asks the ORM."""
        return scope_compiles(actor)

    def _build(
        self,
        actor: Actor,
        narrowed: tuple[str, ...],
        ordering: tuple[str, ...],
        lookup: str | None,
        low: int,
        high: int,
    ) -> Callable[..., QuerySet[M]]:
        def build(
            group: int, organisation: int, now: dt.datetime, position: object = None
        ) -> QuerySet[M]:
            stand_in = _stand_in(actor, group, organisation)  # see ScopedRecord
            page = self._shape(stand_in, now)
            for name in narrowed:
                page = self.own_organisation[name](page, stand_in.organisation)
            page = page.order_by(*ordering)
            if lookup is not None:
                page = page.filter(**{lookup: position})
            return page[low:high]

        return build

    def page(
        self,
        actor: Actor,
        ordering: tuple[str, ...],
        lookup: str | None,
        position: object,
        low: int,
        high: int,
        narrowed: Collection[str] = (),
    ) -> list[M]:
        """The page's records, for an actor whose scope `compiles`, narrowed by those of the
        `own_organisation` filters named (to the actor's organisation)."""
        if not self.compiles(actor):
            raise NotCompiled
        values: dict[str, object] = {
            "group": actor.organisation.group_id,
            "organisation": actor.organisation.pk,
            "now": timezone.now(),
        }
        if lookup is not None:
            # The value as the lookup prepares it (a cursor's position is text).
            field: Any = self.model._meta.get_field(lookup.split("__")[0])
            alias = router.db_for_read(self.model)
            values["position"] = field.get_db_prep_value(
                field.get_prep_value(position), connections[alias], prepared=True
            )
        filters = tuple(name for name in self.own_organisation if name in narrowed)
        key = (*_role_key(actor), filters, ordering, lookup, low, high)
        compiled = self._by_shape.get(key)
        if compiled is None:
            build = self._build(actor, filters, ordering, lookup, low, high)
            if len(self._by_shape) >= self.SHAPES:  # an unusual offset: the ORM, as before
                return list(build(**values))
            names = ["position"] if lookup else []
            compiled = _compiled_scope(
                self.model, build, *names, types={"position": self._position}
            )
            self._by_shape[key] = compiled
        return compiled.all(**values)


class NotCompiled(Exception):
    """The actor's scope has a shape `ScopedRecord` does not compile: ask the ORM."""


class ScopedCount(Generic[M]):
    """How many rows an actor's scope holds, the COUNT compiled once per role (issue 17), as
    `ScopedRecord` compiles a record's query: `shape(actor, now)` is the queryset the ORM's
    path counts; its SQL differs between actors of one role only by the organisation's group,
    the organisation's id (a party of a referral) and the time. The header's open-alerts badge
    built and compiled its scope on every page (~3.4 ms of CPU). Personal grants change the
    SQL's shape: `count` raises NotCompiled and the caller counts with the ORM."""

    def __init__(self, model: type[M], shape: Callable[[Actor, dt.datetime | None], QuerySet[M]]):
        self.model = model
        self._shape = shape
        self._by_role: dict[tuple, CompiledQuery[M]] = {}

    def _compiled(self, actor: Actor) -> CompiledQuery[M]:
        key = _role_key(actor)
        compiled = self._by_role.get(key)
        if compiled is None:

            def build(group: int, organisation: int, now: dt.datetime) -> QuerySet[M]:
                return self._shape(_stand_in(actor, group, organisation), now)

            compiled = _compiled_scope(self.model, build, optional=())
            self._by_role[key] = compiled
        return compiled

    def count(self, actor: Actor) -> int:
        if not scope_compiles(actor):
            raise NotCompiled
        return self._compiled(actor).count(
            group=actor.organisation.group_id,
            organisation=actor.organisation.pk,
            now=timezone.now(),
        )

    def count_up_to(self, actor: Actor, most: int) -> int:
        """The count, or `most` if there are at least that many: the scope's first `most` ids,
        unordered, so that PostgreSQL stops at the `most`-th (a badge's « 99+ » needs no
        more). Compiled once per role; the ORM's same slice for a scope of another shape."""
        if not scope_compiles(actor):
            return len(_first_ids(self._shape(actor, None), most))
        key = (*_role_key(actor), most)
        compiled = self._by_role.get(key)
        if compiled is None:

            def build(group: int, organisation: int, now: dt.datetime) -> QuerySet[M]:
                return _first_ids(self._shape(_stand_in(actor, group, organisation), now), most)

            compiled = _compiled_scope(self.model, build, optional=())
            self._by_role[key] = compiled
        return len(
            compiled.rows(
                group=actor.organisation.group_id,
                organisation=actor.organisation.pk,
                now=timezone.now(),
            )
        )


def _first_ids(scope: QuerySet[M], most: int) -> QuerySet[M]:
    """The scope's first `most` ids, in no order (a bound, not a page)."""
    return scope.order_by().values_list("pk")[:most]  # type: ignore[return-value]


class ScopedRows(Generic[M]):
    """The rows of an actor's scope that belong to one record (a referral's alerts, its
    messages) or a list's filtered page, and their count, the query compiled once per role
    (issue 17), as `ScopedRecord` compiles a record's: `shape(actor, now, **values)` is the
    queryset the door's ORM path reads (one definition of the query), `values` what it is
    narrowed by (named in `names`: integers — ids — unless `types` says otherwise); its SQL
    differs between actors of one role only by the organisation's group and id, the time and
    those values. The referral's page built and compiled its alerts' and its thread's querysets
    on every request, the inbox its page's. Personal grants (break-glass) change the SQL's
    shape: `all` and `count` raise NotCompiled, and the caller asks the ORM
    (tests/test_compiled.py)."""

    def __init__(
        self,
        model: type[M],
        shape: Callable[..., QuerySet[M]],
        *names: str,
        types: Mapping[str, type] | None = None,
        repeated: Collection[str] = (),
        prepared: bool = False,
    ):
        self.model = model
        self._shape = shape
        self._names = names
        # Rows of one record (a referral's alerts, its thread) may be prepared; a list's page
        # over the organisation's scope is not (parcours/prepared_statements.py).
        self._prepared = prepared
        # Integers (ids) unless told otherwise (a datetime a list is filtered by).
        self._types = {name: int for name in names} | dict(types or {})
        self._repeated = tuple(repeated)  # values the SQL names more than once (a user's id)
        self._by_role: dict[tuple, CompiledQuery[M]] = {}

    def _compiled(self, actor: Actor) -> CompiledQuery[M]:
        key = _role_key(actor)
        compiled = self._by_role.get(key)
        if compiled is None:

            def build(group: int, organisation: int, now: dt.datetime, **ids: Any) -> QuerySet[M]:
                return self._shape(_stand_in(actor, group, organisation), now, **ids)

            compiled = _compiled_scope(
                self.model,
                build,
                *self._names,
                types=self._types,
                repeated=self._repeated,
                prepared=self._prepared,
            )
            self._by_role[key] = compiled
        return compiled

    def compiles(self, actor: Actor) -> bool:
        """Whether the actor's scope has the compiled shape (see ScopedPage.compiles)."""
        return scope_compiles(actor)

    def _values(self, actor: Actor, now: dt.datetime | None, ids: Mapping[str, object]) -> dict:
        if not self.compiles(actor):
            raise NotCompiled
        return {
            "group": actor.organisation.group_id,
            "organisation": actor.organisation.pk,
            "now": timezone.now() if now is None else now,
            **ids,
        }

    def all(self, actor: Actor, *, now: dt.datetime | None = None, **ids: object) -> list[M]:
        """The rows, in the queryset's order (`now`: the time the scope is read at)."""
        return self._compiled(actor).all(**self._values(actor, now, ids))

    def count(self, actor: Actor, *, now: dt.datetime | None = None, **ids: object) -> int:
        """What the queryset's `count()` gives."""
        return self._compiled(actor).count(**self._values(actor, now, ids))

    def read(self, actor: Actor, *, now: dt.datetime | None = None, **ids: object) -> list[M]:
        """`all`, or the shape's rows by the ORM for an actor whose scope has another shape
        (personal grants, a receiver's link): what a door reads, whoever the actor is."""
        try:
            return self.all(actor, now=now, **ids)
        except NotCompiled:
            return list(self._shape(actor, now, **ids))

    def counted(self, actor: Actor, *, now: dt.datetime | None = None, **ids: object) -> int:
        """`count`, or the shape's `count()` by the ORM (as `read`)."""
        try:
            return self.count(actor, now=now, **ids)
        except NotCompiled:
            return self._shape(actor, now, **ids).count()


@dataclass(frozen=True)
class PathwayGrants:
    """What the actor may see of one pathway now: category → basis codes, and the relations
    (owner, receiver…) the rows were granted for — the purpose journaled with a read."""

    bases: dict[str, frozenset[str]]
    relations: frozenset[str]

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(self.bases)


NO_GRANTS = PathwayGrants(bases={}, relations=frozenset())


def _grants_sql() -> str:
    """The grants query's SQL: the organisation's rows and the user's own (break-glass), UNION
    ALL, with the permission and pathway ids as arrays — one text whatever their number, so it
    is written once (issue 17: the ORM built and compiled the union on every detail and page,
    the largest share of their CPU after the scope itself). Names from the models' metadata; no
    input reaches this text."""
    columns = "content_object_id, permission_id, basis, relations"
    in_force = (
        "(valid_from IS NULL OR valid_from <= %(now)s) "
        "AND (valid_until IS NULL OR valid_until > %(now)s)"
    )
    ids = "permission_id = ANY(%(permissions)s) AND content_object_id = ANY(%(pathways)s)"
    group = PathwayGroupObjectPermission._meta.db_table
    user = PathwayUserObjectPermission._meta.db_table
    return (
        f"SELECT {columns} FROM {group} WHERE {in_force} AND group_id = %(group)s AND {ids} "  # noqa: S608
        f"UNION ALL SELECT {columns} FROM {user} WHERE {in_force} AND user_id = %(user)s "
        f"AND {ids}"
    )


_GRANTS_SQL = _grants_sql()


def _grant_rows(actor: Actor, perm_ids: list[int], ids: list[int]) -> list[tuple]:
    """The grant rows in force of the actor's organisation and of the acting user; a receiver's
    link has no user, so no personal grant (`user_id = NULL` matches no row)."""
    alias = router.db_for_read(PathwayGroupObjectPermission)
    if connections[alias].vendor != "postgresql":  # `make run`'s SQLite fallback: no arrays
        return _grant_rows_orm(actor, perm_ids, ids)
    values = {
        "now": timezone.now(),
        "group": actor.organisation.group_id,
        "user": actor.user_id,
        "permissions": perm_ids,
        "pathways": ids,
    }
    # By pathway ids: prepared (parcours/prepared_statements.py).
    return prepared_statements.fetch(connections[alias], _GRANTS_SQL, values, prepared=True)


def _grant_rows_orm(actor: Actor, perm_ids: list[int], ids: list[int]) -> list[tuple]:
    columns = ("content_object_id", "permission_id", "basis", "relations")
    personal = (
        PathwayUserObjectPermission.objects.filter(
            _in_force(),
            user_id=actor.user_id,
            permission_id__in=perm_ids,
            content_object_id__in=ids,
        )
        if actor.user_id is not None
        else PathwayUserObjectPermission.objects.none()
    )
    return list(
        PathwayGroupObjectPermission.objects.filter(
            _in_force(),
            group_id=actor.organisation.group_id,
            permission_id__in=perm_ids,
            content_object_id__in=ids,
        )
        .values_list(*columns)
        .union(personal.values_list(*columns), all=True)
    )


def grants_for(actor: Actor, pathway_ids: Iterable[int]) -> dict[int, PathwayGrants]:
    """Pathway id → the actor's grants in force now (one query for a whole page). A receiver's
    link holds grants on its referral's pathway only."""
    allowed = role_categories(actor)
    ids = list(set(pathway_ids))
    granted = ids if actor.link is None else [p for p in ids if p == actor.link.pathway_id]
    if not allowed or not granted:
        return dict.fromkeys(ids, NO_GRANTS)
    by_id = {v: k for k, v in permission_ids().items()}
    bases: dict[int, dict[str, set[str]]] = {pid: {} for pid in ids}
    relations: dict[int, set[str]] = {pid: set() for pid in ids}
    for pathway_id, permission_id, basis, granted_for in _grant_rows(
        actor, _permission_ids_for(allowed), granted
    ):
        category = by_id[permission_id].removeprefix("view_pathway_")
        bases[pathway_id].setdefault(category, set()).update(basis.split())
        relations[pathway_id].update(granted_for.split())
    return {
        pid: PathwayGrants(
            bases={c: frozenset(codes) for c, codes in bases[pid].items()},
            relations=frozenset(relations[pid]),
        )
        for pid in ids
    }


def categories_for(actor: Actor, pathway_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """Pathway id → the categories the actor may see now (one query for a whole page)."""
    return {pid: grants.categories for pid, grants in grants_for(actor, pathway_ids).items()}


def categories_of_person(actor: Actor, person_id: int) -> frozenset[str]:
    """The categories the actor may see of a person: the union over the person's pathways."""
    pathway_ids = Pathway.objects.filter(person_id=person_id).values_list("pk", flat=True)
    return frozenset().union(*categories_for(actor, pathway_ids).values())


def basis_for(actor: Actor, pathway_id: int, categories: Iterable[str]) -> str:
    """The bases behind the actor's view of these categories, e.g. "consent:3 legal:spe"."""
    bases = grants_for(actor, [pathway_id])[pathway_id].bases
    return " ".join(sorted({code for c in categories for code in bases.get(c, ())}))


def persons_visible_to(actor: Actor, *, now: dt.datetime | None = None) -> QuerySet[Person]:
    """People of whom the actor may at least see the identity on one of their pathways."""
    if DataCategory.IDENTITY not in role_categories(actor):
        return Person.objects.none()
    visible = Pathway.objects.filter(
        _granted(actor, [DataCategory.IDENTITY], now=now), person_id=OuterRef("pk")
    )
    return Person.objects.filter(Exists(visible))


def referrals_visible_to(actor: Actor, *, now: dt.datetime | None = None) -> QuerySet[Referral]:
    """Referrals of pathways whose pathway category the actor sees; drafts only to their sender."""
    if DataCategory.PATHWAY not in role_categories(actor):
        return Referral.objects.none()
    referrals = Referral.objects.filter(
        _granted(actor, [DataCategory.PATHWAY], pathway_ref="pathway_id", now=now)
    ).filter(_not_a_draft_of_others(actor))
    if actor.link is not None:  # its one referral, not the pathway's others
        return referrals.filter(pk=actor.link.referral_id)
    return referrals


def referrals_concerning(actor: Actor, *, now: dt.datetime | None = None) -> QuerySet[Referral]:
    """Visible referrals the actor's organisation sent or received: the alerts about a referral
    (notifications) are shown to its two parties only, never to a care-team bystander."""
    return referrals_visible_to(actor, now=now).filter(
        Q(sender_organisation_id=actor.organisation.pk)
        | Q(receiver_organisation_id=actor.organisation.pk)
    )


def referral_messages_visible_to(
    actor: Actor, *, now: dt.datetime | None = None
) -> QuerySet[ReferralMessage]:
    """Messages of the referrals the actor's organisation sent or received and still sees (the
    referral's basis), to the roles the gate's table lets read a thread: never a care-team
    bystander, a manager, a DPO or an administrator."""
    if not _may(actor, Action.REFERRAL_MESSAGE_READ):
        return ReferralMessage.objects.none()
    return ReferralMessage.objects.filter(referral__in=referrals_concerning(actor, now=now))


def may_read_messages(actor: Actor) -> bool:
    """The role half of reading a thread (the gate's table; the party half is per referral)."""
    return _may(actor, Action.REFERRAL_MESSAGE_READ)


def appointments_visible_to(actor: Actor) -> QuerySet[Appointment]:
    return Appointment.objects.filter(referral__in=referrals_visible_to(actor))


def events_visible_to(
    actor: Actor, pathway_id: int, categories: Iterable[str] | None = None
) -> QuerySet[PathwayEvent]:
    """The timeline entries of one pathway in the categories the actor may see (pass them if
    already known from `categories_for` for this actor and request)."""
    if categories is None:
        categories = categories_for(actor, [pathway_id])[pathway_id]
    return pathway_events_in(pathway_id, categories)


def pathway_events_in(pathway_id: int, categories: Iterable[str]) -> QuerySet[PathwayEvent]:
    """`events_visible_to` once the actor's categories of the pathway are known: they alone
    shape the query (the person page compiles it once per set of categories)."""
    return PathwayEvent.objects.filter(pathway_id=pathway_id, category__in=categories)


def diagnostic_visible_to(
    actor: Actor, pathway_id: int, categories: Iterable[str] | None = None
) -> QuerySet[DiagnosticEntry]:
    """Every version of the domains of one pathway's diagnostic whose category the actor may
    see (pass the categories if already known from `categories_for` for this request)."""
    if categories is None:
        categories = categories_for(actor, [pathway_id])[pathway_id]
    return pathway_diagnostic_in(pathway_id, categories)


def pathway_diagnostic_in(pathway_id: int, categories: Iterable[str]) -> QuerySet[DiagnosticEntry]:
    """`diagnostic_visible_to` once the actor's categories of the pathway are known (above)."""
    return DiagnosticEntry.objects.filter(pathway_id=pathway_id, domain__in=domains_in(categories))


def _not_a_draft_of_others(actor: Actor) -> Q:
    return ~Q(status=ReferralStatus.DRAFT) | Q(sender_organisation_id=actor.organisation.pk)


def pathway_referrals_visible_to(
    actor: Actor, pathway_id: int, categories: Iterable[str] | None = None
) -> QuerySet[Referral]:
    """The referrals of one pathway, as `referrals_visible_to` (pass the categories if already
    known for this pathway and request: no scope to build again)."""
    if categories is None:
        categories = categories_for(actor, [pathway_id])[pathway_id]
    if DataCategory.PATHWAY not in categories:
        return Referral.objects.none()
    return Referral.objects.filter(_not_a_draft_of_others(actor), pathway_id=pathway_id)


def pathway_care_team_visible_to(
    actor: Actor, pathway_id: int, categories: Iterable[str] | None = None
) -> QuerySet[CareTeamMember]:
    """The care team of one pathway, as `care_team_visible_to` (pass the categories if known)."""
    if categories is None:
        categories = categories_for(actor, [pathway_id])[pathway_id]
    if DataCategory.PATHWAY not in categories:
        return CareTeamMember.objects.none()
    return CareTeamMember.objects.filter(pathway_id=pathway_id)


# The two rules above, applied to rows a page already fetched for the gate's relations
# (gate.relations.pathways_of_person): the same answer without reading them twice. The tests
# hold each against its queryset (tests/test_access.py).


def pathway_referrals_shown(
    actor: Actor, referrals: Iterable[Referral], categories: Iterable[str]
) -> list[Referral]:
    """Of one pathway's referrals (every one, fetched), those `pathway_referrals_visible_to`
    gives for these categories of that pathway, in the order given."""
    if DataCategory.PATHWAY not in categories:
        return []
    mine = actor.organisation.pk
    return [
        r for r in referrals if r.status != ReferralStatus.DRAFT or r.sender_organisation_id == mine
    ]


def pathway_care_team_shown(
    members: Iterable[CareTeamMember], categories: Iterable[str]
) -> list[CareTeamMember]:
    """Of one pathway's care team (fetched), what `pathway_care_team_visible_to` gives."""
    return list(members) if DataCategory.PATHWAY in categories else []


def agreements_visible_to(actor: Actor) -> QuerySet[Agreement]:
    """Members of a party see the agreement (whatever their role), pending parties included:
    they must read it to answer."""
    # EXISTS rather than a join + DISTINCT: services lock these rows, and PostgreSQL refuses
    # SELECT … FOR UPDATE with DISTINCT.
    signed = AgreementParty.objects.filter(
        agreement_id=OuterRef("pk"), organisation_id=actor.organisation.pk
    )
    return Agreement.objects.filter(Exists(signed))


def organisations_visible_to(actor: Actor) -> QuerySet[Organisation]:
    """The partner directory is shared: every member sees every organisation and its services."""
    return Organisation.objects.all()


def memberships_of(actor: Actor) -> QuerySet[Membership]:
    """The acting account's active memberships with their organisations (none for a link)."""
    if actor.user is None:
        return Membership.objects.none()
    return memberships_of_user(actor.user)


def memberships_listed(actor: Actor) -> list[Membership]:
    """`memberships_of(actor)`'s rows, through the statement compiled once (actor.py)."""
    return active_memberships(actor.account.pk)


def referent_candidates(actor: Actor) -> QuerySet[User]:
    """Whom the acting organisation may name référent from its own staff: its active members
    whose role may be one (the gate's table). The service accepts any organisation's; the pages
    offer one's own colleagues."""
    return (
        User.objects.filter(
            memberships__organisation=actor.organisation,
            memberships__is_active=True,
            memberships__role__in=roles_for(Action.BE_REFERENT),
        )
        .distinct()
        .order_by("last_name", "first_name", "id")
    )


def assignee_candidates(actor: Actor) -> QuerySet[User]:
    """To whom the acting organisation may hand a referral it received (« Confier à »): its
    active members whose role may be in charge of one (the gate's table)."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__organisation=actor.organisation,
            memberships__is_active=True,
            memberships__role__in=roles_for(Action.BE_REFERRAL_ASSIGNEE),
        )
        .distinct()
        .order_by("last_name", "first_name", "id")
    )


def caseload_of(
    actor: Actor, *, now: dt.datetime | None = None, user: int | None = None
) -> QuerySet[Pathway]:
    """The acting user's caseload (« mes dossiers »): the open pathways they follow — as
    référent, or as the counsellor in charge of a referral their organisation received and
    still handles (`ASSIGNABLE_STATUSES`, services/referral_assignment.py) — among those whose
    pathway category the actor sees. One query whatever its size: the ids come from a UNION of
    two index ranges (the référent's foreign key, the partial index
    `referral_assigned_open_idx`), a few rows the grant's EXISTS then checks — an OR of the two
    conditions would read every pathway instead. `user`: the acting user's id as a value (a
    compiled list's parameter: web/views/worklists.py), `now` the time the grants are read at."""
    user_id = actor.user_id if user is None else user
    as_referent = Pathway.objects.filter(referent_id=user_id).order_by().values("pk")
    in_charge = (
        Referral.objects.filter(
            assigned_user_id=user_id,
            receiver_organisation_id=actor.organisation.pk,
            status__in=ASSIGNABLE_STATUSES,
        )
        .order_by()
        .values("pathway_id")
    )
    return pathways_visible_to(actor, DataCategory.PATHWAY, now=now).filter(
        pk__in=as_referent.union(in_charge), status=PathwayStatus.OPEN
    )


# Who may do what with a partnership agreement, by role in the acting organisation: read from
# the gate's table (parcours/rules.py) by the services, the API's available actions and the
# tests. Whatever the role, a party answers for its own organisation only
# (docs/domain.md#partnership-agreements).
AGREEMENT_ROLES: dict[str, frozenset[str]] = {
    AgreementAction.PROPOSE: roles_for(Action.AGREEMENT_PROPOSE),
    AgreementAction.UPDATE: roles_for(Action.AGREEMENT_CHANGE),
    AgreementAction.ACCEPT: roles_for(Action.AGREEMENT_ACCEPT),
    AgreementAction.DECLINE: roles_for(Action.AGREEMENT_DECLINE),
}


def can_propose_agreement(actor: Actor) -> bool:
    return _may(actor, Action.AGREEMENT_PROPOSE)


def can_update_agreement(actor: Actor) -> bool:
    return _may(actor, Action.AGREEMENT_CHANGE)


def can_accept_agreement(actor: Actor) -> bool:
    return _may(actor, Action.AGREEMENT_ACCEPT)


def can_decline_agreement(actor: Actor) -> bool:
    return _may(actor, Action.AGREEMENT_DECLINE)


def consents_concerning(actor: Actor) -> Q:
    """The consents that concern the actor's organisation: those naming it (or its kind of
    organisation) and those it collected. Others exist, but what they share and why is between
    the person and the organisations they name (ADR 0010)."""
    organisation = actor.organisation
    return (
        Q(organisations=organisation.pk)
        | Q(organisation_kinds__contains=[organisation.kind])
        | Q(collected_by_organisation_id=organisation.pk)
    )


def _concerning_ids(actor: Actor) -> QuerySet:
    # A subquery of ids: `consents_concerning` joins the organisations (one row per name).
    return Consent.objects.filter(consents_concerning(actor)).values("pk")


def consents_visible_to(actor: Actor) -> QuerySet[Consent]:
    """Consents that concern the actor's organisation, of people whose identity it sees."""
    return Consent.objects.filter(
        pk__in=_concerning_ids(actor), person__in=persons_visible_to(actor)
    )


def person_consents_visible_to(
    actor: Actor, person_id: int, categories: Iterable[str]
) -> QuerySet[Consent]:
    """The person's consents, as `consents_visible_to`, given the categories the actor sees on
    the person's pathways this request (`grants_for`): their identity among them, or none."""
    if DataCategory.IDENTITY not in categories:
        return Consent.objects.none()
    return Consent.objects.filter(pk__in=_concerning_ids(actor), person_id=person_id)


def person_objections_visible_to(
    actor: Actor, person_id: int, categories: Iterable[str]
) -> QuerySet[Objection]:
    """The person's objections, as `objections_visible_to`, given the categories seen (above)."""
    if DataCategory.IDENTITY not in categories:
        return Objection.objects.none()
    return Objection.objects.filter(person_id=person_id)


# Every consent of a person, counted by a statement compiled once (the person page, issue 17).
_PERSON_CONSENTS = CompiledQuery(
    Consent,
    lambda person: Consent.objects.filter(person_id=person),
    "person",
    types={"person": int},
    prepared=True,
)


def consents_not_shown_count(actor: Actor, person_id: int, shown: int | None = None) -> int:
    """How many of the person's consents the actor may not read: it may know they exist.
    `shown`: how many `person_consents_visible_to` gave it this request (then one plain count)."""
    if DataCategory.IDENTITY not in role_categories(actor):
        return 0
    if shown is not None:
        return _PERSON_CONSENTS.count(person=person_id) - shown
    return (
        Consent.objects.filter(person_id=person_id).exclude(pk__in=_concerning_ids(actor)).count()
    )


def objections_visible_to(actor: Actor) -> QuerySet[Objection]:
    return Objection.objects.filter(person__in=persons_visible_to(actor))


def care_team_visible_to(actor: Actor) -> QuerySet[CareTeamMember]:
    return CareTeamMember.objects.filter(
        pathway__in=pathways_visible_to(actor, DataCategory.PATHWAY)
    )


def objectives_visible_to(actor: Actor) -> QuerySet[Objective]:
    """The action plan is pathway data: its objectives go with the pathway category."""
    if DataCategory.PATHWAY not in role_categories(actor):
        return Objective.objects.none()
    return Objective.objects.filter(
        _granted(actor, [DataCategory.PATHWAY], pathway_ref="pathway_id")
    )


def plan_actions_visible_to(actor: Actor) -> QuerySet[PlanAction]:
    if DataCategory.PATHWAY not in role_categories(actor):
        return PlanAction.objects.none()
    return PlanAction.objects.filter(
        _granted(actor, [DataCategory.PATHWAY], pathway_ref="pathway_id")
    )


def organisations_seeing(pathway_id: int, category: str) -> QuerySet[Organisation]:
    """The organisations whose grants let them see `category` of this pathway now (not a user's
    own break-glass; the rows `organisation_bases` reads): those an action of the plan may be
    given to — its holder must see it —, and those whose systems hear of the pathway's changes
    (services/webhooks.py)."""
    permission_id = _permission_ids_for([category])[0]
    granted = PathwayGroupObjectPermission.objects.filter(
        _in_force(),
        group_id=OuterRef("group_id"),
        permission_id=permission_id,
        content_object_id=pathway_id,
    )
    return Organisation.objects.filter(Exists(granted))


def break_glasses_visible_to(actor: Actor) -> QuerySet[BreakGlass]:
    """A user sees their organisation's exceptional accesses (the DPO's report comes later)."""
    if not _may(actor, Action.BREAK_GLASS_LIST):
        return BreakGlass.objects.none()
    return BreakGlass.objects.filter(organisation=actor.organisation)


def access_requests_visible_to(actor: Actor) -> QuerySet[AccessRequest]:
    """Requests the actor's organisation made, or received as the owner of the record."""
    if not _may(actor, Action.ACCESS_REQUEST_LIST):
        return AccessRequest.objects.none()
    return AccessRequest.objects.filter(
        Q(requesting_organisation=actor.organisation)
        | Q(pathway__owner_organisation=actor.organisation)
    )


def access_requests_received_by(actor: Actor) -> QuerySet[AccessRequest]:
    """Requests to join the records the actor's organisation holds (it answers them)."""
    return access_requests_visible_to(actor).filter(pathway__owner_organisation=actor.organisation)


def access_requests_made_by(actor: Actor) -> QuerySet[AccessRequest]:
    return access_requests_visible_to(actor).filter(requesting_organisation=actor.organisation)


def organisations_administered_by(user) -> QuerySet[Organisation]:
    """Organisations a user administers in the Django admin: all for a superuser; otherwise
    those where they hold an active administrator membership (the admin's scoping)."""
    if user.is_superuser:
        return Organisation.objects.all()
    return Organisation.objects.filter(
        memberships__user=user,
        memberships__role__in=roles_for(Action.ADMINISTER_ORGANISATION),
        memberships__is_active=True,
    )


def admin_actor_for(user, organisation: Organisation) -> Actor:
    """The actor of a Django admin user acting for an organisation they administer, as its
    administrator: a superuser (the territorial administrator) for any organisation, an
    organisation's administrator for theirs only. Raises NotAllowed otherwise."""
    if not organisations_administered_by(user).filter(pk=organisation.pk).exists():
        raise NotAllowed(
            _("Vous n'administrez pas l'organisation « %(name)s ».") % {"name": organisation.name}
        )
    return Actor(user=user, organisation=organisation, role=Role.ADMIN)


# --- DPO reports --------------------------------------------------------------------------------
# A DPO reads who did what (the journal), never record content. An organisation's DPO reports on
# the people and users related to their organisation; a national DPO on everyone. Out of scope
# answers 404 like missing, as everywhere else.


def can_read_dpo_reports(actor: Actor) -> bool:
    return _may(actor, Action.DPO_REPORT)


def administers_organisation(actor: Actor) -> bool:
    """Its administrators manage the organisation's partner-system tokens (its pages' menu)."""
    return _may(actor, Action.ADMINISTER_ORGANISATION)


def can_read_statistics(actor: Actor) -> bool:
    """The dashboard's statistics (the menu shows it to whom the gate's table gives it)."""
    return _may(actor, Action.STATISTICS_READ)


def can_read_territory(actor: Actor) -> bool:
    """The coordinator's territory (overdue referrals of their areas; the menu shows it)."""
    return _may(actor, Action.TERRITORY_READ)


def coordinated_area_ids(actor: Actor) -> frozenset[int]:
    """The employment areas the actor coordinates: their membership's, if the gate's table
    gives their role the territory; empty otherwise (no query then)."""
    if not can_read_territory(actor):
        return frozenset()
    return membership_area_ids(actor)


def statistics_organisations_for(actor: Actor) -> QuerySet[Organisation]:
    """Organisations whose referral figures the actor reads: a coordinator, every organisation
    of the employment areas they cover (whichever their own); a manager, their own."""
    if can_read_territory(actor):
        return Organisation.objects.filter(employment_area_id__in=coordinated_area_ids(actor))
    if can_read_statistics(actor):
        return Organisation.objects.filter(pk=actor.organisation.pk)
    return Organisation.objects.none()


# --- The case committee (CLCVP) -------------------------------------------------------------------
# A committee's text is not the record: the coordinator of the area, the proposer and the invited
# organisations read a proposal's text (its own basis, `services/committee.py`); the record of
# the person stays behind the grants above, which a committee never widens.


def can_list_committees(actor: Actor) -> bool:
    """The menu's « Comités de parcours » (the gate's table: roles that take part)."""
    return _may(actor, Action.COMMITTEE_LIST)


def coordinates_committees(actor: Actor) -> bool:
    """The acting membership may run committees (the coordinator role, the gate's table)."""
    return _may(actor, Action.COMMITTEE_SCHEDULE)


def committee_area_ids(actor: Actor) -> frozenset[int]:
    """The employment areas whose committees the actor runs (none unless a coordinator)."""
    if not coordinates_committees(actor):
        return frozenset()
    return coordinated_area_ids(actor)


def _attended_by(actor: Actor, committee_ref: str = "pk") -> Exists:
    return Exists(
        Committee.attendees.through.objects.filter(
            committee_id=OuterRef(committee_ref), organisation_id=actor.organisation.pk
        )
    )


def committees_visible_to(actor: Actor) -> QuerySet[Committee]:
    """The sessions the actor sees: those of the areas it coordinates, those its organisation is
    invited to."""
    if not _may(actor, Action.COMMITTEE_LIST):
        return Committee.objects.none()
    areas = committee_area_ids(actor)
    return Committee.objects.filter(
        Q(employment_area_id__in=sorted(areas)) | Q(_attended_by(actor))
    )


def committee_proposals_visible_to(actor: Actor) -> QuerySet[CommitteeProposal]:
    """The proposals whose committee text the actor reads: those of the areas it coordinates,
    its organisation's own, and those on the agenda of a session its organisation attends."""
    if not _may(actor, Action.COMMITTEE_READ_ITEM):
        return CommitteeProposal.objects.none()
    areas = committee_area_ids(actor)
    return CommitteeProposal.objects.filter(
        Q(employment_area_id__in=sorted(areas))
        | Q(proposer_organisation_id=actor.organisation.pk)
        | Q(committee__isnull=False, pk__in=_proposals_on_attended_agendas(actor))
    )


def _proposals_on_attended_agendas(actor: Actor) -> QuerySet:
    return CommitteeProposal.objects.filter(
        committee__isnull=False, committee__attendees=actor.organisation.pk
    ).values("pk")


def reports_cover_every_organisation(actor: Actor) -> bool:
    return _may(actor, Action.DPO_REPORT_EVERY_ORGANISATION)


def organisations_reportable_by(actor: Actor) -> QuerySet[Organisation]:
    """Organisations whose staff's actions the DPO reports on."""
    if reports_cover_every_organisation(actor):
        return Organisation.objects.all()
    if can_read_dpo_reports(actor):
        return Organisation.objects.filter(pk=actor.organisation.pk)
    return Organisation.objects.none()


def staff_named_for(actor: Actor) -> frozenset[int] | None:
    """Organisations whose staff the DPO's internal reports name (None: every organisation).
    An organisation's DPO investigates their own staff; other partners' staff appear as "a member
    of <organisation>" — each partner's DPO answers for its own people."""
    if reports_cover_every_organisation(actor):
        return None
    return frozenset({actor.organisation.pk})


# Journal rows that show the organisation held the person's data: a record read or written, an
# exceptional access opened. Not denials, access requests, reports or exports (the DPO's own).
HELD_BY_ACCESS = (AccessOperation.READ, AccessOperation.WRITE, AccessOperation.BREAK_GLASS)


def persons_reportable_by(actor: Actor) -> QuerySet[Person]:
    """People a DPO may report on: everyone for a national DPO; for an organisation's DPO, the
    people whose data their organisation legitimately holds or held: pathway owner or référent,
    care team, party to a referral, named in a consent or its collector, a rights request the
    person made to it, or a record its staff read or wrote (the journal's granted accesses).

    Never from what the DPO's organisation merely attempted: a refused access, an access request
    not granted, a match outside its scope — nor from the DPO's own reports and exports. Else a
    DPO probing sequential ids would widen their own reach (ADR 0010)."""
    if reports_cover_every_organisation(actor):
        return Person.objects.all()
    if not can_read_dpo_reports(actor):
        return Person.objects.none()
    organisation = actor.organisation
    person = OuterRef("pk")
    related = [
        Pathway.objects.filter(person_id=person).filter(
            Q(owner_organisation_id=organisation.pk) | Q(referent_organisation_id=organisation.pk)
        ),
        CareTeamMember.objects.filter(pathway__person_id=person, organisation_id=organisation.pk),
        Referral.objects.filter(pathway__person_id=person).filter(
            Q(sender_organisation_id=organisation.pk) | Q(receiver_organisation_id=organisation.pk)
        ),
        # Named by the person, or collected by it; a consent to "every Mission locale" names a
        # kind, not this organisation, and gives it nothing to hold without a relationship.
        Consent.objects.filter(person_id=person).filter(
            Q(organisations=organisation.pk) | Q(collected_by_organisation_id=organisation.pk)
        ),
        RightsRequest.objects.filter(person_id=person, organisation_id=organisation.pk),
        AccessEvent.objects.filter(
            person_id=person,
            organisation_id=organisation.pk,
            operation__in=HELD_BY_ACCESS,
        ),
    ]
    condition = Q(Exists(related[0]))
    for subquery in related[1:]:
        condition |= Q(Exists(subquery))
    return Person.objects.filter(condition)


def users_reportable_by(actor: Actor) -> QuerySet[User]:
    """Users whose activity a DPO may report on: members (now or before) of the organisations
    they report on."""
    if reports_cover_every_organisation(actor):
        return User.objects.filter(Exists(Membership.objects.filter(user_id=OuterRef("pk"))))
    if not can_read_dpo_reports(actor):
        return User.objects.none()
    return User.objects.filter(
        Exists(
            Membership.objects.filter(user_id=OuterRef("pk"), organisation_id=actor.organisation.pk)
        )
    )


def rights_requests_visible_to(actor: Actor) -> QuerySet[RightsRequest]:
    """Rights requests: those the DPO's organisation received (every one for a national DPO)."""
    if reports_cover_every_organisation(actor):
        return RightsRequest.objects.all()
    if not can_read_dpo_reports(actor):
        return RightsRequest.objects.none()
    return RightsRequest.objects.filter(organisation_id=actor.organisation.pk)


def organisation_bases(organisation: Organisation, pathway_id: int) -> dict[str, frozenset[str]]:
    """Category → basis codes of this pathway that the organisation itself sees now (its grant
    rows, not a member's break-glass): what a message to its systems may carry
    (services/webhooks.py), and why."""
    ids = permission_ids()
    by_id = {ids[permission_codename(c)]: c for c in ALL_CATEGORIES}
    rows = PathwayGroupObjectPermission.objects.filter(
        _in_force(),
        group_id=organisation.group_id,
        content_object_id=pathway_id,
        permission_id__in=list(by_id),
    ).values_list("permission_id", "basis")
    bases: dict[str, set[str]] = {}
    for permission_id, basis in rows:
        bases.setdefault(by_id[permission_id], set()).update(basis.split())
    return {category: frozenset(codes) for category, codes in bases.items()}


# --- The person in front of their own record (issue 19) ------------------------------------------
# Not a staff actor: their record's id and how they proved it. What they may do is the gate's
# (parcours/gate/person.py); what is theirs is scoped here, below the selectors that read it.


@dataclass(frozen=True)
class PersonPrincipal:
    """The person signed in to their space: their record's id, and how they proved it."""

    person_id: int
    method: str  # "email_code" (a one-time code sent to their address)


def consents_of(principal: PersonPrincipal) -> QuerySet[Consent]:
    """The person's own consents: the only ones they see or withdraw."""
    return Consent.objects.filter(person_id=principal.person_id)
