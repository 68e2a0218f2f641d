"""Reminders to the receiver before its deadlines (issue 14).

Scheduled in the move's own transaction (the receiver of `parcours.signals.referral_moved`): the
move that stamps a deadline (sending: the answer; accepting: the appointment to set and the
first appointment) also writes, for each deadline it now waits on, a `Reminder` due the agreed
number of hours before it — the same delays (`parcours.services.delays.delays_for`) that set the
deadline. The periodic scan (`reminders_send`, beat entry `reminders-send`) writes the due
reminders' e-mails to the outbox, or drops a reminder that no longer holds (the referral moved
on, the deadline passed, the pathway was archived). Exactly once per (referral, deadline): one
`Reminder` per pair, claimed under a row lock; one outbox row per (reminder, address).
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction

from parcours.models import Referral
from parcours.services.delays import delays_for

from ..models import OutboxKind, OutboxMessage, Reminder, ReminderState
from ..rules import REMINDER_RULES
from .recipients import reminder_recipients

logger = logging.getLogger(__name__)

BATCH = 500  # reminders per transaction


@dataclass
class ReminderReport:
    notified: int = 0
    cancelled: int = 0
    messages: int = 0

    def as_dict(self) -> dict:
        return {"notified": self.notified, "cancelled": self.cancelled, "messages": self.messages}


def reminders_schedule(*, referral: Referral, now: dt.datetime) -> int:
    """The reminders of the deadlines `referral` waits on now, each `reminder_hours` before its
    deadline; none when that moment has already passed (a deadline set closer than that) or the
    delays say 0. Must run inside the move's transaction. Idempotent: a deadline already
    scheduled (or reminded, or dropped) is left as it is. Returns how many were scheduled."""
    rules = [
        rule
        for rule in REMINDER_RULES.values()
        if referral.status in rule.statuses and getattr(referral, rule.due_field) is not None
    ]
    if not rules:
        return 0
    # The delays of the move that stamped the deadlines: same organisations, same day.
    hours = delays_for(
        sender=referral.sender_organisation, receiver=referral.receiver_organisation, on=now.date()
    ).reminder_hours
    if hours <= 0:
        return 0
    rows = []
    for rule in rules:
        due_at = getattr(referral, rule.due_field)
        remind_at = due_at - dt.timedelta(hours=hours)
        if remind_at > now:
            rows.append(
                Reminder(
                    referral=referral,
                    deadline=rule.deadline,
                    due_at=due_at,
                    remind_at=remind_at,
                    created_at=now,
                )
            )
    if not rows:
        return 0
    existing = set(
        Reminder.objects.filter(
            referral=referral, deadline__in=[r.deadline for r in rows]
        ).values_list("deadline", flat=True)
    )
    fresh = [row for row in rows if row.deadline not in existing]
    # ignore_conflicts: a concurrent move of the same referral cannot happen (it is locked), but
    # the unique constraint stays the last word.
    Reminder.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def reminders_send(*, now: dt.datetime) -> ReminderReport:
    """One pass of the scan: every scheduled reminder whose moment came is either written to
    the outbox (one e-mail per address of the receiving organisation's case workers) or dropped
    when it no longer holds. Safe to run twice at once, or again after a crash: rows are claimed
    under FOR UPDATE SKIP LOCKED and leave the `scheduled` state in the transaction that writes
    their e-mails."""
    report = ReminderReport()
    while True:
        with transaction.atomic():
            due = list(
                Reminder.objects.filter(state=ReminderState.SCHEDULED, remind_at__lte=now)
                .select_for_update(of=("self",), skip_locked=True)
                .select_related("referral__pathway", "referral__receiver_organisation")
                .order_by("remind_at", "pk")[:BATCH]
            )
            if not due:
                break
            live, dropped = [], []
            for reminder in due:
                referral = reminder.referral
                rule = REMINDER_RULES[reminder.deadline]
                if referral.pathway.archived_at is None and rule.holds_for(
                    referral.status, reminder.due_at, now
                ):
                    live.append(reminder)
                else:
                    dropped.append(reminder)
            recipients = reminder_recipients(r.referral for r in live)
            rows = [
                OutboxMessage(
                    kind=OutboxKind.REMINDER,
                    to_email=recipient.email,
                    user_id=recipient.user_id,
                    reminder=reminder,
                    next_attempt_at=now,
                    created_at=now,
                )
                for reminder in live
                for recipient in recipients[reminder.referral_id]
            ]
            OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
            for reminder in live:
                reminder.state, reminder.notified_at = ReminderState.NOTIFIED, now
            for reminder in dropped:
                reminder.state, reminder.cancelled_at = ReminderState.CANCELLED, now
            Reminder.objects.bulk_update(due, ["state", "notified_at", "cancelled_at"])
            report.notified += len(live)
            report.cancelled += len(dropped)
            report.messages += len(rows)
    logger.info("reminders_send at %s: %s", now.isoformat(), report.as_dict())
    return report
