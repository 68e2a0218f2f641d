"""The action plan in the API: objectives with their actions (pathway category, see
parcours/categories.py OBJECTIVE_FIELDS and PLAN_ACTION_FIELDS), and the payloads of its
writes. Validation of shapes only; the rules are the services'."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import ObjectiveStatus, PlanActionStatus
from ..models.action_plan import OBJECTIVE_TITLE_MAX, PLAN_ACTION_LABEL_MAX, Objective, PlanAction
from ..selectors.action_plan import is_overdue


class PlanActionSerializer(serializers.ModelSerializer):
    overdue = serializers.SerializerMethodField(help_text=_("Échéance dépassée, pas encore faite."))

    class Meta:
        model = PlanAction
        fields = [
            "id",
            "objective",
            "pathway",
            "label",
            "owner_organisation",
            "due_on",
            "status",
            "done_at",
            "created_at",
            "overdue",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_overdue(self, plan_action: PlanAction) -> bool:
        return is_overdue(plan_action)


class ObjectiveSerializer(serializers.ModelSerializer):
    actions = PlanActionSerializer(many=True, read_only=True)

    class Meta:
        model = Objective
        fields = [
            "id",
            "pathway",
            "title",
            "status",
            "created_at",
            "created_by_organisation",
            "closed_at",
            "updated_at",
            "actions",
        ]
        read_only_fields = fields


class ObjectiveCreateSerializer(serializers.Serializer):
    pathway = serializers.IntegerField(label=_("parcours"))
    title = serializers.CharField(max_length=OBJECTIVE_TITLE_MAX, label=_("objectif"))


class ObjectiveStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ObjectiveStatus.choices, label=_("statut"))


class PlanActionCreateSerializer(serializers.Serializer):
    objective = serializers.IntegerField(label=_("objectif"))
    # A declared field named like Field.label: DRF's metaclass takes it out of the class.
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=PLAN_ACTION_LABEL_MAX, label=_("action")
    )
    owner_organisation = serializers.IntegerField(label=_("organisation qui porte l'action"))
    due_on = serializers.DateField(label=_("échéance"))


class PlanActionStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PlanActionStatus.choices, label=_("statut"))
