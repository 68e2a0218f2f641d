"""What the platform's operators do with the outbox (docs/operations.md, « The outbox for
operators »): send again messages that failed or were cancelled, cancel messages that must not
go. The admin's actions and `manage.py outbox_requeue` call these; a message being handed to
SMTP (`sending`) is never touched — its relay owns it until its lease runs out."""

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from ..models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

RESENDABLE = (OutboxStatus.FAILED, OutboxStatus.CANCELLED)
CANCELLABLE = (OutboxStatus.PENDING, OutboxStatus.FAILED)


def _by(operator) -> str:
    if operator is None:
        return "un opérateur (commande)"
    return operator.get_full_name() or operator.get_username()


def outbox_resend(*, operator, message_ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Failed or cancelled messages go back to the relay at once, with a fresh retry budget
    (their attempts start again from 0; the history of the failure stays in the logs). Returns
    how many were put back."""
    now = now or timezone.now()
    when = f"{timezone.localtime(now):%d/%m/%Y à %H:%M}"
    with transaction.atomic():
        count = OutboxMessage.objects.filter(
            pk__in=list(message_ids), status__in=RESENDABLE
        ).update(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            failed_at=None,
            smtp_code=None,
            claim_token=None,
            last_error=f"Renvoi demandé le {when} par {_by(operator)}",
        )
    if count:
        logger.warning("outbox: %d message(s) put back to be sent by %s", count, _by(operator))
    return count


def outbox_cancel(*, operator, message_ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Pending or failed messages will not be sent. Returns how many were cancelled."""
    now = now or timezone.now()
    with transaction.atomic():
        count = OutboxMessage.objects.filter(
            pk__in=list(message_ids), status__in=CANCELLABLE
        ).update(
            status=OutboxStatus.CANCELLED,
            claim_token=None,
            last_error=f"Annulé le {timezone.localtime(now):%d/%m/%Y à %H:%M} par {_by(operator)}",
        )
    if count:
        logger.warning("outbox: %d message(s) cancelled by %s", count, _by(operator))
    return count


def outbox_failed_ids(*, since: dt.datetime | None = None, kind: str | None = None) -> list[int]:
    """The failed messages (since a moment, of a kind): what `outbox_requeue` sends again."""
    messages = OutboxMessage.objects.filter(status=OutboxStatus.FAILED)
    if since is not None:
        messages = messages.filter(failed_at__gte=since)
    if kind:
        messages = messages.filter(kind=kind)
    return list(messages.order_by("id").values_list("pk", flat=True))
