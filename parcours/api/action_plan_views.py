"""The action plan in the API: objectives (each with its actions) of the pathways whose pathway
category the organisation sees; adding and moving objectives and actions through the services
(parcours/services/action_plan.py), as the pages do."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import access
from ..api_scopes import Family
from ..categories import DataCategory
from ..gate import Action
from ..models import PlanAction
from ..models.action_plan import Objective
from ..services import action_plan as plan_services
from . import action_plan_serializers as s
from .pagination import RecentFirstCursorPagination
from .views import ActorViewMixin, record_id


class ObjectiveViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Objectifs du plan d'action, avec leurs actions (`?pathway=` : ceux d'un parcours)."""

    token_family = Family.PATHWAYS

    queryset = Objective.objects.none()  # for the schema; real scoping in get_queryset
    journal_object_type = "objective"
    gate_actions = {"retrieve": Action.PLAN_READ, "list": Action.PLAN_READ}
    journal_shown = frozenset({DataCategory.PATHWAY})
    serializer_class = s.ObjectiveSerializer
    filterset_fields = ["pathway", "status"]
    pagination_class = RecentFirstCursorPagination

    def get_queryset(self):
        actions = PlanAction.objects.order_by("due_on", "id")
        return (
            access.objectives_visible_to(self.actor)
            .select_related("pathway")
            .prefetch_related(Prefetch("actions", queryset=actions))
            .order_by("-updated_at", "-id")
        )

    def journal_subject(self, objective) -> tuple[int | None, list[int]]:
        return objective.pathway.person_id, [objective.pathway_id]

    def _answer(self, objective_id: int, code: int = status.HTTP_200_OK) -> Response:
        objective = self.get_queryset().get(pk=objective_id)
        return Response(s.ObjectiveSerializer(objective).data, status=code)

    @extend_schema(request=s.ObjectiveCreateSerializer, responses={201: s.ObjectiveSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.ObjectiveCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        objective = plan_services.objective_add(
            actor=self.actor,
            pathway_id=payload.validated_data["pathway"],
            title=payload.validated_data["title"],
        )
        return self._answer(objective.pk, status.HTTP_201_CREATED)

    @extend_schema(request=s.ObjectiveStatusSerializer, responses=s.ObjectiveSerializer)
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        payload = s.ObjectiveStatusSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        objective = plan_services.objective_set_status(
            actor=self.actor, objective_id=record_id(pk), status=payload.validated_data["status"]
        )
        return self._answer(objective.pk)


class PlanActionViewSet(ActorViewMixin, viewsets.GenericViewSet):
    """Actions du plan d'action : ajout à un objectif, changement de statut (les organisations
    qui suivent le parcours, ou celle qui porte l'action). Lues avec leur objectif."""

    token_family = Family.PATHWAYS

    queryset = PlanAction.objects.none()
    serializer_class = s.PlanActionSerializer

    @extend_schema(request=s.PlanActionCreateSerializer, responses={201: s.PlanActionSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.PlanActionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        plan_action = plan_services.plan_action_add(
            actor=self.actor,
            objective_id=data["objective"],
            label=data["label"],
            owner_organisation_id=data["owner_organisation"],
            due_on=data["due_on"],
        )
        return Response(s.PlanActionSerializer(plan_action).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PlanActionStatusSerializer, responses=s.PlanActionSerializer)
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        payload = s.PlanActionStatusSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        plan_action = plan_services.plan_action_set_status(
            actor=self.actor, plan_action_id=record_id(pk), status=payload.validated_data["status"]
        )
        return Response(s.PlanActionSerializer(plan_action).data)
