"""The only writer of access-journal rows (docs/journal.md; sealing and verification are in
`services/journal.py`).

One row per access, whichever door it came through: a record read, a list (one row per group of
objects shown with the same categories, bases and purpose — so each object is in exactly one
row, with the categories actually shown for *it*), a write (written by the service that made it),
a refusal (written even when the service's transaction rolls back), an exceptional access, an
access request, a DPO's report or export. The row's `detail` says the door and the gate action;
the same operation through the API and a page gives the same row but for the door (ADR 0010).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, router
from django.db.models import JSONField
from django.http import HttpRequest

from .. import prepared_statements
from ..actor import Actor
from ..models import (
    AccessEvent,
    AccessOperation,
    AccessRequest,
    ApiToken,
    Appointment,
    BreakGlass,
    CareTeamMember,
    Committee,
    CommitteeProposal,
    Consent,
    Objection,
    Objective,
    Organisation,
    Pathway,
    Person,
    PlanAction,
    Referral,
)
from ..models.journal import SECURITY_OPERATIONS, TOKEN_OPERATIONS
from ..request_origin import client_ip_for, request_id_from
from ..rules import Action, purpose_of
from . import context

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from ..access import PathwayGrants

# The journal's names for the records people's data lives in.
OBJECT_TYPES: dict[type, str] = {
    Person: "person",
    Pathway: "pathway",
    Referral: "referral",
    Appointment: "appointment",
    Consent: "consent",
    Objection: "objection",
    CareTeamMember: "care_team_member",
    AccessRequest: "access_request",
    BreakGlass: "break_glass",
    Objective: "objective",
    PlanAction: "plan_action",
    Committee: "committee",
    CommitteeProposal: "committee_proposal",
}

# object type → the person a record of that type is about
_PERSON_OF = {
    "person": lambda pk: Person.objects.filter(pk=pk).values_list("pk", flat=True),
    "pathway": lambda pk: Pathway.objects.filter(pk=pk).values_list("person_id", flat=True),
    "referral": lambda pk: Referral.objects.filter(pk=pk).values_list(
        "pathway__person_id", flat=True
    ),
    "appointment": lambda pk: Appointment.objects.filter(pk=pk).values_list(
        "referral__pathway__person_id", flat=True
    ),
    "consent": lambda pk: Consent.objects.filter(pk=pk).values_list("person_id", flat=True),
    "objection": lambda pk: Objection.objects.filter(pk=pk).values_list("person_id", flat=True),
    "care_team_member": lambda pk: CareTeamMember.objects.filter(pk=pk).values_list(
        "pathway__person_id", flat=True
    ),
    "access_request": lambda pk: AccessRequest.objects.filter(pk=pk).values_list(
        "pathway__person_id", flat=True
    ),
    "break_glass": lambda pk: BreakGlass.objects.filter(pk=pk).values_list(
        "pathway__person_id", flat=True
    ),
    "objective": lambda pk: Objective.objects.filter(pk=pk).values_list(
        "pathway__person_id", flat=True
    ),
    "plan_action": lambda pk: PlanAction.objects.filter(pk=pk).values_list(
        "pathway__person_id", flat=True
    ),
    "committee_proposal": lambda pk: CommitteeProposal.objects.filter(pk=pk).values_list(
        "pathway__person_id", flat=True
    ),
}


def person_of(object_type: str, pk: int) -> int | None:
    finder = _PERSON_OF.get(object_type)
    return finder(pk).first() if finder else None


# --- What an access showed ---------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """What one access showed of one record: the categories, the bases behind them and the
    organisation's relations to the record (its purpose)."""

    categories: frozenset[str] = frozenset()
    basis: frozenset[str] = frozenset()
    relations: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        grants: Mapping[int, PathwayGrants],
        pathway_ids: Iterable[int],
        *,
        shown: Iterable[str] | None = None,
        because: Iterable[str] | None = None,
    ) -> Seen:
        """From the actor's grants on the record's pathways: `shown` limits the categories to
        what the door displayed (None: everything visible); `because` names the categories
        whose bases justify the access when no field of a category is shown (a consent)."""
        held = [g for pathway_id in pathway_ids if (g := grants.get(pathway_id)) is not None]
        # category → its basis codes over the pathways; the visible categories are its keys.
        codes: Mapping[str, frozenset[str] | set[str]]
        if len(held) == 1:
            # A list journals this for each of its rows (issue 17), most of one pathway: its
            # grants as they are, no set built.
            codes, relations = held[0].bases, held[0].relations
        else:
            merged: dict[str, set[str]] = {}
            relations = frozenset().union(*(g.relations for g in held))
            for grant in held:
                for category, found in grant.bases.items():
                    merged.setdefault(category, set()).update(found)
            codes = merged
        visible = codes.keys()
        if shown is None and because is None:  # everything visible shown (the API's lists)
            return cls(
                categories=frozenset(visible),
                basis=frozenset().union(*codes.values()),
                relations=frozenset(relations),
            )
        categories = visible if shown is None else visible & set(shown)
        over = categories if because is None else visible & set(because)
        return cls(
            categories=frozenset(categories),
            basis=frozenset().union(*(codes[c] for c in over)),
            relations=frozenset(relations),
        )

    @property
    def purpose(self) -> str:
        return purpose_of(self.relations)

    @classmethod
    def each(
        cls,
        grants: Mapping[int, PathwayGrants],
        items: Iterable[tuple[int, Iterable[int]]],
        *,
        shown: Iterable[str] | None = None,
        because: Iterable[str] | None = None,
    ) -> list[tuple[int, Seen]]:
        """(object id, `of` its pathways) for each object of a list, worked out once per
        distinct pathways (a page of referrals often holds several of one pathway's)."""
        if shown is not None:
            shown = frozenset(shown)
        if because is not None:
            because = frozenset(because)
        known: dict[tuple[int, ...], Seen] = {}
        seen = []
        for object_id, ids in items:
            key = tuple(ids)
            what = known.get(key)
            if what is None:
                what = known[key] = cls.of(grants, key, shown=shown, because=because)
            seen.append((object_id, what))
        return seen


# --- Recording ---------------------------------------------------------------------------------


def request_id_for(request: HttpRequest) -> str:
    """The request's id, as `RequestOriginMiddleware` set it (parcours/request_origin.py: the
    client's X-Request-ID when it is a plain token, else a uuid4); worked out and kept on the
    request where no middleware ran (a request built by hand)."""
    # A DRF Request wraps the HttpRequest; the middleware's attributes are on the latter.
    http_request: Any = getattr(request, "_request", request)
    existing = getattr(http_request, "request_id", None)
    if existing:
        return str(existing)
    value = request_id_from(http_request.META)
    http_request.request_id = value
    return value


# `AccessOperation.values` builds its list anew at each use.
_OPERATIONS = frozenset(AccessOperation.values)


def _row(
    *,
    actor: Actor | None,
    operation: str,
    object_type: str,
    object_id: int | None = None,
    object_ids: Iterable[int] = (),
    person_id: int | None = None,
    categories: Iterable[str] = (),
    purpose: str = "",
    basis: Iterable[str] | str = "",
    request: HttpRequest | None = None,
    detail: Mapping[str, Any] | None = None,
    user: User | None = None,
    organisation: Organisation | None = None,
) -> AccessEvent:
    if operation not in _OPERATIONS:
        raise ValueError(f"Opération de journal inconnue : {operation!r}")
    request = request if request is not None else context.current_request()
    return AccessEvent(
        user=actor.user if actor else user,
        organisation=actor.organisation if actor else organisation,
        operation=operation,
        object_type=object_type,
        object_id=object_id,
        object_ids=_object_ids(object_ids),
        person_id=person_id,
        categories=_categories(categories),
        purpose=purpose,
        basis=_basis(basis),
        request_id=request_id_for(request) if request is not None else "",
        client_ip=client_ip_for(request) if request is not None else None,
        detail={
            "door": str(context.current_door()),
            **_token_used(request),
            **_link_used(actor),
            **dict(detail or {}),
        },
    )


def _link_used(actor: Actor | None) -> dict[str, int]:
    """A receiver's link acting (no user, its organisation): the DPO reads which link did it
    (parcours/labels.py names it « Lien d'accès sans compte »)."""
    if actor is None or actor.link is None:
        return {}
    return {"receiver_link": actor.link.link_id}


def _token_used(request: HttpRequest | None) -> dict[str, int]:
    """The partner system's token a request came with (parcours/api/token_auth.py sets it):
    the DPO reads which system acted, not only which account."""
    http_request: Any = getattr(request, "_request", request)
    token_id = getattr(http_request, "api_token_id", None)
    return {"api_token": token_id} if token_id is not None else {}


def _object_ids(object_ids: Iterable[int]) -> list[int]:
    return [int(i) for i in object_ids]


def _categories(categories: Iterable[str]) -> list[str]:
    return sorted({str(c) for c in categories})


def _basis(basis: Iterable[str] | str) -> str:
    return basis if isinstance(basis, str) else " ".join(sorted(set(basis)))


def journal_record(**fields: Any) -> AccessEvent:
    """Append one row: a plain INSERT, no lock, no hash (sealed later by `journal_seal`).

    The low-level writer, for rows the helpers below do not describe (the system's own: a
    retention run, a purge marker). The row joins the caller's transaction."""
    row = _row(**fields)
    _insert_row(row)
    return row


# The one-row INSERT of each database alias, built once per process (`_insert_row`).
_INSERT_ROW_SQL: dict[str, tuple[str, list[Any]]] = {}


def _insert_row(row: AccessEvent) -> None:
    """Write one row as `row.save(force_insert=True)` does — same columns, same values prepared
    by the same fields, the database's id set on the instance — in one prepared `INSERT …
    RETURNING id`, without `Model.save`'s path: the pre/post-save signals (no receiver listens
    to the journal), the parent-link and update logic, building and compiling an InsertQuery
    per row. Every read a door serves writes one row: 0.4 → 0.1 ms of CPU per request
    (docs/performance.md, "The journal row in one INSERT"). The trigger, the partitions and the
    sealer see the same row."""
    alias = router.db_for_write(AccessEvent, instance=row) or DEFAULT_DB_ALIAS
    db = connections[alias]
    if not db.features.can_return_columns_from_insert:  # pragma: no cover (old SQLite)
        row.save(force_insert=True, using=alias)
        return
    statement = _INSERT_ROW_SQL.get(alias)
    if statement is None:
        fields: list[Any] = [f for f in AccessEvent._meta.concrete_fields if not f.primary_key]
        pk: Any = AccessEvent._meta.pk
        quote = db.ops.quote_name
        # Identifiers from the model; every value is a parameter.
        sql = (
            f"INSERT INTO {quote(AccessEvent._meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            f"RETURNING {quote(pk.column)}"
        )
        statement = _INSERT_ROW_SQL.setdefault(alias, (sql, fields))
    sql, fields = statement
    params = [f.get_db_prep_save(f.pre_save(row, True), connection=db) for f in fields]
    # One row, the same plan whatever it holds: prepared (parcours/prepared_statements.py).
    ((row.pk,),) = prepared_statements.fetch(db, sql, params, prepared=True, one=True)
    row._state.adding = False
    row._state.db = alias


def _action_detail(action: Action, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"action": str(action), **dict(extra or {})}


def record_read(
    actor: Actor,
    action: Action,
    *,
    object_type: str,
    object_id: int,
    person_id: int | None,
    seen: Seen,
) -> AccessEvent:
    return journal_record(
        actor=actor,
        operation=AccessOperation.READ,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id,
        categories=seen.categories,
        basis=seen.basis,
        purpose=seen.purpose,
        detail=_action_detail(action),
    )


# The columns in which the rows of one list differ; every other column is the list's own.
_LIST_VARYING = ("object_ids", "categories", "basis", "purpose", "detail")


def record_list(
    actor: Actor, action: Action, *, object_type: str, items: Iterable[tuple[int, Seen]]
) -> int:
    """One row per group of objects shown with the same categories and purpose, in one INSERT:
    each object is in exactly one row, which says what was shown of *it*. The row's `basis` is
    the union of the group's bases; when they differ from one object to the next (each person's
    own consent, each referral's own `referral:<id>`), `detail["bases"]` gives each object's —
    grouping by the exact bases would write one row per object (25–45 for a page of 50 on the
    1 M-pathway bench). Returns the number of rows written."""
    # (categories, purpose) → the group's objects' bases by id, and every member's bases. Every
    # API and page list runs this for each of its rows (issue 17): the purpose is worked out
    # once per distinct relations.
    groups: dict[tuple[frozenset[str], str], tuple[dict[int, frozenset[str]], list]] = {}
    purposes: dict[frozenset[str], str] = {}
    for object_id, seen in items:
        purpose = purposes.get(seen.relations)
        if purpose is None:
            purpose = purposes[seen.relations] = seen.purpose
        group = groups.get((seen.categories, purpose))
        if group is None:
            group = groups[(seen.categories, purpose)] = ({}, [])
        group[0][object_id] = seen.basis
        group[1].append(seen.basis)
    if not groups:
        return 0
    # What every row of the list shares (who, when, the door, the request, the action): one row
    # built by `_row`, the one definition of a journal row; then per group what differs.
    shared = _row(
        actor=actor,
        operation=AccessOperation.LIST,
        object_type=object_type,
        detail=_action_detail(action),
    )
    varying = []
    for (categories, purpose), (by_id, every) in groups.items():
        detail = dict(shared.detail)
        if len(set(by_id.values())) > 1:
            # `_basis` of each object's, inline: a call per row (issue 17).
            detail["bases"] = {
                str(object_id): " ".join(sorted(codes)) for object_id, codes in by_id.items()
            }
        varying.append(
            (
                _object_ids(by_id),
                _categories(categories),
                _basis(frozenset().union(*every)),
                purpose,
                detail,
            )
        )
    _insert_list_rows(shared, varying)
    return len(varying)


# Per database alias: the list's INSERT and the fields whose values each row shares, built
# once per process (`_insert_list_rows`).
_INSERT_LIST_SQL: dict[str, tuple[str, list[Any], tuple[str, ...]]] = {}


def _insert_list_sql(db: Any) -> tuple[str, list[Any], tuple[str, ...]]:
    """`INSERT … SELECT … FROM jsonb_to_recordset(…)`: the shared columns as parameters, the
    varying ones from one JSON array of the rows. Identifiers and types from the model; every
    value is a parameter."""
    statement = _INSERT_LIST_SQL.get(db.alias)
    if statement is not None:
        return statement
    fields: list[Any] = [f for f in AccessEvent._meta.concrete_fields if not f.primary_key]
    select, shared, listed = [], [], []
    for field in fields:
        if field.name in _LIST_VARYING:
            select.append(f"listed.{field.column}")
            sql_type = "jsonb" if isinstance(field, JSONField) else field.db_type(db)
            listed.append(f"{field.column} {sql_type}")
            if isinstance(field, JSONField) and field.encoder is not None:
                # The varying columns are one JSON text, written by `json.dumps` alone.
                raise ValueError(f"{field.name}: a list row's JSON has no encoder of its own")
        else:
            cast = "::text::jsonb" if isinstance(field, JSONField) else f"::{field.db_type(db)}"
            select.append(f"%s{cast}")
            shared.append(field)
    # The JSON rows' keys: the varying columns, in `_LIST_VARYING`'s order.
    column_of = {f.name: f.column for f in fields}
    columns = tuple(column_of[name] for name in _LIST_VARYING)
    quote = db.ops.quote_name
    sql = (
        f"INSERT INTO {quote(AccessEvent._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) SELECT {', '.join(select)} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS listed({', '.join(listed)})"
    )
    return _INSERT_LIST_SQL.setdefault(db.alias, (sql, shared, columns))


def _insert_list_rows(shared: AccessEvent, varying: list[tuple]) -> None:
    """One `INSERT … SELECT … FROM jsonb_to_recordset(…)`: the shared columns sent once, the
    varying ones as one JSON array of the rows. Same rows, one statement, as `bulk_create`
    wrote them.

    Why (docs/performance.md, "Consent-scoped access at 1 M pathways"): a page of 50 pathways is
    25–45 groups, each pathway's bases naming its own consent or referral. `bulk_create` of one
    model instance per group (psycopg adapting every JSON value of every row, the instances, the
    garbage collections they bring on, and its own BEGIN/COMMIT) made the small organisation's
    first page 64.7 ms at p50 against 52.8 ms without the list's journal; this, 58.4 ms (same
    run, interleaved, 1 M pathways). The rows as one JSON text, rather than one array per
    column (`unnest`): psycopg quoted each `"` of a text array's JSON with a regular expression,
    a third of a list's journaling for a page of 50 (issue 17)."""
    if connection.vendor != "postgresql":  # the SQLite fallback of `make run`: no JSON records
        fields: list[Any] = [f for f in AccessEvent._meta.concrete_fields if not f.primary_key]
        values = {f.attname: getattr(shared, f.attname) for f in fields}
        rows = [values | dict(zip(_LIST_VARYING, row, strict=True)) for row in varying]
        AccessEvent.objects.bulk_create([AccessEvent(**row) for row in rows])
        return
    sql, shared_fields, columns = _insert_list_sql(connection)
    listed = json.dumps([dict(zip(columns, row, strict=True)) for row in varying])
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [*(_prepared(f, getattr(shared, f.attname)) for f in shared_fields), listed]
        )


def _prepared(field: Any, value: Any) -> Any:
    if isinstance(field, JSONField):
        return json.dumps(value, cls=field.encoder)
    return field.get_db_prep_save(value, connection)


def record_write(
    actor: Actor,
    action: Action,
    *,
    object_type: str,
    object_id: int,
    person_id: int | None,
    pathway_ids: Iterable[int],
    categories: Iterable[str],
    because: Iterable[str] | None = None,
    held: Mapping[int, PathwayGrants] | None = None,
) -> AccessEvent:
    """A change made by a service (in its transaction): the categories written, with the bases
    and purpose the organisation holds them under (`because`: the categories whose bases
    justify a change that writes no category of the record, e.g. a consent). A change that
    moves the actor's own grants (a consent, a referral's move) passes what it `held` before,
    taken with `holding`: the journal says under which bases the organisation acted."""
    categories = set(categories)
    ids = list(pathway_ids)
    if held is None:
        held = holding(actor, ids)
    seen = Seen.of(held, ids, because=categories if because is None else because)
    return journal_record(
        actor=actor,
        operation=AccessOperation.WRITE,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id,
        categories=categories,
        basis=seen.basis,
        purpose=seen.purpose,
        detail=_action_detail(action),
    )


def holding(actor: Actor, pathway_ids: Iterable[int]) -> Mapping[int, PathwayGrants]:
    """The actor's grants on these pathways now (before a change that may move them)."""
    from ..access import grants_for

    return grants_for(actor, pathway_ids)


def record_refusal(
    actor: Actor | None,
    action: Action,
    *,
    object_type: str,
    object_id: int | None,
    person_id: int | None = None,
    refusal: str,
    relations: Iterable[str] = (),
    user: User | None = None,
) -> None:
    """A refused access to a record that exists (`refusal`: "not_found" — out of scope, shown
    as missing — or "not_allowed"). Inside a transaction, the row is written when the door
    closes: the transaction that refused will roll back, the refusal must stay."""
    fields: dict[str, Any] = dict(
        actor=actor,
        user=user,
        operation=AccessOperation.DENIED,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id if person_id is not None else person_of(object_type, object_id or 0),
        purpose=purpose_of(frozenset(relations)),
        detail=_action_detail(action, {"refusal": refusal}),
    )
    passage = context.current()
    if passage is not None and connection.in_atomic_block:
        row = _row(**fields)  # the door and request are read now, while they are current
        passage.pending.append(lambda: _insert_row(row))
    else:
        journal_record(**fields)


def record_event(
    actor: Actor | None,
    operation: str,
    *,
    action: Action | None = None,
    object_type: str,
    object_id: int | None = None,
    person_id: int | None = None,
    categories: Iterable[str] = (),
    purpose: str = "",
    basis: Iterable[str] | str = "",
    detail: Mapping[str, Any] | None = None,
) -> AccessEvent:
    """An access of its own kind (exceptional access, access request, report, export)."""
    return journal_record(
        actor=actor,
        operation=operation,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id,
        categories=categories,
        purpose=purpose,
        basis=basis,
        detail=_action_detail(action, detail) if action is not None else detail,
    )


SECURITY_PURPOSE = "Sécurité des comptes (connexion et double authentification)"


def record_security_event(
    operation: str,
    *,
    user: User | None,
    request: HttpRequest | None,
    detail: Mapping[str, Any] | None = None,
) -> AccessEvent:
    """A security event of an account (a failed sign-in, a lockout, a second factor enrolled,
    refused, used or removed): the account's user (None for a username that names nobody, kept
    in `detail`), no organisation (nobody acts for one before signing in), the request's address.
    Callers write it outside any transaction that could roll it back (a refused code stays
    refused in the journal)."""
    if operation not in SECURITY_OPERATIONS:
        raise ValueError(f"Événement de sécurité inconnu : {operation!r}")
    return journal_record(
        actor=None,
        user=user,
        operation=operation,
        object_type="account",
        object_id=user.pk if user is not None else None,
        purpose=SECURITY_PURPOSE,
        request=request,
        detail=detail,
    )


TOKEN_PURPOSE = "Sécurité des accès des systèmes partenaires (jetons d'accès API)"  # noqa: S105


WEBHOOK_PURPOSE = "Information du système partenaire de l'organisation (webhook)"


def record_webhook_export(
    *,
    organisation: Organisation,
    person_id: int,
    categories: Iterable[str],
    basis: Iterable[str],
    subscription_id: int,
    message_id: str,
    event_type: str,
    referral_id: int | None = None,
    pathway_id: int | None = None,
) -> AccessEvent:
    """A webhook message written for `organisation`'s system (services/webhooks.py): the data
    leaves parcours for that organisation, with the categories it carries and their bases — the
    DPO and the person read it like any other export. No user: the system's own door.

    The record is the referral of a referral event, else the pathway of a pathway event (the
    reports name it « orientation n°… » or « parcours n°… »); one of them is given."""
    if referral_id is not None:
        object_type, object_id = "referral", referral_id
    elif pathway_id is not None:
        object_type, object_id = "pathway", pathway_id
    else:
        raise ValueError("A webhook export names its referral or its pathway.")
    return journal_record(
        actor=None,
        organisation=organisation,
        operation=AccessOperation.EXPORT,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id,
        categories=categories,
        basis=basis,
        purpose=WEBHOOK_PURPOSE,
        detail={
            "webhook_subscription": subscription_id,
            "webhook_id": message_id,
            "event": event_type,
        },
    )


def record_token_event(
    actor: Actor | None,
    operation: str,
    token: ApiToken,
    *,
    user: User | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AccessEvent:
    """A token made, renewed or revoked: by `actor` (an administrator), or by the system for
    `user` (its account's password changed); always with the token's organisation."""
    if operation not in TOKEN_OPERATIONS:
        raise ValueError(f"Événement de jeton inconnu : {operation!r}")
    return journal_record(
        actor=actor,
        user=user,
        organisation=token.organisation,
        operation=operation,
        object_type="api_token",
        object_id=token.pk,
        purpose=TOKEN_PURPOSE,
        detail={
            "system": token.system_name,
            "account": token.account_id,
            "scopes": list(token.scopes),
            **dict(detail or {}),
        },
    )


def record_read_of(
    actor: Actor,
    action: Action,
    *,
    object_type: str,
    object_id: int,
    person_id: int | None,
    pathway_ids: Iterable[int],
    shown: Iterable[str] | None = None,
    because: Iterable[str] | None = None,
    grants: Mapping[int, PathwayGrants] | None = None,
) -> AccessEvent:
    """A read of one record, from its pathways (the grants fetched unless the door has them)."""
    from ..access import grants_for

    ids = list(pathway_ids)
    held = grants if grants is not None else grants_for(actor, ids)
    return record_read(
        actor,
        action,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id,
        seen=Seen.of(held, ids, shown=shown, because=because),
    )


def record_list_of(
    actor: Actor,
    action: Action,
    *,
    object_type: str,
    items: Iterable[tuple[int, Iterable[int]]],
    shown: Iterable[str] | None = None,
    because: Iterable[str] | None = None,
    grants: Mapping[int, PathwayGrants] | None = None,
) -> int:
    """A list of records, each given with its pathways (one query for the grants of all); the
    number of rows written."""
    from ..access import grants_for

    listed = [(object_id, list(ids)) for object_id, ids in items]
    if not listed:
        return 0
    held = (
        grants
        if grants is not None
        else grants_for(actor, {pid for _obj, ids in listed for pid in ids})
    )
    return record_list(
        actor,
        action,
        object_type=object_type,
        items=Seen.each(held, listed, shown=shown, because=because),
    )
