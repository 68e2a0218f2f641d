"""Serializers for the person's choices and access mechanics (consent, objection, care team,
break-glass, access requests)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .. import evidence
from ..categories import DataCategory
from ..models import (
    AccessRequest,
    BreakGlass,
    CareTeamMember,
    Consent,
    EvidenceKind,
    Objection,
    OrganisationKind,
)
from ..services.consent import consent_dates_errors


class ConsentSerializer(serializers.ModelSerializer):
    # Whether a file backs the consent; it is downloaded from /consents/{id}/evidence/ (the
    # gate, the journal), never from a URL of the storage.
    has_evidence_file = serializers.SerializerMethodField(label=_("pièce justificative jointe"))

    class Meta:
        model = Consent
        fields = [
            "id",
            "person",
            "organisations",
            "organisation_kinds",
            "categories",
            "purpose",
            "starts_on",
            "ends_on",
            "collected_by",
            "collected_by_organisation",
            "evidence_kind",
            "has_evidence_file",
            "created_at",
            "revoked_at",
            "revoked_by",
        ]
        read_only_fields = fields

    def get_has_evidence_file(self, consent: Consent) -> bool:
        return bool(consent.evidence_file.name)


class ConsentCreateSerializer(serializers.Serializer):
    person = serializers.IntegerField(label=_("personne"))
    organisations = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, label=_("organisations")
    )
    organisation_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=OrganisationKind.choices),
        required=False,
        default=list,
        label=_("types d'organisation"),
    )
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=DataCategory.choices),
        allow_empty=False,
        label=_("catégories de données"),
    )
    purpose = serializers.CharField(max_length=300, label=_("finalité"))
    starts_on = serializers.DateField(required=False, allow_null=True, default=None)
    ends_on = serializers.DateField(required=False, allow_null=True, default=None)
    evidence_kind = serializers.ChoiceField(choices=EvidenceKind.choices, label=_("preuve"))
    evidence_file = serializers.FileField(
        required=False,
        allow_null=True,
        default=None,
        label=_("pièce justificative"),
        help_text=_(
            "PDF, JPEG ou PNG (reconnu à son contenu, extension concordante), "
            "PARCOURS_EVIDENCE_MAX_BYTES au plus (10 Mo par défaut) ; envoi en multipart/form-data."
        ),
    )

    def validate_evidence_file(self, upload):
        # The one rule on evidence files (parcours/evidence.py), as the page's form says it.
        if upload is not None and (refused := evidence.errors(upload)):
            raise serializers.ValidationError(refused)
        return upload

    def validate(self, attrs):
        # The service's rule (consent_record says it too, for the pages).
        if errors := consent_dates_errors(attrs["starts_on"], attrs["ends_on"]):
            raise serializers.ValidationError(errors)
        return attrs


class ConsentChoiceSerializer(serializers.Serializer):
    """One category and whom the person agrees to share it with (none: she does not agree)."""

    category = serializers.ChoiceField(choices=DataCategory.choices, label=_("catégorie"))
    organisations = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, label=_("organisations")
    )
    organisation_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=OrganisationKind.choices),
        required=False,
        default=list,
        label=_("types d'organisation"),
    )


class ConsentChoicesSerializer(serializers.Serializer):
    """What the person agrees to share, per category, in one go: one consent is recorded per
    group of categories going to the same recipients, all or none."""

    person = serializers.IntegerField(label=_("personne"))
    choices = ConsentChoiceSerializer(many=True, allow_empty=False, label=_("choix"))
    purpose = serializers.CharField(max_length=300, label=_("finalité"))
    starts_on = serializers.DateField(required=False, allow_null=True, default=None)
    ends_on = serializers.DateField(required=False, allow_null=True, default=None)
    evidence_kind = serializers.ChoiceField(choices=EvidenceKind.choices, label=_("preuve"))

    def validate(self, attrs):
        # The service's rule (consent_record says it too, for the pages).
        if errors := consent_dates_errors(attrs["starts_on"], attrs["ends_on"]):
            raise serializers.ValidationError(errors)
        return attrs


class ConsentNarrowSerializer(serializers.Serializer):
    organisations = serializers.ListField(child=serializers.IntegerField(), required=False)
    organisation_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=OrganisationKind.choices), required=False
    )
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=DataCategory.choices), required=False
    )
    ends_on = serializers.DateField(required=False, allow_null=True, default=None)


class ObjectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Objection
        fields = ["id", "person", "recorded_at", "recorded_by", "reason", "withdrawn_at"]
        read_only_fields = fields


class ObjectionCreateSerializer(serializers.Serializer):
    person = serializers.IntegerField(label=_("personne"))
    reason = serializers.CharField(allow_blank=True, default="", max_length=5000)


class CareTeamMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = CareTeamMember
        fields = ["id", "pathway", "organisation", "started_at", "ended_at", "end_reason"]
        read_only_fields = fields


class CareTeamAddSerializer(serializers.Serializer):
    pathway = serializers.IntegerField(label=_("parcours"))
    organisation = serializers.IntegerField(label=_("organisation"))


class CareTeamEndSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, label=_("motif de fin"))


class BreakGlassSerializer(serializers.ModelSerializer):
    class Meta:
        model = BreakGlass
        fields = [
            "id",
            "pathway",
            "user",
            "organisation",
            "category",
            "reason",
            "starts_at",
            "ends_at",
        ]
        read_only_fields = fields


class BreakGlassCreateSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=DataCategory.choices, label=_("catégorie"))
    reason = serializers.CharField(max_length=2000, label=_("motif"))


class AccessRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "pathway",
            "requesting_organisation",
            "requested_by",
            "reason",
            "status",
            "created_at",
            "decided_at",
            "decision_comment",
        ]
        read_only_fields = fields


class AccessRequestCreateSerializer(serializers.Serializer):
    nir = serializers.CharField(required=False, allow_blank=True, default="", max_length=15)
    france_travail_id = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=11
    )
    reason = serializers.CharField(max_length=2000, label=_("motif"))


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(allow_blank=True, default="", max_length=2000)
