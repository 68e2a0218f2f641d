"""Telling the partners that a recorded attendance or absence was corrected (issue 13).

The notices are outbox rows written in the correction's own transaction (the receiver of
`parcours.signals.referral_moved` calls this for the correction move): a correction that commits
always has its notices, a rolled-back one never does. The relay builds each e-mail from the
correction's timeline event when it sends it (notifications/mail.py) and sends each row once; the
absence's alerts a correction to an attendance resolves have their unsent e-mails cancelled by
the same signal (services/alerts.py), so the partners read the correction, not a stale alert.
"""

from django.utils import timezone

from parcours.models import PathwayEvent, Referral

from ..models import OutboxKind, OutboxMessage
from .recipients import correction_recipients


def correction_notices_create(*, referral: Referral, event: PathwayEvent) -> int:
    """One outbox row per partner address for the correction `event`; returns how many were
    written. Must run inside the correction's transaction. Idempotent: a second call for the
    same correction writes nothing (one row per address and event, a unique constraint)."""
    now = timezone.now()
    told = {
        address.lower()
        for address in OutboxMessage.objects.filter(event=event).values_list("to_email", flat=True)
    }
    rows = [
        OutboxMessage(
            kind=OutboxKind.CORRECTION,
            to_email=recipient.email,
            user_id=recipient.user_id,
            event=event,
            next_attempt_at=now,
            created_at=now,
        )
        for recipient in correction_recipients(referral)
        if recipient.email.lower() not in told
    ]
    return len(OutboxMessage.objects.bulk_create(rows))
