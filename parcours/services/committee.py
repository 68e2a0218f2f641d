"""The case committee (comité local de coordination des parcours, CLCVP): proposals, sessions,
their agenda and the decisions (docs/domain.md « Case committee »).

Who may do what is the gate's table (`rules.COMMITTEE_*`): an organisation that follows the
pathway proposes it, with the basis on which the committee reads the situation — the person's
consent in force, or a legal basis of parcours/bases.py that the proposer holds on the pathway;
the coordinator of the employment area builds the sessions and their agenda, declines a proposal
with a reason, and records the decision. A decision's follow-ups — actions of the plan, referrals
— are created by the plan and referral services **as the proposer** (its user, for its
organisation): their own rules then apply, exactly as if the proposer had written them, and each
is linked back to the decision (`CommitteeFollowUp`), all in the decision's transaction.

The committee never widens access to the record: reading a proposal shows the text written for
the committee, journaled with the purpose « Examen en comité de parcours » and the proposal's
basis; the record stays behind the usual grants.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, gate
from ..actor import Actor, actor_for
from ..bases import legal_bases
from ..categories import DataCategory
from ..errors import Conflict, InvalidInput, NoMembership, NotAllowed
from ..gate import Action, Subject
from ..gate.journal import record_event
from ..gate.relations import relations_to_committee, relations_to_proposal
from ..models import (
    AccessOperation,
    Committee,
    CommitteeFollowUp,
    CommitteeProposal,
    CommitteeStatus,
    Consent,
    DecisionOutcome,
    EmploymentArea,
    EventKind,
    Objection,
    Organisation,
    Pathway,
    PathwayStatus,
    ProposalBasis,
    ProposalStatus,
    ReferralKind,
)
from ..models.committee import PLACE_MAX, PROPOSAL_TEXT_MAX
from ..rules import COMMITTEE_PURPOSE
from ..text import required_text
from .action_plan import objective_add, plan_action_add
from .archive import raise_if_archived
from .history import save_with_history
from .referral import referral_create
from .timeline import timeline_record

# How far ahead a session may be set: beyond, the date is a typing error (the year).
SESSION_MAX_AHEAD = dt.timedelta(days=366)
LEGAL_PREFIX = "legal:"


def _texts(**fields: str) -> dict[str, str]:
    """Every required text checked at once: the form shows every problem together."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for field, value in fields.items():
        try:
            cleaned[field] = required_text(value, field=field, limit=PROPOSAL_TEXT_MAX)
        except InvalidInput as error:
            errors.update(error.fields)
    if errors:
        raise InvalidInput(" ".join(m for ms in errors.values() for m in ms), fields=errors)
    return cleaned


def _journal(
    actor: Actor,
    action: Action,
    proposal: CommitteeProposal,
    operation: str,
    detail: dict | None = None,
) -> None:
    """One row per read or write of a proposal, under the committee's purpose and the
    proposal's basis (not the reader's grants on the record, which it may not have)."""
    record_event(
        actor,
        operation,
        action=action,
        object_type="committee_proposal",
        object_id=proposal.pk,
        person_id=proposal.pathway.person_id,
        categories=(DataCategory.PATHWAY,),
        purpose=COMMITTEE_PURPOSE,
        basis=proposal_basis_code(proposal),
        detail=detail,
    )


def proposal_basis_code(proposal: CommitteeProposal) -> str:
    """The journal's code for the basis the committee reads the case under."""
    if proposal.basis_kind == ProposalBasis.CONSENT:
        return f"consent:{proposal.consent_id}"
    return proposal.legal_basis


# --- Proposing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalBases:
    """What the proposer may base a proposal on, for a form to offer."""

    consents: list[Consent]
    legal: list[tuple[str, str]]  # (code, French label)


def _consents_in_force(actor: Actor, pathway: Pathway):
    today = timezone.localdate()
    if Objection.objects.filter(person_id=pathway.person_id, withdrawn_at__isnull=True).exists():
        return Consent.objects.none()  # an objection ends every consent-based sharing
    return (
        access.consents_visible_to(actor)
        .filter(person_id=pathway.person_id, revoked_at__isnull=True, starts_on__lte=today)
        .exclude(ends_on__lt=today)
        .order_by("-starts_on", "-id")
    )


def _legal_bases_held(actor: Actor, pathway: Pathway) -> list[tuple[str, str]]:
    """The legal bases of parcours/bases.py the proposer's organisation holds on the pathway
    now (its grants say so), with their labels."""
    held = access.grants_for(actor, [pathway.pk])[pathway.pk]
    codes = {code for codes in held.bases.values() for code in codes}
    labels = {f"{LEGAL_PREFIX}{b.code}": b.label for b in legal_bases()}
    return sorted((code, labels[code]) for code in codes if code in labels)


def proposal_bases(*, actor: Actor, pathway_id: int) -> ProposalBases:
    """The consents and legal bases the actor may propose this pathway under (404 and 403 as
    the proposal itself: the form is refused before anything is typed)."""
    pathway = gate.pathway_for(actor, pathway_id, Action.COMMITTEE_PROPOSE, lock=False)
    return ProposalBases(
        consents=list(_consents_in_force(actor, pathway)),
        legal=_legal_bases_held(actor, pathway),
    )


NO_BASIS = (
    "Le comité ne peut examiner cette situation qu'avec l'accord de la personne (recueillez-le "
    "d'abord, sur sa fiche) ou une base légale dont votre organisation dispose pour ce parcours."
)


def _basis(
    actor: Actor, pathway: Pathway, basis_kind: str, consent_id: object, legal_basis: str
) -> tuple[Consent | None, str]:
    if basis_kind == ProposalBasis.CONSENT:
        consent = _consents_in_force(actor, pathway).filter(pk=_as_id(consent_id)).first()
        if consent is None:
            raise InvalidInput(
                _(NO_BASIS),
                fields={
                    "consent": [_("Choisissez un accord de la personne en cours de validité.")]
                },
            )
        return consent, ""
    if basis_kind == ProposalBasis.LEGAL:
        held = dict(_legal_bases_held(actor, pathway))
        if legal_basis not in held:
            raise InvalidInput(
                _(NO_BASIS),
                fields={
                    "legal_basis": [
                        _(
                            "Votre organisation ne dispose pas de cette base légale pour ce "
                            "parcours."
                        )
                    ]
                },
            )
        return None, legal_basis
    raise InvalidInput(
        _(NO_BASIS),
        fields={"basis_kind": [_("Indiquez la base du partage avec le comité.")]},
    )


def _as_id(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


@transaction.atomic
def committee_propose(
    *,
    actor: Actor,
    pathway_id: int,
    reason: str,
    question: str,
    summary: str,
    basis_kind: str,
    consent_id: int | None = None,
    legal_basis: str = "",
) -> CommitteeProposal:
    """Put a pathway forward for the committee of the proposer's employment area.

    The pathway's followers (case workers) only, an open pathway, one open proposal per
    pathway; the basis: a consent of the person in force that the proposer reads (no objection),
    or a legal basis the proposer holds on the pathway. Journaled, on the timeline, historied."""
    pathway = gate.pathway_for(actor, pathway_id, Action.COMMITTEE_PROPOSE)
    raise_if_archived(pathway)
    if pathway.status != PathwayStatus.OPEN:
        raise Conflict(_("Ce parcours est clôturé : il ne peut plus être proposé au comité."))
    texts = _texts(reason=reason, question=question, summary=summary)
    consent, legal = _basis(actor, pathway, basis_kind, consent_id, (legal_basis or "").strip())
    if CommitteeProposal.objects.filter(
        pathway=pathway, status__in=[ProposalStatus.PROPOSED, ProposalStatus.SCHEDULED]
    ).exists():
        raise Conflict(
            _("Ce parcours est déjà proposé au comité (en attente ou à l'ordre du jour).")
        )
    proposal = CommitteeProposal(
        employment_area_id=actor.organisation.employment_area_id,
        pathway=pathway,
        proposed_by=actor.user,
        proposer_organisation=actor.organisation,
        created_at=timezone.now(),
        basis_kind=basis_kind,
        consent=consent,
        legal_basis=legal,
        **texts,
    )
    try:
        with transaction.atomic():
            save_with_history(proposal, actor=actor, reason=_("Proposition au comité de parcours"))
    except IntegrityError as exc:  # a concurrent twin won the race
        raise Conflict(_("Ce parcours est déjà proposé au comité.")) from exc
    timeline_record(
        pathway=pathway,
        kind=EventKind.COMMITTEE,
        actor=actor,
        text=_("Proposé au comité de parcours : %(reason)s") % {"reason": texts["reason"]},
    )
    _journal(actor, Action.COMMITTEE_PROPOSE, proposal, AccessOperation.WRITE)
    return proposal


# --- Sessions and their agenda ------------------------------------------------------------------


def _committee_for(actor: Actor, committee_id: object, action: Action) -> Committee:
    committee = gate.locate(
        actor,
        access.committees_visible_to(actor).select_for_update(of=("self",)),
        committee_id,
        action=action,
    )
    gate.require(
        actor,
        action,
        relations=relations_to_committee(actor, committee),
        subject=Subject("committee", committee.pk, None),
    )
    return committee


def _proposal_for(
    actor: Actor, proposal_id: object, action: Action, *, lock: bool = True
) -> CommitteeProposal:
    """The proposal the actor may take `action` on (404 out of scope, 403 journaled), locked
    for a write unless `lock` is False."""
    scope = access.committee_proposals_visible_to(actor).select_related("pathway")
    proposal = gate.locate(
        actor,
        scope.select_for_update(of=("self",)) if lock else scope,
        proposal_id,
        action=action,
    )
    gate.require(
        actor,
        action,
        relations=relations_to_proposal(actor, proposal),
        subject=Subject("committee_proposal", proposal.pk, proposal.pathway.person_id),
    )
    return proposal


def committee_proposal_for(
    *, actor: Actor, proposal_id: object, action: Action
) -> CommitteeProposal:
    """A proposal the actor may take `action` on, not locked: for a page showing the form of a
    write before anything is typed."""
    return _proposal_for(actor, proposal_id, action, lock=False)


LIST_SIZE = 100


def committee_lists(*, actor: Actor) -> tuple[list[Committee], list[CommitteeProposal]]:
    """The sessions and proposals the actor sees, newest first (403 for a role that sees no
    committee). They name nobody — references, organisations, states, dates — so they are not
    journaled; opening a proposal is."""
    gate.require(actor, Action.COMMITTEE_LIST)
    sessions = (
        access.committees_visible_to(actor)
        .select_related("employment_area")
        .order_by("-meets_at", "-id")[:LIST_SIZE]
    )
    proposals = (
        access.committee_proposals_visible_to(actor)
        .select_related("proposer_organisation", "committee", "employment_area")
        .order_by("-created_at", "-id")[:LIST_SIZE]
    )
    return list(sessions), list(proposals)


def committee_areas(*, actor: Actor) -> list[EmploymentArea]:
    """The areas whose sessions the actor plans (403 unless it coordinates one)."""
    areas = access.committee_area_ids(actor)
    gate.require(
        actor,
        Action.COMMITTEE_SCHEDULE,
        relations={gate.Relation.AREA_COORDINATOR} if areas else set(),
    )
    return list(EmploymentArea.objects.filter(pk__in=sorted(areas)))


def _session_problems(meets_at: dt.datetime | None, place: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    now = timezone.now()
    if meets_at is None:
        errors["meets_at"] = [_("Indiquez la date et l'heure du comité.")]
    elif meets_at < now - dt.timedelta(hours=12):
        errors["meets_at"] = [_("La date du comité ne peut pas être passée.")]
    elif meets_at > now + SESSION_MAX_AHEAD:
        errors["meets_at"] = [_("Le comité se tient dans l'année qui vient.")]
    try:
        required_text(place, field="place", limit=PLACE_MAX)
    except InvalidInput as error:
        errors.update(error.fields)
    return errors


@transaction.atomic
def committee_create(
    *,
    actor: Actor,
    employment_area_id: int,
    meets_at: dt.datetime | None,
    place: str,
    attendee_ids: list[int],
) -> Committee:
    """Plan a session of an area the actor coordinates, inviting partner organisations."""
    area_id = _as_id(employment_area_id)
    area = EmploymentArea.objects.filter(pk=area_id).first() if area_id is not None else None
    relations = (
        {gate.Relation.AREA_COORDINATOR}
        if area is not None and area.pk in access.committee_area_ids(actor)
        else set()
    )
    gate.require(actor, Action.COMMITTEE_SCHEDULE, relations=relations)
    assert area is not None  # the coordinator of an existing area only passes the gate
    errors = _session_problems(meets_at, place)
    attendees = list(Organisation.objects.filter(pk__in={_as_id(i) for i in attendee_ids}))
    if len(attendees) != len(set(attendee_ids)):
        errors["attendees"] = [_("Organisation inconnue.")]
    if errors or meets_at is None:
        raise InvalidInput(" ".join(m for ms in errors.values() for m in ms), fields=errors)
    committee = Committee(
        employment_area=area,
        meets_at=meets_at,
        place=place.strip(),
        created_by=actor.user,
        created_by_organisation=actor.organisation,
        created_at=timezone.now(),
    )
    save_with_history(committee, actor=actor, reason=_("Comité de parcours prévu"))
    committee.attendees.set(attendees)
    return committee


@transaction.atomic
def committee_set_attendees(
    *, actor: Actor, committee_id: int, attendee_ids: list[int]
) -> Committee:
    """Change who is invited; the organisations whose cases are on the agenda stay invited."""
    committee = _committee_for(actor, committee_id, Action.COMMITTEE_SCHEDULE)
    _raise_unless_planned(committee)
    attendees = set(Organisation.objects.filter(pk__in={_as_id(i) for i in attendee_ids}))
    if len(attendees) != len(set(attendee_ids)):
        raise InvalidInput(
            _("Organisation inconnue."), fields={"attendees": [_("Organisation inconnue.")]}
        )
    attendees |= set(
        Organisation.objects.filter(committee_proposals__committee=committee).distinct()
    )
    committee.attendees.set(attendees)
    save_with_history(committee, actor=actor, reason=_("Organisations invitées au comité"))
    return committee


def _raise_unless_planned(committee: Committee) -> None:
    if committee.status != CommitteeStatus.PLANNED:
        raise Conflict(
            _("Ce comité est %(state)s : son ordre du jour ne change plus.")
            % {"state": str(CommitteeStatus(committee.status).label).lower()}
        )


@transaction.atomic
def committee_schedule(*, actor: Actor, proposal_id: int, committee_id: int) -> CommitteeProposal:
    """Put a pending proposal on the agenda of a planned session of its area (at the end);
    the proposing organisation is invited."""
    proposal = _proposal_for(actor, proposal_id, Action.COMMITTEE_SCHEDULE)
    committee = _committee_for(actor, committee_id, Action.COMMITTEE_SCHEDULE)
    _raise_unless_planned(committee)
    if committee.employment_area_id != proposal.employment_area_id:
        raise InvalidInput(
            _("Ce comité ne se tient pas dans le bassin d'emploi de la proposition."),
            fields={"committee": [_("Choisissez un comité du même bassin d'emploi.")]},
        )
    if proposal.status != ProposalStatus.PROPOSED:
        raise Conflict(
            _("Cette proposition est « %(state)s » : elle ne peut plus être inscrite.")
            % {"state": ProposalStatus(proposal.status).label}
        )
    last = committee.agenda.aggregate(last=Max("position"))["last"] or 0
    proposal.committee = committee
    proposal.position = last + 1
    proposal.status = ProposalStatus.SCHEDULED
    save_with_history(proposal, actor=actor, reason=_("Inscription à l'ordre du jour"))
    committee.attendees.add(proposal.proposer_organisation_id)
    _journal(actor, Action.COMMITTEE_SCHEDULE, proposal, AccessOperation.WRITE)
    return proposal


@transaction.atomic
def committee_move(*, actor: Actor, proposal_id: int, offset: int) -> CommitteeProposal:
    """Move an agenda item one place up (-1) or down (+1) in its planned session."""
    proposal = _proposal_for(actor, proposal_id, Action.COMMITTEE_SCHEDULE)
    if proposal.status != ProposalStatus.SCHEDULED or proposal.committee is None:
        raise Conflict(_("Cette proposition n'est pas à l'ordre du jour."))
    committee = _committee_for(actor, proposal.committee_id, Action.COMMITTEE_SCHEDULE)
    _raise_unless_planned(committee)
    if offset not in (-1, 1):
        raise InvalidInput(_("Déplacement inconnu."), fields={"offset": [_("Choix invalide.")]})
    items = list(committee.agenda.select_for_update().order_by("position"))
    index = next(i for i, item in enumerate(items) if item.pk == proposal.pk)
    other = index + offset
    if not 0 <= other < len(items):
        return proposal
    items[index], items[other] = items[other], items[index]
    # Two steps: the positions are unique, a swap passes through free ones.
    top = max(item.position or 0 for item in items)
    for rank, item in enumerate(items, start=1):
        item.position = top + rank
        save_with_history(item, actor=actor, reason=_("Ordre du jour réordonné"))
    for rank, item in enumerate(items, start=1):
        item.position = rank
        save_with_history(item, actor=actor, reason=_("Ordre du jour réordonné"))
    proposal.refresh_from_db()
    return proposal


@transaction.atomic
def committee_decline(*, actor: Actor, proposal_id: int, reason: str) -> CommitteeProposal:
    """Decline a pending proposal, with a reason the proposer reads."""
    proposal = _proposal_for(actor, proposal_id, Action.COMMITTEE_SCHEDULE)
    text = required_text(reason, field="reason", limit=PROPOSAL_TEXT_MAX)
    if proposal.status != ProposalStatus.PROPOSED:
        raise Conflict(
            _("Cette proposition est « %(state)s » : elle ne peut plus être écartée.")
            % {"state": ProposalStatus(proposal.status).label}
        )
    proposal.status = ProposalStatus.DECLINED
    proposal.declined_reason = text
    save_with_history(proposal, actor=actor, reason=_("Proposition non retenue"))
    _journal(actor, Action.COMMITTEE_SCHEDULE, proposal, AccessOperation.WRITE)
    return proposal


@transaction.atomic
def committee_cancel(*, actor: Actor, committee_id: int) -> Committee:
    """Cancel a planned session: its agenda items go back to the pending proposals."""
    committee = _committee_for(actor, committee_id, Action.COMMITTEE_SCHEDULE)
    _raise_unless_planned(committee)
    if committee.agenda.filter(status=ProposalStatus.DECIDED).exists():
        raise Conflict(_("Ce comité a déjà rendu des décisions : il ne peut plus être annulé."))
    for proposal in committee.agenda.select_for_update().order_by("position"):
        proposal.status, proposal.committee, proposal.position = ProposalStatus.PROPOSED, None, None
        save_with_history(proposal, actor=actor, reason=_("Comité annulé"))
    committee.status = CommitteeStatus.CANCELLED
    save_with_history(committee, actor=actor, reason=_("Comité annulé"))
    return committee


# --- Reading a proposal -------------------------------------------------------------------------


def committee_proposal_read(*, actor: Actor, proposal_id: object) -> CommitteeProposal:
    """A proposal's committee text, for the coordinator, the proposer or an invited
    organisation (404 for anyone else); every read journaled."""
    proposal = gate.locate(
        actor,
        access.committee_proposals_visible_to(actor).select_related(
            "pathway", "committee", "proposer_organisation", "employment_area"
        ),
        proposal_id,
        action=Action.COMMITTEE_READ_ITEM,
    )
    gate.require(
        actor,
        Action.COMMITTEE_READ_ITEM,
        relations=relations_to_proposal(actor, proposal),
        subject=Subject("committee_proposal", proposal.pk, proposal.pathway.person_id),
    )
    _journal(actor, Action.COMMITTEE_READ_ITEM, proposal, AccessOperation.READ)
    return proposal


# --- The decision -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecidedAction:
    """An action of the plan the committee decides: what, held by whom, due when."""

    label: str
    owner_organisation_id: int
    due_on: dt.date | None


@dataclass(frozen=True)
class DecidedReferral:
    """A referral the committee decides, sent by the proposer's organisation."""

    receiver_organisation_id: int
    reason: str
    kind: str = ReferralKind.SIMULTANEOUS
    receiver_service_id: int | None = None


def _prefixed(error: InvalidInput, prefix: str) -> InvalidInput:
    """A follow-up's field errors under the decision's field names (`actions.0.label`)."""
    return InvalidInput(
        error.message, fields={f"{prefix}.{field}": ms for field, ms in error.fields.items()}
    )


def _refused_follow_up(proposal: CommitteeProposal, error: NotAllowed) -> Conflict:
    """A follow-up its own rules refuse to the proposer (it no longer follows the pathway, say):
    the decision is not recorded, and the coordinator reads why (409, not the gate's 403)."""
    return Conflict(
        _("Les suites ne peuvent pas être créées au nom de %(org)s : %(why)s")
        % {"org": proposal.proposer_organisation.name, "why": error.message}
    )


def _proposer_actor(proposal: CommitteeProposal) -> Actor:
    try:
        return actor_for(proposal.proposed_by, proposal.proposer_organisation_id)
    except NoMembership:
        raise Conflict(
            _(
                "La personne qui a proposé ce dossier n'est plus membre de %(org)s : ses suites "
                "ne peuvent pas être créées en son nom. Notez la décision « sans suite » et "
                "demandez à %(org)s de reprendre le dossier."
            )
            % {"org": proposal.proposer_organisation.name}
        ) from None


@transaction.atomic
def committee_decide(
    *,
    actor: Actor,
    proposal_id: int,
    decision: str,
    outcome: str,
    actions: Sequence[DecidedAction] = (),
    referrals: Sequence[DecidedReferral] = (),
) -> CommitteeProposal:
    """Record the committee's decision on an agenda item, and create what it decides.

    The coordinator of the area, an item on the agenda of a planned or held session. With the
    outcome « suites décidées », at least one action or referral: the actions go to a new
    objective of the person's plan (« Décision du comité de parcours du … »), the referrals are
    sent — each through its own service, as the proposer (its rules, its checks: an action's
    holder sees the pathway, a referral's receiver has a basis…), linked back here. Any
    refusal undoes the whole decision. The session is then held."""
    proposal = _proposal_for(actor, proposal_id, Action.COMMITTEE_DECIDE)
    if proposal.status != ProposalStatus.SCHEDULED or proposal.committee is None:
        raise Conflict(
            _("Cette proposition est « %(state)s » : le comité ne peut pas en décider.")
            % {"state": ProposalStatus(proposal.status).label}
        )
    committee = Committee.objects.select_for_update().get(pk=proposal.committee.pk)
    if committee.status == CommitteeStatus.CANCELLED:
        raise Conflict(_("Ce comité est annulé : il ne rend pas de décision."))
    errors: dict[str, list[str]] = {}
    try:
        decision = required_text(decision, field="decision", limit=PROPOSAL_TEXT_MAX)
    except InvalidInput as error:
        errors.update(error.fields)
    if outcome not in DecisionOutcome.values:
        errors["outcome"] = [_("Choisissez l'issue de l'examen.")]
    elif outcome == DecisionOutcome.FOLLOW_UP and not (actions or referrals):
        errors["outcome"] = [
            _("Des suites décidées : indiquez au moins une action ou une orientation.")
        ]
    elif outcome != DecisionOutcome.FOLLOW_UP and (actions or referrals):
        errors["outcome"] = [
            _("Une décision avec des actions ou des orientations a l'issue « suites décidées ».")
        ]
    if errors:
        raise InvalidInput(" ".join(m for ms in errors.values() for m in ms), fields=errors)
    now = timezone.now()
    created: dict[str, list[int]] = {"plan_actions": [], "referrals": []}
    if actions or referrals:
        proposer = _proposer_actor(proposal)
        if actions:
            objective = objective_add(
                actor=proposer,
                pathway_id=proposal.pathway_id,
                title=_("Décision du comité de parcours du %(day)s")
                % {"day": f"{timezone.localtime(committee.meets_at):%d/%m/%Y}"},
            )
            for index, item in enumerate(actions):
                try:
                    plan_action = plan_action_add(
                        actor=proposer,
                        objective_id=objective.pk,
                        label=item.label,
                        owner_organisation_id=item.owner_organisation_id,
                        due_on=item.due_on,
                    )
                except InvalidInput as error:
                    raise _prefixed(error, f"actions.{index}") from None
                except NotAllowed as error:
                    raise _refused_follow_up(proposal, error) from None
                CommitteeFollowUp.objects.create(proposal=proposal, plan_action=plan_action)
                created["plan_actions"].append(plan_action.pk)
        for index, decided in enumerate(referrals):
            if decided.kind not in ReferralKind.values:
                raise InvalidInput(
                    _("Type d'orientation inconnu."),
                    fields={f"referrals.{index}.kind": [_("Choix invalide.")]},
                )
            try:
                referral = referral_create(
                    actor=proposer,
                    pathway_id=proposal.pathway_id,
                    receiver_organisation_id=decided.receiver_organisation_id,
                    receiver_service_id=decided.receiver_service_id,
                    kind=decided.kind,
                    reason=required_text(decided.reason, field="reason", limit=PROPOSAL_TEXT_MAX),
                )
            except InvalidInput as error:
                raise _prefixed(error, f"referrals.{index}") from None
            except NotAllowed as error:
                raise _refused_follow_up(proposal, error) from None
            CommitteeFollowUp.objects.create(proposal=proposal, referral=referral)
            created["referrals"].append(referral.pk)
    proposal.decision = decision
    proposal.outcome = outcome
    proposal.decided_at = now
    proposal.decided_by = actor.user
    proposal.status = ProposalStatus.DECIDED
    save_with_history(proposal, actor=actor, reason=_("Décision du comité de parcours"))
    if committee.status == CommitteeStatus.PLANNED:
        committee.status = CommitteeStatus.HELD
        save_with_history(committee, actor=actor, reason=_("Comité tenu"))
    timeline_record(
        pathway=proposal.pathway,
        kind=EventKind.COMMITTEE,
        actor=actor,
        text=_("Décision du comité de parcours (%(outcome)s) : %(decision)s")
        % {"outcome": str(DecisionOutcome(outcome).label).lower(), "decision": decision},
    )
    _journal(actor, Action.COMMITTEE_DECIDE, proposal, AccessOperation.WRITE, detail=created)
    return proposal
