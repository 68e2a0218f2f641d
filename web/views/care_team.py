"""The care team (équipe de suivi) from the pages: add an organisation (found with the
directory's picker), remove one with a reason, after a confirmation. Through the services and
the gate the API uses (`CareTeamViewSet`): the pages show the buttons `gate.actions_for` allows
and answer 404 / 403 as the services do."""

from django.contrib import messages
from django.shortcuts import redirect, render

from parcours import access, gate
from parcours.errors import NotAllowed
from parcours.gate import Action, Subject
from parcours.services import care_team as care_team_services

from ..actor import member_required
from ..care_team_forms import CareTeamAddForm, CareTeamEndForm
from ..forms import INPUT_ERRORS, apply_domain_error
from ..identity import name_shown
from .directory import build_picker, search_again


@member_required
def care_team_add(request, pathway_pk: int):
    actor = request.actor
    # Who may not manage the team gets the 403 page (journaled), out of scope the 404 page.
    pathway = gate.pathway_for(actor, pathway_pk, Action.CARE_TEAM_ADD, lock=False)
    searching = request.method == "POST" and "rechercher" in request.POST
    if searching:  # the organisation picker's search, without JavaScript
        form = search_again(CareTeamAddForm, request.POST)
    else:
        form = CareTeamAddForm(request.POST or None)
    if request.method == "POST" and not searching and form.is_valid():
        try:
            care_team_services.care_team_add(
                actor=actor,
                pathway_id=pathway.pk,
                organisation_id=form.cleaned_data["organisation"].pk,
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, "L'organisation fait désormais partie de l'équipe de suivi.")
            return redirect("web:person-detail", pk=pathway.person_id)
    members = _members(actor, pathway.pk)
    picker = build_picker(
        actor,
        field_name="organisation",
        data=request.POST if request.method == "POST" else request.GET,
        picked=form["organisation"].value(),
        # Before any search: the organisations of the pathway's referrals, not yet in the team.
        suggested=[
            pk
            for r in access.referrals_visible_to(actor).filter(pathway=pathway)
            for pk in (r.receiver_organisation_id, r.sender_organisation_id)
            if pk not in {m.organisation_id for m in members}
        ],
        errors=form.errors.get("organisation", ()),
    )
    shows_identity = name_shown(actor, pathway, journal=request.method != "POST")
    return render(
        request,
        "web/care_team/add.html",
        {
            "form": form,
            "picker": picker,
            "pathway": pathway,
            "members": members,
            "shows_identity": shows_identity,
        },
        status=400 if form.errors else 200,
    )


@member_required
def care_team_end(request, pk: int):
    """The confirmation page (GET) and the removal (POST), with its reason."""
    actor = request.actor
    member = gate.locate(
        actor,
        access.care_team_visible_to(actor).filter(ended_at__isnull=True),
        pk,
        action=Action.CARE_TEAM_END,
    )
    pathway = gate.pathway_for(
        actor,
        member.pathway_id,
        Action.CARE_TEAM_END,
        lock=False,
        subject=Subject("care_team_member", member.pk, member.pathway.person_id),
    )
    form = CareTeamEndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            care_team_services.care_team_end(
                actor=actor, member_id=member.pk, reason=form.cleaned_data["reason"]
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(
                request,
                f"{member.organisation.name} ne fait plus partie de l'équipe de suivi : "
                "son accès au dossier par l'équipe de suivi est fermé.",
            )
            return redirect("web:person-detail", pk=pathway.person_id)
    shows_identity = name_shown(actor, pathway, journal=request.method != "POST")
    return render(
        request,
        "web/care_team/end.html",
        {"form": form, "member": member, "pathway": pathway, "shows_identity": shows_identity},
        status=400 if form.errors else 200,
    )


def _members(actor, pathway_id: int) -> list:
    """The pathway's active care team (its members' organisations), as the person page lists
    it."""
    return list(
        access.care_team_visible_to(actor)
        .filter(pathway_id=pathway_id, ended_at__isnull=True)
        .select_related("organisation")
        .order_by("started_at", "pk")
    )
