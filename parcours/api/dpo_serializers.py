"""Shapes of the DPO's reports and rights requests in the API (French labels, no content)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..dates import PeriodError, report_period
from ..exports.downloads import FORMATS
from ..models import (
    PERSON_OPERATION_CHOICES,
    RIGHTS_REQUEST_DECISIONS,
    RightsRequest,
    RightsRequestChannel,
    RightsRequestKind,
)
from ..selectors.dpo_lookup import LOOKUP_INCOMPLETE, lookup_is_complete


class PeriodSerializer(serializers.Serializer):
    """`from` and `to` are calendar days (Europe/Paris), `to` included; the last 12 months by
    default. `export=csv|pdf` downloads the report instead of JSON."""

    export = serializers.ChoiceField(choices=FORMATS, required=False, label=_("export"))

    def get_fields(self):
        fields = super().get_fields()
        # `from` is a Python keyword: declared here, mapped onto `start`.
        fields["from"] = serializers.DateField(required=False, source="start", label=_("du"))
        fields["to"] = serializers.DateField(required=False, source="end", label=_("au"))
        return fields

    def validate(self, attrs):
        try:
            period = report_period(attrs.get("start"), attrs.get("end"))
        except PeriodError as error:
            field = "to" if error.field == "last_day" else "from"
            raise serializers.ValidationError({field: [str(error)]}) from None
        attrs["start_at"], attrs["end_at"] = period.start, period.end
        return attrs


class RegisterQuerySerializer(serializers.Serializer):
    """`export=pdf` downloads the register instead of JSON (no CSV: it is a document)."""

    export = serializers.ChoiceField(choices=["pdf"], required=False, label=_("export"))


class PersonReportQuerySerializer(PeriodSerializer):
    version = serializers.ChoiceField(
        choices=[("internal", _("interne")), ("person", _("pour la personne"))],
        default="internal",
    )
    organisation = serializers.IntegerField(required=False, min_value=1)
    operation = serializers.ChoiceField(
        choices=PERSON_OPERATION_CHOICES,
        required=False,
    )


class AnomalyQuerySerializer(PeriodSerializer):
    """Thresholds override the settings for this report only."""

    volume_factor = serializers.FloatField(required=False, min_value=1.0, max_value=100.0)
    volume_min_people = serializers.IntegerField(required=False, min_value=1, max_value=100000)
    baseline_days = serializers.IntegerField(required=False, min_value=1, max_value=365)
    working_hours_start = serializers.IntegerField(required=False, min_value=0, max_value=23)
    working_hours_end = serializers.IntegerField(required=False, min_value=1, max_value=24)
    denials_per_day = serializers.IntegerField(required=False, min_value=1, max_value=10000)


class AccessReportRowSerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    organisation = serializers.CharField()
    user = serializers.CharField()
    operation = serializers.CharField()
    record = serializers.CharField()
    categories = serializers.CharField()
    purpose = serializers.CharField()
    basis = serializers.CharField()


class PersonAccessReportSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    version = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    totals_by_organisation = serializers.DictField(child=serializers.IntegerField())
    rows = AccessReportRowSerializer(many=True)


class UserActivityRowSerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    organisation = serializers.CharField()
    operation = serializers.CharField()
    record = serializers.CharField()
    person = serializers.CharField()
    categories = serializers.CharField()
    purpose = serializers.CharField()
    basis = serializers.CharField()
    client_ip = serializers.CharField()


class UserActivityReportSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    user_name = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    distinct_people = serializers.IntegerField()
    totals_by_operation = serializers.DictField(child=serializers.IntegerField())
    rows = UserActivityRowSerializer(many=True)


class EvidenceRowSerializer(serializers.Serializer):
    event_id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    organisation = serializers.CharField()
    user = serializers.CharField()
    operation = serializers.CharField()
    record = serializers.CharField()
    person = serializers.CharField()
    categories = serializers.CharField()
    basis = serializers.CharField()


class AnomalySerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    user_id = serializers.IntegerField(allow_null=True)
    user_name = serializers.CharField()
    organisation = serializers.CharField()
    day = serializers.DateField(allow_null=True)
    summary = serializers.CharField()
    evidence_total = serializers.IntegerField()
    evidence = EvidenceRowSerializer(many=True)


class AnomaliesReportSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    thresholds = serializers.DictField()
    findings = AnomalySerializer(many=True)


class JournalVerificationSerializer(serializers.Serializer):
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_seq = serializers.IntegerField(allow_null=True)
    last_seq = serializers.IntegerField(allow_null=True)
    covered_from = serializers.DateTimeField(allow_null=True)
    covered_to = serializers.DateTimeField(allow_null=True)
    unsealed = serializers.IntegerField()
    broken_id = serializers.IntegerField(allow_null=True)
    broken_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()
    triggered_by = serializers.CharField()


class CheckpointSerializer(serializers.Serializer):
    chain_seq = serializers.IntegerField()
    row_hash = serializers.CharField()
    created_at = serializers.DateTimeField()


class IntegrityReportSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    state = serializers.CharField()
    statement = serializers.CharField()
    earliest_kept = serializers.DateTimeField(allow_null=True)
    last_purge_at = serializers.DateTimeField(allow_null=True)
    verification = JournalVerificationSerializer(allow_null=True)
    checkpoint = CheckpointSerializer(allow_null=True)


class VerificationQueuedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class CategoryHeldSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    sensitive = serializers.BooleanField()
    pathways = serializers.IntegerField()


class RecipientSerializer(serializers.Serializer):
    organisation = serializers.CharField()
    kind = serializers.CharField()
    categories = serializers.DictField(child=serializers.IntegerField())


class BasisUsedSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]
    grants = serializers.IntegerField()


class RetentionInForceSerializer(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    active_months = serializers.IntegerField()
    archived_months = serializers.IntegerField()
    erased_after_months = serializers.IntegerField()
    reference = serializers.CharField()


class ProcessingRegisterSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    scope = serializers.CharField()
    purpose = serializers.CharField()
    categories = CategoryHeldSerializer(many=True)
    recipients = RecipientSerializer(many=True)
    bases = BasisUsedSerializer(many=True)
    retention = RetentionInForceSerializer(many=True)
    security_measures = serializers.ListField(child=serializers.CharField())


class PersonLookupSerializer(serializers.Serializer):
    """Find a person by exact identity or NIR (blind indexes: nothing is searched in clear)."""

    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    birth_date = serializers.DateField(required=False)
    nir = serializers.CharField(required=False, allow_blank=True, max_length=21)

    def validate(self, attrs):
        if not lookup_is_complete(**attrs):
            raise serializers.ValidationError({"non_field_errors": [LOOKUP_INCOMPLETE]})
        return attrs


class ReportablePersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()


class ReportableUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    username = serializers.CharField()
    organisations = serializers.ListField(child=serializers.CharField())


class RightsRequestSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = RightsRequest
        fields = [
            "id",
            "person",
            "organisation",
            "kind",
            "kind_label",
            "channel",
            "received_on",
            "due_on",
            "overdue",
            "extended_at",
            "extension_reason",
            "details",
            "status",
            "status_label",
            "decided_at",
            "decision",
            "created_at",
        ]
        read_only_fields = fields


class RightsRequestCreateSerializer(serializers.Serializer):
    person = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RightsRequestKind.choices)
    channel = serializers.ChoiceField(
        choices=RightsRequestChannel.choices, default=RightsRequestChannel.MAIL
    )
    received_on = serializers.DateField()
    details = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class RightsRequestExtendSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class RightsRequestDecideSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RIGHTS_REQUEST_DECISIONS)
    decision = serializers.CharField(max_length=5000)
