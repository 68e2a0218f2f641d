"""The action plan from the pages: add an objective, add an action to it, move either. The
same services and gate as the API (parcours/api/action_plan_views.py); the plan itself is shown
on the person page."""

from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import redirect, render

from parcours import access, gate
from parcours.errors import NotAllowed
from parcours.gate import Action
from parcours.selectors.action_plan import owner_candidates
from parcours.services import action_plan as plan_services

from ..action_plan_forms import ObjectiveForm, PlanActionForm
from ..actor import member_required
from ..forms import INPUT_ERRORS, apply_domain_error, error_sentence
from ..identity import name_shown


@dataclass(frozen=True)
class PlanWrite:
    """What web/pathways/write.html shows of a write."""

    title: str
    submit: str
    destructive: bool = False


OBJECTIVE_ADD = PlanWrite("Ajouter un objectif au plan d'action", "Ajouter l'objectif")
ACTION_ADD = PlanWrite("Ajouter une action au plan d'action", "Ajouter l'action")


def _form_page(request, spec: PlanWrite, pathway, form, *, objective=None):
    # The title names the person when the organisation sees their identity (journaled); a
    # form shown again after a mistake does not (nothing read, nothing journaled).
    shows_identity = name_shown(request.actor, pathway, journal=request.method != "POST")
    return render(
        request,
        "web/pathways/write.html",
        {
            "spec": spec,
            "form": form,
            "pathway": pathway,
            "objective": objective,
            "shows_identity": shows_identity,
        },
        status=400 if form.errors else 200,
    )


@member_required
def objective_add(request, pathway_pk: int):
    actor = request.actor
    # A partner the table refuses gets the 403 page, not a form that fails.
    pathway = gate.pathway_for(actor, pathway_pk, Action.PLAN_OBJECTIVE_ADD, lock=False)
    form = ObjectiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plan_services.objective_add(
                actor=actor, pathway_id=pathway.pk, title=form.cleaned_data["title"]
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, "L'objectif est ajouté au plan d'action.")
            return redirect("web:person-detail", pk=pathway.person_id)
    return _form_page(request, OBJECTIVE_ADD, pathway, form)


@member_required
def plan_action_add(request, pk: int):
    actor = request.actor
    objective = gate.locate(
        actor, access.objectives_visible_to(actor), pk, action=Action.PLAN_ACTION_ADD
    )
    pathway = gate.pathway_for(
        actor,
        objective.pathway_id,
        Action.PLAN_ACTION_ADD,
        subject=gate.Subject("objective", objective.pk, None),
        lock=False,
    )
    form = PlanActionForm(request.POST or None, candidates=owner_candidates(pathway))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan_services.plan_action_add(
                actor=actor,
                objective_id=objective.pk,
                label=data["label"],
                owner_organisation_id=data["owner_organisation"].pk,
                due_on=data["due_on"],
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, "L'action est ajoutée au plan d'action.")
            return redirect("web:person-detail", pk=pathway.person_id)
    return _form_page(request, ACTION_ADD, pathway, form, objective=objective)


def _moved(request, service, pk: int, person_of, done: str):
    """A status button of the person page: the service checks the status posted (its French
    error) and the move (the moves table), the gate who may; a refusal is the 403 page, a move
    the state does not allow is a message above the page."""
    actor = request.actor
    if request.method != "POST":  # the buttons are on the person page
        return redirect("web:person-detail", pk=person_of(actor, pk))
    try:
        item = service(actor=actor, pk=pk, status=request.POST.get("status", ""))
    except NotAllowed:
        raise
    except INPUT_ERRORS as error:
        messages.error(request, error_sentence(error))
    else:
        messages.success(request, done)
        return redirect("web:person-detail", pk=item.pathway.person_id)
    return redirect("web:person-detail", pk=person_of(actor, pk))


def _person_of_objective(actor, pk: int) -> int:
    objective = gate.locate(
        actor, access.objectives_visible_to(actor), pk, action=Action.PLAN_OBJECTIVE_SET_STATUS
    )
    return objective.pathway.person_id


def _person_of_action(actor, pk: int) -> int:
    plan_action = gate.locate(
        actor, access.plan_actions_visible_to(actor), pk, action=Action.PLAN_ACTION_SET_STATUS
    )
    return plan_action.pathway.person_id


@member_required
def objective_set_status(request, pk: int):
    return _moved(
        request,
        lambda *, actor, pk, status: plan_services.objective_set_status(
            actor=actor, objective_id=pk, status=status
        ),
        pk,
        _person_of_objective,
        "Le statut de l'objectif est mis à jour.",
    )


@member_required
def plan_action_set_status(request, pk: int):
    return _moved(
        request,
        lambda *, actor, pk, status: plan_services.plan_action_set_status(
            actor=actor, plan_action_id=pk, status=status
        ),
        pk,
        _person_of_action,
        "Le statut de l'action est mis à jour.",
    )
