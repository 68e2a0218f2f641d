"""The agreement indicators' periodic report (issue 18): each indicator annexed to an agreement
(`AgreementIndicator`), computed per reporting period from the monthly referral figures
(`ReferralMonthlyFigure`, refreshed by Celery — never a scan of the referrals per request) of
the referrals **between the agreement's parties** (sent by one party to another), small cells
suppressed with `small_cells`' rules.

A rate whose numerator or denominator counts 1 to 4 people is « non diffusé (moins de 5
personnes) » — never « < 5 », which would read as a percentage; so is a delay over fewer than
five referrals, and a count of 1 to 4.

Reads only: the doors reach it through `services/agreement_indicators.py`, which finds the
agreement in the actor's scope (404) and asks the gate (`agreement.indicators_read`, 403).
The formulas are the catalogue's (`parcours/indicators.py`); the definitions of the figures
are in docs/guide-responsables.md.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TextIO

from django.db.models import Sum

from ..dates import add_months
from ..indicators import BY_CODE, DIRECTION_LABELS, KIND_LABELS, CatalogueIndicator, Direction, Unit
from ..models import (
    REPORTING_PERIOD_MONTHS,
    Agreement,
    AgreementIndicator,
    ReferralFigureRefresh,
    ReferralMonthlyFigure,
    ReportingPeriod,
)
from ..spreadsheet import csv_writer
from .referral_statistics import MONTH_NAMES, current_month
from .small_cells import is_small

SUPPRESSED_TEXT = "non diffusé (moins de 5 personnes)"
NOT_COMPUTABLE_TEXT = "—"
DAY = 86400.0
# The report shows at most this many periods of each indicator (the newest).
MAX_PERIODS = 12


@dataclass(frozen=True)
class Value:
    """An indicator's value in the unit shown (per cent, days, referrals); None when suppressed
    (`suppressed`) or not computable (nothing to divide by)."""

    value: Decimal | None
    suppressed: bool = False

    @property
    def shown(self) -> bool:
        return self.value is not None and not self.suppressed


def compute(indicator: CatalogueIndicator, sums: dict[str, int]) -> Value:
    """One indicator from summed figures: the catalogue's formula, small cells suppressed."""
    numerator = sum(sums.get(c) or 0 for c in indicator.numerator)
    if indicator.unit == Unit.COUNT:
        if is_small(numerator):
            return Value(None, suppressed=True)
        return Value(Decimal(numerator))
    denominator = sum(sums.get(c) or 0 for c in indicator.denominator)
    if denominator == 0:
        return Value(None)
    if indicator.unit == Unit.DAYS:
        if is_small(denominator):
            return Value(None, suppressed=True)
        return Value(_tenths(numerator / denominator / DAY))
    if is_small(numerator) or is_small(denominator):
        return Value(None, suppressed=True)
    return Value(_tenths(numerator * 100 / denominator))


def _tenths(number: float) -> Decimal:
    # Rounded as the dashboard rounds (`referral_statistics.display`): one figure reads the same
    # on both pages (81.25 % is 81,2 % on each).
    return Decimal(f"{number:.1f}")


def on_target(indicator: CatalogueIndicator, value: Value, target: Decimal) -> bool | None:
    """Whether a shown value meets the target, read in the indicator's direction; None when
    the value is not shown."""
    if not value.shown or value.value is None:
        return None
    if indicator.direction == Direction.HIGHER:
        return value.value >= target
    return value.value <= target


# --- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    first_month: dt.date
    last_month: dt.date  # the first day of the period's last month
    kind: str

    @property
    def ongoing(self) -> bool:
        return self.last_month >= current_month()

    @property
    def label(self) -> str:
        if self.kind == ReportingPeriod.MONTHLY:
            return f"{MONTH_NAMES[self.first_month.month - 1]} {self.first_month.year}"
        if self.kind == ReportingPeriod.QUARTERLY:
            return f"T{(self.first_month.month - 1) // 3 + 1} {self.first_month.year}"
        return str(self.first_month.year)

    @property
    def code(self) -> str:
        if self.kind == ReportingPeriod.MONTHLY:
            return f"{self.first_month:%Y-%m}"
        if self.kind == ReportingPeriod.QUARTERLY:
            return f"{self.first_month.year}-T{(self.first_month.month - 1) // 3 + 1}"
        return f"{self.first_month.year}"


def _period_start(month: dt.date, kind: str) -> dt.date:
    length = REPORTING_PERIOD_MONTHS[ReportingPeriod(kind)]
    return month.replace(month=(month.month - 1) // length * length + 1, day=1)


def periods_of(agreement: Agreement, kind: str, *, today_month: dt.date) -> list[Period]:
    """The calendar periods (newest first) from the agreement's start to its end or this month,
    at most MAX_PERIODS."""
    length = REPORTING_PERIOD_MONTHS[ReportingPeriod(kind)]
    last = today_month
    if agreement.ends_on is not None:
        last = min(last, agreement.ends_on.replace(day=1))
    first = agreement.starts_on.replace(day=1)
    periods: list[Period] = []
    start = _period_start(last, kind)
    while start >= _period_start(first, kind) and len(periods) < MAX_PERIODS:
        periods.append(Period(start, add_months(start, length - 1), kind))
        start = add_months(start, -length)
    return periods


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodValue:
    period: Period
    value: Value
    on_target: bool | None

    def deviation(self, target: Decimal) -> Decimal | None:
        if not self.value.shown or self.value.value is None:
            return None
        return self.value.value - target


@dataclass(frozen=True)
class IndicatorReport:
    annexed: AgreementIndicator
    indicator: CatalogueIndicator
    periods: list[PeriodValue]

    @property
    def latest(self) -> PeriodValue | None:
        """The newest completed period with a shown value (the dashboard's deviation reads it):
        an ongoing period is still filling up, and would read as a miss every first day."""
        return next((p for p in self.periods if p.value.shown and not p.period.ongoing), None)


@dataclass(frozen=True)
class AgreementReport:
    agreement: Agreement
    parties: list[str]
    indicators: list[IndicatorReport]
    refreshed_at: dt.datetime | None


def _monthly_sums(agreement: Agreement, party_ids: list[int], first: dt.date, last: dt.date):
    """The figures between the parties, summed by month: one GROUP BY on the figures."""
    columns = sorted({c for i in BY_CODE.values() for c in (*i.numerator, *i.denominator)})
    rows = (
        ReferralMonthlyFigure.objects.filter(
            sender_organisation_id__in=party_ids,
            receiver_organisation_id__in=party_ids,
            month__gte=first,
            month__lte=last,
        )
        .values("month")
        .order_by()
        .annotate(**{c: Sum(c) for c in columns})
    )
    by_month: dict[dt.date, dict[str, int]] = {}
    for row in rows:
        values: dict[str, Any] = dict(row)
        by_month[values.pop("month")] = {c: v or 0 for c, v in values.items()}
    return columns, by_month


def _sum_over(by_month: dict[dt.date, dict[str, int]], columns, period: Period, floor: dt.date):
    sums = dict.fromkeys(columns, 0)
    for month, values in by_month.items():
        if max(period.first_month, floor) <= month <= period.last_month:
            for column in columns:
                sums[column] += values.get(column, 0)
    return sums


def agreement_report(
    agreement: Agreement, *, today_month: dt.date | None = None
) -> AgreementReport:
    """Every annexed indicator of `agreement` per reporting period (newest first). Three
    queries whatever the periods: the parties and indicators (prefetched by the caller or
    read here), the figures by month, the last refresh."""
    today_month = today_month or current_month()
    signatures = list(agreement.signatures.all())
    party_ids = [s.organisation_id for s in signatures]
    annexed = [a for a in agreement.indicators.all() if a.code in BY_CODE]
    all_periods = {a.pk: periods_of(agreement, a.period, today_month=today_month) for a in annexed}
    firsts = [p.first_month for periods in all_periods.values() for p in periods]
    floor = agreement.starts_on.replace(day=1)
    by_month: dict[dt.date, dict[str, int]] = {}
    columns: list[str] = []
    if firsts:
        columns, by_month = _monthly_sums(agreement, party_ids, min(firsts), today_month)
    reports = []
    for item in annexed:
        catalogue = BY_CODE[item.code]
        values = []
        for period in all_periods[item.pk]:
            value = compute(catalogue, _sum_over(by_month, columns, period, floor))
            values.append(PeriodValue(period, value, on_target(catalogue, value, item.target)))
        reports.append(IndicatorReport(item, catalogue, values))
    last_refresh = ReferralFigureRefresh.objects.order_by("-started_at").first()
    return AgreementReport(
        agreement=agreement,
        parties=sorted(s.organisation.name for s in signatures),
        indicators=reports,
        refreshed_at=last_refresh.finished_at if last_refresh else None,
    )


# --- words and files ----------------------------------------------------------------------------


def _number(value: Decimal, decimals: int) -> str:
    return f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


def display(value: Value, unit: str) -> str:
    """A value in French: « non diffusé (moins de 5 personnes) » when suppressed."""
    if value.suppressed:
        return SUPPRESSED_TEXT
    if value.value is None:
        return NOT_COMPUTABLE_TEXT
    return display_number(value.value, unit)


def display_number(number: Decimal, unit: str) -> str:
    if unit == Unit.RATE:
        return f"{_number(number, 1)} %"
    if unit == Unit.DAYS:
        return f"{_number(number, 1)} j"
    return _number(number, 0)


def display_deviation(deviation: Decimal | None, unit: str) -> str:
    if deviation is None:
        return NOT_COMPUTABLE_TEXT
    sign = "+" if deviation >= 0 else "−"
    magnitude = abs(deviation)
    if unit == Unit.RATE:
        return f"{sign}{_number(magnitude, 1)} pt"
    if unit == Unit.DAYS:
        return f"{sign}{_number(magnitude, 1)} j"
    return f"{sign}{_number(magnitude, 0)}"


def status_label(on_target_: bool | None) -> str:
    if on_target_ is None:
        return "Non calculable"
    return "Cible atteinte" if on_target_ else "Écart à la cible"


def kind_label(indicator: CatalogueIndicator) -> str:
    return KIND_LABELS[indicator.kind]


def direction_label(indicator: CatalogueIndicator) -> str:
    return DIRECTION_LABELS[indicator.direction]


REPORT_COLUMNS = (
    "Indicateur",
    "Type",
    "Périodicité",
    "Période",
    "Valeur",
    "Cible",
    "Écart",
    "Statut",
)


def report_rows(report: AgreementReport) -> list[list[str]]:
    """The report's table, cell for cell as the page, the CSV and the PDF show it."""
    rows = []
    for item in report.indicators:
        unit = item.indicator.unit
        for period in item.periods:
            rows.append(
                [
                    item.indicator.label,
                    kind_label(item.indicator),
                    item.annexed.get_period_display(),
                    period.period.label + (" (en cours)" if period.period.ongoing else ""),
                    display(period.value, unit),
                    display_number(item.annexed.target, unit),
                    display_deviation(period.deviation(item.annexed.target), unit),
                    status_label(period.on_target),
                ]
            )
    return rows


def write_csv(report: AgreementReport, stream: TextIO) -> None:
    writer = csv_writer(stream)
    writer.writerow(["Convention", report.agreement.name])
    writer.writerow(["Signataires", " ; ".join(report.parties)])
    writer.writerow([])
    writer.writerow(list(REPORT_COLUMNS))
    writer.writerows(report_rows(report))
    writer.writerow([])
    writer.writerow(["Indicateur", "Définition", "Formule", "Sens"])
    for item in report.indicators:
        writer.writerow(
            [
                item.indicator.label,
                item.indicator.definition,
                item.indicator.formula,
                direction_label(item.indicator),
            ]
        )
