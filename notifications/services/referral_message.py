"""Telling the other party that a message was posted on a referral (issue 14).

The notices are outbox rows written in the post's own transaction (the receiver of
`parcours.signals.referral_message_posted`): a message that commits always has its notices, a
rolled-back one never does. The relay builds each e-mail when it sends it (notifications/mail.py)
from the message's referral and author's organisation — never the message's text nor the
person's name: the reader follows the link and logs in to read it.
"""

from django.utils import timezone

from parcours.models import Referral, ReferralMessage

from ..models import OutboxKind, OutboxMessage
from .recipients import message_recipients


def message_notices_create(*, message: ReferralMessage, referral: Referral) -> int:
    """One outbox row per address of the other party for `message`; returns how many were
    written. Must run inside the post's transaction. Idempotent: a second call for the same
    message writes nothing (one row per address and message, a unique constraint)."""
    now = timezone.now()
    told = {
        address.lower()
        for address in OutboxMessage.objects.filter(referral_message=message).values_list(
            "to_email", flat=True
        )
    }
    author = message.author.email.strip().lower()
    rows = [
        OutboxMessage(
            kind=OutboxKind.REFERRAL_MESSAGE,
            to_email=recipient.email,
            user_id=recipient.user_id,
            referral_message=message,
            next_attempt_at=now,
            created_at=now,
        )
        for recipient in message_recipients(referral, message.author_organisation_id)
        if recipient.email.lower() not in told and recipient.email.strip().lower() != author
    ]
    return len(OutboxMessage.objects.bulk_create(rows))
