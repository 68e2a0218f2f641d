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
    EscalationAudience,
    EscalationRung,
    Organisation,
    Role,
)
from ..models.agreement import MAX_ESCALATION_HOURS, MAX_ESCALATION_RUNGS
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
    "receiver_may_transfer",
    "reminder_hours_before",
)
# The delays bind the receiving party (deadlines, reminders, alerts to its managers): changing
# any of them, either way, is a new version. So is changing the escalation ladder.
DELAY_FIELDS = (
    "acknowledge_within_working_days",
    "appointment_set_within_days",
    "first_appointment_within_days",
    "no_show_grace_hours",
    "reminder_hours_before",
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


# A ladder as the doors give it and read it: (hours after the alert, audience), by rising delay.
LadderTerms = list[tuple[int, str]]


def agreement_ladder(agreement: Agreement) -> LadderTerms:
    """The agreement's escalation ladder, rung by rung (empty: the default ladder applies)."""
    return [(r.after_hours, r.audience) for r in agreement.escalation_rungs.order_by("order")]


def _ladder_error(message: str) -> InvalidInput:
    return InvalidInput(message, fields={"escalation_ladder": [message]})


def _check_ladder(rungs: object) -> LadderTerms:
    """The ladder as given (a list of `{"after_hours", "audience"}` or of pairs), checked and put
    in the order of its delays: at most MAX_ESCALATION_RUNGS rungs, each 1 to
    MAX_ESCALATION_HOURS hours after the alert, no two at the same delay, a known audience."""
    if not isinstance(rungs, list | tuple):
        raise _ladder_error(_("L'échelle d'escalade est une liste d'échelons."))
    if len(rungs) > MAX_ESCALATION_RUNGS:
        raise _ladder_error(
            _("Une échelle d'escalade compte au plus %(count)s échelons.")
            % {"count": MAX_ESCALATION_RUNGS}
        )
    terms: LadderTerms = []
    for rung in rungs:
        if isinstance(rung, dict):
            hours, audience = rung.get("after_hours"), rung.get("audience")
        elif isinstance(rung, list | tuple) and len(rung) == 2:
            hours, audience = rung
        else:
            raise _ladder_error(_("Chaque échelon a un délai et des destinataires."))
        if isinstance(hours, bool) or not isinstance(hours, int):
            raise _ladder_error(_("Le délai d'un échelon est un nombre entier d'heures."))
        if not 1 <= hours <= MAX_ESCALATION_HOURS:
            raise _ladder_error(
                _("Le délai d'un échelon va de 1 à %(max)s heures après l'alerte.")
                % {"max": MAX_ESCALATION_HOURS}
            )
        if audience not in EscalationAudience.values:
            raise _ladder_error(_("Destinataires d'un échelon inconnus."))
        terms.append((hours, str(audience)))
    terms.sort()
    if len({hours for hours, _audience in terms}) != len(terms):
        raise _ladder_error(_("Deux échelons ne peuvent avoir le même délai."))
    # The territory is told when the partners could not settle it: the last rung only.
    if any(audience == EscalationAudience.COORDINATORS for _hours, audience in terms[:-1]):
        raise _ladder_error(
            _("Les coordinateurs territoriaux ne peuvent être que le dernier échelon.")
        )
    return terms


def _save_ladder(agreement: Agreement, terms: LadderTerms, actor: Actor, reason: str) -> None:
    """Replace the agreement's rungs by `terms` (each change in the rungs' history)."""
    for rung in agreement.escalation_rungs.order_by("order"):
        delete_with_history(rung, actor=actor, reason=reason)
    for order, (hours, audience) in enumerate(terms, start=1):
        save_with_history(
            EscalationRung(agreement=agreement, order=order, after_hours=hours, audience=audience),
            actor=actor,
            reason=reason,
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


def _widens(
    agreement: Agreement,
    changes: dict[str, object],
    added_parties: set[int],
    ladder_changed: bool = False,
) -> bool:
    """Whether the change binds the parties further: another party, another category, an earlier
    start, a later (or no) end, other delays or another escalation ladder. Those need every
    party's acceptance again."""
    if added_parties or ladder_changed:
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
    if changes.get("receiver_may_transfer") and not agreement.receiver_may_transfer:
        return True  # a receiving party may now send people on to the others without asking
    return any(
        field in changes and changes[field] != getattr(agreement, field) for field in DELAY_FIELDS
    )


@transaction.atomic
def agreement_propose(
    *,
    actor: Actor,
    party_ids: list[int],
    escalation_ladder: object = None,
    **fields: object,
) -> Agreement:
    """Propose an agreement between the actor's organisation and at least one other.

    Preconditions: the actor's role may propose (AGREEMENT_ROLES); the actor's organisation is a
    party. `escalation_ladder`: its rungs (`_check_ladder`); none, the default ladder applies.
    Effects: the actor's organisation accepts it (attributed to the actor); every other party is
    pending, so the agreement binds nobody yet and no access is recomputed.
    """
    _require(access.can_propose_agreement(actor), AgreementAction.PROPOSE)
    parties = _check_parties(actor, party_ids)
    _check_shared_categories(fields.get("shared_categories", []))
    ladder = _check_ladder(escalation_ladder or [])
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
    _save_ladder(agreement, ladder, actor, _("Échelle d'escalade de la convention proposée"))
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
    *,
    actor: Actor,
    agreement_id: int,
    party_ids: list[int] | None = None,
    escalation_ladder: object = None,
    **changes: object,
) -> Agreement:
    """Change an agreement the actor's organisation is a party to.

    Preconditions: the actor's organisation is a party (else 404) and stays one; the actor's role
    may change agreements (403). Effects (docs/domain.md): a change that only narrows — fewer
    parties or categories, a later start, an earlier end — or renames takes effect at once, the
    answers given stand; a change that binds the parties further — another party or category, an
    earlier start, a later or no end, other delays or another escalation ladder
    (`escalation_ladder`, None: unchanged) — is a new version: the actor's organisation
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
    ladder = None if escalation_ladder is None else _check_ladder(escalation_ladder)
    ladder_changed = ladder is not None and ladder != agreement_ladder(agreement)
    new_version = _widens(agreement, changes, after - before, ladder_changed)

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
    if ladder is not None and ladder_changed:
        _save_ladder(
            agreement,
            ladder,
            actor,
            _("Échelle d'escalade modifiée par %(organisation)s")
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
