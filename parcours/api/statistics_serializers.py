"""The statistics endpoint's filters and answer (issue 18). Figures only: a suppressed cell is
`null` with `suppressed: true` and `display: "< 5"`, never the number."""

import datetime as dt
import re

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..selectors.referral_statistics import DIRECTIONS, FilterError, statistics_filters

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FIELDS = {
    "first_month": "from",
    "last_month": "to",
    "direction": "direction",
    "partner": "partner",
    "area": "area",
}


class MonthField(serializers.CharField):
    default_error_messages = {
        "month": _("Indiquez un mois au format AAAA-MM (par exemple 2026-03)."),
    }

    def to_internal_value(self, data) -> dt.date:  # type: ignore[override]
        text = super().to_internal_value(data)
        match = MONTH.match(text)
        if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
            self.fail("month")
        return dt.date(int(match[1]), int(match[2]), 1)

    def to_representation(self, value) -> str:
        return f"{value:%Y-%m}"


class StatisticsQuerySerializer(serializers.Serializer):
    """`from`/`to`: months (AAAA-MM, both included; the last 12 months by default),
    `direction`: sent (default) or received, `partner`: an organisation's id (for a territorial
    coordinator, one of their areas' organisations), `area`: one of a coordinator's employment
    areas."""

    direction = serializers.ChoiceField(choices=list(DIRECTIONS), required=False)
    partner = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    area = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    export = serializers.ChoiceField(choices=["csv"], required=False)

    def get_fields(self):
        fields = super().get_fields()
        # `from` is a Python keyword: declared here.
        fields["from"] = MonthField(required=False, source="first_month", label=_("du mois"))
        fields["to"] = MonthField(required=False, source="last_month", label=_("au mois"))
        return fields

    def validate(self, attrs):
        try:
            attrs["filters"] = statistics_filters(
                first_month=attrs.get("first_month"),
                last_month=attrs.get("last_month"),
                direction=attrs.get("direction"),
                partner_id=attrs.get("partner"),
                area_id=attrs.get("area"),
            )
        except FilterError as error:
            raise serializers.ValidationError({FIELDS[error.field]: [str(error)]}) from None
        return attrs


class CellSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField()
    display = serializers.CharField()


class MonthCellSerializer(CellSerializer):
    month = serializers.CharField()


class IndicatorSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    unit = serializers.ChoiceField(choices=["count", "rate", "days"])
    definition = serializers.CharField()
    total = CellSerializer()
    previous = CellSerializer()
    trend = serializers.FloatField(allow_null=True)
    months = MonthCellSerializer(many=True)


class LabelledCellSerializer(CellSerializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label


class PartnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    cells = serializers.DictField(child=CellSerializer())


class StatisticsSerializer(serializers.Serializer):
    organisation = serializers.IntegerField()
    # True for a territorial coordinator: `partners` lists the organisations of their areas.
    territorial = serializers.BooleanField()
    direction = serializers.ChoiceField(choices=list(DIRECTIONS))
    partner = serializers.IntegerField(allow_null=True)
    area = serializers.IntegerField(allow_null=True)
    first_month = serializers.CharField()
    last_month = serializers.CharField()
    refreshed_at = serializers.DateTimeField(allow_null=True)
    indicators = IndicatorSerializer(many=True)
    refusal_reasons = LabelledCellSerializer(many=True)
    outcomes = LabelledCellSerializer(many=True)
    partners = PartnerSerializer(many=True)
    partner_totals = serializers.DictField(child=CellSerializer())
    areas = PartnerSerializer(many=True)  # a coordinator's, by employment area (else empty)
    services = PartnerSerializer(many=True)  # by the service asked for (id 0: none named)
