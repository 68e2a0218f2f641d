"""The agreement indicators in the API (issue 18), the pages' service and gate:

- `GET /api/v1/statistics/indicators/`: the catalogue (means and results, each with its French
  name, definition, formula, unit and direction; « comités tenus » marked not available);
- `GET|PUT /api/v1/agreements/{id}/indicators/`: the indicators annexed to an agreement, read by
  its parties' managers and administrators, replaced by its signatories (400 with French
  messages, 403 for another role, 404 for a non-party);
- `GET /api/v1/agreements/{id}/indicators/report/`: the periodic report (value vs target, per
  period; `export=csv` or `export=pdf` for the files). Thin."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api_scopes import Family
from ..exports import downloads
from ..indicators import CATALOGUE, CHOICES, DIRECTION_LABELS, KIND_LABELS, CatalogueIndicator
from ..models import MAX_ANNEXED_INDICATORS, Agreement, ReportingPeriod
from ..selectors import agreement_indicators as report_words
from ..selectors.agreement_indicators import AgreementReport, Value
from ..services.agreement_indicators import (
    agreement_indicators_read,
    agreement_indicators_report,
    agreement_indicators_set,
)
from .actor import HasMembership, request_actor

# --- serializers -------------------------------------------------------------------------------


class CatalogueEntrySerializer(serializers.Serializer):
    code = serializers.CharField()
    kind = serializers.CharField(help_text="means (moyens) ou results (résultats)")
    kind_label = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    definition = serializers.CharField()
    formula = serializers.CharField()
    unit = serializers.CharField(help_text="rate (en %), days (en jours) ou count")
    direction = serializers.CharField(help_text="higher ou lower : le sens où c'est mieux")
    direction_label = serializers.CharField()
    available = serializers.BooleanField()


def _entry(indicator: CatalogueIndicator) -> dict:
    return {
        "code": indicator.code,
        "kind": str(indicator.kind),
        "kind_label": KIND_LABELS[indicator.kind],
        "label": indicator.label,
        "definition": indicator.definition,
        "formula": indicator.formula,
        "unit": str(indicator.unit),
        "direction": str(indicator.direction),
        "direction_label": DIRECTION_LABELS[indicator.direction],
        "available": indicator.available,
    }


class AnnexedIndicatorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=CHOICES,
        label=_("indicateur"),
        error_messages={"invalid_choice": _("Choisissez un indicateur du catalogue.")},
    )
    target = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=0,
        label=_("cible"),
        help_text=_("En % pour un taux, en jours pour un délai, en orientations pour un nombre."),
    )
    period = serializers.ChoiceField(
        choices=ReportingPeriod.choices,
        label=_("périodicité du rapport"),
        error_messages={"invalid_choice": _("Choisissez une périodicité de la liste.")},
    )
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    period_label = serializers.CharField(read_only=True)


class AnnexedIndicatorsSerializer(serializers.Serializer):
    agreement = serializers.IntegerField(read_only=True)
    indicators = serializers.ListField(
        child=AnnexedIndicatorSerializer(),
        max_length=MAX_ANNEXED_INDICATORS,
        allow_empty=True,
        error_messages={
            "max_length": _("Une convention annexe au plus %(n)s indicateurs.")
            % {"n": MAX_ANNEXED_INDICATORS}
        },
    )


class ValueSerializer(serializers.Serializer):
    value = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    suppressed = serializers.BooleanField()
    display = serializers.CharField()


class PeriodSerializer(serializers.Serializer):
    period = serializers.CharField(help_text="AAAA-MM, AAAA-T1…T4 ou AAAA")
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    ongoing = serializers.BooleanField()
    value = ValueSerializer()
    deviation = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    deviation_display = serializers.CharField()
    on_target = serializers.BooleanField(allow_null=True)
    status = serializers.CharField()


class ReportIndicatorSerializer(CatalogueEntrySerializer):
    target = serializers.DecimalField(max_digits=10, decimal_places=2)
    target_display = serializers.CharField()
    period = serializers.CharField()
    period_label = serializers.CharField()
    periods = PeriodSerializer(many=True)


class ReportSerializer(serializers.Serializer):
    agreement = serializers.IntegerField()
    name = serializers.CharField()
    parties = serializers.ListField(child=serializers.CharField())
    refreshed_at = serializers.DateTimeField(allow_null=True)
    indicators = ReportIndicatorSerializer(many=True)


class ReportQuerySerializer(serializers.Serializer):
    export = serializers.ChoiceField(
        choices=["csv", "pdf"],
        required=False,
        error_messages={"invalid_choice": _("Choisissez csv ou pdf.")},
    )


# --- answers -----------------------------------------------------------------------------------


def _annexed(agreement: Agreement) -> dict:
    return {
        "agreement": agreement.pk,
        "indicators": [
            {
                "code": a.code,
                "target": a.target,
                "period": a.period,
                "label": _entry(CATALOGUE_BY_CODE[a.code])["label"],
                "period_label": a.get_period_display(),
            }
            for a in agreement.indicators.all()
            if a.code in CATALOGUE_BY_CODE
        ],
    }


CATALOGUE_BY_CODE = {i.code: i for i in CATALOGUE}


def _value(value: Value, unit: str) -> dict:
    return {
        "value": value.value,
        "suppressed": value.suppressed,
        "display": report_words.display(value, unit),
    }


def _report(report: AgreementReport) -> dict:
    return {
        "agreement": report.agreement.pk,
        "name": report.agreement.name,
        "parties": report.parties,
        "refreshed_at": report.refreshed_at,
        "indicators": [
            {
                **_entry(item.indicator),
                "target": item.annexed.target,
                "target_display": report_words.display_number(
                    item.annexed.target, item.indicator.unit
                ),
                "period": item.annexed.period,
                "period_label": item.annexed.get_period_display(),
                "periods": [
                    {
                        "period": p.period.code,
                        "label": p.period.label,
                        "ongoing": p.period.ongoing,
                        "value": _value(p.value, item.indicator.unit),
                        "deviation": p.deviation(item.annexed.target),
                        "deviation_display": report_words.display_deviation(
                            p.deviation(item.annexed.target), item.indicator.unit
                        ),
                        "on_target": p.on_target,
                        "status": report_words.status_label(p.on_target),
                    }
                    for p in item.periods
                ],
            }
            for item in report.indicators
        ],
    }


# --- views -------------------------------------------------------------------------------------


class IndicatorCatalogueView(APIView):
    """The catalogue of agreement indicators (no record, no personal data: every member)."""

    token_family = Family.AGREEMENTS
    permission_classes = (IsAuthenticated, HasMembership)

    @extend_schema(
        responses=CatalogueEntrySerializer(many=True), operation_id="indicator_catalogue"
    )
    def get(self, request):
        return Response(CatalogueEntrySerializer([_entry(i) for i in CATALOGUE], many=True).data)


class AgreementIndicatorsView(APIView):
    """The indicators annexed to an agreement: read (GET), replaced as a whole (PUT)."""

    queryset = Agreement.objects.none()  # for the schema (the id is an agreement's); never read
    token_family = Family.AGREEMENTS
    permission_classes = (IsAuthenticated, HasMembership)

    @extend_schema(responses=AnnexedIndicatorsSerializer, operation_id="agreement_indicators_read")
    def get(self, request, pk):
        agreement = agreement_indicators_read(actor=request_actor(request), agreement_id=pk)
        return Response(AnnexedIndicatorsSerializer(_annexed(agreement)).data)

    @extend_schema(
        request=AnnexedIndicatorsSerializer,
        responses=AnnexedIndicatorsSerializer,
        operation_id="agreement_indicators_set",
    )
    def put(self, request, pk):
        actor = request_actor(request)
        # 404 and 403 before the payload is read: a non-party learns nothing from a 400.
        agreement_indicators_read(actor=actor, agreement_id=pk)
        payload = AnnexedIndicatorsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        agreement = agreement_indicators_set(
            actor=actor,
            agreement_id=pk,
            indicators=[dict(i) for i in payload.validated_data["indicators"]],
        )
        return Response(AnnexedIndicatorsSerializer(_annexed(agreement)).data)


class AgreementIndicatorReportView(APIView):
    """The periodic report: every annexed indicator per reporting period, value vs target."""

    queryset = Agreement.objects.none()  # for the schema (the id is an agreement's); never read
    token_family = Family.AGREEMENTS
    permission_classes = (IsAuthenticated, HasMembership)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "export", str, enum=["csv", "pdf"], description="Télécharger en CSV ou en PDF"
            )
        ],
        responses={
            (200, "application/json"): ReportSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="`export=csv`"),
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="`export=pdf`"
            ),
        },
        operation_id="agreement_indicators_report",
    )
    def get(self, request, pk):
        actor = request_actor(request)
        report = agreement_indicators_report(actor=actor, agreement_id=pk)
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        export = query.validated_data.get("export")
        if export:
            return downloads.agreement_indicators_file(report, export).as_response()
        return Response(ReportSerializer(_report(report)).data)
