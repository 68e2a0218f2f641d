from datetime import datetime

from rest_framework import serializers

from parcours.categories import DataCategory
from parcours.models.agreement import EscalationAudience

from ..answers import answer_line
from ..models import Alert, AnswerNotice, Delivery, DeliveryMode, NotificationPreference


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


def person_named(alert: Alert, visible) -> str | None:
    """The person's name when the acting organisation sees the identity category on the
    referral's pathway (`visible`: the request's VisibleCategories), else None."""
    if visible is None:
        return None
    pathway = alert.referral.pathway
    if DataCategory.IDENTITY not in visible.of([pathway.pk]):
        return None
    return f"{pathway.person.first_name} {pathway.person.last_name}".strip()


class AlertSerializer(serializers.ModelSerializer):
    # Empty for the level-1 alert (no rung): declared, as a read-only model field with choices
    # would be documented without its blank value.
    audience = serializers.ChoiceField(
        choices=EscalationAudience.choices, allow_blank=True, read_only=True
    )
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    level_label = serializers.CharField(read_only=True)
    audience_label = serializers.CharField(source="get_audience_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    person_name = serializers.SerializerMethodField(
        help_text=(
            "Prénom et nom de la personne quand votre organisation voit son identité sur ce "
            "parcours (la lecture est journalisée) ; null sinon : « Personne (identité non "
            "partagée) ». Jamais dans la réponse d'une prise en compte."
        )
    )
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
            "level_label",
            "audience",
            "audience_label",
            "person_name",
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

    def get_person_name(self, alert: Alert) -> str | None:
        return person_named(alert, self.context.get("visible_categories"))


class NotificationPreferenceSerializer(serializers.ModelSerializer):
    mode = serializers.ChoiceField(
        choices=DeliveryMode.choices,
        error_messages={"invalid_choice": "Choisissez « immediate » ou « digest »."},
    )
    # The answers to the referrals you sent (issue 14); kept as it is when not given.
    answers_mode = serializers.ChoiceField(
        choices=DeliveryMode.choices,
        required=False,
        error_messages={"invalid_choice": "Choisissez « immediate » ou « digest »."},
    )

    class Meta:
        model = NotificationPreference
        fields = ["mode", "answers_mode"]


class AnswerNoticeSerializer(serializers.ModelSerializer):
    """A receiver's answer to a referral you sent, in French, without the person's name (read
    the referral for it: that read is journaled). How its e-mail fared is shown too."""

    answer_label = serializers.CharField(source="get_answer_display", read_only=True)
    referral_reference = serializers.CharField(source="referral.reference", read_only=True)
    receiver_organisation = serializers.IntegerField(
        source="referral.receiver_organisation_id", read_only=True
    )
    receiver_organisation_name = serializers.SerializerMethodField()
    detail = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()
    occurred_at = serializers.DateTimeField(source="event.occurred_at", read_only=True)
    appointment_starts_at = serializers.SerializerMethodField()
    email_status = serializers.SerializerMethodField()
    email_status_label = serializers.SerializerMethodField()

    class Meta:
        model = AnswerNotice
        fields = [
            "id",
            "referral",
            "referral_reference",
            "receiver_organisation",
            "receiver_organisation_name",
            "answer",
            "answer_label",
            "detail",
            "text",
            "occurred_at",
            "appointment_starts_at",
            "created_at",
            "seen_at",
            "mode",
            "email_status",
            "email_status_label",
        ]
        read_only_fields = fields

    def get_receiver_organisation_name(self, notice: AnswerNotice) -> str:
        return answer_line(notice).receiver

    def get_detail(self, notice: AnswerNotice) -> str:
        return answer_line(notice).detail

    def get_text(self, notice: AnswerNotice) -> str:
        """The sentence the e-mail says."""
        return answer_line(notice).fact

    def get_appointment_starts_at(self, notice: AnswerNotice) -> datetime | None:
        return notice.appointment.starts_at if notice.appointment else None

    def get_email_status(self, notice: AnswerNotice) -> str:
        if not notice.email:
            return "no_address"
        if notice.outbox is None:
            return "awaiting_digest" if notice.seen_at is None else "not_needed"
        return notice.outbox.status

    def get_email_status_label(self, notice: AnswerNotice) -> str:
        status = self.get_email_status(notice)
        if status == "no_address":
            return "Pas d'adresse e-mail : réponse visible sur la page « À traiter » seulement"
        if status == "awaiting_digest":
            return "En attente du récapitulatif quotidien"
        if status == "not_needed" or notice.outbox is None:
            return "Vue avant le récapitulatif : pas d'e-mail"
        return str(notice.outbox.get_status_display())
