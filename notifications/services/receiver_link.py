"""The e-mail of a receiver's link (issue 19): one outbox row to the receiving organisation's
contact address, written in the transaction that made the link — exactly once per (link,
address), which a unique constraint guarantees whatever runs twice."""

import datetime as dt

from parcours.models import ReceiverLink

from ..models import OutboxKind, OutboxMessage


def receiver_link_notice_create(*, link: ReceiverLink, now: dt.datetime) -> int:
    """The outbox row of `link`'s e-mail; returns how many were written (0: no contact address,
    or already written)."""
    address = (link.organisation.contact_email or "").strip()
    if not address:
        return 0
    if OutboxMessage.objects.filter(receiver_link=link, to_email__iexact=address).exists():
        return 0
    OutboxMessage.objects.create(
        kind=OutboxKind.RECEIVER_LINK,
        to_email=address,
        receiver_link=link,
        next_attempt_at=now,
        created_at=now,
    )
    return 1
