"""Alerts and notification preferences over the API. Thin: validate, call, render."""

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from parcours.api.views import ActorViewMixin, record_id

from ..models import Alert, Delivery
from ..selectors import alerts_visible_to
from ..services.alerts import alert_acknowledge
from ..services.preferences import preference_of, preference_set
from .serializers import AlertSerializer, NotificationPreferenceSerializer


class AlertViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Alerts about the referrals your organisation sent or received (open, notified, escalated,
    resolved), with where each e-mail went and how it fared. Filter by `state`, `kind`,
    `level`, `referral`."""

    queryset = Alert.objects.none()
    serializer_class = AlertSerializer
    filterset_fields = ["state", "kind", "level", "referral"]
    ordering_fields = ["created_at", "due_at"]

    def get_queryset(self):
        return (
            alerts_visible_to(self.actor)
            .select_related("referral")
            .prefetch_related(
                Prefetch("deliveries", Delivery.objects.select_related("outbox").order_by("id"))
            )
            .order_by("-created_at", "-id")
        )

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Mark the alert as taken into account: it will not be escalated to managers."""
        alert = alert_acknowledge(actor=self.actor, alert_id=record_id(pk), now=timezone.now())
        return Response(AlertSerializer(self.get_queryset().get(pk=alert.pk)).data)


class NotificationPreferenceView(APIView):
    """Your alert e-mails: `immediate` (one per alert) or `digest` (one a day)."""

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
        preference = preference_set(user=request.user, mode=payload.validated_data["mode"])
        return Response(NotificationPreferenceSerializer(preference).data)
