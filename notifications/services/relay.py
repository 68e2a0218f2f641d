"""The outbox relay: claim pending e-mails with FOR UPDATE SKIP LOCKED, hand them to SMTP with a
deterministic Message-ID, record the result.

* Claiming commits at once (status `sending`, a claim token, attempts + 1) so two relays never
  send the same row, and a relay killed mid-send leaves a trace.
* A row left `sending` longer than OUTBOX_STUCK_AFTER_SECONDS (longer than the task's hard time
  limit, so never a live sender's row) is put back to `pending` by the next pass.
* 4xx answers, refused or dropped connections are transient: retried with exponential backoff
  (next_attempt_at), up to OUTBOX_MAX_ATTEMPTS; 5xx answers are permanent: recorded as failed,
  shown in the API and the admin, never retried.
* Results are written only if the row still carries this pass's claim token.

The one window left: SMTP accepted the message and the process died before recording it. The
row is then sent again after recovery, with the same Message-ID (docs/decisions/0006).
"""

import datetime as dt
import logging
import smtplib
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
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


def outbox_recover_stuck(*, now: dt.datetime) -> int:
    """Rows a dead relay left `sending` go back to `pending` (or fail if out of attempts)."""
    cutoff = now - dt.timedelta(seconds=settings.OUTBOX_STUCK_AFTER_SECONDS)
    stuck = OutboxMessage.objects.filter(status=OutboxStatus.SENDING, claimed_at__lt=cutoff)
    exhausted = stuck.filter(attempts__gte=settings.OUTBOX_MAX_ATTEMPTS).update(
        status=OutboxStatus.FAILED,
        failed_at=now,
        claim_token=None,
        last_error="Envoi interrompu à chaque tentative : abandon",
    )
    recovered = stuck.update(
        status=OutboxStatus.PENDING,
        claim_token=None,
        next_attempt_at=now,
        last_error="Envoi interrompu (processus arrêté pendant l'envoi) : nouvel essai",
    )
    if recovered or exhausted:
        logger.warning("outbox: %d stuck row(s) recovered, %d abandoned", recovered, exhausted)
    return recovered


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
    with transaction.atomic():
        updated = _mine(message.pk, token).update(
            status=OutboxStatus.SENT, sent_at=now, claim_token=None, last_error="", smtp_code=None
        )
        Alert.objects.filter(deliveries__outbox_id=message.pk, state=AlertState.OPEN).update(
            state=AlertState.NOTIFIED, notified_at=now
        )
    return bool(updated)


def smtp_error(exc: Exception) -> tuple[int | None, bool, str]:
    """(SMTP code, permanent?, message) for an exception raised while sending."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, answer = next(iter(exc.recipients.values()))
        return code, 500 <= code < 600, f"{code} {answer.decode(errors='replace')}"
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
        reply = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        return exc.smtp_code, 500 <= exc.smtp_code < 600, f"{exc.smtp_code} {reply}"
    # Refused or dropped connection, time-out, TLS hiccup: the server may answer later.
    return None, False, f"{type(exc).__name__}: {exc}"


def _record_failure(
    message: OutboxMessage, token: uuid.UUID, now: dt.datetime, exc: Exception
) -> str:
    code, permanent, text = smtp_error(exc)
    if permanent or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        _mine(message.pk, token).update(
            status=OutboxStatus.FAILED,
            failed_at=now,
            claim_token=None,
            smtp_code=code,
            last_error=text if permanent else f"{text} (abandon après {message.attempts} essais)",
        )
        return "failed"
    backoff = min(
        settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** (message.attempts - 1),
        settings.OUTBOX_RETRY_MAX_SECONDS,
    )
    _mine(message.pk, token).update(
        status=OutboxStatus.PENDING,
        claim_token=None,
        next_attempt_at=now + dt.timedelta(seconds=backoff),
        smtp_code=code,
        last_error=text,
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
    report.recovered = outbox_recover_stuck(now=now or timezone.now())
    connection = None
    try:
        while time.monotonic() - started < budget:
            clock = now or timezone.now()
            ids, token = outbox_claim(now=clock, limit=settings.OUTBOX_BATCH_SIZE)
            if not ids:
                break
            for message in OutboxMessage.objects.filter(pk__in=ids).order_by("id"):
                email = build_email(message)
                if email is None:
                    _mine(message.pk, token).update(
                        status=OutboxStatus.CANCELLED,
                        claim_token=None,
                        last_error=CANCELLED_BECAUSE.get(
                            message.kind, "Alerte résolue avant l'envoi"
                        ),
                    )
                    report.cancelled += 1
                    continue
                try:
                    if connection is None:
                        # One SMTP session for the pass (reopened after an error), not one
                        # per message.
                        connection = get_connection(fail_silently=False)
                        connection.open()
                    email.connection = connection
                    email.send()
                except (smtplib.SMTPException, OSError) as exc:
                    outcome = _record_failure(message, token, now or timezone.now(), exc)
                    setattr(report, outcome, getattr(report, outcome) + 1)
                    report.errors.append(str(exc))
                    logger.warning("outbox %s: %s (%s)", message.pk, exc, outcome)
                    _close(connection)
                    connection = None
                    continue
                if _record_sent(message, token, now or timezone.now()):
                    report.sent += 1
                else:
                    report.lost_claims += 1  # recovered meanwhile: it will be sent again
    finally:
        _close(connection)
    return report


def _close(connection) -> None:
    if connection is not None:
        try:
            connection.close()
        except (smtplib.SMTPException, OSError):
            logger.debug("outbox: closing the SMTP connection failed", exc_info=True)
