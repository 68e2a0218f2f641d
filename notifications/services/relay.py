"""The outbox relay: claim pending e-mails a batch at a time, hand them to SMTP over one session
with a deterministic Message-ID, record each result as soon as it is known
(docs/decisions/0006, « Amendment — issue 16 » and « Amendment — issue 17 »).

* A pass claims a **batch** of due rows (OUTBOX_BATCH_SIZE, 100) in one statement: a PostgreSQL
  session advisory lock per row (`pg_try_advisory_lock`, skipping rows another relay holds).
  The batch is held by the relay's database session, not by a time: a relay that dies — or whose
  connection is dropped — lets go of the rows it had not started at once, and another relay takes
  them. The locks are released when the batch ends.
* Each row is then **taken** just before it is handed to SMTP, in the same statement that
  records the previous row's 250: status `sending`, the batch's claim token, attempts + 1, the
  start of its lease (`claimed_at`), and only if it is still `pending` — the one arbiter: a row is
  sent by the relay whose take succeeded, by no other. At most one row per relay is `sending`.
* While a batch is being sent a keeper thread (its own connection) renews the lease of the row in
  flight every OUTBOX_LEASE_RENEW_SECONDS; a row whose lease (OUTBOX_LEASE_SECONDS, 30 s) ran out
  **and** whose batch lock is free — its relay died, or lost its database session — goes back to
  `pending` at the next pass. A live relay's row is never taken back, however slow the server.
* Each message is one unit: any failure while building or sending it (SMTP, network, a bug, the
  task's soft time limit) is recorded on that row alone and the batch goes on over a new SMTP
  session (or stops cleanly); SMTP waits are bounded by EMAIL_TIMEOUT, well below the lease and
  the task's limits; the pass stops taking rows after OUTBOX_RELAY_BUDGET_SECONDS, even inside a
  batch (the rows not taken are let go, untouched).
* The e-mails of a batch are built from facts read once for the batch (`mail_facts`), with their
  templates compiled once; each e-mail is rendered from its own context — by a builder thread,
  one or two e-mails ahead, down to the bytes SMTP is handed (`relay_builder`), while this thread
  waits on SMTP and on the database. Only this thread takes, sends and records: bytes go to DATA
  after their row's take committed, bytes built for a row not taken are dropped.
* Every write is a short statement of its own, retried on a fresh database connection when the
  one held across the SMTP exchange was dropped: a server's 250 is not lost to a database hiccup
  (the duplicates of issue 16, finding 2).
* 4xx answers, refused or dropped connections are transient: retried with exponential backoff
  (next_attempt_at); past OUTBOX_MAX_ATTEMPTS they keep waiting at the longest backoff and are
  logged at ERROR, unless OUTBOX_GIVE_UP_AFTER_MAX_ATTEMPTS is set (then failed). 5xx answers are
  permanent: recorded as failed, shown in the API and the admin, never retried.
* Results are written only if the row still carries this batch's claim token.

The one window left: SMTP accepted the message and the process died (or the database stayed
unreachable through every retry) before recording it — one message, the one in flight. The row is
then sent again once its lease ran out, with the same Message-ID.

On the SQLite fallback of `make run` (one relay, in-process) there are no advisory locks: the
batch is read as it is, and the take alone guards each row.
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
from django.core.mail.backends.smtp import EmailBackend as SmtpEmailBackend
from django.db import InterfaceError, OperationalError
from django.db import connection as db_connection
from django.utils import timezone
from django.utils.module_loading import import_string

from ..mail_facts import mail_facts_load
from ..models import OutboxKind, OutboxMessage, OutboxStatus
from .outbox_claims import (
    claimed_by,
    outbox_claim,
    outbox_record_and_take,
    outbox_recover_stuck,
    outbox_release,
)
from .relay_builder import Builder, Prepared

logger = logging.getLogger(__name__)

# Why a row had nothing left to say when its turn came (an alert's: resolved meanwhile).
CANCELLED_BECAUSE: dict[str, str] = {
    OutboxKind.BREAK_GLASS: "Accès exceptionnel supprimé avant l'envoi",
    OutboxKind.CORRECTION: "Correction supprimée avant l'envoi (parcours effacé)",
    OutboxKind.REMINDER: "Rappel sans objet : l'orientation a avancé avant l'envoi",
    OutboxKind.REFERRAL_MESSAGE: "Message supprimé avant l'envoi (parcours effacé)",
    OutboxKind.RECEIVER_LINK: "Lien d'accès révoqué ou expiré avant l'envoi",
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
        if wait:
            time.sleep(wait)  # (not sleep(0): on a busy machine it gives the CPU away)
        try:
            return write()
        except (OperationalError, InterfaceError):
            if attempt == len(DATABASE_TRIES) - 1:
                raise
            logger.warning("outbox: %s: database connection lost, retrying", what, exc_info=True)
            db_connection.close()  # the next query opens a new connection
    raise AssertionError("unreachable")


class _LeaseKeeper:
    """Renews the lease of the batch's row in flight while the batch is being sent, from a
    thread (with its own database connection): a slow SMTP exchange never lets another relay
    take a live row back, and a dead process stops renewing it."""

    def __init__(self, token: uuid.UUID, clock: dt.datetime) -> None:
        self.token = token
        self.clock = clock  # the relay's clock (injected by tests), moved forward
        self.started = time.monotonic()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="outbox-lease")

    def now(self) -> dt.datetime:
        return self.clock + dt.timedelta(seconds=time.monotonic() - self.started)

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
                try:
                    OutboxMessage.objects.filter(
                        claim_token=self.token, status=OutboxStatus.SENDING
                    ).update(claimed_at=self.now())
                except (OperationalError, InterfaceError):
                    connection.close()  # tried again at the next beat of the keeper
        finally:
            connection.close()


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
            lambda: claimed_by(message.pk, token).update(
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
        lambda: claimed_by(message.pk, token).update(
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

    def in_budget() -> bool:
        return time.monotonic() - started < budget

    report.recovered = _on_a_live_connection(
        lambda: outbox_recover_stuck(now=now or timezone.now()), "taking back expired leases"
    )
    smtp = None
    try:
        while in_budget():
            clock = now or timezone.now()

            def claim(clock: dt.datetime = clock) -> list[int]:
                return outbox_claim(now=clock, limit=settings.OUTBOX_BATCH_SIZE)

            ids = _on_a_live_connection(claim, "claiming messages")
            if not ids:
                break
            held_on = db_connection.connection
            try:
                smtp = _send_batch(ids, clock, now, in_budget, smtp, report)
            finally:
                # A connection dropped meanwhile took its locks with it; the new one holds none.
                if db_connection.connection is held_on:
                    _release(ids)
    finally:
        _close(smtp)
    return report


def _release(ids: list[int]) -> None:
    _on_a_live_connection(lambda: outbox_release(ids), "releasing the batch")


def _send_batch(ids, clock, now, in_budget, smtp, report: RelayReport):
    """Take, send and record the batch's rows one after the other over one SMTP session (a new
    one after an error), their e-mails built ahead by a builder thread; returns the session to
    reuse."""
    token = uuid.uuid4()
    messages = list(
        OutboxMessage.objects.filter(pk__in=ids, status=OutboxStatus.PENDING).order_by(
            "next_attempt_at", "id"
        )
    )
    facts = mail_facts_load(messages)
    accepted: OutboxMessage | None = None  # its 250 not recorded yet: recorded by the next step
    with (
        _LeaseKeeper(token, clock) as keeper,
        Builder(messages, facts, flatten=_talks_smtp()) as builder,
    ):
        while True:
            take = builder.next() if in_budget() else None
            if accepted is None and take is None:
                break

            def step(sent=accepted, take=take) -> tuple[bool, int | None]:
                at = now or timezone.now()
                return outbox_record_and_take(
                    sent=sent.pk if sent else None,
                    take=take.pk if take else None,
                    token=token,
                    at=at,
                    claimed_at=keeper.now(),
                )

            recorded, attempts = _on_a_live_connection(step, "recording a send")
            if accepted is not None:
                if recorded:
                    report.sent += 1
                else:
                    report.lost_claims += 1  # taken back meanwhile: it will be sent again
                accepted = None
            if take is None:
                break
            if attempts is None:
                builder.skip(take)  # no longer pending: cancelled, or sent by another relay
                continue
            take.attempts = attempts
            sent, smtp = _send_one(take, token, builder, now, smtp, report)
            if sent:
                accepted = take
    return smtp


def _talks_smtp() -> bool:
    """Whether the relay hands SMTP the bytes built ahead itself: with Django's own SMTP backend
    (the production one), whose `_send` it repeats; any other backend (the tests' locmem, the
    console) is given the e-mail, as before."""
    return import_string(settings.EMAIL_BACKEND) is SmtpEmailBackend


class BuildFailed(Exception):
    """Building an e-mail raised something that is not an Exception (it would have ended the
    builder thread): recorded on the row like any failure."""


def _send_one(message, token, builder: Builder, now, smtp, report: RelayReport):
    """Send one taken message, built ahead; every failure is recorded on this row. Returns (was
    it accepted, the SMTP session to reuse — None after an error: the next message opens one)."""
    try:
        prepared = builder.prepared(message)
        if prepared.error is not None:
            if isinstance(prepared.error, Exception):
                raise prepared.error
            raise BuildFailed(repr(prepared.error)) from prepared.error
        if prepared.email is None:
            _on_a_live_connection(
                lambda: claimed_by(message.pk, token).update(
                    status=OutboxStatus.CANCELLED,
                    claim_token=None,
                    last_error=CANCELLED_BECAUSE.get(message.kind, "Alerte résolue avant l'envoi"),
                ),
                f"cancelling message {message.pk}",
            )
            report.cancelled += 1
            return False, smtp
        if smtp is None:
            # One SMTP session for the pass (reopened after an error), not one per message.
            smtp = get_connection(fail_silently=False)
            smtp.open()
        hand_over(smtp, prepared)
    except Exception as exc:
        outcome = _record_failure(message, token, now or timezone.now(), exc)
        setattr(report, outcome, getattr(report, outcome) + 1)
        report.errors.append(str(exc))
        _close(smtp)
        if isinstance(exc, SoftTimeLimitExceeded):
            raise  # the task must end now; the row is recorded for the next pass
        return False, None
    return True, smtp


def hand_over(smtp, prepared: Prepared) -> None:
    """The one place an e-mail goes to SMTP: its bytes built ahead, over the session's smtplib
    connection (MAIL, RCPT, DATA), or the e-mail given to a backend that is not SMTP's."""
    if prepared.data:
        smtp.connection.sendmail(prepared.envelope_from, list(prepared.recipients), prepared.data)
    else:
        assert prepared.email is not None
        prepared.email.connection = smtp
        prepared.email.send()


def _close(connection) -> None:
    if connection is not None:
        try:
            connection.close()
        except (smtplib.SMTPException, OSError):
            logger.debug("outbox: closing the SMTP connection failed", exc_info=True)
