"""Answers pushed back to the sender (issue 14).

`answer_notices_create` runs in the receiver's move's own transaction (the receiver of
`parcours.signals.referral_moved` in notifications/receivers.py): a move that commits always has
its notices and their e-mails, a rolled-back one never does. Per recipient
(`recipients.answer_recipients`): one `AnswerNotice` (the « À traiter » item) and, for an
immediate recipient, one outbox row of kind `answer` — exactly once per (move, address), which
two unique constraints guarantee whatever runs twice; a digest recipient's notice waits for the
daily digest (services/digest.py), which links it to the digest's outbox row once, under a row
lock.

`answer_mark_seen` is the recipient's « marquer comme vu », the same service behind the home's
button and the API.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from parcours.actor import Actor
from parcours.models import AppointmentOutcome, PathwayEvent, Referral

from ..models import (
    AnswerKind,
    AnswerNotice,
    DeliveryMode,
    OutboxKind,
    OutboxMessage,
    answer_kind_of,
)
from ..selectors import answers_visible_to
from .recipients import answer_recipients

# The answers whose news is an appointment's date.
WITH_APPOINTMENT = frozenset(
    {AnswerKind.APPOINTMENT_SET, AnswerKind.APPOINTMENT_MOVED, AnswerKind.REINVITED}
)


def answer_notices_create(
    *,
    referral: Referral,
    event: PathwayEvent,
    action: str,
    source: str | None,
    now: dt.datetime,
) -> int:
    """The sending side's notices of the receiver's move `action` (from state `source`), and
    the e-mails of those who want them at once; returns the number of outbox rows written (the
    caller wakes the relay when there are any). Nothing for a move that is no answer
    (`models.ANSWER_OF_MOVE`). Must run inside the move's transaction; idempotent."""
    answer = answer_kind_of(action, source)
    if answer is None:
        return 0
    appointment = None
    if answer in WITH_APPOINTMENT:
        appointment = (
            referral.appointments.filter(outcome=AppointmentOutcome.PENDING).order_by("-id").first()
        )
    told_users = set(
        AnswerNotice.objects.filter(event=event, recipient__isnull=False).values_list(
            "recipient_id", flat=True
        )
    )
    told_addresses = {
        address.lower()
        for address in OutboxMessage.objects.filter(event=event).values_list("to_email", flat=True)
    } | {
        address.lower()
        for address in AnswerNotice.objects.filter(event=event).values_list("email", flat=True)
        if address
    }
    notices: list[AnswerNotice] = []
    messages: list[OutboxMessage] = []
    for recipient in answer_recipients(referral, actor_id=event.actor_id):
        if recipient.user_id in told_users or recipient.email.lower() in told_addresses:
            continue
        notice = AnswerNotice(
            referral=referral,
            event=event,
            answer=answer,
            appointment=appointment,
            recipient_id=recipient.user_id,
            email=recipient.email,
            mode=recipient.mode,
            created_at=now,
        )
        if recipient.email and recipient.mode == DeliveryMode.IMMEDIATE:
            notice.outbox = OutboxMessage(
                kind=OutboxKind.ANSWER,
                to_email=recipient.email,
                user_id=recipient.user_id,
                event=event,
                next_attempt_at=now,
                created_at=now,
            )
            messages.append(notice.outbox)
        if recipient.email:
            told_addresses.add(recipient.email.lower())
        notices.append(notice)
    OutboxMessage.objects.bulk_create(messages)
    for notice in notices:
        if notice.outbox is not None:
            notice.outbox_id = notice.outbox.pk  # saved just above: link the row to its id
    AnswerNotice.objects.bulk_create(notices)
    return len(messages)


@transaction.atomic
def answer_mark_seen(
    *, actor: Actor, notice_id: int, now: dt.datetime | None = None
) -> AnswerNotice:
    """The recipient has read the answer: it leaves their « À traiter » (and a digest not yet
    composed leaves it out). Only the recipient's own notices, about referrals their acting
    organisation sent and still sees: anything else is AnswerNotice.DoesNotExist (404, like a
    missing one). Marking twice keeps the first time."""
    notice = answers_visible_to(actor).select_for_update(of=("self",)).get(pk=notice_id)
    if notice.seen_at is None:
        notice.seen_at = now or timezone.now()
        notice.save(update_fields=["seen_at"])
    return notice
