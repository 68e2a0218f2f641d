"""`/api/v1/statistics/referrals/`: the organisation's referral figures, for its manager (the
territory's, for a territorial coordinator) — the
dashboard's selector, gate and small-cell suppression (issue 18). Thin."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api_scopes import Family
from ..exports import downloads
from ..selectors import referral_statistics as stats
from ..selectors.referral_statistics import FilterError, PartnerRow, ReferralStatistics
from ..selectors.small_cells import Cell
from ..services.referral_statistics import referral_statistics_partners, referral_statistics_read
from . import statistics_serializers as s
from .actor import HasMembership, request_actor


def _cell(cell: Cell, unit: str = "count") -> dict:
    return {
        "value": cell.value,
        "suppressed": cell.suppressed,
        "display": stats.display(cell, unit),
    }


def _rows(figures: ReferralStatistics, rows) -> list[dict]:
    return [
        {
            "id": p.partner_id,
            "name": p.name,
            "cells": {
                c: _cell(cell) for c, cell in zip(figures.partner_columns, p.cells, strict=True)
            },
        }
        for p in rows
    ]


# The tables by partner, area and service: as `PartnerSerializer` writes them (its fields'
# `to_representation`: float, bool, str, int), without it — a national organisation's answer
# has thousands of rows, whose serialization was 0.3 s of a 0.4 s answer at 1 M pathways.
# Written from the figures' rows in one pass (not from `_answer`'s dicts, written again: a
# coordinator's thousand services made that 10–20 ms of the answer and its garbage).
# tests/statistics/test_doors.py holds the two ways equal.
TABLES = ("partners", "areas", "services")


def _served_cell(cell: Cell) -> dict:
    value = cell.value
    return {
        "value": None if value is None else float(value),
        "suppressed": bool(cell.suppressed),
        "display": stats.display(cell),
    }


def _served_rows(figures: ReferralStatistics, rows: list[PartnerRow]) -> list[dict]:
    columns = [str(c) for c in figures.partner_columns]
    return [
        {
            "id": int(row.partner_id),
            "name": str(row.name),
            "cells": {c: _served_cell(cell) for c, cell in zip(columns, row.cells, strict=True)},
        }
        for row in rows
    ]


def served(figures: ReferralStatistics) -> dict:
    """The answer's JSON data: the serializer for its head, the tables written directly."""
    data = s.StatisticsSerializer(_answer(figures, tables=False)).data
    for name in TABLES:
        data[name] = _served_rows(figures, getattr(figures, name))
    return data


def _answer(figures: ReferralStatistics, *, tables: bool = True) -> dict:
    """What the serializer writes; without `tables`, the tables empty (`served` writes them)."""
    filters = figures.filters
    return {
        "organisation": figures.organisation.pk,
        "territorial": figures.territorial,
        "direction": filters.direction,
        "partner": filters.partner_id,
        "area": filters.area_id,
        "first_month": f"{filters.first_month:%Y-%m}",
        "last_month": f"{filters.last_month:%Y-%m}",
        "refreshed_at": figures.refreshed_at,
        "indicators": [
            {
                "code": f.indicator.code,
                "label": f.indicator.label,
                "unit": f.indicator.unit,
                "definition": f.indicator.definition,
                "total": _cell(f.total, f.indicator.unit),
                "previous": _cell(f.previous, f.indicator.unit),
                "trend": f.trend,
                "months": [
                    {"month": f"{m.month:%Y-%m}", **_cell(m.cell, f.indicator.unit)}
                    for m in f.months
                ],
            }
            for f in figures.indicators
        ],
        "refusal_reasons": [
            {"code": r.code, "label": r.label, **_cell(r.cell)} for r in figures.refusal_reasons
        ],
        "outcomes": [{"code": o.code, "label": o.label, **_cell(o.cell)} for o in figures.outcomes],
        "partners": _rows(figures, figures.partners) if tables else [],
        "partner_totals": {
            c: _cell(cell)
            for c, cell in zip(figures.partner_columns, figures.partner_totals, strict=True)
        },
        "areas": _rows(figures, figures.areas) if tables else [],
        "services": _rows(figures, figures.services) if tables else [],
    }


class ReferralStatisticsView(APIView):
    """Statistics without people: aggregates only, counts of 1 to 4 suppressed."""

    token_family = Family.REFERRALS
    permission_classes = (IsAuthenticated, HasMembership)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from", str, description="Premier mois, AAAA-MM (défaut : il y a 11 mois)"
            ),
            OpenApiParameter(
                "to", str, description="Dernier mois inclus, AAAA-MM (défaut : ce mois-ci)"
            ),
            OpenApiParameter("direction", str, enum=list(stats.DIRECTIONS)),
            OpenApiParameter(
                "partner",
                int,
                description="Seulement ce partenaire (coordinateur : cet organisme du territoire)",
            ),
            OpenApiParameter(
                "area", int, description="Coordinateur territorial : seulement ce bassin d'emploi"
            ),
            OpenApiParameter("export", str, enum=["csv"], description="Télécharger en CSV"),
        ],
        responses={
            (200, "application/json"): s.StatisticsSerializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.BINARY, description="Les chiffres en CSV, avec `export=csv`."
            ),
        },
    )
    def get(self, request):
        actor = request_actor(request)
        referral_statistics_partners(actor=actor, direction=stats.SENT)  # 403 before the filters
        query = s.StatisticsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            figures = referral_statistics_read(actor=actor, filters=query.validated_data["filters"])
        except FilterError as error:
            raise serializers.ValidationError({s.FIELDS[error.field]: [str(error)]}) from None
        if query.validated_data.get("export") == "csv":
            return downloads.statistics_file(figures).as_response()
        return Response(served(figures))
