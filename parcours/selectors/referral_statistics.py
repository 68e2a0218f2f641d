"""The referral statistics of an organisation, for its manager (issue 18): read from the monthly
figures (`ReferralMonthlyFigure`, refreshed by Celery — never computed here from the referrals),
within the organisations `access.statistics_organisations_for` gives the actor (a manager's
own; for a territorial coordinator, every organisation of the employment areas they cover),
small cells suppressed here (`small_cells`), so the page, its CSV and the API show exactly the
same figures.

A coordinator's view is **territorial**: "its" side of a cell is any organisation of their
areas, the partner filter chooses one of those organisations (not the other side), an area
filter narrows to one area, and the figures are also grouped by organisation, by area and by
service. The doors reach these reads through
`parcours.services.referral_statistics`, which asks the gate first (`statistics.read`: 403).

What each figure means is in docs/guide-responsables.md; the formulas are `INDICATORS` below.
A referral counts in the month it was **sent** (Paris time): its answer, appointments and
outcome count with it, whenever they came.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from .. import access
from ..actor import Actor
from ..dates import add_months
from ..models import (
    EmploymentArea,
    Organisation,
    ReferralFigureRefresh,
    ReferralMonthlyFigure,
    ReferralOutcome,
    RefusalReason,
    Service,
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
    """A filter that cannot be read; `field` is first_month, last_month, partner, area or
    direction (the page and the API name their inputs their own way)."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class StatisticsFilters:
    first_month: dt.date
    last_month: dt.date
    direction: str = SENT
    partner_id: int | None = None
    # A coordinator's: one of the employment areas they cover (None: all of them).
    area_id: int | None = None

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
            self.area_id,
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
    area_id: int | None = None,
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
    return StatisticsFilters(first, last, direction, partner_id, area_id)


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
    _count(
        "alerts_raised",
        "Alertes levées",
        "Délais dépassés (réponse, rendez-vous, venue) sur les orientations du mois : une alerte "
        "par délai dépassé.",
    ),
    _count(
        "alerts_resolved",
        "Alertes résolues",
        "Alertes levées sur les orientations du mois et résolues depuis (l'orientation a avancé).",
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
    "alerts_raised",
    "alerts_resolved",
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
    # A coordinator's view: the organisations of their areas are "its" side (`partners` then
    # lists them), the figures also by area; `areas_label` names the areas covered.
    territorial: bool = False
    area_name: str = ""
    areas_label: str = ""
    areas: list[PartnerRow] = field(default_factory=list)
    # Both views: by the service asked for (the receiver's), same columns as the partners.
    services: list[PartnerRow] = field(default_factory=list)

    def indicator(self, code: str) -> IndicatorFigures:
        return next(f for f in self.indicators if f.indicator.code == code)


def _own_organisations(actor: Actor, filters: StatisticsFilters) -> QuerySet[Organisation]:
    """The organisations whose side of the cells the actor reads, within the area chosen."""
    organisations = access.statistics_organisations_for(actor)
    if filters.area_id is not None:
        organisations = organisations.filter(employment_area_id=filters.area_id)
    return organisations


def _scope(actor: Actor, filters: StatisticsFilters) -> QuerySet[ReferralMonthlyFigure]:
    own, partner = _sides(filters.direction)
    figures = ReferralMonthlyFigure.objects.filter(
        **{f"{own}__in": _own_organisations(actor, filters)}
    )
    if filters.partner_id is not None:
        # A coordinator's partner is one of the organisations of their areas; a manager's, the
        # organisation on the other side.
        chosen = own if access.can_read_territory(actor) else partner
        figures = figures.filter(**{f"{chosen}_id": filters.partner_id})
    return figures


def _sides(direction: str) -> tuple[str, str]:
    """(the organisation's own field, its partner's) for `direction`: the sender's side of a
    cell for what was sent, the receiver's for what was received."""
    if direction == SENT:
        return "sender_organisation", "receiver_organisation"
    return "receiver_organisation", "sender_organisation"


def _partner_field(actor: Actor, filters: StatisticsFilters) -> str:
    """Whom the partners' table lists: the other side for a manager, the area's organisations
    (their own side) for a coordinator."""
    own, partner = _sides(filters.direction)
    return own if access.can_read_territory(actor) else partner


def partners_for(actor: Actor, direction: str) -> QuerySet[Organisation]:
    """The partner filter's choices: the organisations the actor's organisation has figures
    with in `direction`; for a coordinator, the organisations of their areas with figures."""
    own, partner = _sides(direction)
    organisations = access.statistics_organisations_for(actor)
    if access.can_read_territory(actor):
        # The area's organisations that have a cell: one index probe each, where the IN of
        # every cell of the area's organisations read them all (266 ms at 1 M pathways).
        has_cells = ReferralMonthlyFigure.objects.filter(**{own: OuterRef("pk")})
        return organisations.filter(Exists(has_cells)).order_by("name", "pk")
    ids = ReferralMonthlyFigure.objects.filter(**{f"{own}__in": organisations}).values(partner)
    return Organisation.objects.filter(pk__in=ids).order_by("name", "pk")


def areas_for(actor: Actor) -> QuerySet[EmploymentArea]:
    """The area filter's choices: the employment areas the actor coordinates (none for others)."""
    return EmploymentArea.objects.filter(pk__in=access.coordinated_area_ids(actor)).order_by(
        "departement", "name", "pk"
    )


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


UNNAMED_SERVICE = "Service non précisé"


@dataclass(frozen=True)
class _Group:
    """One row of a table by partner, area or service, before suppression: its key (None for
    referrals without a service), its name (None then too) and its `PARTNER_COLUMNS` counts."""

    key: int | None
    name: str | None
    counts: tuple[int, ...]


@dataclass(frozen=True)
class _PeriodSums:
    """What the dashboard reads from the cells, before any suppression: the sums of each month
    with cells (of the period; the grouping-sets read also has the previous period's), the
    previous period's sums, and the period's tables, each ordered by name then key."""

    months: dict[dt.date, dict[str, int]]
    previous: dict[str, int]
    partners: list[_Group]
    areas: list[_Group]
    services: list[_Group]


def _rows(groups: list[_Group], unnamed: str = "") -> list[PartnerRow]:
    """A table's rows, each column a group of cells protected together (its total is shown)."""
    columns = [protect([g.counts[i] for g in groups]) for i in range(len(PARTNER_COLUMNS))]
    return [
        PartnerRow(g.key or 0, g.name or unnamed, [column[i] for column in columns])
        for i, g in enumerate(groups)
    ]


def _grouped(period: QuerySet[ReferralMonthlyFigure], key: str, name: str) -> list[_Group]:
    """The period's counts grouped by `key` (a partner, an area, a service)."""
    rows = (
        period.values(key, name)
        .order_by(name, key)
        .annotate(**{c: Sum(c) for c in PARTNER_COLUMNS})
    )
    return [
        _Group(row[key], row[name], tuple(row[c] or 0 for c in PARTNER_COLUMNS)) for row in rows
    ]


def _period_sums_by_orm(actor: Actor, filters: StatisticsFilters, territorial: bool) -> _PeriodSums:
    """The sums read by the ORM, one query per grouping (the months, the previous period, each
    table): the SQLite fallback of `make run`, and the reference the grouping sets are tested
    against."""
    period = _scope(actor, filters).filter(
        month__gte=filters.first_month, month__lte=filters.last_month
    )
    months: dict[dt.date, dict[str, int]] = {}
    for row in period.values("month").order_by().annotate(**{c: Sum(c) for c in SUMMED}):
        values: dict[str, Any] = dict(row)
        months[values.pop("month")] = {c: values.get(c) or 0 for c in SUMMED}
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
    partner_field = _partner_field(actor, filters)
    own = _sides(filters.direction)[0]
    return _PeriodSums(
        months=months,
        previous=previous,
        partners=_grouped(period, f"{partner_field}_id", f"{partner_field}__name"),
        areas=(
            _grouped(period, f"{own}__employment_area_id", f"{own}__employment_area__name")
            if territorial
            else []
        ),
        services=_grouped(period, "receiver_service_id", "receiver_service__name"),
    )


# The tables of the grouping-sets read: their key in the cells read, the model naming them.
_KEYED_TABLES = {
    "partners": ("partner_key", Organisation),
    "areas": ("area_key", EmploymentArea),
    "services": ("service_key", Service),
}


def _period_sums_by_grouping_sets(
    actor: Actor, filters: StatisticsFilters, territorial: bool, alias: str
) -> _PeriodSums:
    """The same sums as `_period_sums_by_orm`, the cells read once (PostgreSQL).

    One statement: the scope's cells of the previous period and the period (the ORM's query,
    compiled) are read by one index range into a materialized CTE; from it, the sums of every
    column by month (the previous period's sums are its months') and, over the period alone,
    the tables' columns by `GROUPING SETS` (partner, area for a coordinator, service), their
    names joined to the few grouped rows and ordered there, as the ORM's `order_by(name, key)`
    (same columns, same collation). Why not every grouping in one `GROUPING SETS`: each set
    then sums all 27 columns of every row, where the tables need 5 (and none of the previous
    period) — the aggregation, not the read, was the cost (docs/performance.md)."""
    before = filters.previous
    # A previous period that starts before EARLIEST_MONTH counts nothing (zeros), as the ORM's.
    with_previous = before.first_month >= EARLIEST_MONTH
    own = _sides(filters.direction)[0]
    partner_field = _partner_field(actor, filters)
    keys: dict[str, Any] = {
        "cell_month": F("month"),
        "in_period": ExpressionWrapper(
            Q(month__gte=filters.first_month), output_field=BooleanField()
        ),
        "partner_key": F(f"{partner_field}_id"),
        "service_key": F("receiver_service_id"),
    }
    tables = dict(_KEYED_TABLES)
    if territorial:
        keys["area_key"] = F(f"{own}__employment_area_id")
    else:
        del tables["areas"]
    cells = (
        _scope(actor, filters)
        .filter(
            month__gte=before.first_month if with_previous else filters.first_month,
            month__lte=filters.last_month,
        )
        .order_by()
        .values(*SUMMED, **keys)
    )
    sums = _PeriodSums(
        months={}, previous=dict.fromkeys(SUMMED, 0), partners=[], areas=[], services=[]
    )
    try:
        cells_sql, params = cells.query.get_compiler(using=alias).as_sql()
    except EmptyResultSet:  # a scope of no organisation (`.none()`): nothing to read
        return sums
    quote = connections[alias].ops.quote_name
    # The cells' columns keep their names in the CTE (the scope's SELECT lists them as such).
    db_column = {
        f.name: quote(f.column) for f in ReferralMonthlyFigure._meta.concrete_fields if f.column
    }

    def summed(columns: tuple[str, ...]) -> str:
        return f"ARRAY[{', '.join(f'SUM({db_column[c]})::bigint' for c in columns)}]"

    def each_table(template: str) -> str:
        return " ".join(template.format(table=t, key=k) for t, (k, _m) in tables.items())

    joins = " ".join(
        f"LEFT JOIN {quote(model._meta.db_table)} AS {table} ON {table}.id = grouped.{key}"
        for table, (key, model) in tables.items()
    )
    # Identifiers from the models and this module; every value is a parameter of the scope's.
    sql = f"""
        WITH cell AS MATERIALIZED ({cells_sql}),
        months AS (SELECT cell_month, {summed(SUMMED)} AS sums FROM cell GROUP BY cell_month),
        grouped AS (
            SELECT CASE {each_table("WHEN GROUPING({key}) = 0 THEN '{table}'")} END AS grouping_set,
                {", ".join(key for key, _m in tables.values())},
                {summed(PARTNER_COLUMNS)} AS sums
            FROM cell WHERE in_period
            GROUP BY GROUPING SETS ({", ".join(f"({key})" for key, _m in tables.values())})
        )
        SELECT 'months' AS grouping_set, cell_month, NULL::integer AS key, NULL AS name, sums
        FROM months
        UNION ALL
        SELECT grouping_set, NULL,
            CASE grouping_set {each_table("WHEN '{table}' THEN grouped.{key}")} END,
            CASE grouping_set {each_table("WHEN '{table}' THEN {table}.name")} END,
            sums
        FROM grouped {joins}
        ORDER BY grouping_set, name, key
    """  # noqa: S608
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for grouping_set, month, key, name, values in rows:
        if grouping_set == "months":
            sums.months[month] = dict(zip(SUMMED, values, strict=True))
        else:
            getattr(sums, grouping_set).append(_Group(key, name, tuple(values)))
    if with_previous:
        previous_months = [m for m in before.months if m in sums.months]
        for c in SUMMED:
            sums.previous[c] = sum(sums.months[m][c] for m in previous_months)
    return sums


def _period_sums(
    actor: Actor, filters: StatisticsFilters, territorial: bool, *, grouping_sets: bool | None
) -> _PeriodSums:
    alias = router.db_for_read(ReferralMonthlyFigure)
    if grouping_sets is None:
        grouping_sets = connections[alias].vendor == "postgresql"
    if grouping_sets:
        return _period_sums_by_grouping_sets(actor, filters, territorial, alias)
    return _period_sums_by_orm(actor, filters, territorial)


def referral_statistics_for(actor: Actor, filters: StatisticsFilters) -> ReferralStatistics:
    """The organisation's referral figures over the filters' period, small cells suppressed
    (for a coordinator, those of the organisations of their areas).

    Nothing but an empty scope for an actor the gate's table refuses (the service asks the
    gate: parcours.services.referral_statistics); FilterError (field `partner`, `area`) for a
    partner without figures or an area the actor does not cover. A handful of queries, whatever
    the period: the partner's name, the cells (one read on PostgreSQL, grouped every way; on
    SQLite the months, the previous period, the groupings), the last refresh."""
    return _statistics_for(actor, filters, grouping_sets=None)


def _statistics_for(
    actor: Actor, filters: StatisticsFilters, *, grouping_sets: bool | None
) -> ReferralStatistics:
    """`referral_statistics_for`, its read of the cells chosen (None: by the database's
    vendor); the tests compare the two reads."""
    territorial = access.can_read_territory(actor)
    area_name = ""
    if filters.area_id is not None:
        area = areas_for(actor).filter(pk=filters.area_id).first()
        if area is None:
            raise FilterError("Choisissez un bassin d'emploi de la liste.", field="area")
        area_name = area.name
    partner_name = ""
    if filters.partner_id is not None:
        partner = partners_for(actor, filters.direction).filter(pk=filters.partner_id).first()
        if partner is None:
            raise FilterError("Choisissez un partenaire de la liste.", field="partner")
        partner_name = partner.name
    read = _period_sums(actor, filters, territorial, grouping_sets=grouping_sets)
    by_month: list[tuple[dt.date, dict[str, int]]] = [
        (month, read.months.get(month, {})) for month in filters.months
    ]
    totals = {c: sum(sums.get(c, 0) for _m, sums in by_month) for c in SUMMED}
    indicators = [_indicator_figures(i, totals, read.previous, by_month) for i in INDICATORS]
    # Each column's total over the period: the months' totals, already summed.
    partner_totals = [protect_one(totals.get(c, 0)) for c in PARTNER_COLUMNS]
    last_refresh = ReferralFigureRefresh.objects.order_by("-started_at").first()
    return ReferralStatistics(
        organisation=actor.organisation,
        filters=filters,
        partner_name=partner_name,
        indicators=indicators,
        refusal_reasons=_labelled(REFUSAL_COLUMNS, totals),
        outcomes=_labelled(OUTCOME_COLUMNS, totals),
        partner_columns=PARTNER_COLUMNS,
        partners=_rows(read.partners),
        partner_totals=partner_totals,
        refreshed_at=last_refresh.finished_at if last_refresh else None,
        territorial=territorial,
        area_name=area_name,
        areas_label=", ".join(a.name for a in areas_for(actor)) if territorial else "",
        areas=_rows(read.areas),
        services=_rows(read.services, UNNAMED_SERVICE),
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
    if statistics.territorial:
        writer.writerow(["Territoire", statistics.areas_label])
        writer.writerow(["Bassin d'emploi", statistics.area_name or "Tous les bassins"])
    else:
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
    headers = [PARTNER_COLUMN_LABELS[c] for c in statistics.partner_columns]
    totals = ["Total", *(display(c) for c in statistics.partner_totals)]
    for title, rows in grouped_tables(statistics):
        writer.writerow([])
        writer.writerow([title, *headers])
        writer.writerows([[row.name, *(display(c) for c in row.cells)] for row in rows])
        writer.writerow(totals)


def grouped_tables(statistics: ReferralStatistics) -> list[tuple[str, list[PartnerRow]]]:
    """The tables of counts by partner (by organisation of the territory for a coordinator),
    by area (a coordinator's) and by service, each with the period's totals."""
    tables = [
        ("Organisme du territoire" if statistics.territorial else "Partenaire", statistics.partners)
    ]
    if statistics.territorial:
        tables.append(("Bassin d'emploi", statistics.areas))
    tables.append(("Service demandé", statistics.services))
    return tables
