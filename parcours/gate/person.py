"""The person in front of their own record (issue 19): not a staff `Actor` — no user, no
organisation, no role — but a `PersonPrincipal`, who may read what is about them and withdraw
their own consents, nothing else.

Who may do what stays here, in the gate, like the staff's table (`rules.RULES`): the person's
rules are two and fixed — their own records, read; their own consents in force, withdrawn — so
they are scopes rather than rows of the role table. Out of scope answers "not found", like
missing: another person's consent is a 404, and the refusal is journaled against it.

Journal rows of the person's own accesses carry no organisation and no user: the door
(`Door.PERSON_SPACE`) and `detail["principal"] = "person"` say it was the person. The list of
organisations that consulted the record leaves them out (selectors/person_space.py).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from ..access import PersonPrincipal, consents_of
from ..models import AccessOperation, Consent, Person
from . import context
from .journal import _insert_row, _row, journal_record

# The journal's action names for the person's own accesses (detail["action"]).
SPACE_READ = "person_space.read"
CONSENT_WITHDRAW = "person_space.consent_withdraw"
SIGN_IN = "person_space.sign_in"
SIGN_IN_UNMATCHED = "person_space.sign_in_unmatched"
PURPOSE = "Consultation par la personne de son propre dossier (espace personnel)"


def principal_person(principal: PersonPrincipal) -> Person:
    """The signed-in person's record (raises Person.DoesNotExist once erased)."""
    return Person.objects.get(pk=principal.person_id)


def locate_consent(principal: PersonPrincipal, consent_id: object, *, lock: bool) -> Consent:
    """A consent of the person, in force, locked when `lock` (to withdraw it). Another person's
    or a missing one: Consent.DoesNotExist (404), the refusal journaled when it exists."""
    try:
        key = int(consent_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise Consent.DoesNotExist from None
    scope = consents_of(principal).filter(revoked_at__isnull=True)
    if lock:
        scope = scope.select_for_update(of=("self",))
    try:
        return scope.get(pk=key)
    except Consent.DoesNotExist:
        other = (
            Consent.objects.filter(pk=key)
            .exclude(person_id=principal.person_id)
            .values_list("person_id", flat=True)
            .first()
        )
        if other is not None:
            _refusal_after_rollback(principal, key, other)
        raise


def _refusal_after_rollback(principal: PersonPrincipal, consent_id: int, person_id: int) -> None:
    """Another person's consent asked for: journaled against that person's record (the DPO
    sees the probing), written when the door closes if a transaction is open — the service
    that asked rolls back."""
    fields: dict[str, Any] = dict(
        actor=None,
        operation=AccessOperation.DENIED,
        object_type="consent",
        object_id=consent_id,
        person_id=person_id,
        purpose=PURPOSE,
        detail={
            "action": CONSENT_WITHDRAW,
            "principal": "person",
            "method": principal.method,
            "refusal": "not_found",
            "by_person": principal.person_id,
        },
    )
    passage = context.current()
    if passage is not None and connection.in_atomic_block:
        row = _row(**fields)
        passage.pending.append(lambda: _insert_row(row))
    else:
        journal_record(**fields)


def record_person_event(
    principal: PersonPrincipal,
    operation: str,
    *,
    action: str,
    object_type: str,
    object_id: int | None,
    person_id: int | None,
    categories=(),
    detail: dict | None = None,
) -> None:
    """One journal row of the person's own doing: no organisation, no user."""
    journal_record(
        actor=None,
        operation=operation,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id,
        categories=categories,
        purpose=PURPOSE,
        detail={
            "action": action,
            "principal": "person",
            "method": principal.method,
            **dict(detail or {}),
        },
    )


def record_space_read(principal: PersonPrincipal, *, page: str) -> None:
    """Every page of the space the person opens: one read row, `page` naming it."""
    record_person_event(
        principal,
        AccessOperation.READ,
        action=SPACE_READ,
        object_type="person",
        object_id=principal.person_id,
        person_id=principal.person_id,
        detail={"page": page},
    )
