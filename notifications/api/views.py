"""Alerts and notification preferences over the API. Thin: validate, call, render."""

from django.db.models import Prefetch
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from parcours.api.views import ActorViewMixin, record_id
from parcours.api_scopes import Family
from parcours.categories import DataCategory
from parcours.rules import Action

from ..answers import ANSWER_LINE_RELATED
from ..models import Alert, AnswerKind, AnswerNotice, Delivery
from ..selectors import alerts_visible_to, answers_visible_to
from ..services.alerts import alert_acknowledge
from ..services.answers import answer_mark_seen
from ..services.preferences import preference_of, preference_set
from .serializers import (
    AlertSerializer,
    AnswerNoticeSerializer,
    NotificationPreferenceSerializer,
)


class AlertViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Alerts about the referrals your organisation sent or received (open, notified, escalated,
    resolved), with where each e-mail went and how it fared, naming the person when your
    organisation sees their identity on that pathway. Filter by `state`, `kind`, `level`,
    `referral`."""

    token_family = Family.REFERRALS

    queryset = Alert.objects.none()
    serializer_class = AlertSerializer
    filterset_fields = ["state", "kind", "level", "referral"]
    ordering_fields = ["created_at", "due_at"]
    # An alert names its referral's person: journaled as a read of that referral (identity and
    # pathway shown), so the person's access report finds it (as the inbox's rows).
    journal_object_type = "referral"
    gate_actions = {"list": Action.REFERRAL_LIST, "retrieve": Action.REFERRAL_READ}
    journal_shown = frozenset({DataCategory.IDENTITY, DataCategory.PATHWAY})

    def journal_subject(self, alert) -> tuple[int | None, list[int]]:
        return alert.referral.pathway.person_id, [alert.referral.pathway_id]

    def journal_id(self, alert) -> int:
        return alert.referral_id

    def get_queryset(self):
        return (
            alerts_visible_to(self.actor)
            .select_related("referral__pathway__person")
            .prefetch_related(
                Prefetch("deliveries", Delivery.objects.select_related("outbox").order_by("id"))
            )
            .order_by("-created_at", "-id")
        )

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Mark the alert as taken into account: it climbs no further rung of its escalation
        ladder. The answer does not name the person (read the alert for that)."""
        alert = alert_acknowledge(actor=self.actor, alert_id=record_id(pk), now=timezone.now())
        return Response(AlertSerializer(self.get_queryset().get(pk=alert.pk)).data)


class AnswerFilter(filters.FilterSet):
    seen = filters.BooleanFilter(
        field_name="seen_at", lookup_expr="isnull", exclude=True, label="déjà vue"
    )
    answer = filters.ChoiceFilter(choices=AnswerKind.choices, label="réponse")

    class Meta:
        model = AnswerNotice
        fields = ["seen", "answer", "referral"]


class AnswerViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The receivers' answers to the referrals you sent (accepted, refused with its reason,
    appointment set or moved, re-invitation, attendance, absence, closed with its outcome), told
    to you while you act for the organisation that sent them; `seen=false` for those still « À
    traiter ». Filter by `seen`, `answer`, `referral`."""

    token_family = Family.REFERRALS

    queryset = AnswerNotice.objects.none()
    serializer_class = AnswerNoticeSerializer
    filterset_class = AnswerFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return (
            answers_visible_to(self.actor)
            .select_related(*ANSWER_LINE_RELATED, "outbox")
            .order_by("-created_at", "-id")
        )

    @extend_schema(request=None, responses=AnswerNoticeSerializer)
    @action(detail=True, methods=["post"])
    def seen(self, request, pk=None):
        """Mark the answer as seen: it leaves your « À traiter » (and a digest not yet composed
        leaves it out). Marking twice keeps the first time."""
        notice = answer_mark_seen(actor=self.actor, notice_id=record_id(pk), now=timezone.now())
        return Response(AnswerNoticeSerializer(self.get_queryset().get(pk=notice.pk)).data)


class NotificationPreferenceView(APIView):
    """Your e-mails: `mode` for alerts, `answers_mode` for the answers to the referrals you
    sent — each `immediate` (one e-mail each) or `digest` (one a day)."""

    token_family = None  # a person's own e-mail preference: not a system's

    permission_classes = ActorViewMixin.permission_classes

    @extend_schema(responses=NotificationPreferenceSerializer)
    def get(self, request):
        return Response(NotificationPreferenceSerializer(preference_of(user=request.user)).data)

    @extend_schema(
        request=NotificationPreferenceSerializer, responses=NotificationPreferenceSerializer
    )
    def put(self, request):
        payload = NotificationPreferenceSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        preference = preference_set(
            user=request.user,
            mode=payload.validated_data["mode"],
            answers_mode=payload.validated_data.get("answers_mode"),
        )
        return Response(NotificationPreferenceSerializer(preference).data)
