"""Periodic work on referrals. Tasks take ids or nothing, and are idempotent."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from .errors import Archived, ForbiddenTransition
from .models import Referral
from .queueing import enqueue
from .selectors.referrals import referrals_unanswered_too_long
from .services.access_grants import (
    access_prune_expired,
    access_recompute_pending,
    access_recompute_request,
)
from .services.idempotency import idempotency_keys_purge
from .services.person_space import person_sign_in_codes_purge
from .services.referral import referral_expire
from .services.referral_figures import referral_figures_refresh
from .services.webhook_delivery import webhooks_deliver as webhooks_deliver_pass

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
def access_recompute_owned_by(organisation_ids: list[int] | None = None) -> int:
    """Recompute the pathways of the organisations marked for it (an agreement they sign
    changed; the marks are written in the agreement's transaction). Queued after the change
    commits, and run by beat (`access-recompute-pending`) to catch up with a lost message.
    Idempotent: recomputing twice gives the same grants. Bounded in time
    (PARCOURS_RECOMPUTE_BUDGET_SECONDS): a large organisation's pathways are done over several
    runs, each queued behind the work that waited meanwhile.

    `organisation_ids` is for messages queued before the marks existed: they are marked first."""
    if organisation_ids:
        with transaction.atomic():
            access_recompute_request(organisation_ids=organisation_ids)
    run = access_recompute_pending()
    if not run.finished:
        # Stopped by its time budget: the rest goes to the back of the queue, behind whatever
        # else waits there (the periodic run would find the marks anyway).
        enqueue(
            "parcours.tasks.access_recompute_pathways",
            catch_up="the access-recompute-pending beat entry goes on with the marks",
        )
    return run.count


@shared_task(name="parcours.referral_figures_refresh", time_limit=1800, soft_time_limit=1700)
def referral_figures_refresh_task(full: bool = False) -> dict:
    """Recompute the referral statistics of the months that may have moved (beat: nightly, and
    queued after each retention run). Idempotent: a second run writes the same figures."""
    return referral_figures_refresh(full=full).as_dict()


@shared_task(name="parcours.webhooks_deliver", soft_time_limit=130, time_limit=150)
def webhooks_deliver(now: str | None = None) -> dict:
    """Send the due webhook deliveries (queue `mail`, beat every WEBHOOK_RELAY_SECONDS and woken
    by each move that wrote some). Re-running it never sends a delivery twice at once: rows are
    claimed under SKIP LOCKED and recorded against their claim token."""
    import datetime as dt

    clock = dt.datetime.fromisoformat(now) if now else None
    return webhooks_deliver_pass(now=clock).as_dict()


@shared_task(name="parcours.idempotency_keys_purge", soft_time_limit=240, time_limit=300)
def idempotency_keys_purge_task() -> int:
    """Forget the Idempotency-Keys older than PARCOURS_IDEMPOTENCY_KEY_HOURS (hourly)."""
    return idempotency_keys_purge()


@shared_task(name="parcours.person_sign_in_codes_purge", soft_time_limit=240, time_limit=300)
def person_sign_in_codes_purge_task() -> int:
    """Delete the person's sign-in codes older than PARCOURS_PERSON_CODE_KEEP_HOURS (hourly)."""
    return person_sign_in_codes_purge()
