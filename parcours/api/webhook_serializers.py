"""Partner systems' webhooks as the administrators' API shows them (never a secret, except in
the answer that made it)."""

from rest_framework import serializers

from ..models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from ..services.webhooks import DESCRIPTION_MAX, EVENTS, URL_MAX, event_label


class WebhookEventSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.SerializerMethodField()
    active = serializers.BooleanField(source="is_active", read_only=True)
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "description",
            "events",
            "secret_prefix",
            "previous_secret_until",
            "created_at",
            "created_by",
            "active",
            "disabled_at",
        ]
        read_only_fields = fields

    def get_events(self, subscription) -> WebhookEventSerializer(many=True):  # type: ignore[valid-type]
        return [{"code": e, "label": event_label(e)} for e in subscription.events]

    def get_created_by(self, subscription) -> str | None:
        user = subscription.created_by
        return (user.get_full_name() or user.get_username()) if user is not None else None


class IssuedWebhookSubscriptionSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        help_text="Le secret de signature (whsec_…) : montré cette fois seulement. Votre "
        "système vérifie avec lui l'en-tête webhook-signature de chaque message."
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookSubscriptionWriteSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=URL_MAX,
        label="adresse de réception",
        help_text="Une adresse https:// publique de votre système.",
    )
    description = serializers.CharField(max_length=DESCRIPTION_MAX, label="description")
    events = serializers.ListField(
        # The French label beside each code in the schema (the API's documentation).
        child=serializers.ChoiceField(choices=[(e, event_label(e)) for e in EVENTS]),
        allow_empty=False,
        max_length=len(EVENTS),
        label="événements",
    )


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["started_at", "duration_ms", "status_code", "error"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_label = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    referral = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]
    pathway = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]
    reference = serializers.CharField(
        read_only=True,
        help_text="L'identifiant du dossier dans le message : la référence de l'orientation "
        "(OR-…) d'un événement d'orientation, le numéro du parcours d'un événement de parcours.",
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_type",
            "event_label",
            "message_id",
            "referral",
            "pathway",
            "reference",
            "status",
            "status_label",
            "attempts",
            "created_at",
            "next_attempt_at",
            "delivered_at",
            "last_status_code",
            "last_error",
        ]
        read_only_fields = fields

    def get_event_label(self, delivery) -> str:
        return event_label(delivery.event_type)


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "attempt_log"]
        read_only_fields = fields
