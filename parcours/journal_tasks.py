"""Sealing, signing and verifying the access journal (docs/journal.md). Found by Celery through
`app.autodiscover_tasks(["parcours"], related_name="journal_tasks")` in backend/celery.py."""

import logging

from celery import shared_task
from django.conf import settings

from .services.journal import JournalBroken, journal_seal

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
MAX_BATCHES = 50  # at most 250 000 rows a run; the next beat continues


@shared_task(name="parcours.journal_seal_pending", time_limit=120, soft_time_limit=100)
def journal_seal_pending() -> int:
    """Seal the rows journaled since the last run. Idempotent: sealed rows are never touched
    again, and a run that finds another sealer at work returns 0 at once."""
    total = 0
    for _ in range(MAX_BATCHES):
        sealed = journal_seal(batch_size=BATCH_SIZE)
        total += sealed
        if sealed < BATCH_SIZE:
            break
    if total:
        logger.info("journal_seal_pending: %d ligne(s) scellée(s)", total)
    return total


@shared_task(name="parcours.journal_partitions_ensure", time_limit=600, soft_time_limit=540)
def journal_partitions_ensure_scheduled() -> int:
    """Create the journal's monthly partitions to come (idempotent: an existing month is left as
    it is). Returns how many were created."""
    from .journal_partitions import journal_partitions_ensure

    created = journal_partitions_ensure()
    if created:
        logger.info("journal_partitions_ensure : %d partition(s) mensuelle(s) créée(s)", created)
    return created


@shared_task(name="parcours.journal_verify_daily", time_limit=3600, soft_time_limit=3500)
def journal_verify_daily(triggered_by: str = "tâche quotidienne") -> bool:
    """Walk the chain and keep the result for the DPO's integrity report (read-only: running it
    twice only adds a second result row)."""
    from .services.journal_integrity import journal_verification_run

    verification = journal_verification_run(triggered_by=triggered_by)
    if not verification.ok:
        logger.error(
            "journal_verify_daily: chaîne rompue à la ligne n°%s : %s",
            verification.broken_id,
            verification.reason,
        )
    return verification.ok


@shared_task(name="parcours.journal_checkpoint_scheduled", time_limit=3600, soft_time_limit=3300)
def journal_checkpoint_scheduled() -> int | None:
    """Sign the chain head with the key named by JOURNAL_SIGNING_KEY_FILE (beat, hourly by
    default), after verifying the chain since the previous checkpoint and against it. Returns the
    signed sequence, or None when nothing was signed: no key configured (a log line says so), an
    unreadable key or a broken chain (an error is logged), or a head unchanged since the latest
    checkpoint — so it is idempotent. Takes no arguments."""
    from .services.journal import journal_checkpoint_if_moved, journal_signing_key_load

    path = settings.JOURNAL_SIGNING_KEY_FILE
    if not path:
        logger.info(
            "journal_checkpoint_scheduled : aucun point de contrôle signé, "
            "JOURNAL_SIGNING_KEY_FILE n'est pas défini (docs/operations.md)."
        )
        return None
    try:
        key = journal_signing_key_load(path)
    except ValueError as error:
        logger.error("journal_checkpoint_scheduled : %s", error)
        return None
    try:
        checkpoint = journal_checkpoint_if_moved(private_key=key)
    except JournalBroken as error:
        logger.error("journal_checkpoint_scheduled : %s", error)
        return None
    if checkpoint is None:
        return None
    logger.info(
        "journal_checkpoint_scheduled : point de contrôle signé à la séquence %d",
        checkpoint.chain_seq,
    )
    return checkpoint.chain_seq
