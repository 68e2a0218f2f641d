"""Writing to the outbox: always inside the caller's transaction (the alert and its e-mails
commit together or not at all)."""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q

from ..models import (
    Alert,
    Delivery,
    DeliveryMode,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from .recipients import recipients_for


def deliveries_create(*, alerts: Iterable[Alert], now: dt.datetime) -> int:
    """Recipients of each new alert; an outbox message for each immediate one. Returns the
    number of outbox messages written."""
    alerts = list(alerts)
    if not alerts:
        return 0
    recipients = recipients_for(alerts)
    immediate: list[tuple[Alert, Delivery]] = []
    deliveries: list[Delivery] = []
    for alert in alerts:
        for recipient in recipients[alert.pk]:
            delivery = Delivery(
                alert=alert,
                audience=recipient.audience,
                user_id=recipient.user_id,
                email=recipient.email,
                mode=recipient.mode,
                created_at=now,
            )
            deliveries.append(delivery)
            if recipient.mode == DeliveryMode.IMMEDIATE:
                immediate.append((alert, delivery))
    messages = OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                kind=OutboxKind.ALERT,
                to_email=delivery.email,
                user_id=delivery.user_id,
                next_attempt_at=now,
                created_at=now,
            )
            for _alert, delivery in immediate
        ]
    )
    for (_alert, delivery), message in zip(immediate, messages, strict=True):
        delivery.outbox = message
    Delivery.objects.bulk_create(deliveries)
    return len(messages)


def outbox_cancel_for(*, alert_ids: list[int], now: dt.datetime) -> int:
    """A resolved alert sends nothing more: its unsent e-mails are cancelled and its digest
    lines dropped. A message already being handed to SMTP cannot be called back."""
    Delivery.objects.filter(
        alert_id__in=alert_ids, mode=DeliveryMode.DIGEST, outbox__isnull=True
    ).filter(Q(cancelled_at__isnull=True)).update(cancelled_at=now)
    return OutboxMessage.objects.filter(
        kind=OutboxKind.ALERT,
        status=OutboxStatus.PENDING,
        deliveries__alert_id__in=alert_ids,
    ).update(status=OutboxStatus.CANCELLED, last_error="Alerte résolue avant l'envoi")
