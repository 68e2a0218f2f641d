"""Reads of the action plan, for an actor: a pathway's plan, its holders' candidates, and the
overdue actions an organisation holds (« À traiter »). Scopes come from `parcours.access`."""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .. import access
from ..actor import Actor
from ..categories import DataCategory
from ..compiled import CompiledQuery
from ..models import (
    OPEN_PLAN_ACTION_STATUSES,
    Objective,
    Organisation,
    Pathway,
    PathwayStatus,
    PlanAction,
)


def plan_of(
    actor: Actor, pathway_id: int, categories: Iterable[str] | None = None
) -> list[Objective]:
    """The pathway's objectives, oldest first, each with its actions (`.actions.all()`, by due
    date, their holders joined): two queries whatever the plan's size. Empty unless the actor
    sees the pathway category of this pathway (pass the categories if already known from
    `access.categories_for` for this actor and request, as for `access.events_visible_to`)."""
    if categories is None:
        return list(
            _with_actions(access.objectives_visible_to(actor).filter(pathway_id=pathway_id))
        )
    if DataCategory.PATHWAY not in categories:
        return []
    # The categories known (the person page): one statement compiled once (issue 17).
    return _PLAN.all(pathway=pathway_id)


def _with_actions(objectives: QuerySet[Objective]) -> QuerySet[Objective]:
    actions = PlanAction.objects.select_related("owner_organisation").order_by("due_on", "id")
    return objectives.prefetch_related(Prefetch("actions", queryset=actions)).order_by(
        "created_at", "id"
    )


_PLAN = CompiledQuery(
    Objective,
    lambda pathway: _with_actions(Objective.objects.filter(pathway_id=pathway)),
    "pathway",
    types={"pathway": int},
    prepared=True,  # by the pathway's id (parcours/prepared_statements.py)
)


def owner_candidates(pathway: Pathway) -> list[Organisation]:
    """The organisations an action of this pathway may be given to, by name: those that see its
    pathway category now (a handful — never the whole directory)."""
    return list(
        access.organisations_seeing(pathway.pk, DataCategory.PATHWAY).order_by("name", "id")
    )


def is_overdue(plan_action: PlanAction, today: dt.date | None = None) -> bool:
    today = today or timezone.localdate()
    return plan_action.status in OPEN_PLAN_ACTION_STATUSES and plan_action.due_on < today


def overdue_actions_for(actor: Actor, *, today: dt.date | None = None) -> QuerySet[PlanAction]:
    """Actions the acting organisation holds, still to do or under way, due before today (the
    day in Europe/Paris), on open pathways whose pathway category it sees — oldest due first.
    A range of the partial index `plan_action_open_due_idx` (owner, due date) filtered by the
    grant's EXISTS."""
    today = today or timezone.localdate()
    return (
        access.plan_actions_visible_to(actor)
        .filter(
            owner_organisation_id=actor.organisation.pk,
            status__in=OPEN_PLAN_ACTION_STATUSES,
            due_on__lt=today,
            pathway__status=PathwayStatus.OPEN,
            pathway__archived_at__isnull=True,
        )
        .select_related("pathway__person", "objective")
        .order_by("due_on", "id")
    )
