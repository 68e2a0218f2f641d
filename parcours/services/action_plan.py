"""Writes on the action plan (projet personnalisé): objectives and their actions.

Who may do what is the gate's table (`rules.PLAN_*`): the organisations that follow the pathway
(owner, référent's organisation, care team) build the plan; an action's holder reports on it
(`Relation.ACTION_OWNER`). An action is given to an organisation that sees the pathway category
of this pathway now (`access.organisations_seeing`): its holder must be able to read it, and
find it on its « À traiter » when it is overdue. Every write is journaled in the pathway
category, appears on the timeline and is historied.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, gate
from ..actor import Actor
from ..categories import DataCategory
from ..dates import add_months
from ..errors import Conflict, InvalidInput
from ..gate import Action, Subject
from ..gate.journal import record_write
from ..gate.relations import relations_to_pathway, relations_to_plan_action
from ..models import (
    OBJECTIVE_MOVES,
    PLAN_ACTION_MOVES,
    EventKind,
    Objective,
    ObjectiveStatus,
    Pathway,
    PlanAction,
    PlanActionStatus,
)
from ..models.action_plan import OBJECTIVE_TITLE_MAX, PLAN_ACTION_LABEL_MAX
from ..text import required_text
from .archive import raise_unless_open
from .history import save_with_history
from .timeline import timeline_record

# How far ahead an action may be due: beyond, the date is a typing error (2062 for 2026).
DUE_MONTHS_AHEAD = 24


def _journal(actor: Actor, action: Action, object_type: str, pk: int, pathway: Pathway) -> None:
    record_write(
        actor,
        action,
        object_type=object_type,
        object_id=pk,
        person_id=pathway.person_id,
        pathway_ids=[pathway.pk],
        categories=(DataCategory.PATHWAY,),
    )


def _raise_if_not_writable(pathway: Pathway) -> None:
    raise_unless_open(pathway, _("Ce parcours est clôturé : son plan d'action ne change plus."))


def due_date_problem(due_on: dt.date | None, *, today: dt.date | None = None) -> str:
    """What is wrong with an action's due date, in French ("" when nothing is)."""
    today = today or timezone.localdate()
    if due_on is None:
        return _("Indiquez l'échéance de l'action.")
    if due_on < today:
        return _("L'échéance ne peut pas être passée (au plus tôt le %(day)s).") % {
            "day": f"{today:%d/%m/%Y}"
        }
    latest = add_months(today, DUE_MONTHS_AHEAD)
    if due_on > latest:
        return _("L'échéance doit être dans les deux ans (au plus tard le %(day)s).") % {
            "day": f"{latest:%d/%m/%Y}"
        }
    return ""


def _status(value: str, choices, *, moves, current: str, what: str) -> str:
    if value not in choices.values:
        raise InvalidInput(_("Statut inconnu."), fields={"status": [_("Choix invalide.")]})
    if value == current:
        raise Conflict(
            _("%(what)s est déjà à l'état « %(state)s ».")
            % {"what": what, "state": choices(value).label}
        )
    if value not in moves[current]:
        raise Conflict(
            _("%(what)s ne peut pas passer de l'état « %(current)s » à « %(state)s ».")
            % {"what": what, "current": choices(current).label, "state": choices(value).label}
        )
    return value


@transaction.atomic
def objective_add(*, actor: Actor, pathway_id: int, title: str) -> Objective:
    """Add an objective to the plan. The pathway's followers only; an open pathway."""
    pathway = gate.pathway_for(actor, pathway_id, Action.PLAN_OBJECTIVE_ADD)
    _raise_if_not_writable(pathway)
    title = required_text(title, field="title", limit=OBJECTIVE_TITLE_MAX)
    objective = Objective(
        pathway=pathway,
        title=title,
        created_at=timezone.now(),
        created_by=actor.user,
        created_by_organisation=actor.organisation,
    )
    save_with_history(objective, actor=actor, reason=_("Ajout d'un objectif au plan d'action"))
    timeline_record(
        pathway=pathway,
        kind=EventKind.PLAN_OBJECTIVE,
        actor=actor,
        text=_("Objectif ajouté : %(title)s") % {"title": title},
    )
    _journal(actor, Action.PLAN_OBJECTIVE_ADD, "objective", objective.pk, pathway)
    return objective


@transaction.atomic
def objective_set_status(*, actor: Actor, objective_id: int, status: str) -> Objective:
    """Mark an objective achieved or abandoned, or take it up again (OBJECTIVE_MOVES)."""
    objective = gate.locate(
        actor,
        access.objectives_visible_to(actor).select_for_update(of=("self",)),
        objective_id,
        action=Action.PLAN_OBJECTIVE_SET_STATUS,
    )
    pathway = gate.pathway_for(
        actor,
        objective.pathway_id,
        Action.PLAN_OBJECTIVE_SET_STATUS,
        subject=Subject("objective", objective.pk, None),
    )
    _raise_if_not_writable(pathway)
    objective.status = _status(
        status,
        ObjectiveStatus,
        moves=OBJECTIVE_MOVES,
        current=objective.status,
        what=_("L'objectif"),
    )
    objective.closed_at = None if status == ObjectiveStatus.OPEN else timezone.now()
    label = ObjectiveStatus(status).label
    save_with_history(
        objective,
        actor=actor,
        reason=_("Objectif : %(state)s") % {"state": label},
    )
    timeline_record(
        pathway=pathway,
        kind=EventKind.PLAN_OBJECTIVE,
        actor=actor,
        text=f"{objective.title} : {str(label).lower()}",
    )
    _journal(actor, Action.PLAN_OBJECTIVE_SET_STATUS, "objective", objective.pk, pathway)
    return objective


@transaction.atomic
def plan_action_add(
    *,
    actor: Actor,
    objective_id: int,
    label: str,
    owner_organisation_id: int,
    due_on: dt.date | None,
) -> PlanAction:
    """Add an action to an open objective, held by an organisation that sees the pathway
    category of this pathway now, due between today and two years ahead."""
    objective = gate.locate(
        actor,
        access.objectives_visible_to(actor).select_for_update(of=("self",)),
        objective_id,
        action=Action.PLAN_ACTION_ADD,
    )
    pathway = gate.pathway_for(
        actor,
        objective.pathway_id,
        Action.PLAN_ACTION_ADD,
        subject=Subject("objective", objective.pk, None),
    )
    _raise_if_not_writable(pathway)
    errors: dict[str, list[str]] = {}
    try:
        label = required_text(label, field="label", limit=PLAN_ACTION_LABEL_MAX)
    except InvalidInput as error:
        errors.update(error.fields)
    problem = due_date_problem(due_on)
    if problem:
        errors["due_on"] = [problem]
    owner = (
        access.organisations_seeing(pathway.pk, DataCategory.PATHWAY)
        .filter(pk=owner_organisation_id)
        .first()
    )
    if owner is None:
        errors["owner_organisation"] = [
            _(
                "Choisissez une organisation qui travaille sur ce parcours et en voit le plan "
                "d'action (porteuse, référent, équipe de suivi, destinataire d'une orientation)."
            )
        ]
    if errors:
        raise InvalidInput(" ".join(m for ms in errors.values() for m in ms), fields=errors)
    if objective.status != ObjectiveStatus.OPEN:
        raise Conflict(
            _("Cet objectif est %(state)s : reprenez-le pour y ajouter une action.")
            % {"state": str(ObjectiveStatus(objective.status).label).lower()}
        )
    assert owner is not None and due_on is not None  # for mypy: checked above
    plan_action = PlanAction(
        objective=objective,
        pathway=pathway,
        label=label,
        owner_organisation=owner,
        due_on=due_on,
        created_at=timezone.now(),
        created_by=actor.user,
        created_by_organisation=actor.organisation,
    )
    save_with_history(plan_action, actor=actor, reason=_("Ajout d'une action au plan d'action"))
    timeline_record(
        pathway=pathway,
        kind=EventKind.PLAN_ACTION,
        actor=actor,
        text=_("%(label)s — portée par %(org)s, échéance le %(day)s")
        % {"label": label, "org": owner.name, "day": f"{due_on:%d/%m/%Y}"},
    )
    _journal(actor, Action.PLAN_ACTION_ADD, "plan_action", plan_action.pk, pathway)
    return plan_action


@transaction.atomic
def plan_action_set_status(*, actor: Actor, plan_action_id: int, status: str) -> PlanAction:
    """Move an action (PLAN_ACTION_MOVES): the pathway's followers, or the action's holder."""
    plan_action = gate.locate(
        actor,
        access.plan_actions_visible_to(actor).select_for_update(of=("self",)),
        plan_action_id,
        action=Action.PLAN_ACTION_SET_STATUS,
    )
    pathway = gate.locate(
        actor,
        access.pathways_visible_to(actor, DataCategory.PATHWAY).select_for_update(of=("self",)),
        plan_action.pathway_id,
        action=Action.PLAN_ACTION_SET_STATUS,
    )
    gate.require(
        actor,
        Action.PLAN_ACTION_SET_STATUS,
        relations=relations_to_plan_action(
            actor, plan_action, relations_to_pathway(actor, pathway)
        ),
        subject=Subject("plan_action", plan_action.pk, pathway.person_id),
    )
    _raise_if_not_writable(pathway)
    plan_action.status = _status(
        status,
        PlanActionStatus,
        moves=PLAN_ACTION_MOVES,
        current=plan_action.status,
        what=_("L'action"),
    )
    plan_action.done_at = timezone.now() if status == PlanActionStatus.DONE else None
    state = PlanActionStatus(status).label
    save_with_history(plan_action, actor=actor, reason=_("Action : %(state)s") % {"state": state})
    timeline_record(
        pathway=pathway,
        kind=EventKind.PLAN_ACTION,
        actor=actor,
        text=f"{plan_action.label} : {str(state).lower()}",
    )
    _journal(actor, Action.PLAN_ACTION_SET_STATUS, "plan_action", plan_action.pk, pathway)
    return plan_action
