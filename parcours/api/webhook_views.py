"""The organisation's administrators manage their systems' webhook subscriptions and read the
delivery log (the same services as the page « Webhooks », web/views/webhooks.py). Closed to
tokens, like the tokens' own endpoints: a system never manages its own subscriptions."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ..models import WebhookDelivery, WebhookSubscription
from ..services import webhooks as webhook_services
from .actor import request_actor
from .views import ActorViewMixin, record_id
from .webhook_serializers import (
    IssuedWebhookSubscriptionSerializer,
    WebhookDeliveryDetailSerializer,
    WebhookDeliverySerializer,
    WebhookSubscriptionSerializer,
    WebhookSubscriptionWriteSerializer,
)


class WebhookSubscriptionViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    token_family = None  # closed to tokens: only a signed-in administrator manages them
    serializer_class = WebhookSubscriptionSerializer
    queryset = WebhookSubscription.objects.none()  # the OpenAPI document's model

    def get_queryset(self):
        return webhook_services.webhook_subscriptions_of(actor=request_actor(self.request))

    def get_object(self):
        return self.get_queryset().get(pk=record_id(self.kwargs["pk"]))

    @extend_schema(
        request=WebhookSubscriptionWriteSerializer,
        responses={201: IssuedWebhookSubscriptionSerializer},
        description="Abonne un système de l'organisation à des événements ; le secret de "
        "signature n'est donné que dans cette réponse.",
    )
    def create(self, request):
        payload = WebhookSubscriptionWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        issued = webhook_services.webhook_subscription_create(
            actor=request_actor(request),
            url=data["url"],
            description=data["description"],
            events=data["events"],
        )
        return Response(_issued(issued), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=WebhookSubscriptionWriteSerializer,
        responses={200: WebhookSubscriptionSerializer},
        description="Change l'adresse, la description ou les événements (le secret est gardé).",
    )
    def update(self, request, pk=None):
        payload = WebhookSubscriptionWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        subscription = webhook_services.webhook_subscription_change(
            actor=request_actor(request),
            subscription_id=record_id(pk),
            url=data["url"],
            description=data["description"],
            events=data["events"],
        )
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(
        request=None,
        responses={201: IssuedWebhookSubscriptionSerializer},
        description="Un nouveau secret ; l'ancien signe encore à côté de lui pendant le délai "
        "de bascule (deux signatures dans webhook-signature).",
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        issued = webhook_services.webhook_subscription_rotate(
            actor=request_actor(request), subscription_id=record_id(pk)
        )
        return Response(_issued(issued), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: WebhookSubscriptionSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        subscription = webhook_services.webhook_subscription_disable(
            actor=request_actor(request), subscription_id=record_id(pk)
        )
        return Response(WebhookSubscriptionSerializer(subscription).data)


class WebhookDeliveryViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    token_family = None
    serializer_class = WebhookDeliverySerializer
    queryset = WebhookDelivery.objects.none()

    def get_queryset(self):
        subscription = self.request.query_params.get("subscription") or None
        return webhook_services.webhook_deliveries_of(
            actor=request_actor(self.request), subscription_id=subscription
        )

    def get_serializer_class(self):
        return (
            WebhookDeliveryDetailSerializer
            if self.action == "retrieve"
            else super().get_serializer_class()
        )

    def get_object(self):
        return (
            self.get_queryset().prefetch_related("attempt_log").get(pk=record_id(self.kwargs["pk"]))
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "subscription", OpenApiTypes.INT, description="Les envois d'un abonnement."
            )
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=None,
        responses={200: WebhookDeliverySerializer},
        description="Renvoie le message (même webhook-id, nouvelle signature) dès maintenant.",
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = webhook_services.webhook_delivery_replay(
            actor=request_actor(request), delivery_id=record_id(pk)
        )
        return Response(WebhookDeliverySerializer(delivery).data)


def _issued(issued: webhook_services.IssuedSecret) -> dict:
    return {**WebhookSubscriptionSerializer(issued.subscription).data, "secret": issued.secret}
