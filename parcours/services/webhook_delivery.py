"""The webhooks' relay (docs/guide-integration-partenaires.md, « Remise et nouveaux essais »):
the outbox pattern of the e-mails (docs/decisions/0006) applied to HTTP.

A pass takes back the deliveries whose relay died (lease run out), then, one at a time, claims
a due delivery under `FOR UPDATE SKIP LOCKED` (status `sending`, a claim token, attempts + 1 —
committed before any request), POSTs it signed with the Standard Webhooks scheme, and records
the answer only if the row still carries its token: 2xx delivered; anything else (an error
status, a redirect, a timeout, a refused connection) waits for the next attempt, doubling from
PARCOURS_WEBHOOK_RETRY_BASE_SECONDS, until PARCOURS_WEBHOOK_MAX_ATTEMPTS fail it. Each request
is one row of the delivery log (status code, duration, error).

The window that remains is the e-mails': the partner answered 2xx and the process died before
the answer was recorded. The lease then runs out and the message goes again with the same
`webhook-id`, which the partner's system uses to ignore the repeat (the guide says so).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from ..models.webhook import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)

logger = logging.getLogger(__name__)

PASS_BUDGET_SECONDS = 100  # below the task's soft limit (130 s) with a request in flight
USER_AGENT = "parcours-webhooks/1"


@dataclass
class RelayReport:
    recovered: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def signature_header(subscription: WebhookSubscription, *, message_id: str, at, body: str) -> str:
    """`webhook-signature`: one `v1,…` per secret in force (two during a rotation's overlap)."""
    return " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body.encode("utf-8"))
        for secret in subscription.signing_secrets(at)
    )


def backoff(attempts: int) -> dt.timedelta:
    seconds = settings.PARCOURS_WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.PARCOURS_WEBHOOK_RETRY_MAX_SECONDS))


def webhooks_recover_stuck(*, now: dt.datetime) -> int:
    cutoff = now - dt.timedelta(seconds=settings.PARCOURS_WEBHOOK_LEASE_SECONDS)
    recovered = WebhookDelivery.objects.filter(
        status=WebhookDeliveryStatus.SENDING, claimed_at__lt=cutoff
    ).update(
        status=WebhookDeliveryStatus.PENDING,
        claim_token=None,
        next_attempt_at=now,
        last_error="Envoi interrompu (processus arrêté pendant l'envoi) : nouvel essai",
    )
    if recovered:
        logger.warning("webhooks: %d delivery(ies) whose lease ran out taken back", recovered)
    return recovered


def _claim(*, now: dt.datetime, token: uuid.UUID) -> WebhookDelivery | None:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .select_related("subscription")
            .first()
        )
        if delivery is None:
            return None
        delivery.status = WebhookDeliveryStatus.SENDING
        delivery.claim_token = token
        delivery.claimed_at = timezone.now()
        delivery.attempts += 1
        delivery.save(update_fields=["status", "claim_token", "claimed_at", "attempts"])
    return delivery


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new address to call (it could point anywhere)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post(delivery: WebhookDelivery, *, at: dt.datetime) -> tuple[int | None, str]:
    """(HTTP status or None, error text). Never raises."""
    subscription = delivery.subscription
    request = urllib.request.Request(  # noqa: S310 (the address was checked: http(s) only)
        subscription.url,
        data=delivery.body.encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature_header(
                subscription, message_id=delivery.message_id, at=at, body=delivery.body
            ),
        },
    )
    try:
        with _OPENER.open(request, timeout=settings.PARCOURS_WEBHOOK_TIMEOUT_SECONDS) as answer:
            answer.read(1024)
            return answer.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"Réponse HTTP {error.code}"
    except Exception as error:  # connection refused, timeout, TLS… : the delivery's, not the pass's
        return None, f"Échec de connexion : {type(error).__name__}"[:300]


def _record(
    delivery: WebhookDelivery,
    *,
    token: uuid.UUID,
    started: dt.datetime,
    duration_ms: int,
    status_code: int | None,
    error: str,
    report: RelayReport,
) -> None:
    with transaction.atomic():
        row = (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=delivery.pk, claim_token=token, status=WebhookDeliveryStatus.SENDING)
            .first()
        )
        WebhookAttempt.objects.create(
            delivery_id=delivery.pk,
            started_at=started,
            duration_ms=duration_ms,
            status_code=status_code,
            error=error,
        )
        if row is None:
            return  # taken back meanwhile (a lease that ran out): its new claim decides
        row.claim_token = None
        row.last_status_code = status_code
        if status_code is not None and 200 <= status_code < 300:
            row.status = WebhookDeliveryStatus.DELIVERED
            row.delivered_at = timezone.now()
            row.last_error = ""
            report.delivered += 1
        elif row.attempts >= settings.PARCOURS_WEBHOOK_MAX_ATTEMPTS:
            row.status = WebhookDeliveryStatus.FAILED
            row.last_error = error
            report.failed += 1
            logger.error("webhooks: delivery %s given up after %d attempts", row.pk, row.attempts)
        else:
            row.status = WebhookDeliveryStatus.PENDING
            row.next_attempt_at = started + backoff(row.attempts)
            row.last_error = error
            report.retried += 1
        row.save(
            update_fields=[
                "status",
                "claim_token",
                "last_status_code",
                "delivered_at",
                "last_error",
                "next_attempt_at",
            ]
        )


def webhooks_deliver(*, now: dt.datetime | None = None) -> RelayReport:
    """One pass: take back, then send the due deliveries one at a time within the budget.
    `now` decides which are due (the tests' clock); requests are signed at the real time."""
    report = RelayReport()
    clock = now or timezone.now()
    report.recovered = webhooks_recover_stuck(now=clock)
    token = uuid.uuid4()
    deadline = time.monotonic() + PASS_BUDGET_SECONDS
    while time.monotonic() < deadline:
        delivery = _claim(now=clock, token=token)
        if delivery is None:
            break
        started = timezone.now()
        began = time.monotonic()
        status_code, error = _post(delivery, at=started)
        duration_ms = int((time.monotonic() - began) * 1000)
        _record(
            delivery,
            token=token,
            started=started,
            duration_ms=duration_ms,
            status_code=status_code,
            error=error,
            report=report,
        )
    return report
