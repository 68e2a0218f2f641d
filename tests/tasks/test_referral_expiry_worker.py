"""The periodic expiry task, run by a real Celery worker process against real Redis."""

import datetime as dt

import pytest
from django.utils import timezone

from parcours.models import ReferralStatus
from parcours.tasks import referrals_expire_unanswered
from tests.factories import ReferralFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_worker_expires_referrals_left_unanswered_and_is_idempotent(
    celery_worker_process, settings
):
    stale = ReferralFactory(sent=True, sent_at=timezone.now() - dt.timedelta(days=45))
    fresh = ReferralFactory(sent=True, sent_at=timezone.now() - dt.timedelta(days=2))
    answered = ReferralFactory(accepted=True, sent_at=timezone.now() - dt.timedelta(days=45))

    assert referrals_expire_unanswered.delay().get(timeout=60) == 1

    stale.refresh_from_db()
    fresh.refresh_from_db()
    answered.refresh_from_db()
    assert stale.status == ReferralStatus.EXPIRED
    assert stale.expired_at is not None
    assert fresh.status == ReferralStatus.SENT
    assert answered.status == ReferralStatus.ACCEPTED
    last = stale.history.latest()
    assert last.history_user is None  # a system move: no person did it
    assert "Expiration" in last.history_change_reason
    assert stale.events.filter(referral_status=ReferralStatus.EXPIRED).count() == 1

    # Running it again (a retry, a second beat) changes nothing.
    assert referrals_expire_unanswered.delay().get(timeout=60) == 0
    assert stale.history.count() == 2
