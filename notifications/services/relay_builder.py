"""A relay batch's e-mails built ahead of their sending (docs/decisions/0006, « Amendment — issue
17: the e-mail built while the previous one is in SMTP »).

Rendering an e-mail and writing its MIME bytes (notifications/mail_writer.py) is CPU work;
SMTP's and the database's answers are waits. The relay's own thread (the one that takes, sends
and records, in that order) therefore asks a builder thread for the next e-mails before it
needs them: the builder renders e-mail k + 1 while the relay waits on e-mail k's SMTP exchange
or on its record (both release the interpreter). The relay's critical path per e-mail is then
its SMTP exchange and the statement that records it and takes the next row.

Building is not sending: nothing here touches a row or a socket. A row's bytes go to SMTP only
from the relay's thread, after its take committed (relay.py); an e-mail built for a row that is
then not taken (cancelled, sent by another relay, the budget spent) is dropped unsent.

Every failure is the message's: an exception while building (any, even one that would end a
thread) comes back as that message's result, recorded on its row. If the builder does not answer
within BUILD_WAIT_SECONDS (wedged, or gone), the relay builds the rest of the batch itself.
"""

import logging
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection as db_connection
from django.utils import timezone, translation

from ..mail import build_email
from ..mail_facts import MailFacts
from ..mail_writer import envelope_address, smtp_bytes
from ..models import OutboxMessage

logger = logging.getLogger("notifications.services.relay")

# How many e-mails the builder keeps ready ahead of the relay: enough to never make it wait,
# few enough that a batch cut short (budget, soft time limit) wastes little.
LOOKAHEAD = 2
# How long the relay waits for an e-mail from the builder before building it itself. An e-mail
# takes about a millisecond to build: this is for a builder that will not answer.
BUILD_WAIT_SECONDS = 10.0
BUILD_POLL_SECONDS = 0.1  # how often the relay, waiting, checks that the builder still lives
# While a batch is built beside its sending, the interpreter hands over between threads every
# 0.1 ms instead of 5: when SMTP's or the database's answer arrives, the relay's thread gets the
# interpreter back from the builder at once instead of waiting up to 5 ms for it — per e-mail,
# several times (measured: bench/relay_bench.py, docs/performance.md). Restored after the batch.
SWITCH_INTERVAL_SECONDS = 0.0001


@dataclass(frozen=True)
class Prepared:
    """One outbox row's e-mail, ready for SMTP: the message (None: nothing left to say, the row
    is cancelled), and when the relay talks SMTP itself, its envelope and bytes exactly as
    Django's SMTP backend would send them — or the error that building it raised."""

    email: EmailMultiAlternatives | None
    envelope_from: str = ""
    recipients: tuple[str, ...] = ()
    data: bytes = b""
    error: BaseException | None = None


def prepare(message: OutboxMessage, facts: MailFacts, *, flatten: bool) -> Prepared:
    """Build (and with `flatten`, turn into SMTP bytes) one row's e-mail; an exception is
    returned as the row's result, never raised."""
    try:
        email = build_email(message, facts)
        if email is None or not flatten:
            return Prepared(email=email)
        # As django.core.mail.backends.smtp.EmailBackend._send does, once, here; the bytes
        # written by the lean MIME writer (Django's own path for a shape it does not know).
        encoding = email.encoding or settings.DEFAULT_CHARSET
        return Prepared(
            email=email,
            envelope_from=envelope_address(email.from_email, encoding),
            recipients=tuple(envelope_address(a, encoding) for a in email.recipients()),
            data=smtp_bytes(email),
        )
    except Exception as exc:  # a build's failure is its row's, recorded there
        return Prepared(email=None, error=exc)


class Builder:
    """Builds the batch's e-mails, in the batch's order, LOOKAHEAD ahead of the relay, in a
    thread of its own (with the relay's language and time zone: dates and wording are the same
    as if the relay built them)."""

    def __init__(
        self,
        messages: Iterable[OutboxMessage],
        facts: MailFacts,
        *,
        flatten: bool,
        build: Callable[..., Prepared] | None = None,
    ) -> None:
        self._rest = deque(messages)
        self._ahead: deque[tuple[OutboxMessage, Future[Prepared]]] = deque()
        self._facts = facts
        self._flatten = flatten
        self._build = build or prepare
        self._inline = False  # the builder is gone or wedged: the relay builds the rest itself
        self._jobs: queue.SimpleQueue[tuple[OutboxMessage, Future[Prepared]] | None] = (
            queue.SimpleQueue()
        )
        language, zone = translation.get_language(), timezone.get_current_timezone()
        # A daemon: a build that never ends must not keep the worker process from exiting.
        self._thread = threading.Thread(
            target=self._serve, args=(language, zone), daemon=True, name="outbox-build"
        )

    def __enter__(self) -> "Builder":
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        self._thread.start()
        self._top_up()
        return self

    def __exit__(self, *exc_info) -> None:
        # E-mails built for rows not taken are dropped; a build still running is not waited for
        # (it sends nothing).
        for _message, future in self._ahead:
            future.cancel()
        self._jobs.put(None)
        sys.setswitchinterval(self._switch_interval)

    def _serve(self, language: str | None, zone) -> None:
        """The builder thread: the batch's e-mails in order, with the relay's language and time
        zone (dates and wording as if the relay built them)."""
        if language:
            translation.activate(language)
        timezone.activate(zone)
        try:
            while (job := self._jobs.get()) is not None:
                message, future = job
                if future.set_running_or_notify_cancel():
                    future.set_result(self._run(message))
        finally:
            # Building reads no database (the batch's facts are loaded); if something did, the
            # connection was this thread's and is closed with it.
            db_connection.close()

    def _run(self, message: OutboxMessage) -> Prepared:
        try:
            return self._build(message, self._facts, flatten=self._flatten)
        except BaseException as exc:  # even what would end the thread: the row's, not the batch's
            return Prepared(email=None, error=exc)

    def _top_up(self) -> None:
        while self._rest and len(self._ahead) < LOOKAHEAD:
            message = self._rest.popleft()
            future: Future[Prepared] = Future()
            if not self._inline:
                self._jobs.put((message, future))
            self._ahead.append((message, future))

    def next(self) -> OutboxMessage | None:
        """The batch's next row (its e-mail being built), or None when the batch is done."""
        return self._ahead[0][0] if self._ahead else None

    def prepared(self, message: OutboxMessage) -> Prepared:
        """The e-mail of `message`, the row `next` gave; the next ones are started."""
        queued, future = self._ahead.popleft()
        assert queued is message, "the relay takes the batch's rows in the builder's order"
        self._top_up()
        waited = 0.0
        while not self._inline:
            try:
                return future.result(timeout=BUILD_POLL_SECONDS)
            except FutureTimeout:
                waited += BUILD_POLL_SECONDS
                if self._thread.is_alive() and waited < BUILD_WAIT_SECONDS:
                    continue
                self._inline = True
                logger.error(
                    "outbox: the e-mail builder %s: the relay builds the rest of the batch itself",
                    f"did not answer in {waited:.1f} s" if self._thread.is_alive() else "is gone",
                )
        if future.cancel() or not future.done():
            return self._run_inline(message)
        return future.result()

    def skip(self, message: OutboxMessage) -> None:
        """`message` was not taken: its e-mail, built or not, is dropped."""
        queued, future = self._ahead.popleft()
        assert queued is message, "the relay takes the batch's rows in the builder's order"
        future.cancel()
        self._top_up()

    def _run_inline(self, message: OutboxMessage) -> Prepared:
        # In the relay's thread: an exception (the soft time limit among them) is the row's.
        try:
            return self._build(message, self._facts, flatten=self._flatten)
        except Exception as exc:
            return Prepared(email=None, error=exc)
