"""A partner's system for the tests: a real HTTP server on loopback, in a thread, that checks
every request's Standard Webhooks signature with the `standardwebhooks` package's verifier
(against each secret it is given) and validates the FHIR resource in it with fhir.resources
(R4B, whose Task, ServiceRequest, EpisodeOfCare and Patient are R4's), as a partner would: a
`Task` for a referral event, an `EpisodeOfCare` for a pathway event.

`script` holds the statuses to answer, in order (then 200); `hold` makes the next request wait
until released (a relay killed while the partner had not answered yet)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fhir.resources.R4B.episodeofcare import EpisodeOfCare
from fhir.resources.R4B.task import Task
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# The resource each event family carries in `data` (its `type`'s prefix).
RESOURCE_OF_EVENT = {"referral": Task, "pathway": EpisodeOfCare}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int
    verified_with: list[str]  # the secrets whose signature matched
    fhir_error: str = ""
    payload: dict = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)  # why a secret did not verify

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    def __init__(self, secrets: list[str] | None = None) -> None:
        self.secrets: list[str] = list(secrets or [])
        self.script: list[int] = []
        self.received: list[Received] = []
        self.hold = threading.Event()
        self.holding = False
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if receiver.holding:
                    receiver.holding = False
                    receiver.arrived.set()
                    receiver.hold.wait(60)  # the relay is killed meanwhile
                verified, refusals = [], []
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                        verified.append(secret)
                    except WebhookVerificationError as refusal:
                        refusals.append(str(refusal))
                fhir_error, payload = "", {}
                try:
                    payload = json.loads(body)
                    family = payload["type"].split(".", 1)[0]
                    RESOURCE_OF_EVENT[family].model_validate(payload["data"])
                except Exception as error:  # recorded: the test asserts there is none
                    fhir_error = f"{type(error).__name__}: {error}"[:2000]
                with receiver._lock:
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver.received.append(
                        Received(headers, body, status, verified, fhir_error, payload, refusals)
                    )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/parcours"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[Received]:
        """The requests it answered 2xx, whose signature it verified."""
        return [r for r in self.received if 200 <= r.answered < 300 and r.verified_with]
