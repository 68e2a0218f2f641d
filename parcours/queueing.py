"""Queueing Celery tasks so that queueing can never fail a write that already happened.

House rule (docs/operations.md, "Failure-tolerant queueing"): a side effect never fails a
request that already wrote. Once a transaction has committed, the broker being down, a full
connection pool or Celery refusing the message must not turn the answer into a 500: the write
stands, the failure is logged, and something durable catches up — a row the task's periodic
run reads again (outbox, pending recomputes) or a periodic run that does the same work anyway.
Every caller names that safety net (`catch_up`), so a reader of the call site and of the log
knows why losing this message costs only time.

Tasks are looked up by name in Celery's registry (filled at start-up by the apps' `ready()`):
tasks sit above services, and services never import them.
"""

import logging
from functools import partial

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task_name: str, /, *, catch_up: str, **kwargs: object) -> bool:
    """Queue `task_name` with these keyword arguments now; True if the broker took it.

    Fire and forget: the result is not stored (`ignore_result`), so queueing never touches the
    result store either — with Redis, an unreachable result store would otherwise block the
    caller for about 20 s of reconnection attempts before failing."""
    try:
        task = current_app.tasks[task_name]
        task.apply_async(kwargs=kwargs, ignore_result=True)
    except Exception:
        # Deliberately broad: whatever went wrong (broker unreachable, a refusal by Celery such
        # as incoherent time limits, an unregistered task), the caller's write is committed and
        # must stand; the safety net named by `catch_up` does the work later.
        logger.exception("queueing %s failed; %s", task_name, catch_up)
        return False
    return True


def enqueue_on_commit(task_name: str, /, *, catch_up: str, **kwargs: object) -> None:
    """Queue `task_name` once the current transaction commits (never for a rolled-back one),
    without ever raising into the code that committed."""
    transaction.on_commit(partial(enqueue, task_name, catch_up=catch_up, **kwargs))
