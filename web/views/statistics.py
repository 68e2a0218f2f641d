"""« Tableau de bord »: the organisation's referral figures for its manager, the territory's
(every organisation of their employment areas) for a territorial coordinator (issue 18). Thin:
the filters' form, then the service (the gate's rule) and its selector (the small-cell
suppression), rendered
as charts with their tables, or as the CSV of the same cells."""

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from parcours.exports import downloads
from parcours.selectors import agreement_indicators as agreement_stats
from parcours.selectors import referral_statistics as stats
from parcours.selectors.referral_statistics import FilterError
from parcours.services.agreement_indicators import agreement_indicators_overview
from parcours.services.referral_statistics import (
    referral_statistics_areas,
    referral_statistics_partners,
    referral_statistics_read,
)

from ..actor import member_required
from ..charts import bar_chart
from ..statistics_forms import StatisticsForm, direction_in_query, query_of


@member_required
def statistics(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    # The gate first (403 page for a case worker), then the filters.
    # Ids and names only: a national organisation's choices are thousands of partners.
    partners = referral_statistics_partners(
        actor=actor, direction=direction_in_query(request.GET.get("sens"))
    ).only("pk", "name")
    areas = list(referral_statistics_areas(actor=actor))
    form = StatisticsForm(request.GET or None, partners=partners, areas=areas)
    figures = None
    # A GET form's errors answer 200, like every filter form of the site: the page is the form.
    if request.GET and not form.is_valid():
        return _page(request, form, None)
    filters = form.filters if request.GET else stats.statistics_filters()
    try:
        figures = referral_statistics_read(actor=actor, filters=filters)
    except FilterError as error:
        form.add_filter_error(error)
        return _page(request, form, None)
    if request.GET.get("export") == "csv":
        return downloads.statistics_file(figures).as_response()
    return _page(request, form, figures)


def _agreements(actor) -> list[dict]:
    """« Indicateurs de vos conventions »: each agreement with annexed indicators, those off
    target with their newest shown value against the target."""
    return [
        {
            "agreement": overview.agreement,
            "annexed": overview.annexed,
            "off_target": [
                {
                    "label": item.indicator.label,
                    "period": item.latest.period.label if item.latest else "",
                    "value": agreement_stats.display(item.latest.value, item.indicator.unit)
                    if item.latest
                    else "",
                    "target": agreement_stats.display_number(
                        item.annexed.target, item.indicator.unit
                    ),
                }
                for item in overview.off_target
            ],
        }
        for overview in agreement_indicators_overview(actor=actor)
    ]


# A national organisation works with hundreds of partners: the page's tables show the largest
# volumes, the CSV every row (at 1 M pathways the seed's busiest agency had 1,800 partners and
# the page spent 0.4 s writing their table).
TABLE_ROWS = 50


def _largest(rows: list) -> list:
    """The rows with the most referrals (the first column), in the table's order."""
    if len(rows) <= TABLE_ROWS:
        return rows
    kept = {
        id(row) for row in sorted(rows, key=lambda row: -(row.cells[0].value or 0))[:TABLE_ROWS]
    }
    return [row for row in rows if id(row) in kept]


def _page(request, form, figures) -> HttpResponse:
    context: dict = {
        "form": form,
        "figures": figures,
        "agreements": _agreements(request.actor),
        # A coordinator's page: their areas (the form has the area filter).
        "territorial": "bassin" in form.fields,
        "areas_label": ", ".join(label for value, label in form.fields["bassin"].choices[1:])
        if "bassin" in form.fields
        else "",
    }
    if figures is not None:
        query = query_of(figures.filters)
        context |= {
            "direction_label": stats.DIRECTIONS[figures.filters.direction],
            "period_label": stats.period_label(figures.filters),
            "previous_label": stats.period_label(figures.filters.previous),
            "export_query": urlencode({**query, "export": "csv"}),
            "indicators": [
                {
                    "figures": f,
                    "total": stats.display(f.total, f.indicator.unit),
                    "previous": stats.display(f.previous, f.indicator.unit),
                    "trend": stats.trend_label(f),
                    "chart": bar_chart(f),
                }
                for f in figures.indicators
            ],
            "reasons": [(r.label, stats.display(r.cell)) for r in figures.refusal_reasons],
            "outcomes": [(o.label, stats.display(o.cell)) for o in figures.outcomes],
            "partner_headers": [stats.PARTNER_COLUMN_LABELS[c] for c in figures.partner_columns],
            "tables": [
                (
                    title,
                    [(row.name, [stats.display(c) for c in row.cells]) for row in shown],
                    len(rows) - len(shown),
                )
                for title, rows in stats.grouped_tables(figures)
                for shown in [_largest(rows)]
            ],
            "table_rows": TABLE_ROWS,
            "partner_totals": [stats.display(c) for c in figures.partner_totals],
        }
    return render(request, "web/statistics/dashboard.html", context)
