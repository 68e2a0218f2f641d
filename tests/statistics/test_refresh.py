"""The refresh: incremental (only the months that may have moved), idempotent, and figures that
survive the retention job's anonymisation."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from parcours.models import Person, Referral, ReferralFigureRefresh, ReferralMonthlyFigure
from parcours.services.erasure import person_erase_now
from parcours.services.referral_figures import referral_figures_refresh
from parcours.services.retention import retention_apply

from .conftest import month_ago, paris

pytestmark = pytest.mark.django_db

COUNTS = [
    f.name
    for f in ReferralMonthlyFigure._meta.concrete_fields
    if f.name not in ("id", "refreshed_at")
]


def _figures() -> list[dict]:
    return list(
        ReferralMonthlyFigure.objects.order_by(
            "month", "sender_organisation", "receiver_service"
        ).values(*COUNTS)
    )


def test_a_second_run_writes_the_same_figures(world):
    before = _figures()
    referral_figures_refresh(full=True)
    assert _figures() == before
    referral_figures_refresh()
    assert _figures() == before
    assert ReferralFigureRefresh.objects.count() == 3


def test_an_answer_moves_the_month_it_was_sent_in_only(world):
    # An old month nobody touched keeps its cells as they are: it is not recomputed.
    untouched = ReferralMonthlyFigure.objects.get()
    old = ReferralMonthlyFigure.objects.create(
        **{f: getattr(untouched, f) for f in ("sender_organisation", "receiver_organisation")},
        employment_area_id=untouched.employment_area_id,
        month=month_ago(24),
        sent=42,
        refreshed_at=timezone.now(),
    )
    waiting = next(r for r in world.referrals if r.status == "sent" and r.history.exists())
    waiting.status = "refused"
    waiting.refused_at = waiting.sent_at + dt.timedelta(days=2)
    waiting.refusal_reason = "other"
    waiting.save()  # its updated_at moves, as every service's save does

    report = referral_figures_refresh(months_back=0)  # the window: this month only

    assert set(report.months) == {month_ago(0), world.month}
    cell = ReferralMonthlyFigure.objects.get(month=world.month)
    assert (cell.refused, cell.refused_other, cell.answered) == (26, 1, 66)
    old.refresh_from_db()
    assert old.sent == 42


def test_a_referral_restamped_into_another_month_leaves_its_first_month(world):
    moved = next(r for r in world.referrals if r.status == "sent" and r.history.exists())
    moved.sent_at = paris(month_ago(1).replace(day=3))
    moved.save()

    report = referral_figures_refresh(months_back=0)

    assert {world.month, month_ago(1)} <= set(report.months)
    assert ReferralMonthlyFigure.objects.get(month=world.month).sent == 79
    assert ReferralMonthlyFigure.objects.get(month=month_ago(1)).sent == 1


def test_the_figures_survive_anonymisation(world):
    before = _figures()
    people = list(Person.objects.filter(pathways__referrals__in=world.referrals[:40]).distinct())
    with transaction.atomic():
        for person in people:
            person_erase_now(person_id=person.pk, now=timezone.now())
    assert Person.objects.filter(pk=people[0].pk, anonymised_at__isnull=False).exists()
    # And the whole retention job, far enough ahead that every record is archived and
    # anonymised.
    later = timezone.now() + dt.timedelta(days=20 * 365)
    retention_apply(now=later)
    assert Referral.objects.filter(pathway__anonymised_at__isnull=True).count() == 0

    referral_figures_refresh()
    assert _figures() == before
    referral_figures_refresh(full=True)
    assert _figures() == before


def test_without_a_full_run_on_record_the_next_run_is_full(world):
    """The first run ever, and the first after a migration that adds columns to the figures
    (0038 forgets the runs): every month is recomputed, old ones included."""
    cell = ReferralMonthlyFigure.objects.order_by("month").first()

    def stale_old_month() -> ReferralMonthlyFigure:
        return ReferralMonthlyFigure.objects.create(
            **{f: getattr(cell, f) for f in ("sender_organisation", "receiver_organisation")},
            employment_area_id=cell.employment_area_id,
            month=month_ago(24),
            sent=42,
            refreshed_at=timezone.now(),
        )

    stale = stale_old_month()
    ReferralFigureRefresh.objects.all().delete()
    report = referral_figures_refresh(months_back=0)
    assert report.full is True
    assert not ReferralMonthlyFigure.objects.filter(pk=stale.pk).exists()
    # Then incremental again: an old month nobody touched is left as it is.
    stale = stale_old_month()
    assert referral_figures_refresh(months_back=0).full is False
    assert ReferralMonthlyFigure.objects.filter(pk=stale.pk, sent=42).exists()
