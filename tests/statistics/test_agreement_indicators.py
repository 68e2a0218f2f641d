"""The agreement indicators (issue 18): every catalogue formula on the hand-built set
(conftest.py: known referrals → known monthly figures → known value), the reporting periods,
small-cell suppression, the gate (a non-party 404, a counsellor 403) and the service's checks."""

import datetime as dt
from decimal import Decimal

import pytest

from parcours.dates import add_months
from parcours.errors import InvalidInput, NotAllowed
from parcours.indicators import AVAILABLE_CODES, BY_CODE, CATALOGUE
from parcours.models import (
    Agreement,
    AgreementIndicator,
    AgreementParty,
    AgreementPartyStatus,
    ReferralMonthlyFigure,
    Role,
)
from parcours.selectors.agreement_indicators import (
    SUPPRESSED_TEXT,
    Period,
    display,
    periods_of,
    report_rows,
)
from parcours.services.agreement_indicators import (
    agreement_indicators_overview,
    agreement_indicators_report,
    agreement_indicators_set,
)
from tests.factories import OrganisationFactory
from tests.statistics.conftest import _actor

pytestmark = pytest.mark.django_db

# Per copy of the pattern (conftest.py): 16 sent, 13 answered (8 accepted by their deadline at
# 3 days of 7; the 5 refusals carry no deadline, so none is "on time"), 29 days of answering,
# 6 first appointments at 7 days (all by the deadline, 15 days after acceptance), 4 attended
# and 2 missed, 3 closed (2 jobs), 5 refused (3 « plus de place », 2 « conditions d'accès »).
# Five copies: every count at least 5.
EXPECTED = {
    "answered_on_time_rate": Decimal("50.0"),  # 40 ÷ 80
    "answer_rate": Decimal("81.2"),  # 65 ÷ 80 = 81.25 %, rounded as the dashboard (81,2 %)
    "answer_days": Decimal("2.2"),  # 145 days ÷ 65
    "appointment_days": Decimal("7.0"),  # 210 days ÷ 30
    "show_rate": Decimal("66.7"),  # 20 ÷ 30
    "positive_exit_rate": Decimal("66.7"),  # (10 + 0) ÷ 15
    "placed": Decimal("10"),  # 10 jobs + 0 trainings
    "refusal_rate": Decimal("38.5"),  # 25 ÷ 65
    "refusal_not_eligible_rate": Decimal("40.0"),  # 10 ÷ 25
    "refusal_no_capacity_rate": Decimal("60.0"),  # 15 ÷ 25
    "refusal_wrong_service_rate": Decimal("0.0"),  # 0 ÷ 25: zero names nobody
    "refusal_already_followed_rate": Decimal("0.0"),
    "refusal_person_declined_rate": Decimal("0.0"),
    "refusal_other_rate": Decimal("0.0"),
    "appointment_on_time_rate": Decimal("75.0"),  # 30 ÷ 40 accepted
}


def _agreement(world, *, starts_on=None, codes=AVAILABLE_CODES, period="monthly", target="50"):
    agreement = Agreement.objects.create(
        name="Convention SPE – SIAE",
        level="local",
        starts_on=starts_on or add_months(world.month, -3),
        proposed_by=world.home,
    )
    for organisation in (world.home, world.siae):
        AgreementParty.objects.create(
            agreement=agreement,
            organisation=organisation,
            status=AgreementPartyStatus.ACCEPTED,
            decided_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
    for code in codes:
        AgreementIndicator.objects.create(
            agreement=agreement, code=code, target=Decimal(target), period=period
        )
    return agreement


def _values(report, period_first_month):
    return {
        item.annexed.code: next(
            p.value for p in item.periods if p.period.first_month == period_first_month
        )
        for item in report.indicators
    }


def test_the_refresh_counts_the_delays_met(world):
    cell = ReferralMonthlyFigure.objects.get()
    assert (cell.answered_on_time, cell.appointment_on_time) == (40, 30)


def test_every_available_indicator_has_its_expected_value(world):
    agreement = _agreement(world)
    report = agreement_indicators_report(actor=world.manager, agreement_id=agreement.pk)
    values = _values(report, world.month)
    assert set(EXPECTED) == set(AVAILABLE_CODES)  # no formula left untested
    assert {code: v.value for code, v in values.items()} == EXPECTED


def test_committees_are_described_but_not_available():
    committees = BY_CODE["committees_held"]
    assert not committees.available and "Pas encore disponible" in committees.definition
    assert "committees_held" not in AVAILABLE_CODES
    assert all(i.label and i.definition and i.formula for i in CATALOGUE)


def test_a_quarter_sums_its_months_and_an_empty_month_is_not_computable(world):
    agreement = _agreement(world, codes=["answer_rate", "placed"], period="quarterly")
    report = agreement_indicators_report(actor=world.manager, agreement_id=agreement.pk)
    quarter_start = world.month.replace(month=(world.month.month - 1) // 3 * 3 + 1)
    values = _values(report, quarter_start)
    assert values["answer_rate"].value == Decimal("81.2")
    assert values["placed"].value == Decimal("10")
    monthly = _agreement(world, codes=["answer_rate"], period="monthly")
    monthly.name = "autre"
    report = agreement_indicators_report(actor=world.manager, agreement_id=monthly.pk)
    empty = _values(report, add_months(world.month, 1))["answer_rate"]
    assert (empty.value, empty.suppressed, display(empty, "rate")) == (None, False, "—")


def test_figures_before_the_agreement_or_with_a_non_party_do_not_count(world):
    agreement = _agreement(world, starts_on=add_months(world.month, 1), codes=["placed"])
    report = agreement_indicators_report(actor=world.manager, agreement_id=agreement.pk)
    assert all(p.period.first_month > world.month for p in report.indicators[0].periods)
    outsider = OrganisationFactory()
    ReferralMonthlyFigure.objects.update(receiver_organisation=outsider)
    agreement = _agreement(world, codes=["placed"])
    report = agreement_indicators_report(actor=world.manager, agreement_id=agreement.pk)
    value = _values(report, world.month)["placed"]
    assert value.value == 0 and not value.suppressed


def test_small_cells_are_not_shown_and_a_rate_says_why(small_world):
    agreement = _agreement(small_world)
    report = agreement_indicators_report(actor=small_world.manager, agreement_id=agreement.pk)
    values = _values(report, small_world.month)
    # One copy: 16 sent, 13 answered (shown), 8 on time, 2 jobs (small), 5 refused, 3 no capacity.
    assert values["answer_rate"].value == Decimal("81.2")  # 13 ÷ 16
    assert values["answered_on_time_rate"].value == Decimal("50.0")  # 8 ÷ 16
    for code in ("placed", "positive_exit_rate", "show_rate", "refusal_no_capacity_rate"):
        assert values[code].suppressed and values[code].value is None, code
    assert display(values["positive_exit_rate"], "rate") == SUPPRESSED_TEXT
    assert display(values["placed"], "count") == SUPPRESSED_TEXT
    rows = report_rows(report)
    assert not any("< 5" in cell for row in rows for cell in row)


def test_deviation_and_direction(world):
    agreement = _agreement(world, codes=["answer_rate", "answer_days"], target="90")
    AgreementIndicator.objects.filter(code="answer_days").update(target=Decimal("2"))
    report = agreement_indicators_report(actor=world.manager, agreement_id=agreement.pk)
    by_code = {item.annexed.code: item for item in report.indicators}
    rate = next(p for p in by_code["answer_rate"].periods if p.period.first_month == world.month)
    days = next(p for p in by_code["answer_days"].periods if p.period.first_month == world.month)
    assert rate.on_target is False and rate.deviation(Decimal("90")) == Decimal("-8.8")
    assert days.on_target is False and days.deviation(Decimal("2")) == Decimal("0.2")
    # The dashboard's block: the newest shown period of each indicator.
    [overview] = agreement_indicators_overview(actor=world.manager)
    assert (overview.agreement, overview.annexed) == (agreement, 2)
    assert {m.annexed.code for m in overview.off_target} == {"answer_rate", "answer_days"}


def test_periods_follow_the_calendar_and_stop_at_the_end():
    agreement = Agreement(starts_on=dt.date(2025, 2, 15), ends_on=dt.date(2026, 4, 30))
    quarters = periods_of(agreement, "quarterly", today_month=dt.date(2026, 10, 1))
    assert [p.label for p in quarters] == [
        "T2 2026",
        "T1 2026",
        "T4 2025",
        "T3 2025",
        "T2 2025",
        "T1 2025",
    ]
    assert quarters[0] == Period(dt.date(2026, 4, 1), dt.date(2026, 6, 1), "quarterly")
    years = periods_of(agreement, "yearly", today_month=dt.date(2026, 10, 1))
    assert [p.code for p in years] == ["2026", "2025"]
    months = periods_of(agreement, "monthly", today_month=dt.date(2026, 10, 1))
    assert len(months) == 12 and months[0].code == "2026-04"


def test_a_non_party_finds_nothing_and_a_counsellor_is_refused(world):
    agreement = _agreement(world, codes=["placed"])
    stranger = _actor(OrganisationFactory(), Role.MANAGER)
    with pytest.raises(Agreement.DoesNotExist):
        agreement_indicators_report(actor=stranger, agreement_id=agreement.pk)
    with pytest.raises(NotAllowed, match="réservés aux responsables"):
        agreement_indicators_report(actor=world.counsellor, agreement_id=agreement.pk)
    with pytest.raises(NotAllowed):
        agreement_indicators_set(actor=world.counsellor, agreement_id=agreement.pk, indicators=[])
    assert agreement_indicators_overview(actor=world.counsellor) == []


def test_signatories_set_the_indicators_with_history(world):
    agreement = _agreement(world, codes=["placed"])
    admin = _actor(world.siae, Role.ADMIN)
    agreement_indicators_set(
        actor=admin,
        agreement_id=agreement.pk,
        indicators=[
            {"code": "show_rate", "target": "70", "period": "quarterly"},
            {"code": "answer_days", "target": "3.5", "period": "yearly"},
        ],
    )
    annexed = {i.code: (i.target, i.period) for i in agreement.indicators.all()}
    assert annexed == {
        "show_rate": (Decimal("70.00"), "quarterly"),
        "answer_days": (Decimal("3.50"), "yearly"),
    }
    history = AgreementIndicator.history.filter(agreement_id=agreement.pk)  # type: ignore[attr-defined]
    assert {h.history_change_reason for h in history} >= {
        "Indicateur retiré par Chantier Les Jardins",
        "Indicateur annexé par Chantier Les Jardins",
    }
    # The parties' answers stand: annexing binds nobody further.
    assert set(agreement.signatures.values_list("status", flat=True)) == {"accepted"}


@pytest.mark.parametrize(
    "indicators, message",
    [
        ("show_rate", "Donnez la liste"),
        ([{"code": "committees_held", "target": "1", "period": "yearly"}], "du catalogue"),
        ([{"code": "nope", "target": "1", "period": "yearly"}], "du catalogue"),
        ([{"code": "show_rate", "target": "abc", "period": "yearly"}], "doit être un nombre"),
        ([{"code": "show_rate", "target": "120", "period": "yearly"}], "entre 0 et 100"),
        ([{"code": "show_rate", "target": "-1", "period": "yearly"}], "entre 0 et 100"),
        ([{"code": "show_rate", "target": "NaN", "period": "yearly"}], "entre 0 et 100"),
        ([{"code": "show_rate", "target": "5", "period": "weekly"}], "périodicité"),
        (
            [{"code": "show_rate", "target": "5", "period": "yearly"}] * 2,
            "annexé deux fois",
        ),
    ],
)
def test_bad_indicators_are_refused_in_french(world, indicators, message):
    agreement = _agreement(world, codes=["placed"])
    with pytest.raises(InvalidInput, match=message):
        agreement_indicators_set(
            actor=world.manager, agreement_id=agreement.pk, indicators=indicators
        )
    assert list(agreement.indicators.values_list("code", flat=True)) == ["placed"]
