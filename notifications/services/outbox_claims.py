"""The outbox's rows as a relay's batch sees them, in SQL (docs/decisions/0006, « Amendment —
issue 17 »): claiming a batch under session advisory locks, letting it go, taking back the rows of
relays that died, and the one statement per e-mail that records a 250 and takes the next row.

Plain statements on PostgreSQL (one round trip each); on the SQLite fallback of `make run`, with
no advisory locks, the same writes through the ORM and a claim without locks.
"""

import datetime as dt
import logging
import uuid
import weakref

from django.conf import settings
from django.db import ProgrammingError, transaction
from django.db import connection as db_connection
from django.db.models import F

from ..models import Alert, AlertState, Delivery, OutboxMessage, OutboxStatus

logger = logging.getLogger("notifications.services.relay")  # where operators watch the relay

# The advisory locks of the outbox rows held by a relay's batch: the two-int4 key space
# (classid "outb", objid the row's id modulo 2^31), which never meets the single-bigint keys of
# the journal's sealer, the recompute runner or the person service. Two ids 2^31 apart share a
# key: one of them waits for the next batch, nothing more.
BATCH_LOCK_SPACE = 0x6F757462
_LOCK_KEY = "(id %% 2147483648)::integer"
# How far past the batch size the claim looks for rows no other relay holds (rows held by other
# relays come first in due order): up to this many relays claim side by side without missing.
CLAIM_WINDOW = 10


def _locks() -> bool:
    """Advisory locks exist (PostgreSQL), not on the SQLite fallback."""
    return db_connection.vendor == "postgresql"


OUTBOX = OutboxMessage._meta.db_table


def outbox_recover_stuck(*, now: dt.datetime) -> int:
    """Rows whose lease ran out and whose batch lock is free (their relay died, or lost its
    database session) go back to `pending`. The lock is tried for the statement only."""
    cutoff = now - dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    error = "Envoi interrompu (processus arrêté pendant l'envoi) : nouvel essai"
    if _locks():
        with db_connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {OUTBOX} SET status = 'pending', claim_token = NULL, "  # noqa: S608
                "next_attempt_at = %s, last_error = %s "
                "WHERE status = 'sending' AND claimed_at < %s "
                f"AND pg_try_advisory_xact_lock(%s, {_LOCK_KEY})",
                [now, error, cutoff, BATCH_LOCK_SPACE],
            )
            recovered = cursor.rowcount
    else:
        recovered = OutboxMessage.objects.filter(
            status=OutboxStatus.SENDING, claimed_at__lt=cutoff
        ).update(
            status=OutboxStatus.PENDING, claim_token=None, next_attempt_at=now, last_error=error
        )
    if recovered:
        logger.warning("outbox: %d row(s) whose lease ran out taken back", recovered)
    return recovered


def outbox_claim(*, now: dt.datetime, limit: int) -> list[int]:
    """Up to `limit` due rows, oldest due first, that no other relay holds: each locked for this
    session (`outbox_release` lets them go). One statement; the lock is tried only on the rows
    of the window, in order, until `limit` are held."""
    if not _locks():
        return list(
            OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM (SELECT id FROM {OUTBOX} "  # noqa: S608
            "WHERE status = 'pending' AND next_attempt_at <= %s "
            "ORDER BY next_attempt_at, id LIMIT %s) due "
            f"WHERE pg_try_advisory_lock(%s, {_LOCK_KEY}) LIMIT %s",
            [now, limit * CLAIM_WINDOW, BATCH_LOCK_SPACE, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def outbox_release(ids: list[int]) -> None:
    """Let go of a batch's rows (those not sent stay `pending`, untouched)."""
    if ids and _locks():
        with db_connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(pg_advisory_unlock(%s, {_LOCK_KEY})) "  # noqa: S608
                "FROM unnest(%s::bigint[]) id",
                [BATCH_LOCK_SPACE, ids],
            )


def claimed_by(message_id: int, token: uuid.UUID):
    """The row, if it still carries this batch's claim token and is being sent."""
    return OutboxMessage.objects.filter(pk=message_id, claim_token=token, status="sending")


# Record one row's 250 (and notify its alerts) and take the next row, in one statement: one
# round trip and one commit per e-mail. Either part may be absent (NULL id: no row). Table names
# from the models, values as parameters.
RECORD_AND_TAKE = f"""
WITH sent AS (
    UPDATE {OUTBOX} SET status = 'sent', sent_at = %(at)s, claim_token = NULL, last_error = '',
        smtp_code = NULL
    WHERE id = %(sent)s AND claim_token = %(token)s AND status = 'sending'
    RETURNING id
), notified AS (
    UPDATE {Alert._meta.db_table} SET state = 'notified', notified_at = %(at)s
    WHERE state = 'open' AND id IN (
        SELECT delivery.alert_id FROM {Delivery._meta.db_table} delivery
        JOIN sent ON delivery.outbox_id = sent.id
    )
), taken AS (
    UPDATE {OUTBOX} SET status = 'sending', claim_token = %(token)s, claimed_at = %(claimed_at)s,
        attempts = CASE WHEN status = 'pending' THEN attempts + 1 ELSE attempts END
    WHERE id = %(take)s
      AND (status = 'pending' OR (status = 'sending' AND claim_token = %(token)s))
    RETURNING attempts
)
SELECT (SELECT count(*) FROM sent), (SELECT attempts FROM taken)
"""  # noqa: S608


# The statement is prepared once per database session (PREPARE … AS, then EXECUTE with the
# values): PostgreSQL parses and plans the three-UPDATE CTE once instead of for every e-mail, and
# the client sends a short EXECUTE. Server-side prepared statements belong to a session, like the
# batch's advisory locks (ADR 0006: the relay needs a session, not a transaction pool).
PREPARED_NAME = "parcours_outbox_record_and_take"
PREPARE_RECORD_AND_TAKE = (
    f"PREPARE {PREPARED_NAME} (bigint, bigint, uuid, timestamptz, timestamptz) AS "
    + RECORD_AND_TAKE.replace("%(sent)s", "$1")
    .replace("%(take)s", "$2")
    .replace("%(token)s", "$3")
    .replace("%(at)s", "$4")
    .replace("%(claimed_at)s", "$5")
)
EXECUTE_RECORD_AND_TAKE = f"EXECUTE {PREPARED_NAME} (%s, %s, %s, %s, %s)"
# The driver connections (sessions) the statement was prepared on; one that is closed goes.
_prepared_on: "weakref.WeakSet[object]" = weakref.WeakSet()
# SQLSTATE invalid_sql_statement_name: the session lost it (DEALLOCATE, DISCARD ALL).
_NOT_PREPARED = "26000"


def _execute_prepared(cursor, values: list) -> tuple:
    session = db_connection.connection
    if session not in _prepared_on:
        cursor.execute(PREPARE_RECORD_AND_TAKE)
        _prepared_on.add(session)
    try:
        if db_connection.in_atomic_block:
            # Inside a transaction (not the relay's way: it runs in autocommit), a savepoint
            # keeps a lost statement's error from aborting the caller's transaction.
            with transaction.atomic():
                cursor.execute(EXECUTE_RECORD_AND_TAKE, values)
        else:
            cursor.execute(EXECUTE_RECORD_AND_TAKE, values)
    except ProgrammingError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _NOT_PREPARED:
            raise
        # Nothing ran (an unknown statement name fails before anything is done): prepare it
        # on this session again and run it once.
        cursor.execute(PREPARE_RECORD_AND_TAKE)
        cursor.execute(EXECUTE_RECORD_AND_TAKE, values)
    return cursor.fetchone()


def outbox_record_and_take(
    *,
    sent: int | None,
    take: int | None,
    token: uuid.UUID,
    at: dt.datetime,
    claimed_at: dt.datetime,
) -> tuple[bool, int | None]:
    """(was `sent` recorded as sent — it still carried our token —, the attempts of `take` if
    it was taken — still pending —, else None). Retrying it after a dropped connection is safe:
    a row already taken by this batch is taken again without a second attempt counted."""
    if _locks():
        with db_connection.cursor() as cursor:
            recorded, attempts = _execute_prepared(cursor, [sent, take, token, at, claimed_at])
        return bool(recorded), attempts
    with transaction.atomic():
        recorded = sent is not None and bool(
            claimed_by(sent, token).update(
                status=OutboxStatus.SENT,
                sent_at=at,
                claim_token=None,
                last_error="",
                smtp_code=None,
            )
        )
        if recorded:
            Alert.objects.filter(deliveries__outbox_id=sent, state=AlertState.OPEN).update(
                state=AlertState.NOTIFIED, notified_at=at
            )
        if take is None or not OutboxMessage.objects.filter(
            pk=take, status=OutboxStatus.PENDING
        ).update(
            status=OutboxStatus.SENDING,
            claim_token=token,
            claimed_at=claimed_at,
            attempts=F("attempts") + 1,
        ):
            return recorded, None
        return recorded, OutboxMessage.objects.get(pk=take).attempts
