"""Each figure's formula on the hand-built set (conftest.py): the refresh's cells, then the
selector's indicators."""

import pytest

from parcours.errors import NotAllowed
from parcours.models import ReferralMonthlyFigure, Role
from parcours.selectors.referral_statistics import (
    RECEIVED,
    referral_statistics_for,
    statistics_filters,
)
from parcours.services.referral_statistics import (
    referral_statistics_partners,
    referral_statistics_read,
)
from tests.statistics.conftest import _actor

pytestmark = pytest.mark.django_db

PER_COPY = {
    "sent": 16,
    "answered": 13,
    "answer_seconds": 29 * 86400,
    "accepted": 8,
    "refused": 5,
    "refused_no_capacity": 3,
    "refused_not_eligible": 2,
    "refused_wrong_service": 0,
    "refused_already_followed": 0,
    "refused_person_declined": 0,
    "refused_other": 0,
    "expired": 1,
    "withdrawn": 0,
    "transferred": 0,
    "with_appointment": 6,
    "appointment_seconds": 6 * 7 * 86400,
    "appointments_attended": 4,
    "appointments_no_show": 2,
    "closed": 3,
    "outcome_job": 2,
    "outcome_training": 0,
    "outcome_support_started": 1,
    "outcome_support_completed": 0,
    "outcome_not_reached": 0,
    "outcome_other": 0,
}


def test_the_refresh_writes_one_cell_with_every_count(world):
    cell = ReferralMonthlyFigure.objects.get()
    assert (cell.month, cell.sender_organisation, cell.receiver_organisation) == (
        world.month,
        world.home,
        world.siae,
    )
    assert cell.employment_area_id == world.siae.employment_area_id
    assert {name: getattr(cell, name) for name in PER_COPY} == {
        name: 5 * value for name, value in PER_COPY.items()
    }


def _filters(world, **kwargs):
    return statistics_filters(first_month=world.month, last_month=world.month, **kwargs)


def test_each_indicator_of_the_senders_dashboard(world):
    statistics = referral_statistics_for(world.manager, _filters(world))
    values = {f.indicator.code: f.total.value for f in statistics.indicators}
    assert values == {
        "sent": 80,
        "answered": 65,
        "answer_rate": pytest.approx(65 / 80, abs=1e-3),
        "answer_days": pytest.approx(145 / 65, abs=0.05),
        "accepted": 40,
        "acceptance_rate": pytest.approx(40 / 65, abs=1e-3),
        "refused": 25,
        "expired": 5,
        "appointment_days": 7.0,
        "appointments_attended": 20,
        "appointments_no_show": 10,
        "show_rate": pytest.approx(20 / 30, abs=1e-3),
        "no_show_rate": pytest.approx(10 / 30, abs=1e-3),
        "closed": 15,
        "positive_exits": 10,
        "positive_exit_rate": pytest.approx(10 / 15, abs=1e-3),
        # The world's referrals have no alert row (tests/statistics/test_territory.py has).
        "alerts_raised": 0,
        "alerts_resolved": 0,
    }
    assert not any(f.total.suppressed for f in statistics.indicators)
    reasons = {r.code: r.cell.value for r in statistics.refusal_reasons}
    assert reasons == {
        "not_eligible": 10,
        "no_capacity": 15,
        "wrong_service": 0,
        "already_followed": 0,
        "person_declined": 0,
        "other": 0,
    }
    outcomes = {o.code: o.cell.value for o in statistics.outcomes}
    assert (outcomes["job"], outcomes["support_started"], outcomes["training"]) == (10, 5, 0)
    [partner] = statistics.partners
    assert (partner.partner_id, partner.name) == (world.siae.pk, "Chantier Les Jardins")
    assert [c.value for c in partner.cells] == [80, 40, 25, 20, 10]


def test_the_months_series_and_the_trend(world):
    filters = statistics_filters()  # the last 12 months
    statistics = referral_statistics_for(world.manager, filters)
    sent = statistics.indicator("sent")
    assert [m.cell.value for m in sent.months if m.month == world.month] == [80]
    assert sum(m.cell.value or 0 for m in sent.months) == 80
    # Nothing sent in the previous period: a count's trend is not computable (no base).
    assert sent.previous.value == 0 and sent.trend is None


def test_the_receivers_dashboard_sees_the_same_referrals_from_the_other_side(world):
    manager = _actor(world.siae, Role.MANAGER)
    statistics = referral_statistics_for(manager, _filters(world, direction=RECEIVED))
    assert statistics.indicator("sent").total.value == 80
    assert [p.name for p in statistics.partners] == ["France Travail Lens"]
    # The sender sees nothing received.
    mine = referral_statistics_for(world.manager, _filters(world, direction=RECEIVED))
    assert mine.indicator("sent").total.value == 0


def test_the_service_asks_the_gate_first_and_the_selector_shows_a_refused_role_nothing(world):
    # The doors call the service: a counsellor is refused with the rule's French message.
    with pytest.raises(NotAllowed) as refused:
        referral_statistics_read(actor=world.counsellor, filters=_filters(world))
    assert "responsable" in str(refused.value).lower()
    with pytest.raises(NotAllowed):
        referral_statistics_partners(actor=world.counsellor, direction=RECEIVED)
    # The selector beneath it scopes by `access`: nothing for that role, whatever the caller.
    assert (
        referral_statistics_for(world.counsellor, _filters(world)).indicator("sent").total.value
        == 0
    )
    # The manager reads through the service what the selector gives.
    assert (
        referral_statistics_read(actor=world.manager, filters=_filters(world))
        .indicator("sent")
        .total.value
        == 80
    )
