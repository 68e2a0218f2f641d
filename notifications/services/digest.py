"""The daily digest: each user who chose it gets one e-mail grouping the day's alerts and the
answers to the referrals they sent (issue 14), each according to its own preference."""

import datetime as dt

from django.db import transaction

from ..models import (
    AlertState,
    AnswerNotice,
    Delivery,
    DeliveryMode,
    OutboxKind,
    OutboxMessage,
)


def _awaiting(now: dt.datetime):
    return Delivery.objects.filter(
        mode=DeliveryMode.DIGEST,
        outbox__isnull=True,
        cancelled_at__isnull=True,
        created_at__lte=now,
    )


def _answers_awaiting(now: dt.datetime):
    """Answers for the digest not yet in one. An answer the user already marked seen on their
    home is left out: they have read it (the filter repeats the partial index's condition)."""
    return AnswerNotice.objects.filter(
        mode=DeliveryMode.DIGEST,
        outbox__isnull=True,
        seen_at__isnull=True,
        created_at__lte=now,
    ).exclude(email="")


def digests_compose(*, now: dt.datetime) -> int:
    """One outbox message per user with alerts or answers waiting; idempotent (a delivery or an
    answer is linked to a digest once, under a row lock, so two runs never put it in two
    e-mails). Returns the number of digests written."""
    written = 0
    user_ids = set(_awaiting(now).exclude(user=None).values_list("user_id", flat=True).distinct())
    user_ids |= set(_answers_awaiting(now).values_list("recipient_id", flat=True).distinct())
    for user_id in sorted(user_ids):
        with transaction.atomic():
            deliveries = list(
                _awaiting(now)
                .filter(user_id=user_id)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("alert")
                .order_by("created_at", "id")
            )
            answers = list(
                _answers_awaiting(now)
                .filter(recipient_id=user_id)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("created_at", "id")
            )
            live = [d for d in deliveries if d.alert.state != AlertState.RESOLVED]
            Delivery.objects.filter(
                pk__in=[d.pk for d in deliveries if d.alert.state == AlertState.RESOLVED]
            ).update(cancelled_at=now)
            if not live and not answers:
                continue
            message = OutboxMessage.objects.create(
                kind=OutboxKind.DIGEST,
                to_email=live[0].email if live else answers[-1].email,
                user_id=user_id,
                next_attempt_at=now,
                created_at=now,
            )
            Delivery.objects.filter(pk__in=[d.pk for d in live]).update(outbox=message)
            AnswerNotice.objects.filter(pk__in=[a.pk for a in answers]).update(outbox=message)
            written += 1
    return written
