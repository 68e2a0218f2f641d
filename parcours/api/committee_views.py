"""The case committee in the API (CLCVP, issue 18): sessions and proposals through the same
services as the pages (parcours/services/committee.py). Thin: validate, call, answer."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import access
from ..api_scopes import Family
from ..models import Committee, CommitteeProposal
from ..services import committee as services
from . import committee_serializers as s
from .pagination import MessageCursorPagination
from .views import ActorViewMixin, record_id


def _sessions(actor):
    agenda = CommitteeProposal.objects.order_by("position")
    return (
        access.committees_visible_to(actor)
        .prefetch_related("attendees", Prefetch("agenda", queryset=agenda))
        .order_by("-created_at", "-id")
    )


class CommitteeViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Comités de parcours (CLCVP) : ceux des bassins d'emploi du coordinateur, ceux auxquels
    l'organisation est invitée. L'ordre du jour ne nomme personne (références des dossiers)."""

    token_family = Family.PATHWAYS

    queryset = Committee.objects.none()  # for the schema; real scoping in get_queryset
    serializer_class = s.CommitteeSerializer
    pagination_class = MessageCursorPagination
    filterset_fields = ["employment_area", "status"]

    def get_queryset(self):
        return _sessions(self.actor)

    def _answer(self, committee_id: int, code: int = status.HTTP_200_OK) -> Response:
        return Response(s.CommitteeSerializer(self.get_queryset().get(pk=committee_id)).data, code)

    @extend_schema(request=s.CommitteeCreateSerializer, responses={201: s.CommitteeSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.CommitteeCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        committee = services.committee_create(
            actor=self.actor,
            employment_area_id=data["employment_area"],
            meets_at=data["meets_at"],
            place=data["place"],
            attendee_ids=data["attendees"],
        )
        return self._answer(committee.pk, status.HTTP_201_CREATED)

    @extend_schema(request=s.AttendeesSerializer, responses=s.CommitteeSerializer)
    @action(detail=True, methods=["post"])
    def attendees(self, request, pk=None):
        payload = s.AttendeesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        committee = services.committee_set_attendees(
            actor=self.actor,
            committee_id=record_id(pk),
            attendee_ids=payload.validated_data["attendees"],
        )
        return self._answer(committee.pk)

    @extend_schema(request=None, responses=s.CommitteeSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        committee = services.committee_cancel(actor=self.actor, committee_id=record_id(pk))
        return self._answer(committee.pk)


class CommitteeProposalViewSet(ActorViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Dossiers proposés au comité de parcours. La liste ne nomme personne ; le détail donne le
    texte rédigé pour le comité (lecture journalisée : « Examen en comité de parcours »)."""

    token_family = Family.PATHWAYS

    queryset = CommitteeProposal.objects.none()
    serializer_class = s.AgendaItemSerializer
    pagination_class = MessageCursorPagination
    filterset_fields = ["status", "committee"]

    def get_queryset(self):
        return access.committee_proposals_visible_to(self.actor).order_by("-created_at", "-id")

    def _answer(self, proposal_id: int, code: int = status.HTTP_200_OK) -> Response:
        proposal = (
            CommitteeProposal.objects.select_related("pathway")
            .prefetch_related("follow_ups")
            .get(pk=proposal_id)
        )
        return Response(s.ProposalSerializer(proposal).data, status=code)

    @extend_schema(responses=s.ProposalSerializer)
    def retrieve(self, request, pk=None):
        proposal = services.committee_proposal_read(actor=self.actor, proposal_id=pk)
        return self._answer(proposal.pk)

    @extend_schema(request=s.ProposalCreateSerializer, responses={201: s.ProposalSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.ProposalCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        proposal = services.committee_propose(
            actor=self.actor,
            pathway_id=data["pathway"],
            reason=data["reason"],
            question=data["question"],
            summary=data["summary"],
            basis_kind=data["basis_kind"],
            consent_id=data.get("consent"),
            legal_basis=data.get("legal_basis", ""),
        )
        return self._answer(proposal.pk, status.HTTP_201_CREATED)

    @extend_schema(request=s.ScheduleSerializer, responses=s.ProposalSerializer)
    @action(detail=True, methods=["post"])
    def schedule(self, request, pk=None):
        payload = s.ScheduleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        proposal = services.committee_schedule(
            actor=self.actor,
            proposal_id=record_id(pk),
            committee_id=payload.validated_data["committee"],
        )
        return self._answer(proposal.pk)

    @extend_schema(request=s.MoveSerializer, responses=s.ProposalSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        payload = s.MoveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        proposal = services.committee_move(
            actor=self.actor, proposal_id=record_id(pk), offset=payload.validated_data["offset"]
        )
        return self._answer(proposal.pk)

    @extend_schema(request=s.DeclineSerializer, responses=s.ProposalSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        payload = s.DeclineSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        proposal = services.committee_decline(
            actor=self.actor, proposal_id=record_id(pk), reason=payload.validated_data["reason"]
        )
        return self._answer(proposal.pk)

    @extend_schema(request=s.DecideSerializer, responses=s.ProposalSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        payload = s.DecideSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        proposal = services.committee_decide(
            actor=self.actor,
            proposal_id=record_id(pk),
            decision=data["decision"],
            outcome=data["outcome"],
            actions=[
                services.DecidedAction(
                    label=a["label"],
                    owner_organisation_id=a["owner_organisation"],
                    due_on=a["due_on"],
                )
                for a in data["actions"]
            ],
            referrals=[
                services.DecidedReferral(
                    receiver_organisation_id=r["receiver_organisation"],
                    receiver_service_id=r.get("receiver_service"),
                    kind=r["kind"],
                    reason=r["reason"],
                )
                for r in data["referrals"]
            ],
        )
        return self._answer(proposal.pk)
