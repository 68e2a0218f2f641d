"""Periodic work on referrals. Tasks take ids or nothing, and are idempotent."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from .errors import Archived, ForbiddenTransition
from .models import Pathway, Referral
from .selectors.referrals import referrals_unanswered_too_long
from .services.access_grants import access_prune_expired, access_recompute
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
        except (ForbiddenTransition, Referral.DoesNotExist, Archived):
            continue  # answered or expired meanwhile, or its pathway archived (read-only)
    logger.info("referrals_expire_unanswered: %d referral(s) expired", expired)
    return expired


@shared_task(name="parcours.tasks.access_prune_expired", time_limit=600, soft_time_limit=540)
def access_prune_expired_grants() -> int:
    """Remove grant rows past their end and re-derive those pathways. Reads already ignore
    expired rows (valid_until), so this is housekeeping, not what makes expiry effective."""
    return access_prune_expired()


@shared_task(name="parcours.tasks.access_recompute_pathways", time_limit=1800, soft_time_limit=1700)
def access_recompute_owned_by(organisation_ids: list[int]) -> int:
    """Recompute the pathways owned by these organisations (an agreement they signed changed).
    Idempotent: recomputing twice gives the same grants."""
    count = 0
    for pathway_id in (
        Pathway.objects.filter(owner_organisation_id__in=organisation_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
        .iterator(chunk_size=2000)
    ):
        with transaction.atomic():
            access_recompute(pathway_id=pathway_id)
        count += 1
    return count
