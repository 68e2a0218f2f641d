"""The referral statistics of an organisation, for its manager (issue 18): read from the monthly
figures (`ReferralMonthlyFigure`, refreshed by Celery — never computed here from the referrals),
within the organisations `access.statistics_organisations_for` gives the actor (none but a
manager's own), small cells suppressed here (`small_cells`), so the page, its CSV and the API
show exactly the same figures. The doors reach these reads through
`parcours.services.referral_statistics`, which asks the gate first (`statistics.read`: 403).

What each figure means is in docs/guide-responsables.md; the formulas are `INDICATORS` below.
A referral counts in the month it was **sent** (Paris time): its answer, appointments and
outcome count with it, whenever they came.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any, TextIO

from django.db.models import QuerySet, Sum
from django.utils import timezone

from .. import access
from ..actor import Actor
from ..dates import add_months
from ..models import (
    Organisation,
    ReferralFigureRefresh,
    ReferralMonthlyFigure,
    ReferralOutcome,
    RefusalReason,
)
from ..spreadsheet import csv_writer
from .small_cells import NOT_COMPUTABLE, SUPPRESSED_LABEL, Cell, protect, protect_one

# --- the filters ---------------------------------------------------------------------------------

SENT, RECEIVED = "sent", "received"
DIRECTIONS = {SENT: "Orientations envoyées", RECEIVED: "Orientations reçues"}
DEFAULT_MONTHS = 12
MAX_MONTHS = 36
EARLIEST_MONTH = dt.date(2000, 1, 1)


class FilterError(ValueError):
    """A filter that cannot be read; `field` is first_month, last_month, partner or direction
    (the page and the API name their inputs their own way)."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class StatisticsFilters:
    first_month: dt.date
    last_month: dt.date
    direction: str = SENT
    partner_id: int | None = None

    @property
    def months(self) -> list[dt.date]:
        count = _months_between(self.first_month, self.last_month)
        return [add_months(self.first_month, i) for i in range(count)]

    @property
    def previous(self) -> "StatisticsFilters":
        """The period of the same length just before (the trend's reference)."""
        count = len(self.months)
        return StatisticsFilters(
            add_months(self.first_month, -count),
            add_months(self.first_month, -1),
            self.direction,
            self.partner_id,
        )


def _months_between(first: dt.date, last: dt.date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def current_month() -> dt.date:
    return timezone.localdate().replace(day=1)


def statistics_filters(
    *,
    first_month: dt.date | None = None,
    last_month: dt.date | None = None,
    direction: str | None = None,
    partner_id: int | None = None,
) -> StatisticsFilters:
    """The filters from the inputs (each optional: the last 12 months, sent referrals, every
    partner), or FilterError with a French message. Which partners exist is checked by
    `referral_statistics_for` (it needs the actor)."""
    last = (last_month or current_month()).replace(day=1)
    first = (first_month or add_months(last, -(DEFAULT_MONTHS - 1))).replace(day=1)
    if first < EARLIEST_MONTH:
        raise FilterError("Le premier mois ne peut pas précéder janvier 2000.", field="first_month")
    if last > current_month():
        raise FilterError("Le dernier mois ne peut pas être dans le futur.", field="last_month")
    if first > last:
        raise FilterError("Le premier mois doit précéder le dernier.", field="first_month")
    if _months_between(first, last) > MAX_MONTHS:
        raise FilterError(f"La période couvre au plus {MAX_MONTHS} mois.", field="first_month")
    direction = direction or SENT
    if direction not in DIRECTIONS:
        raise FilterError("Choisissez les orientations envoyées ou reçues.", field="direction")
    return StatisticsFilters(first, last, direction, partner_id)


# --- the indicators ------------------------------------------------------------------------------

DAY = 86400.0
POSITIVE_OUTCOMES = ("job", "training")


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    unit: str  # "count", "rate" (a share, 0–1) or "days"
    definition: str
    # A count: its column. A rate or a mean: numerator and denominator columns (or sums).
    column: str = ""
    numerator: tuple[str, ...] = ()
    denominator: tuple[str, ...] = ()


def _count(code: str, label: str, definition: str, column: str = "") -> Indicator:
    return Indicator(code, label, "count", definition, column=column or code)


INDICATORS: tuple[Indicator, ...] = (
    _count("sent", "Orientations envoyées", "Orientations envoyées pendant le mois."),
    _count("answered", "Réponses", "Orientations acceptées, refusées ou réorientées."),
    Indicator(
        "answer_rate",
        "Taux de réponse",
        "rate",
        "Réponses ÷ orientations envoyées.",
        numerator=("answered",),
        denominator=("sent",),
    ),
    Indicator(
        "answer_days",
        "Délai moyen de réponse (jours)",
        "days",
        "Moyenne, sur les orientations ayant reçu une réponse, du temps entre l'envoi et la "
        "réponse.",
        numerator=("answer_seconds",),
        denominator=("answered",),
    ),
    _count("accepted", "Orientations acceptées", "Orientations que le destinataire a acceptées."),
    Indicator(
        "acceptance_rate",
        "Taux d'acceptation",
        "rate",
        "Orientations acceptées ÷ réponses.",
        numerator=("accepted",),
        denominator=("answered",),
    ),
    _count("refused", "Orientations refusées", "Orientations refusées, quel qu'en soit le motif."),
    _count("expired", "Orientations expirées", "Orientations restées sans réponse dans le délai."),
    Indicator(
        "appointment_days",
        "Délai moyen jusqu'au premier rendez-vous (jours)",
        "days",
        "Moyenne du temps entre l'envoi et la date du premier rendez-vous (non annulé).",
        numerator=("appointment_seconds",),
        denominator=("with_appointment",),
    ),
    _count(
        "appointments_attended",
        "Rendez-vous honorés",
        "Rendez-vous où la personne est venue.",
    ),
    _count(
        "appointments_no_show",
        "Rendez-vous non honorés",
        "Rendez-vous où la personne n'est pas venue.",
    ),
    Indicator(
        "show_rate",
        "Taux de venue",
        "rate",
        "Rendez-vous honorés ÷ rendez-vous dont l'issue est saisie (honorés ou non).",
        numerator=("appointments_attended",),
        denominator=("appointments_attended", "appointments_no_show"),
    ),
    Indicator(
        "no_show_rate",
        "Taux d'absence",
        "rate",
        "Rendez-vous non honorés ÷ rendez-vous dont l'issue est saisie (honorés ou non).",
        numerator=("appointments_no_show",),
        denominator=("appointments_attended", "appointments_no_show"),
    ),
    _count("closed", "Orientations clôturées", "Orientations clôturées avec une suite donnée."),
    Indicator(
        "positive_exits",
        "Sorties positives",
        "count",
        "Orientations clôturées sur un accès à l'emploi ou une entrée en formation.",
        numerator=tuple(f"outcome_{o}" for o in POSITIVE_OUTCOMES),
    ),
    Indicator(
        "positive_exit_rate",
        "Taux de sorties positives",
        "rate",
        "Sorties positives ÷ orientations clôturées.",
        numerator=tuple(f"outcome_{o}" for o in POSITIVE_OUTCOMES),
        denominator=("closed",),
    ),
)
INDICATOR_CODES = tuple(i.code for i in INDICATORS)
REFUSAL_COLUMNS = {f"refused_{value}": label for value, label in RefusalReason.choices}
OUTCOME_COLUMNS = {f"outcome_{value}": label for value, label in ReferralOutcome.choices}
SUMMED = (
    "sent",
    "answered",
    "answer_seconds",
    "accepted",
    "refused",
    "expired",
    "withdrawn",
    "transferred",
    "with_appointment",
    "appointment_seconds",
    "appointments_attended",
    "appointments_no_show",
    "closed",
    *REFUSAL_COLUMNS,
    *OUTCOME_COLUMNS,
)
# The counts of the partners' table, in its order.
PARTNER_COLUMNS = ("sent", "accepted", "refused", "appointments_attended", "appointments_no_show")


def _total(sums: dict[str, int], columns: tuple[str, ...]) -> int:
    return sum(sums.get(column) or 0 for column in columns)


def _counted(indicator: Indicator) -> tuple[str, ...]:
    return (indicator.column,) if indicator.column else indicator.numerator


def _derived(indicator: Indicator, sums: dict[str, int]) -> Cell:
    """A rate or a mean: shown only when every count it rests on may be shown."""
    denominator = _total(sums, indicator.denominator)
    if indicator.unit == "days":
        if denominator == 0 or not protect_one(denominator).shown:
            return Cell(None, suppressed=denominator > 0)
        return Cell(round(_total(sums, indicator.numerator) / denominator / DAY, 1))
    numerator = _total(sums, indicator.numerator)
    if denominator == 0:
        return NOT_COMPUTABLE
    if not (protect_one(numerator).shown and protect_one(denominator).shown):
        return Cell(None, suppressed=True)
    return Cell(round(numerator / denominator, 3))


# --- what the dashboard shows ------------------------------------------------------------------


@dataclass(frozen=True)
class MonthCell:
    month: dt.date
    cell: Cell


@dataclass(frozen=True)
class IndicatorFigures:
    indicator: Indicator
    total: Cell
    previous: Cell
    months: list[MonthCell]

    @property
    def trend(self) -> float | None:
        """The change against the previous period: a relative change for a count or a mean,
        a difference in points (of a share) for a rate; None when either side is hidden."""
        if not (self.total.shown and self.previous.shown):
            return None
        now, before = float(self.total.value or 0), float(self.previous.value or 0)
        if self.indicator.unit == "rate":
            return round(now - before, 3)
        if before == 0:
            return None
        return round((now - before) / before, 3)


@dataclass(frozen=True)
class LabelledCell:
    label: str
    code: str
    cell: Cell


@dataclass(frozen=True)
class PartnerRow:
    partner_id: int
    name: str
    cells: list[Cell]


@dataclass(frozen=True)
class ReferralStatistics:
    organisation: Organisation
    filters: StatisticsFilters
    partner_name: str
    indicators: list[IndicatorFigures]
    refusal_reasons: list[LabelledCell]
    outcomes: list[LabelledCell]
    partner_columns: tuple[str, ...]
    partners: list[PartnerRow]
    partner_totals: list[Cell]
    refreshed_at: dt.datetime | None

    def indicator(self, code: str) -> IndicatorFigures:
        return next(f for f in self.indicators if f.indicator.code == code)


def _scope(actor: Actor, filters: StatisticsFilters) -> QuerySet[ReferralMonthlyFigure]:
    organisations = access.statistics_organisations_for(actor)
    own, partner = _sides(filters.direction)
    figures = ReferralMonthlyFigure.objects.filter(**{f"{own}__in": organisations})
    if filters.partner_id is not None:
        figures = figures.filter(**{f"{partner}_id": filters.partner_id})
    return figures


def _sides(direction: str) -> tuple[str, str]:
    """(the organisation's own field, its partner's) for `direction`: the sender's side of a
    cell for what was sent, the receiver's for what was received."""
    if direction == SENT:
        return "sender_organisation", "receiver_organisation"
    return "receiver_organisation", "sender_organisation"


def _partner_field(filters: StatisticsFilters) -> str:
    return _sides(filters.direction)[1]


def partners_for(actor: Actor, direction: str) -> QuerySet[Organisation]:
    """The partners the organisation has figures with in `direction` (the filter's choices)."""
    own, partner = _sides(direction)
    ids = ReferralMonthlyFigure.objects.filter(
        **{f"{own}__in": access.statistics_organisations_for(actor)}
    ).values(partner)
    return Organisation.objects.filter(pk__in=ids).order_by("name", "pk")


def _sums(figures: QuerySet[ReferralMonthlyFigure]) -> dict[str, int]:
    return {k: v or 0 for k, v in figures.aggregate(**{c: Sum(c) for c in SUMMED}).items()}


def _indicator_figures(
    indicator: Indicator,
    totals: dict[str, int],
    previous: dict[str, int],
    by_month: list[tuple[dt.date, dict[str, int]]],
) -> IndicatorFigures:
    if indicator.unit == "count":
        columns = _counted(indicator)
        month_counts = [_total(sums, columns) for _m, sums in by_month]
        month_cells = protect(month_counts)
        return IndicatorFigures(
            indicator,
            protect_one(_total(totals, columns)),
            protect_one(_total(previous, columns)),
            [MonthCell(m, c) for (m, _s), c in zip(by_month, month_cells, strict=True)],
        )
    return IndicatorFigures(
        indicator,
        _derived(indicator, totals),
        _derived(indicator, previous),
        [MonthCell(m, _derived(indicator, sums)) for m, sums in by_month],
    )


def _labelled(columns: dict[str, Any], totals: dict[str, int]) -> list[LabelledCell]:
    cells = protect([totals.get(column, 0) for column in columns])
    return [
        LabelledCell(str(label), column.split("_", 1)[1], cell)
        for (column, label), cell in zip(columns.items(), cells, strict=True)
    ]


def referral_statistics_for(actor: Actor, filters: StatisticsFilters) -> ReferralStatistics:
    """The organisation's referral figures over the filters' period, small cells suppressed.

    Nothing but an empty scope for an actor the gate's table refuses (the service asks the
    gate: parcours.services.referral_statistics); FilterError
    (field `partner`) for a partner the organisation has no figures with. Five queries,
    whatever the period: the partner's name, the months, the previous period, the partners, the
    last refresh."""
    partner_name = ""
    if filters.partner_id is not None:
        partner = partners_for(actor, filters.direction).filter(pk=filters.partner_id).first()
        if partner is None:
            raise FilterError("Choisissez un partenaire de la liste.", field="partner")
        partner_name = partner.name
    period = _scope(actor, filters).filter(
        month__gte=filters.first_month, month__lte=filters.last_month
    )
    rows: dict[dt.date, dict[str, int]] = {}
    for row in period.values("month").order_by().annotate(**{c: Sum(c) for c in SUMMED}):
        values: dict[str, Any] = dict(row)
        rows[values.pop("month")] = {c: values.get(c) or 0 for c in SUMMED}
    by_month: list[tuple[dt.date, dict[str, int]]] = [
        (month, rows.get(month, {})) for month in filters.months
    ]
    totals = {c: sum(sums.get(c, 0) for _m, sums in by_month) for c in SUMMED}
    before = filters.previous
    previous = (
        _sums(
            _scope(actor, before).filter(
                month__gte=before.first_month, month__lte=before.last_month
            )
        )
        if before.first_month >= EARLIEST_MONTH
        else dict.fromkeys(SUMMED, 0)
    )
    indicators = [_indicator_figures(i, totals, previous, by_month) for i in INDICATORS]

    partner_field = _partner_field(filters)
    partner_rows = list(
        period.values(f"{partner_field}_id", f"{partner_field}__name")
        .order_by(f"{partner_field}__name", f"{partner_field}_id")
        .annotate(**{c: Sum(c) for c in PARTNER_COLUMNS})
    )
    columns = [protect([row[c] or 0 for row in partner_rows]) for c in PARTNER_COLUMNS]
    partners = [
        PartnerRow(
            row[f"{partner_field}_id"],
            row[f"{partner_field}__name"],
            [column[i] for column in columns],
        )
        for i, row in enumerate(partner_rows)
    ]
    partner_totals = [
        protect_one(sum(row[c] or 0 for row in partner_rows)) for c in PARTNER_COLUMNS
    ]
    last_refresh = ReferralFigureRefresh.objects.order_by("-started_at").first()
    return ReferralStatistics(
        organisation=actor.organisation,
        filters=filters,
        partner_name=partner_name,
        indicators=indicators,
        refusal_reasons=_labelled(REFUSAL_COLUMNS, totals),
        outcomes=_labelled(OUTCOME_COLUMNS, totals),
        partner_columns=PARTNER_COLUMNS,
        partners=partners,
        partner_totals=partner_totals,
        refreshed_at=last_refresh.finished_at if last_refresh else None,
    )


# --- words and files ----------------------------------------------------------------------------

PARTNER_COLUMN_LABELS = {
    "sent": "Orientations",
    "accepted": "Acceptées",
    "refused": "Refusées",
    "appointments_attended": "Rendez-vous honorés",
    "appointments_no_show": "Rendez-vous non honorés",
}
MONTH_NAMES = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


def month_label(month: dt.date) -> str:
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def period_label(filters: StatisticsFilters) -> str:
    """« oct. 2026 », or « janv. 2026 – juin 2026 »."""
    first, last = month_label(filters.first_month), month_label(filters.last_month)
    return first if first == last else f"{first} – {last}"


def _french_number(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    return text


def display(cell: Cell, unit: str = "count") -> str:
    """A cell in French: « < 5 » when suppressed, « — » when not computable."""
    if cell.suppressed:
        return SUPPRESSED_LABEL
    if cell.value is None:
        return "—"
    if unit == "rate":
        return f"{_french_number(float(cell.value) * 100, 1)} %"
    if unit == "days":
        return _french_number(float(cell.value), 1)
    return _french_number(float(cell.value), 0)


def trend_label(figures: IndicatorFigures) -> str:
    trend = figures.trend
    if trend is None:
        return "—"
    if figures.indicator.unit == "rate":
        points = trend * 100
        return f"{'+' if points >= 0 else '−'}{_french_number(abs(points), 1)} pt"
    return f"{'+' if trend >= 0 else '−'}{_french_number(abs(trend) * 100, 0)} %"


def write_csv(statistics: ReferralStatistics, stream: TextIO) -> None:
    """The page's figures, cell for cell (« < 5 » where the page says it)."""
    writer = csv_writer(stream)
    filters = statistics.filters
    writer.writerow(["Organisation", statistics.organisation.name])
    writer.writerow(["Sens", DIRECTIONS[filters.direction]])
    writer.writerow(["Partenaire", statistics.partner_name or "Tous les partenaires"])
    writer.writerow(["Période", period_label(filters)])
    writer.writerow([])
    writer.writerow(
        ["Indicateur", "Période", "Période précédente", "Évolution"]
        + [month_label(m) for m in filters.months]
    )
    for figures in statistics.indicators:
        unit = figures.indicator.unit
        writer.writerow(
            [
                figures.indicator.label,
                display(figures.total, unit),
                display(figures.previous, unit),
                trend_label(figures),
                *(display(m.cell, unit) for m in figures.months),
            ]
        )
    writer.writerow([])
    writer.writerow(["Motif de refus", "Orientations"])
    writer.writerows([[r.label, display(r.cell)] for r in statistics.refusal_reasons])
    writer.writerow([])
    writer.writerow(["Suite donnée", "Orientations"])
    writer.writerows([[o.label, display(o.cell)] for o in statistics.outcomes])
    writer.writerow([])
    writer.writerow(["Partenaire", *(PARTNER_COLUMN_LABELS[c] for c in statistics.partner_columns)])
    for row in statistics.partners:
        writer.writerow([row.name, *(display(c) for c in row.cells)])
    writer.writerow(["Total", *(display(c) for c in statistics.partner_totals)])
