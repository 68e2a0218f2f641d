"""A real SMTP server for tests (aiosmtpd, on a free loopback port, in a thread).

It records every message it *accepted* — a message counts only once the server answered 250,
as a real mail server commits it — and can be scripted:

* `answer_next(["451 4.3.0 …", …])`: the next DATA commands get these answers, in order;
* `refuse(address, "550 …")`: RCPT TO that address is refused with a permanent error;
* `stall()`: DATA waits (without answering) until `release()`; `data_received` is set when a
  message reaches that point, so a test can kill the client mid-send. A client that dies while
  stalled cancels the handler: nothing is recorded, as nothing was accepted;
* `drop_data(3)`: the 3rd DATA command (counted from the start or the last `reset`) gets no
  answer, the connection is closed instead (a server restarting, a network cut): nothing is
  accepted.

Each accepted message keeps the client's address (`peer`): one per SMTP session.
"""

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    peer: tuple = ()

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"]).strip()  # a folded header keeps its lead space

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return part.get_content()
        return ""

    @property
    def text(self) -> str:
        return self.part("text/plain")

    @property
    def html(self) -> str:
        return self.part("text/html")


class _Handler:
    def __init__(self, sink: "SmtpSink") -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self.sink.refusals.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            self.sink.attempts += 1
            scripted = self.sink.script.pop(0) if self.sink.script else None
            dropping = self.sink.attempts in self.sink.drops
        if scripted:
            return scripted
        if dropping:
            server.transport.close()  # no answer: the client sees the connection go
            return "421 4.3.2 Connection dropped"
        self.sink.data_received.set()
        try:
            if self.sink.delay:
                await asyncio.sleep(self.sink.delay)  # a slow server (issue 16: 3 s a message)
            while self.sink.stalled.is_set():
                await asyncio.sleep(0.02)  # polling the test's release, not waiting for a delay
        except asyncio.CancelledError:
            # The client died before we answered: nothing was accepted (as in a real server).
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
            with self.sink.lock:
                self.sink.aborted.append(parsed)  # type: ignore[arg-type]
            raise
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, session.peer)  # type: ignore[arg-type]
            )
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.aborted: list[EmailMessage] = []
        self.script: list[str] = []
        self.refusals: dict[str, str] = {}
        self.attempts = 0
        self.drops: set[int] = set()
        self.delay = 0.0
        self.stalled = threading.Event()
        self.data_received = threading.Event()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.aborted.clear()
            self.script.clear()
            self.refusals.clear()
            self.attempts = 0
            self.drops.clear()
            self.delay = 0.0
        self.stalled.clear()
        self.data_received.clear()

    def answer_next(self, answers: list[str]) -> None:
        with self.lock:
            self.script.extend(answers)

    def refuse(self, address: str, answer: str) -> None:
        self.refusals[address.lower()] = answer

    def drop_data(self, *attempts: int) -> None:
        """Close the connection instead of answering these DATA commands (1 = the first)."""
        with self.lock:
            self.drops.update(attempts)

    def slow(self, seconds: float) -> None:
        """Answer each DATA after `seconds` (a slow server)."""
        self.delay = seconds

    def stall(self) -> None:
        self.data_received.clear()
        self.stalled.set()

    def release(self) -> None:
        self.stalled.clear()

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages() if address.lower() in (r.lower() for r in m.rcpt_tos)]
