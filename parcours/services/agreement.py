"""Writes on Agreement (convention de partenariat).

An organisation proposes an agreement; each party answers for itself (`agreement_accept`,
`agreement_decline`); the agreement binds its parties — is a basis for access between them and
sets their referral delays — only while every party has accepted its current version. A change
that binds the parties further is a new version that every other party accepts again; a change
that only narrows takes effect at once (docs/domain.md#partnership-agreements).

Who may do what is `access.AGREEMENT_ROLES`; the moves of a party's answer are
`AGREEMENT_PARTY_MOVES`.
"""

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from .. import access
from ..actor import Actor
from ..categories import ALL_CATEGORIES, SENSITIVE_CATEGORIES
from ..errors import Conflict, InvalidInput, NotAllowed
from ..models import (
    AGREEMENT_PARTY_MOVES,
    Agreement,
    AgreementAction,
    AgreementParty,
    AgreementPartyStatus,
    Organisation,
    Role,
)
from ..queueing import enqueue_on_commit
from .access_grants import access_recompute_request
from .history import delete_with_history, save_with_history

AGREEMENT_FIELDS = (
    "name",
    "shared_categories",
    "level",
    "starts_on",
    "ends_on",
    "review_on",
    "acknowledge_within_working_days",
    "appointment_set_within_days",
    "first_appointment_within_days",
    "no_show_grace_hours",
)
# The delays bind the receiving party (deadlines, alerts to its managers): changing any of them,
# either way, is a new version.
DELAY_FIELDS = (
    "acknowledge_within_working_days",
    "appointment_set_within_days",
    "first_appointment_within_days",
    "no_show_grace_hours",
)
# At least one day each (constraint `agreement_delays_positive`); the grace may be zero.
DAY_DELAY_FIELDS = (
    "acknowledge_within_working_days",
    "appointment_set_within_days",
    "first_appointment_within_days",
)


def _check_shared_categories(categories: object) -> None:
    if not isinstance(categories, list) or not set(categories) <= ALL_CATEGORIES:
        raise InvalidInput(
            _("Catégories inconnues."), fields={"shared_categories": [_("Choix invalide.")]}
        )
    sensitive = set(categories) & SENSITIVE_CATEGORIES
    if sensitive:
        raise InvalidInput(
            _(
                "Une convention ne couvre jamais la santé ni la justice : "
                "il faut l'accord de la personne."
            ),
            fields={"shared_categories": [_("Santé et justice exclues des conventions.")]},
        )


def _check_parties(actor: Actor, party_ids: Iterable[int]) -> list[Organisation]:
    wanted = set(party_ids)
    parties = list(Organisation.objects.filter(pk__in=wanted))
    if len(parties) < 2 or len(parties) != len(wanted):
        raise InvalidInput(
            _("Une convention réunit au moins deux organisations existantes."),
            fields={"parties": [_("Choisissez au moins deux organisations.")]},
        )
    if actor.organisation.pk not in wanted:
        raise InvalidInput(
            _("Votre organisation doit être signataire de la convention."),
            fields={"parties": [_("Ajoutez votre organisation aux signataires.")]},
        )
    return parties


def agreement_dates_errors(starts_on: dt.date | None, ends_on: dt.date | None) -> dict:
    """The one rule on an agreement's dates, read by `_check_terms` and the API's serializer."""
    if starts_on and ends_on and ends_on < starts_on:
        return {"ends_on": [_("La fin de la convention ne peut précéder son début.")]}
    return {}


def _check_terms(agreement: Agreement) -> None:
    """Field values and the model's constraints, as a 400 with French messages for every door
    (the API's serializer checks most of them first; the admin relies on this)."""
    if errors := agreement_dates_errors(agreement.starts_on, agreement.ends_on):
        raise InvalidInput(errors["ends_on"][0], fields=errors)
    for field in DAY_DELAY_FIELDS:
        value = getattr(agreement, field)
        if isinstance(value, int) and value < 1:
            message = _("Les délais d'une convention sont d'au moins un jour.")
            raise InvalidInput(message, fields={field: [_("Au moins 1.")]})
    try:
        agreement.full_clean(exclude=["proposed_by"], validate_unique=False)
    except ValidationError as error:
        fields = error.message_dict
        first = next(iter(fields.values()))[0]
        raise InvalidInput(first, fields=fields) from None


_REFUSED_VERB: dict[str, Promise] = {
    AgreementAction.PROPOSE: _lazy("de proposer"),
    AgreementAction.UPDATE: _lazy("de modifier"),
    AgreementAction.ACCEPT: _lazy("d'accepter"),
    AgreementAction.DECLINE: _lazy("de refuser"),
}


def _require(allowed: bool, action: str) -> None:
    """403 naming the roles that may (read from AGREEMENT_ROLES, never restated here)."""
    if not allowed:
        roles = ", ".join(
            str(Role(role).label).lower()
            for role in Role.values
            if role in access.AGREEMENT_ROLES[action]
        )
        raise NotAllowed(
            _("Votre rôle ne permet pas %(verb)s une convention (réservé à : %(roles)s).")
            % {"verb": _REFUSED_VERB[action], "roles": roles}
        )


def _locked(actor: Actor, agreement_id: int) -> Agreement:
    """The agreement, locked: every change of it or of an answer to it is serialised, so the
    "accepted by every party" read before and after a change is exact. Out of scope: 404."""
    return access.agreements_visible_to(actor).select_for_update(of=("self",)).get(pk=agreement_id)


def _signatures(agreement: Agreement) -> dict[int, AgreementParty]:
    return {
        s.organisation_id: s
        for s in AgreementParty.objects.filter(agreement=agreement)
        .select_related("organisation")
        .order_by("pk")
    }


def _binds(signatures: Iterable[AgreementParty]) -> bool:
    return all(s.status == AgreementPartyStatus.ACCEPTED for s in signatures)


def _answer(
    signature: AgreementParty,
    *,
    status: str,
    actor: Actor,
    reason: str,
    decline_reason: str = "",
) -> None:
    pending = status == AgreementPartyStatus.PENDING
    signature.status = status
    signature.decided_at = None if pending else timezone.now()
    signature.decided_by = None if pending else actor.user
    signature.decline_reason = decline_reason if status == AgreementPartyStatus.DECLINED else ""
    save_with_history(signature, actor=actor, reason=reason)


def _widens(agreement: Agreement, changes: dict[str, object], added_parties: set[int]) -> bool:
    """Whether the change binds the parties further: another party, another category, an earlier
    start, a later (or no) end, other delays. Those need every party's acceptance again."""
    if added_parties:
        return True
    categories = changes.get("shared_categories", agreement.shared_categories)
    if set(categories) - set(agreement.shared_categories):  # type: ignore[call-overload]
        return True
    starts_on = changes.get("starts_on", agreement.starts_on)
    if isinstance(starts_on, dt.date) and starts_on < agreement.starts_on:
        return True
    if "ends_on" in changes and agreement.ends_on is not None:
        ends_on = changes["ends_on"]
        if ends_on is None or (isinstance(ends_on, dt.date) and ends_on > agreement.ends_on):
            return True
    return any(
        field in changes and changes[field] != getattr(agreement, field) for field in DELAY_FIELDS
    )


@transaction.atomic
def agreement_propose(*, actor: Actor, party_ids: list[int], **fields: object) -> Agreement:
    """Propose an agreement between the actor's organisation and at least one other.

    Preconditions: the actor's role may propose (AGREEMENT_ROLES); the actor's organisation is a
    party. Effects: the actor's organisation accepts it (attributed to the actor); every other
    party is pending, so the agreement binds nobody yet and no access is recomputed.
    """
    _require(access.can_propose_agreement(actor), AgreementAction.PROPOSE)
    parties = _check_parties(actor, party_ids)
    _check_shared_categories(fields.get("shared_categories", []))
    agreement = Agreement(
        **{k: v for k, v in fields.items() if k in AGREEMENT_FIELDS},
        proposed_by=actor.organisation,
    )
    _check_terms(agreement)
    save_with_history(
        agreement,
        actor=actor,
        reason=_("Proposée par %(organisation)s") % {"organisation": actor.organisation.name},
    )
    for organisation in sorted(parties, key=lambda o: o.pk != actor.organisation.pk):
        signature = AgreementParty(agreement=agreement, organisation=organisation)
        if organisation.pk == actor.organisation.pk:
            _answer(
                signature,
                status=AgreementPartyStatus.ACCEPTED,
                actor=actor,
                reason=_("Proposée et acceptée par l'organisation"),
            )
        else:
            save_with_history(
                signature, actor=actor, reason=_("Proposée : en attente de son acceptation")
            )
    return agreement


@transaction.atomic
def agreement_accept(*, actor: Actor, agreement_id: int) -> Agreement:
    """Accept the agreement's current version for the actor's own organisation.

    Preconditions: the actor's organisation is a party (else 404); the actor's role may accept
    (403); its answer is pending or declined (409). Effects: when this acceptance is the last
    one, the agreement binds its parties: their pathways are recomputed after commit.
    """
    return _answer_for_own_organisation(actor, agreement_id, AgreementAction.ACCEPT)


@transaction.atomic
def agreement_decline(*, actor: Actor, agreement_id: int, reason: str = "") -> Agreement:
    """Decline the agreement, or withdraw an acceptance, for the actor's own organisation.

    Preconditions as `agreement_accept` (its answer is pending or accepted). Effects: the
    agreement no longer binds anyone — at once: if it did, the parties' pathways are recomputed
    after commit. Another party may then remove the declining one (`agreement_update`).
    """
    return _answer_for_own_organisation(
        actor, agreement_id, AgreementAction.DECLINE, decline_reason=reason.strip()
    )


def _answer_for_own_organisation(
    actor: Actor, agreement_id: int, action: str, *, decline_reason: str = ""
) -> Agreement:
    agreement = _locked(actor, agreement_id)
    if action == AgreementAction.ACCEPT:
        _require(access.can_accept_agreement(actor), action)
    else:
        _require(access.can_decline_agreement(actor), action)
    signatures = _signatures(agreement)
    bound_before = _binds(signatures.values())
    # Visible means the actor's organisation is a party: this is its own answer, never another's.
    signature = signatures[actor.organisation.pk]
    sources, target = AGREEMENT_PARTY_MOVES[action]
    if signature.status not in sources:
        raise Conflict(
            _("Votre organisation a déjà répondu « %(answer)s » à cette convention.")
            % {"answer": signature.get_status_display().lower()}
        )
    if action == AgreementAction.ACCEPT:
        reason = _("Acceptée par l'organisation")
    elif signature.status == AgreementPartyStatus.ACCEPTED:
        reason = _("Acceptation retirée par l'organisation")
    else:
        reason = _("Refusée par l'organisation")
    _answer(signature, status=target, actor=actor, reason=reason, decline_reason=decline_reason)
    if bound_before or _binds(signatures.values()):
        _recompute_after_commit(set(signatures))
    return agreement


@transaction.atomic
def agreement_update(
    *, actor: Actor, agreement_id: int, party_ids: list[int] | None = None, **changes: object
) -> Agreement:
    """Change an agreement the actor's organisation is a party to.

    Preconditions: the actor's organisation is a party (else 404) and stays one; the actor's role
    may change agreements (403). Effects (docs/domain.md): a change that only narrows — fewer
    parties or categories, a later start, an earlier end — or renames takes effect at once, the
    answers given stand; a change that binds the parties further — another party or category, an
    earlier start, a later or no end, other delays — is a new version: the actor's organisation
    accepts it, every other party is pending again, and the agreement binds nobody until they
    all accept. The parties' pathways (before and after) are recomputed after commit when the
    agreement bound them before or binds them now.
    """
    agreement = _locked(actor, agreement_id)
    _require(access.can_update_agreement(actor), AgreementAction.UPDATE)
    changes = {k: v for k, v in changes.items() if k in AGREEMENT_FIELDS}
    if "shared_categories" in changes:
        _check_shared_categories(changes["shared_categories"])
    signatures = _signatures(agreement)
    bound_before = _binds(signatures.values())
    before = set(signatures)
    after = before if party_ids is None else {o.pk for o in _check_parties(actor, party_ids)}
    new_version = _widens(agreement, changes, after - before)

    changed = {f: v for f, v in changes.items() if getattr(agreement, f) != v}
    for field, value in changed.items():
        setattr(agreement, field, value)
    if new_version:
        agreement.proposed_by = actor.organisation
    _check_terms(agreement)
    if changed or new_version:
        save_with_history(
            agreement,
            actor=actor,
            reason=(
                _("Nouvelle version proposée par %(organisation)s")
                if new_version
                else _("Modifiée par %(organisation)s")
            )
            % {"organisation": actor.organisation.name},
        )

    for organisation_id in sorted(before - after):
        delete_with_history(
            signatures.pop(organisation_id), actor=actor, reason=_("Retirée de la convention")
        )
    for organisation_id in sorted(after - before):
        signatures[organisation_id] = AgreementParty(
            agreement=agreement, organisation_id=organisation_id
        )
        save_with_history(
            signatures[organisation_id],
            actor=actor,
            reason=_("Ajoutée : en attente de son acceptation"),
        )
    if new_version:
        for organisation_id, signature in signatures.items():
            if organisation_id == actor.organisation.pk:
                _answer(
                    signature,
                    status=AgreementPartyStatus.ACCEPTED,
                    actor=actor,
                    reason=_("Nouvelle version proposée et acceptée par l'organisation"),
                )
            elif signature.status != AgreementPartyStatus.PENDING:
                _answer(
                    signature,
                    status=AgreementPartyStatus.PENDING,
                    actor=actor,
                    reason=_("Nouvelle version : en attente de son acceptation"),
                )

    if bound_before or _binds(signatures.values()):
        _recompute_after_commit(before | after)
    return agreement


def agreement_actions_available(actor: Actor, agreement: Agreement) -> list[str]:
    """What the acting organisation may do with this agreement now (the UI shows these buttons):
    read from AGREEMENT_ROLES and AGREEMENT_PARTY_MOVES. Reads `signatures` (prefetch them)."""
    own = next(
        (s for s in agreement.signatures.all() if s.organisation_id == actor.organisation.pk),
        None,
    )
    if own is None:
        return []
    actions = []
    if access.can_update_agreement(actor):
        actions.append(str(AgreementAction.UPDATE))
    for action, allowed in (
        (AgreementAction.ACCEPT, access.can_accept_agreement(actor)),
        (AgreementAction.DECLINE, access.can_decline_agreement(actor)),
    ):
        if allowed and own.status in AGREEMENT_PARTY_MOVES[action][0]:
            actions.append(str(action))
    return actions


def _recompute_after_commit(organisation_ids) -> None:
    """An agreement is a basis for every pathway its parties own: they are marked for recompute
    in this transaction (a durable row), and the recompute is queued in the background once the
    change commits (there may be tens of thousands of pathways). Queueing never fails the
    change: if the broker is down, the periodic run finds the marks. The task is looked up by
    name (parcours.queueing): tasks sit above services and services never import them. In the
    local fallback mode it runs eagerly."""
    access_recompute_request(organisation_ids=organisation_ids)
    enqueue_on_commit(
        "parcours.tasks.access_recompute_pathways",
        catch_up="the access-recompute-pending beat entry recomputes the marked organisations",
    )
