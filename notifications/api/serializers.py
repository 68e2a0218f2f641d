from datetime import datetime

from rest_framework import serializers

from ..models import Alert, Delivery, DeliveryMode, NotificationPreference


class DeliverySerializer(serializers.ModelSerializer):
    """Where an alert went and how its e-mail fared (a permanent failure is shown here)."""

    status = serializers.SerializerMethodField()
    status_label = serializers.SerializerMethodField()
    attempts = serializers.SerializerMethodField()
    sent_at = serializers.SerializerMethodField()
    last_error = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "email",
            "audience",
            "mode",
            "status",
            "status_label",
            "attempts",
            "sent_at",
            "last_error",
        ]

    def get_status(self, delivery: Delivery) -> str:
        if delivery.cancelled_at:
            return "cancelled"
        return delivery.outbox.status if delivery.outbox else "awaiting_digest"

    def get_status_label(self, delivery: Delivery) -> str:
        if delivery.cancelled_at:
            return "Annulé (alerte résolue)"
        if delivery.outbox is None:
            return "En attente du récapitulatif quotidien"
        return str(delivery.outbox.get_status_display())

    def get_attempts(self, delivery: Delivery) -> int:
        return delivery.outbox.attempts if delivery.outbox else 0

    def get_sent_at(self, delivery: Delivery) -> datetime | None:
        return delivery.outbox.sent_at if delivery.outbox else None

    def get_last_error(self, delivery: Delivery) -> str:
        return delivery.outbox.last_error if delivery.outbox else ""


class AlertSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    referral_reference = serializers.CharField(source="referral.reference", read_only=True)
    pathway = serializers.IntegerField(source="referral.pathway_id", read_only=True)
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "kind_label",
            "level",
            "state",
            "state_label",
            "referral",
            "referral_reference",
            "pathway",
            "due_at",
            "created_at",
            "notified_at",
            "escalated_at",
            "resolved_at",
            "resolution",
            "acknowledged_at",
            "acknowledged_by",
            "deliveries",
        ]
        read_only_fields = fields


class NotificationPreferenceSerializer(serializers.ModelSerializer):
    mode = serializers.ChoiceField(
        choices=DeliveryMode.choices,
        error_messages={"invalid_choice": "Choisissez « immediate » ou « digest »."},
    )

    class Meta:
        model = NotificationPreference
        fields = ["mode"]
