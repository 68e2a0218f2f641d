"""The case committee (CLCVP) in the pages: « Comités de parcours » (sessions and proposals),
a session's page with its agenda, a proposal's page (the text written for the committee, a
journaled read), « Proposer au comité » from the person page, the decline and decision forms.
The same services and gate as the API (parcours/api/committee_views.py)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from parcours import access, gate
from parcours.bases import legal_bases
from parcours.categories import DataCategory
from parcours.errors import DomainError, InvalidInput, NotAllowed
from parcours.gate import Action
from parcours.models import (
    CommitteeProposal,
    CommitteeStatus,
    Organisation,
    ProposalStatus,
)
from parcours.services import committee as services

from ..actor import member_required
from ..committee_forms import CommitteeForm, DecisionForm, DeclineForm, ProposalForm, ScheduleForm
from ..forms import INPUT_ERRORS, apply_domain_error, error_sentence
from ..identity import name_shown


def _renamed(error: Exception, names: dict[str, str]) -> Exception:
    """A service error whose field names are the API's, under this form's names."""
    if not isinstance(error, DomainError) or not error.fields:
        return error
    fields: dict[str, list[str]] = {}
    for field, field_messages in error.fields.items():
        fields.setdefault(names.get(field, field), []).extend(field_messages)
    return InvalidInput(error.message, fields=fields)


@member_required
def committee_list(request):
    """The coordinator: the sessions of their areas and the proposals waiting; a partner: the
    sessions it is invited to and its own proposals. Lists name nobody (references)."""
    actor = request.actor
    sessions, proposals = services.committee_lists(actor=actor)  # 403 for a DPO, an admin
    return render(
        request,
        "web/committees/list.html",
        {
            "sessions": sessions,
            "proposals": proposals,
            "coordinator": access.coordinates_committees(actor),
        },
    )


@member_required
def committee_create(request):
    actor = request.actor
    areas = services.committee_areas(actor=actor)  # the 403 page before anything is typed
    organisations = Organisation.objects.filter(employment_area__in=areas).order_by("name")
    form = CommitteeForm(request.POST or None, areas=areas, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            committee = services.committee_create(
                actor=actor,
                employment_area_id=data["employment_area"],
                meets_at=data["meets_at"],
                place=data["place"],
                attendee_ids=[o.pk for o in data["attendees"]],
            )
        except NotAllowed:
            raise
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, "Le comité de parcours est prévu.")
            return redirect("web:committee-detail", pk=committee.pk)
    return render(
        request,
        "web/committees/form.html",
        {"form": form, "title": "Prévoir un comité de parcours", "submit": "Prévoir le comité"},
        status=400 if form.errors else 200,
    )


@member_required
def committee_detail(request, pk: int):
    """A session: date, place, invited organisations, the agenda (references, proposers,
    states); for its coordinator, what to add and the buttons."""
    actor = request.actor
    committee = gate.locate(
        actor,
        access.committees_visible_to(actor).select_related("employment_area"),
        pk,
        action=Action.COMMITTEE_LIST,
    )
    agenda = list(committee.agenda.select_related("proposer_organisation").order_by("position"))
    runs = committee.employment_area_id in access.committee_area_ids(actor)
    form = None
    if runs and committee.status == CommitteeStatus.PLANNED:
        pending = CommitteeProposal.objects.filter(
            employment_area_id=committee.employment_area_id, status=ProposalStatus.PROPOSED
        ).select_related("proposer_organisation")
        form = ScheduleForm(request.POST or None, proposals=pending)
        if request.method == "POST" and form.is_valid():
            try:
                services.committee_schedule(
                    actor=actor,
                    proposal_id=form.cleaned_data["proposal"],
                    committee_id=committee.pk,
                )
            except NotAllowed:
                raise
            except INPUT_ERRORS as error:
                apply_domain_error(form, error)
            else:
                messages.success(request, "Le dossier est inscrit à l'ordre du jour.")
                return redirect("web:committee-detail", pk=committee.pk)
    elif request.method == "POST":
        if not runs:  # a partner posting: the gate's refusal, the 403 page
            services.committee_areas(actor=actor)
        messages.error(request, "Ce comité n'est plus prévu : son ordre du jour ne change plus.")
        return redirect("web:committee-detail", pk=committee.pk)
    return render(
        request,
        "web/committees/detail.html",
        {
            "committee": committee,
            "agenda": agenda,
            "attendees": committee.attendees.order_by("name"),
            "runs": runs,
            "form": form,
        },
        status=400 if form is not None and form.errors else 200,
    )


@member_required
def committee_cancel(request, pk: int):
    actor = request.actor
    if request.method == "POST":
        try:
            services.committee_cancel(actor=actor, committee_id=pk)
        except NotAllowed:
            raise
        except INPUT_ERRORS as error:
            messages.error(request, error_sentence(error))
        else:
            messages.success(
                request, "Le comité est annulé ; ses dossiers attendent un autre comité."
            )
    return redirect("web:committee-detail", pk=_committee_pk(actor, pk))


def _committee_pk(actor, pk: int) -> int:
    return gate.locate(
        actor, access.committees_visible_to(actor), pk, action=Action.COMMITTEE_LIST
    ).pk


@member_required
def proposal_move(request, pk: int):
    actor = request.actor
    if request.method != "POST":
        proposal = _proposal(actor, pk)
        return redirect("web:committee-proposal", pk=proposal.pk)
    try:
        offset = int(request.POST.get("offset", ""))
    except ValueError:
        offset = 0
    try:
        proposal = services.committee_move(actor=actor, proposal_id=pk, offset=offset)
    except NotAllowed:
        raise
    except INPUT_ERRORS as error:
        messages.error(request, error_sentence(error))
        proposal = _proposal(actor, pk)
    if proposal.committee_id is None:
        return redirect("web:committee-proposal", pk=proposal.pk)
    return redirect("web:committee-detail", pk=proposal.committee_id)


def _proposal(actor, pk: int) -> CommitteeProposal:
    return gate.locate(
        actor,
        access.committee_proposals_visible_to(actor),
        pk,
        action=Action.COMMITTEE_READ_ITEM,
    )


@member_required
def proposal_detail(request, pk: int):
    """The text written for the committee (journaled: « Examen en comité de parcours »), its
    basis, the decision and what it created; the person's record is a link only for an
    organisation with its own basis on the pathway."""
    actor = request.actor
    proposal = services.committee_proposal_read(actor=actor, proposal_id=pk)
    sees_record = (
        access.pathways_visible_to(actor, DataCategory.IDENTITY)
        .filter(pk=proposal.pathway_id)
        .exists()
    )
    runs = proposal.employment_area_id in access.committee_area_ids(actor)
    return render(
        request,
        "web/committees/proposal.html",
        {
            "proposal": proposal,
            "basis": _basis_label(proposal),
            "sees_record": sees_record,
            "runs": runs,
            "follow_ups": proposal.follow_ups.select_related(
                "plan_action__owner_organisation", "referral__receiver_organisation"
            ),
        },
    )


def _basis_label(proposal: CommitteeProposal) -> str:
    if proposal.consent_id is not None:
        collector = proposal.consent.collected_by_organisation.name
        return f"Accord de la personne (recueilli par {collector})"
    labels = {f"legal:{b.code}": b.label for b in legal_bases()}
    return f"Base légale : {labels.get(proposal.legal_basis, 'mission de l’organisation')}"


@member_required
def proposal_create(request, pathway_pk: int):
    """« Proposer au comité » from the person page."""
    actor = request.actor
    bases = services.proposal_bases(actor=actor, pathway_id=pathway_pk)  # 404, 403 first
    pathway = gate.pathway_for(actor, pathway_pk, Action.COMMITTEE_PROPOSE, lock=False)
    form = ProposalForm(request.POST or None, bases=bases)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            proposal = services.committee_propose(
                actor=actor,
                pathway_id=pathway.pk,
                reason=data["reason"],
                question=data["question"],
                summary=data["summary"],
                **form.basis_arguments(),
            )
        except NotAllowed:
            raise
        except INPUT_ERRORS as error:
            apply_domain_error(
                form,
                _renamed(
                    error, {"consent": "basis", "legal_basis": "basis", "basis_kind": "basis"}
                ),
            )
        else:
            messages.success(
                request,
                f"Le dossier est proposé au comité de parcours ({proposal.reference}).",
            )
            return redirect("web:person-detail", pk=pathway.person_id)
    shows_identity = name_shown(actor, pathway, journal=request.method != "POST")
    return render(
        request,
        "web/committees/propose.html",
        {
            "form": form,
            "pathway": pathway,
            "shows_identity": shows_identity,
            "no_basis": not form.fields["basis"].choices,
        },
        status=400 if form.errors else 200,
    )


@member_required
def proposal_decline(request, pk: int):
    actor = request.actor
    proposal = services.committee_proposal_for(
        actor=actor, proposal_id=pk, action=Action.COMMITTEE_SCHEDULE
    )
    form = DeclineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.committee_decline(
                actor=actor, proposal_id=proposal.pk, reason=form.cleaned_data["reason"]
            )
        except NotAllowed:
            raise
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, "La proposition n'est pas retenue ; son auteur le verra.")
            return redirect("web:committees")
    return render(
        request,
        "web/committees/form.html",
        {
            "form": form,
            "title": f"Ne pas retenir le dossier {proposal.reference}",
            "submit": "Ne pas retenir",
            "back": reverse("web:committee-proposal", args=[proposal.pk]),
        },
        status=400 if form.errors else 200,
    )


@member_required
def proposal_decide(request, pk: int):
    """The decision form: the text, the outcome, an action of the plan and a referral, created
    as the proposer by their own services."""
    actor = request.actor
    proposal = services.committee_proposal_for(
        actor=actor, proposal_id=pk, action=Action.COMMITTEE_DECIDE
    )
    holders = access.organisations_seeing(proposal.pathway_id, DataCategory.PATHWAY).order_by(
        "name"
    )
    receivers = (
        Organisation.objects.filter(employment_area_id=proposal.employment_area_id)
        .exclude(pk=proposal.proposer_organisation_id)
        .order_by("name")
    )
    form = DecisionForm(request.POST or None, holders=holders, receivers=receivers)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actions = []
        if data["action_label"]:
            actions.append(
                services.DecidedAction(
                    label=data["action_label"],
                    owner_organisation_id=data["action_owner"],
                    due_on=data["action_due_on"],
                )
            )
        referrals = []
        if data["referral_receiver"]:
            referrals.append(
                services.DecidedReferral(
                    receiver_organisation_id=data["referral_receiver"],
                    reason=data["referral_reason"],
                    kind=data["referral_kind"] or "simultaneous",
                )
            )
        try:
            services.committee_decide(
                actor=actor,
                proposal_id=proposal.pk,
                decision=data["decision"],
                outcome=data["outcome"],
                actions=actions,
                referrals=referrals,
            )
        except NotAllowed:
            raise
        except INPUT_ERRORS as error:
            apply_domain_error(form, _renamed(error, DecisionForm.SERVICE_FIELDS))
        else:
            messages.success(request, "La décision du comité est enregistrée.")
            return redirect("web:committee-proposal", pk=proposal.pk)
    return render(
        request,
        "web/committees/form.html",
        {
            "form": form,
            "title": f"Décision du comité — dossier {proposal.reference}",
            "submit": "Enregistrer la décision",
            "back": reverse("web:committee-proposal", args=[proposal.pk]),
            "intro": (
                "Les actions et orientations décidées sont créées au nom de l'organisation qui a "
                "proposé le dossier, avec ses règles : une action est portée par une organisation "
                "qui suit la personne ; un destinataire doit avoir une base pour la recevoir."
            ),
        },
        status=400 if form.errors else 200,
    )
