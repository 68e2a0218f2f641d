"""Periodic work on referrals. Tasks take ids or nothing, and are idempotent."""

import logging

from celery import shared_task
from django.utils import timezone

from .errors import ForbiddenTransition
from .models import Referral
from .selectors.referrals import referrals_unanswered_too_long
from .services.referral import referral_expire

logger = logging.getLogger(__name__)


@shared_task(name="parcours.tasks.referrals_expire_unanswered", time_limit=600, soft_time_limit=540)
def referrals_expire_unanswered() -> int:
    """Expire sent referrals nobody answered in time. Re-running it is harmless: a referral
    already answered or expired is skipped (the transitions table refuses the move)."""
    expired = 0
    for referral_id in referrals_unanswered_too_long(now=timezone.now()):
        try:
            referral_expire(referral_id=referral_id)
            expired += 1
        except (ForbiddenTransition, Referral.DoesNotExist):
            continue  # answered or expired meanwhile
    logger.info("referrals_expire_unanswered: %d referral(s) expired", expired)
    return expired
