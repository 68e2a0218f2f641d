"""The dashboard's two reads of the monthly cells (issue 18): on PostgreSQL one query grouped by
`GROUPING SETS` (the months of the previous period and of the period; the period's partners,
areas and services), elsewhere the ORM's one query per grouping (the SQLite fallback). On a
hand-made set of cells — organisations of three areas, two of them with the same name, names
whose order depends on the collation, services with the same name and referrals without a
service, months without cells, small counts and large ones — the two give the same statistics,
field by field, for a manager and a coordinator, sent and received, with a partner filter and
an area filter, and when the previous period starts before the earliest month."""

import dataclasses
import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from parcours.models import ReferralMonthlyFigure, Role
from parcours.request_memo import request_memo
from parcours.selectors import referral_statistics as stats
from parcours.selectors.referral_statistics import (
    RECEIVED,
    SENT,
    SUMMED,
    UNNAMED_SERVICE,
    ReferralStatistics,
    statistics_filters,
)
from tests.factories import EmploymentAreaFactory, OrganisationFactory, ServiceFactory

from .conftest import _actor, month_ago

pytestmark = pytest.mark.django_db


@dataclasses.dataclass
class Cells:
    lens: object
    arras: object
    ft: object
    mission_lens: object
    mission_arras: object
    e2c: object
    cap: object
    zebre: object
    manager: object
    coordinator: object


def _count(cell: int, month: int, column: int) -> int:
    """A count from 0 to 10, many under 5 (suppressed), some cells nine times larger."""
    value = (cell * 7 + month * 3 + column * 5) % 11
    return value * 9 if (cell + month) % 4 == 0 else value


def _small(cell: int, month: int, column: int) -> int:
    """A count from 0 to 4: a small partner's, in one month only."""
    return (cell + month + column) % 5


def _cells(pairs, months: list[dt.date], count=_count, gaps=True) -> list[ReferralMonthlyFigure]:
    now = timezone.now()
    return [
        ReferralMonthlyFigure(
            month=month,
            sender_organisation=sender,
            receiver_organisation=receiver,
            receiver_service=service,
            employment_area_id=receiver.employment_area_id,
            refreshed_at=now,
            **{c: count(i, m, j) for j, c in enumerate(SUMMED)},
        )
        for m, month in enumerate(months)
        for i, (sender, receiver, service) in enumerate(pairs)
        # Some months of some pairs have no cell; every fifth month has none at all.
        if not gaps or (m % 5 != 2 and (i + m) % 3 != 1)
    ]


@pytest.fixture
def cells(db) -> Cells:
    lens = EmploymentAreaFactory(name="Lens – Hénin")
    arras = EmploymentAreaFactory(name="Arras")
    lille = EmploymentAreaFactory(name="Lille")  # not covered by the coordinator
    ft = OrganisationFactory(name="France Travail Lens", employment_area=lens)
    mission_lens = OrganisationFactory(name="Mission locale", employment_area=lens)
    mission_arras = OrganisationFactory(name="Mission locale", employment_area=arras)
    e2c = OrganisationFactory(name="école de la 2e chance", employment_area=arras)
    cap = OrganisationFactory(name="Cap emploi", employment_area=arras)
    zebre = OrganisationFactory(name="Zèbre insertion", employment_area=lille)
    # Small partners: a few referrals in one month (their rows are suppressed).
    petit = OrganisationFactory(name="Association Petit Volume", employment_area=arras)
    ccas = OrganisationFactory(name="CCAS d'Arras", employment_area=arras)
    accompagnement = ServiceFactory(organisation=mission_lens, name="Accompagnement")
    accompagnement_bis = ServiceFactory(organisation=mission_arras, name="Accompagnement")
    formation = ServiceFactory(organisation=e2c, name="formation qualifiante")
    emploi = ServiceFactory(organisation=cap, name="Emploi accompagné")
    inscription = ServiceFactory(organisation=ft, name="Inscription")
    chantier = ServiceFactory(organisation=zebre, name="Chantier")
    atelier = ServiceFactory(organisation=petit, name="Atelier")
    permanence = ServiceFactory(organisation=mission_lens, name="Permanence")
    pairs = [
        (ft, mission_lens, accompagnement),
        (ft, mission_arras, accompagnement_bis),
        (ft, mission_lens, None),
        (ft, e2c, formation),
        (ft, cap, emploi),
        (ft, zebre, chantier),
        (ft, zebre, None),
        (mission_lens, ft, inscription),
        (mission_arras, ft, None),
        (mission_arras, e2c, None),
        (e2c, cap, emploi),
        (cap, ft, inscription),
        (zebre, ft, inscription),
        (zebre, e2c, formation),
    ]
    # Every month from two years ago to this one, and the first months of the year 2000.
    months = [month_ago(m) for m in range(26, -1, -1)]
    early = [dt.date(2000, m, 1) for m in range(1, 5)]
    small = [(ft, petit, atelier), (ccas, ft, inscription), (zebre, mission_lens, permanence)]
    ReferralMonthlyFigure.objects.bulk_create(
        _cells(pairs, months)
        + _cells(small, [month_ago(3)], _small, gaps=False)
        + _cells(pairs[:3], early)
    )
    departement = OrganisationFactory(name="Département du Pas-de-Calais", employment_area=lille)
    coordinator = _actor(departement, Role.COORDINATOR)
    coordinator.user.memberships.get().employment_areas.set([lens, arras])
    return Cells(
        lens=lens,
        arras=arras,
        ft=ft,
        mission_lens=mission_lens,
        mission_arras=mission_arras,
        e2c=e2c,
        cap=cap,
        zebre=zebre,
        manager=_actor(ft, Role.MANAGER),
        coordinator=coordinator,
    )


def _both(actor, filters) -> tuple[ReferralStatistics, ReferralStatistics]:
    by_sets = stats._statistics_for(actor, filters, grouping_sets=True)
    by_orm = stats._statistics_for(actor, filters, grouping_sets=False)
    for field in dataclasses.fields(ReferralStatistics):
        assert getattr(by_sets, field.name) == getattr(by_orm, field.name), field.name
    return by_sets, by_orm


def _period(**kwargs):
    return statistics_filters(first_month=month_ago(6), last_month=month_ago(1), **kwargs)


def _shown(rows) -> list[tuple[str, list]]:
    return [(row.name, [c.value for c in row.cells]) for row in rows]


CASES = [
    # (who, direction, partner, area)
    ("manager", SENT, None, None),
    ("manager", RECEIVED, None, None),
    ("manager", SENT, "e2c", None),
    ("manager", RECEIVED, "zebre", None),
    ("coordinator", SENT, None, None),
    ("coordinator", RECEIVED, None, None),
    ("coordinator", SENT, "mission_arras", None),
    ("coordinator", RECEIVED, "ft", None),
    ("coordinator", SENT, None, "arras"),
    ("coordinator", RECEIVED, None, "lens"),
    ("coordinator", RECEIVED, "cap", "arras"),
]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="GROUPING SETS: PostgreSQL")
@pytest.mark.parametrize(("who", "direction", "partner", "area"), CASES)
def test_the_grouping_sets_give_the_orm_s_figures(cells, who, direction, partner, area):
    actor = getattr(cells, who)
    filters = _period(
        direction=direction,
        partner_id=getattr(cells, partner).pk if partner else None,
        area_id=getattr(cells, area).pk if area else None,
    )
    figures, _ = _both(actor, filters)
    # The set is not trivial for this case: figures now and before, rows to order and hide.
    sent = figures.indicator("sent")
    assert sent.total.value and sent.previous.value
    assert 0 in [m.cell.value for m in sent.months]  # a month without cells
    assert figures.partners and figures.services
    tables = figures.partners + figures.areas + figures.services
    if partner is None:  # a small partner's row, or a small service's
        assert any(c.suppressed for row in tables for c in row.cells)
    assert figures.territorial is (who == "coordinator")
    assert bool(figures.areas) is (who == "coordinator")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="GROUPING SETS: PostgreSQL")
def test_the_tables_keep_the_orm_s_names_and_order(cells):
    figures, _ = _both(cells.manager, _period())
    # Same names ordered by id; a service without a name is « Service non précisé », last.
    services = [row.name for row in figures.services]
    assert services.count("Accompagnement") == 2
    assert services[-1] == UNNAMED_SERVICE
    partners = [row.partner_id for row in figures.partners]
    assert len(partners) == len(set(partners)) == 6
    territory, _ = _both(cells.coordinator, _period())
    names = [row.name for row in territory.partners]
    assert names.count("Mission locale") == 2
    missions = [r.partner_id for r in territory.partners if r.name == "Mission locale"]
    assert missions == sorted(missions)
    assert {row.name for row in territory.areas} == {"Lens – Hénin", "Arras"}
    assert "Zèbre insertion" not in names  # outside the areas covered


@pytest.mark.skipif(connection.vendor != "postgresql", reason="GROUPING SETS: PostgreSQL")
def test_a_previous_period_before_the_earliest_month_counts_nothing_in_both(cells):
    filters = statistics_filters(first_month=dt.date(2000, 2, 1), last_month=dt.date(2000, 4, 1))
    assert filters.previous.first_month < stats.EARLIEST_MONTH
    figures, _ = _both(cells.manager, filters)
    # January 2000 has cells, yet the previous period (Nov. 1999 – Jan. 2000) shows zero.
    assert figures.indicator("sent").total.value
    assert all(f.previous.value in (0, None) for f in figures.indicators)
    assert figures.indicator("sent").previous.value == 0
    # A period whose previous one starts exactly at the earliest month counts it.
    later = statistics_filters(first_month=dt.date(2000, 3, 1), last_month=dt.date(2000, 4, 1))
    figures, _ = _both(cells.manager, later)
    assert figures.indicator("sent").previous.value


@pytest.mark.skipif(connection.vendor != "postgresql", reason="GROUPING SETS: PostgreSQL")
def test_a_scope_of_nothing_reads_nothing_in_both(cells):
    counsellor = _actor(cells.ft, Role.COUNSELLOR)
    figures, _ = _both(counsellor, _period())
    assert figures.indicator("sent").total.value == 0
    assert figures.partners == figures.services == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="GROUPING SETS: PostgreSQL")
def test_postgresql_reads_the_cells_once(cells, django_assert_num_queries):
    filters = _period()
    # As in a request: the coordinator's areas read once, then the cells (every grouping),
    # the last refresh and the areas' label — where the ORM reads the months, the previous
    # period and each of the three tables.
    with request_memo(), django_assert_num_queries(4):
        by_sets = stats.referral_statistics_for(cells.coordinator, filters)
    with request_memo(), django_assert_num_queries(8):
        by_orm = stats._statistics_for(cells.coordinator, filters, grouping_sets=False)
    assert by_sets == by_orm
    with request_memo(), django_assert_num_queries(2):
        stats.referral_statistics_for(cells.manager, filters)  # the cells, the last refresh
