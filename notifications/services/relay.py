"""The outbox relay: claim pending e-mails with FOR UPDATE SKIP LOCKED, hand them to SMTP with a
deterministic Message-ID, record the result (docs/decisions/0006, « Amendment — issue 16 »).

* Rows are claimed a few at a time (OUTBOX_BATCH_SIZE, default 1) under a **lease**: status
  `sending`, a claim token, attempts + 1, `claimed_at`, committed before talking to SMTP. While a
  message is being sent a keeper thread renews the lease every OUTBOX_LEASE_RENEW_SECONDS; a
  row whose lease (OUTBOX_LEASE_SECONDS, 30 s) ran out — its relay was killed, or its database
  connection died — is taken back by the next pass. Recovery takes seconds, not minutes.
* Each message is one unit: any failure while building or sending it (SMTP, network, a bug, the
  task's soft time limit) is recorded on that row alone and the pass goes on (or stops cleanly);
  SMTP waits are bounded by EMAIL_TIMEOUT, well below the lease and the task's limits; the pass
  stops claiming after OUTBOX_RELAY_BUDGET_SECONDS.
* The send is recorded in its own short transaction, retried on a fresh database connection when
  the one held across the SMTP exchange was dropped: a server's 250 is not lost to a database
  hiccup (the duplicates of issue 16, finding 2).
* 4xx answers, refused or dropped connections are transient: retried with exponential backoff
  (next_attempt_at); past OUTBOX_MAX_ATTEMPTS they keep waiting at the longest backoff and are
  logged at ERROR, unless OUTBOX_GIVE_UP_AFTER_MAX_ATTEMPTS is set (then failed). 5xx answers are
  permanent: recorded as failed, shown in the API and the admin, never retried.
* Results are written only if the row still carries this pass's claim token.

The one window left: SMTP accepted the message and the process died (or the database stayed
unreachable through every retry) before recording it. The row is then sent again once its lease
ran out, with the same Message-ID.
"""

import datetime as dt
import logging
import smtplib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import get_connection
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

from ..mail import build_email
from ..models import Alert, AlertState, OutboxKind, OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

# Why a row had nothing left to say when its turn came (an alert's: resolved meanwhile).
CANCELLED_BECAUSE: dict[str, str] = {
    OutboxKind.BREAK_GLASS: "Accès exceptionnel supprimé avant l'envoi",
    OutboxKind.CORRECTION: "Correction supprimée avant l'envoi (parcours effacé)",
    OutboxKind.REMINDER: "Rappel sans objet : l'orientation a avancé avant l'envoi",
    OutboxKind.REFERRAL_MESSAGE: "Message supprimé avant l'envoi (parcours effacé)",
}


@dataclass
class RelayReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    recovered: int = 0
    lost_claims: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "recovered": self.recovered,
            "lost_claims": self.lost_claims,
        }


T = TypeVar("T")
# Recording a result: tries on a fresh connection after a dropped one, and the waits between.
DATABASE_TRIES = (0.0, 0.5, 2.0, 5.0)


def _on_a_live_connection(write: Callable[[], T], what: str) -> T:
    """Run `write` (one short transaction); if the database connection was dropped (a restart,
    a failover, a terminated backend), close it and try again on a fresh one."""
    for attempt, wait in enumerate(DATABASE_TRIES):
        time.sleep(wait)
        try:
            return write()
        except (OperationalError, InterfaceError):
            if attempt == len(DATABASE_TRIES) - 1:
                raise
            logger.warning("outbox: %s: database connection lost, retrying", what, exc_info=True)
            db_connection.close()  # the next query opens a new connection
    raise AssertionError("unreachable")


def outbox_recover_stuck(*, now: dt.datetime) -> int:
    """Rows whose lease ran out (their relay died mid-send) go back to `pending`."""
    cutoff = now - dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    stuck = OutboxMessage.objects.filter(status=OutboxStatus.SENDING, claimed_at__lt=cutoff)
    recovered = stuck.update(
        status=OutboxStatus.PENDING,
        claim_token=None,
        next_attempt_at=now,
        last_error="Envoi interrompu (processus arrêté pendant l'envoi) : nouvel essai",
    )
    if recovered:
        logger.warning("outbox: %d row(s) whose lease ran out taken back", recovered)
    return recovered


class _LeaseKeeper:
    """Renews the lease of one claimed row while it is being sent, from a thread (with its own
    database connection): a slow SMTP exchange never lets another relay take a live row back,
    and a dead process stops renewing it."""

    def __init__(self, message_id: int, token: uuid.UUID, claimed_at: dt.datetime) -> None:
        self.message_id, self.token = message_id, token
        self.claimed_at = claimed_at  # the relay's clock (injected by tests), moved forward
        self.started = time.monotonic()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="outbox-lease")

    def __enter__(self) -> "_LeaseKeeper":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.done.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self.done.wait(settings.OUTBOX_LEASE_RENEW_SECONDS):
                renewed = self.claimed_at + dt.timedelta(seconds=time.monotonic() - self.started)
                try:
                    _mine(self.message_id, self.token).update(claimed_at=renewed)
                except (OperationalError, InterfaceError):
                    connection.close()  # tried again at the next beat of the keeper
        finally:
            connection.close()


def outbox_claim(*, now: dt.datetime, limit: int) -> tuple[list[int], uuid.UUID]:
    token = uuid.uuid4()
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            OutboxMessage.objects.filter(pk__in=ids).update(
                status=OutboxStatus.SENDING,
                claimed_at=now,
                claim_token=token,
                attempts=F("attempts") + 1,
            )
    return ids, token


def _mine(message_id: int, token: uuid.UUID):
    return OutboxMessage.objects.filter(pk=message_id, claim_token=token, status="sending")


def _record_sent(message: OutboxMessage, token: uuid.UUID, now: dt.datetime) -> bool:
    def write() -> bool:
        with transaction.atomic():
            updated = _mine(message.pk, token).update(
                status=OutboxStatus.SENT,
                sent_at=now,
                claim_token=None,
                last_error="",
                smtp_code=None,
            )
            Alert.objects.filter(deliveries__outbox_id=message.pk, state=AlertState.OPEN).update(
                state=AlertState.NOTIFIED, notified_at=now
            )
        return bool(updated)

    return _on_a_live_connection(write, f"recording message {message.pk} as sent")


def smtp_error(exc: Exception) -> tuple[int | None, bool, str]:
    """(SMTP code, permanent?, message) for an exception raised while sending."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, answer = next(iter(exc.recipients.values()))
        return code, 500 <= code < 600, f"{code} {answer.decode(errors='replace')}"
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
        reply = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        return exc.smtp_code, 500 <= exc.smtp_code < 600, f"{exc.smtp_code} {reply}"
    if isinstance(exc, smtplib.SMTPException | OSError):
        # Refused or dropped connection, time-out, TLS hiccup: the server may answer later.
        return None, False, f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SoftTimeLimitExceeded):
        return None, False, "Envoi interrompu : limite de temps de la tâche atteinte"
    # Anything else (a bug building the e-mail, a database error): tried again later, logged.
    return None, False, f"Erreur inattendue ({type(exc).__name__}) : nouvel essai"


def _record_failure(
    message: OutboxMessage, token: uuid.UUID, now: dt.datetime, exc: Exception
) -> str:
    code, permanent, text = smtp_error(exc)
    exhausted = message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    fields = {"outbox_id": message.pk, "kind": message.kind, "attempts": message.attempts}
    if permanent or (exhausted and settings.OUTBOX_GIVE_UP_AFTER_MAX_ATTEMPTS):
        _on_a_live_connection(
            lambda: _mine(message.pk, token).update(
                status=OutboxStatus.FAILED,
                failed_at=now,
                claim_token=None,
                smtp_code=code,
                last_error=text
                if permanent
                else f"{text} (abandon après {message.attempts} essais)",
            ),
            f"recording message {message.pk} as failed",
        )
        logger.error("outbox: message %s failed for good: %s", message.pk, text, extra=fields)
        return "failed"
    backoff = min(
        settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** (message.attempts - 1),
        settings.OUTBOX_RETRY_MAX_SECONDS,
    )
    if exhausted:
        # An outage longer than the retry budget: the message waits for the server to come back
        # (at the longest backoff) rather than being lost, and the operators are told.
        text = f"{text} (toujours en attente après {message.attempts} essais)"
        logger.error("outbox: message %s still waiting: %s", message.pk, text, extra=fields)
    else:
        logger.warning("outbox: message %s will be tried again: %s", message.pk, text, extra=fields)
    _on_a_live_connection(
        lambda: _mine(message.pk, token).update(
            status=OutboxStatus.PENDING,
            claim_token=None,
            next_attempt_at=now + dt.timedelta(seconds=backoff),
            smtp_code=code,
            last_error=text,
        ),
        f"recording message {message.pk} for a new attempt",
    )
    return "retried"


def outbox_relay(
    *, now: dt.datetime | None = None, budget_seconds: float | None = None
) -> RelayReport:
    """Send what is due, batch after batch, until nothing is left or the time budget is spent.
    `now` is the clock (injected by tests); the budget is measured on the real clock."""
    report = RelayReport()
    started = time.monotonic()
    budget = settings.OUTBOX_RELAY_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    report.recovered = _on_a_live_connection(
        lambda: outbox_recover_stuck(now=now or timezone.now()), "taking back expired leases"
    )
    connection = None
    try:
        while time.monotonic() - started < budget:
            clock = now or timezone.now()

            def claim(clock: dt.datetime = clock) -> tuple[list[int], uuid.UUID]:
                return outbox_claim(now=clock, limit=settings.OUTBOX_BATCH_SIZE)

            ids, token = _on_a_live_connection(claim, "claiming messages")
            if not ids:
                break
            for message in OutboxMessage.objects.filter(pk__in=ids).order_by("id"):
                connection = _send_one(message, token, clock, now, connection, report)
    finally:
        _close(connection)
    return report


def _send_one(message, token, claimed_at, now, connection, report: RelayReport):
    """Build, send and record one claimed message; every failure stays on this row. Returns the
    SMTP connection to reuse (None after an error: the next message opens a new one)."""
    try:
        email = build_email(message)
        if email is None:
            _mine(message.pk, token).update(
                status=OutboxStatus.CANCELLED,
                claim_token=None,
                last_error=CANCELLED_BECAUSE.get(message.kind, "Alerte résolue avant l'envoi"),
            )
            report.cancelled += 1
            return connection
        with _LeaseKeeper(message.pk, token, claimed_at):
            if connection is None:
                # One SMTP session for the pass (reopened after an error), not one per message.
                connection = get_connection(fail_silently=False)
                connection.open()
            email.connection = connection
            email.send()
    except Exception as exc:
        outcome = _record_failure(message, token, now or timezone.now(), exc)
        setattr(report, outcome, getattr(report, outcome) + 1)
        report.errors.append(str(exc))
        _close(connection)
        if isinstance(exc, SoftTimeLimitExceeded):
            raise  # the task must end now; the row is recorded for the next pass
        return None
    if _record_sent(message, token, now or timezone.now()):
        report.sent += 1
    else:
        report.lost_claims += 1  # taken back meanwhile: it will be sent again
    return connection


def _close(connection) -> None:
    if connection is not None:
        try:
            connection.close()
        except (smtplib.SMTPException, OSError):
            logger.debug("outbox: closing the SMTP connection failed", exc_info=True)
