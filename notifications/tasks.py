"""Notification tasks. They take ids or a clock reading (never objects), are idempotent, and
never put record content in an e-mail.

`now` (ISO 8601) is the injectable clock: beat passes nothing (the real time), tests pass the
moment they want the task to see.
"""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from parcours.queueing import enqueue

from .services.alerts import alerts_scan as run_alerts_scan
from .services.digest import digests_compose
from .services.relay import outbox_relay as run_outbox_relay
from .services.reminders import reminders_send as run_reminders_send
from .services.rights_end import rights_end_warnings_raise as run_rights_end_warnings_raise


def _clock(now: str | None) -> dt.datetime:
    return dt.datetime.fromisoformat(now) if now else timezone.now()


@shared_task(name="notifications.alerts_scan", soft_time_limit=240, time_limit=300)
def alerts_scan(now: str | None = None) -> dict:
    """Raise, escalate and resolve alerts (every PARCOURS_ALERT_SCAN_SECONDS), then wake the
    relay for the e-mails just written (the periodic relay would find them anyway)."""
    report = run_alerts_scan(now=_clock(now))
    if report.messages:
        enqueue(
            "notifications.outbox_relay",
            now=now,
            catch_up="the outbox-relay beat entry sends the alerts' e-mails",
        )
    return report.as_dict()


@shared_task(name="notifications.reminders_send", soft_time_limit=240, time_limit=300)
def reminders_send(now: str | None = None) -> dict:
    """Write the reminders that fell due to the outbox (every PARCOURS_REMINDER_SCAN_SECONDS),
    then wake the relay (the periodic relay would find them anyway)."""
    report = run_reminders_send(now=_clock(now))
    if report.messages:
        enqueue(
            "notifications.outbox_relay",
            now=now,
            catch_up="the outbox-relay beat entry sends the reminders",
        )
    return report.as_dict()


@shared_task(name="notifications.outbox_relay", soft_time_limit=130, time_limit=150)
def outbox_relay(now: str | None = None) -> dict:
    """Send the outbox's due e-mails (queue `mail`). Re-running it never sends a row twice:
    rows are claimed under FOR UPDATE SKIP LOCKED and recorded against the claim."""
    return run_outbox_relay(now=_clock(now) if now else None).as_dict()


@shared_task(name="notifications.digests_send", soft_time_limit=240, time_limit=300)
def digests_send(now: str | None = None) -> int:
    """Compose the daily digests (beat, every day at PARCOURS_DIGEST_HOUR), then relay them."""
    written = digests_compose(now=_clock(now))
    if written:
        enqueue(
            "notifications.outbox_relay",
            now=now,
            catch_up="the outbox-relay beat entry sends the digests",
        )
    return written


@shared_task(name="notifications.rights_end_warnings_raise", soft_time_limit=240, time_limit=300)
def rights_end_warnings_raise(now: str | None = None) -> dict:
    """Warn of the ends of unemployment rights coming (beat, once a day), then wake the relay
    (the periodic relay would find the e-mails anyway)."""
    report = run_rights_end_warnings_raise(now=_clock(now))
    if report.messages:
        enqueue(
            "notifications.outbox_relay",
            now=now,
            catch_up="the outbox-relay beat entry sends the rights-end warnings",
        )
    return report.as_dict()
