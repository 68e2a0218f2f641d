"""The gate's answers: may this actor do this action, given its relations to the record; find a
record within the actor's scope. Each refusal is journaled here, whichever door asked.

Order of the checks, everywhere: the record is looked up in the actor's scope first (out of
scope → `DoesNotExist`, answered 404 like a missing record, so nobody learns that a person is
followed elsewhere), then the rule (→ `NotAllowed`, 403).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.utils import timezone

from ..access import NotCompiled, ScopedRecord, pathways_visible_to
from ..actor import Actor
from ..categories import DataCategory
from ..errors import NotAllowed
from ..models import Pathway
from ..rules import AUTHOR_WINDOWS, RULES, Action, Relation
from .journal import OBJECT_TYPES, record_refusal
from .relations import relations_to_pathway

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Subject:
    """The record an action is about, as the journal names it."""

    object_type: str
    object_id: int | None
    person_id: int | None = None


def may(actor: Actor, action: Action, relations: Iterable[Relation] = ()) -> bool:
    return RULES[action].allows(actor.role, frozenset(relations))


def require(
    actor: Actor,
    action: Action,
    *,
    relations: Iterable[Relation] = (),
    subject: Subject | None = None,
) -> None:
    """Raise NotAllowed (403, the rule's French message) unless the table allows it; the
    refusal is journaled against `subject` when there is one."""
    relations = frozenset(relations)
    if may(actor, action, relations):
        return
    if subject is not None:
        _journal_refusal(actor, action, subject, relations)
    raise NotAllowed(RULES[action].refusal_for(actor.role))


def refuse(actor: Actor, action: Action, *, subject: Subject, message: str) -> NoReturn:
    """A refusal decided by a service from the record's data (e.g. a field of a category the
    organisation does not see): journaled like every other, then NotAllowed (403)."""
    _journal_refusal(actor, action, subject, frozenset())
    raise NotAllowed(message)


def author_refusal(
    actor: Actor, action: Action, *, author_id: int | None, until: dt.datetime | None
) -> str | None:
    """Why the actor may not take `action` as the author of the write it corrects (rules.
    AUTHOR_WINDOWS), or None: another user than the author, or the deadline passed (or never
    stamped: a write recorded before the window existed)."""
    window = AUTHOR_WINDOWS[action]
    if author_id is None or author_id != actor.user_id:
        return str(window.not_author)
    if until is None or timezone.now() > until:
        when = timezone.localtime(until).strftime("%d/%m/%Y à %H:%M") if until else "—"
        return str(window.too_late) % {"until": when}
    return None


def require_author(
    actor: Actor,
    action: Action,
    *,
    author_id: int | None,
    until: dt.datetime | None,
    subject: Subject,
) -> None:
    """NotAllowed (403, journaled against `subject`) unless `author_refusal` finds nothing."""
    message = author_refusal(actor, action, author_id=author_id, until=until)
    if message is not None:
        refuse(actor, action, subject=subject, message=message)


def _journal_refusal(actor: Actor, action: Action, subject: Subject, relations) -> None:
    record_refusal(
        actor,
        action,
        object_type=subject.object_type,
        object_id=subject.object_id,
        person_id=subject.person_id,
        refusal="not_allowed",
        relations=relations,
    )


def pathway_for(
    actor: Actor,
    pathway_id: object,
    action: Action,
    *,
    category: str | None = DataCategory.PATHWAY,
    subject: Subject | None = None,
    lock: bool = True,
) -> Pathway:
    """Lock a pathway the actor sees in `category` ("not found" otherwise) on which the table
    lets the actor's role and relations do `action` (403 otherwise, journaled against `subject`,
    by default the pathway). Archiving is the caller's to check: reactivation needs an archived
    pathway, every other write refuses one. `lock=False` for a page that shows the form of a
    write (the same 404 and 403 before anything is typed; the service locks when it writes);
    `category=None`: any category (the write's own is known once the form is filled)."""
    scope = pathways_visible_to(actor, category)
    pathway = locate(
        actor,
        scope.select_for_update(of=("self",)) if lock else scope.select_related("person"),
        pathway_id,
        action=action,
    )
    require(
        actor,
        action,
        relations=relations_to_pathway(actor, pathway),
        subject=subject or Subject("pathway", pathway.pk, pathway.person_id),
    )
    return pathway


def actions_for(
    actor: Actor, relations: Iterable[Relation], actions: Iterable[Action] | None = None
) -> frozenset[Action]:
    """The actions the table allows this actor with these relations (the buttons to show)."""
    relations = frozenset(relations)
    candidates = RULES if actions is None else actions
    return frozenset(
        a for a in candidates if RULES[a].relations is not None and may(actor, a, relations)
    )


def _as_pk(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def locate(actor: Actor, queryset: QuerySet[M], pk: object, *, action: Action) -> M:
    """The record `pk` within the actor's scope (`queryset`, from `parcours.access`).

    Out of scope raises the model's DoesNotExist exactly like a missing record; when the record
    exists, the refusal is journaled (the DPO sees probing, from the API or the pages)."""
    return _located(actor, queryset.model, lambda key: queryset.get(pk=key), pk, action=action)


def locate_compiled(
    actor: Actor,
    record: ScopedRecord[M],
    scope: Callable[[], QuerySet[M]],
    pk: object,
    *,
    action: Action,
) -> M:
    """`locate` through the scope's query compiled once (`access.ScopedRecord`): the same
    record, the same refusal; `scope()` (the same queryset, built by the ORM) for the actors
    whose scope has another shape (personal grants)."""

    def get(key: int) -> M:
        try:
            found = record.find(actor, key)
        except NotCompiled:
            return scope().get(pk=key)
        if found is None:
            model: Any = record.model
            raise model.DoesNotExist
        return found

    return _located(actor, record.model, get, pk, action=action)


def _located(actor: Actor, model: Any, get: Callable[[int], M], pk: object, *, action: Action) -> M:
    key = _as_pk(pk)
    if key is None:
        raise model.DoesNotExist
    try:
        return get(key)
    except ObjectDoesNotExist:
        if model._default_manager.filter(pk=key).exists():
            record_refusal(
                actor,
                action,
                object_type=OBJECT_TYPES.get(model, model._meta.model_name or ""),
                object_id=key,
                refusal="not_found",
            )
        raise
