"""The daily retention job (docs/retention.md). Found by Celery through
`app.autodiscover_tasks(["parcours"], related_name="retention_tasks")` in backend/celery.py and
imported by `ParcoursConfig.ready()`.

`now` (ISO 8601) is the injectable clock, as in notifications/tasks.py: beat passes nothing (the
real time), tests pass the moment they want the job to see.
"""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from .queueing import enqueue
from .services.retention import retention_apply

# Pages are not started after this (the hard limit is the task's): a backlog is worked through
# over several nights, each page committed.
BUDGET_SECONDS = 3000


def clock(now: str | None) -> dt.datetime:
    """The moment an ISO 8601 string names (local time when it has no offset), or now."""
    if not now:
        return timezone.now()
    moment = dt.datetime.fromisoformat(now)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@shared_task(name="parcours.retention_apply", soft_time_limit=3300, time_limit=3600)
def retention_apply_task(
    now: str | None = None, dry_run: bool = False, batch_size: int = 500
) -> dict:
    """Archive, anonymise, erase and purge what the retention rules make due (beat: daily at
    PARCOURS_RETENTION_HOUR). Idempotent: a second run the same day finds nothing to do."""
    report = retention_apply(
        now=clock(now), dry_run=dry_run, batch_size=batch_size, budget_seconds=BUDGET_SECONDS
    )
    if not dry_run:
        # The statistics after the anonymisation: they rest on the referrals' states and dates,
        # which it keeps — the refresh proves the figures survive it (docs/retention.md).
        enqueue(
            "parcours.referral_figures_refresh",
            catch_up="the nightly referral-figures-refresh beat entry recomputes them",
        )
    return report.as_dict()
