"""Notification tasks. They take ids or a clock reading (never objects), are idempotent, and
never put record content in an e-mail.

`now` (ISO 8601) is the injectable clock: beat passes nothing (the real time), tests pass the
moment they want the task to see.
"""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _

from parcours.categories import DataCategory
from parcours.models import BreakGlass, Membership, Role

from .services.alerts import alerts_scan as run_alerts_scan
from .services.digest import digests_compose
from .services.relay import outbox_relay as run_outbox_relay


def _clock(now: str | None) -> dt.datetime:
    return dt.datetime.fromisoformat(now) if now else timezone.now()


@shared_task(name="notifications.alerts_scan", soft_time_limit=240, time_limit=300)
def alerts_scan(now: str | None = None) -> dict:
    """Raise, escalate and resolve alerts (every PARCOURS_ALERT_SCAN_SECONDS), then wake the
    relay for the e-mails just written (the periodic relay would find them anyway)."""
    report = run_alerts_scan(now=_clock(now))
    if report.messages:
        outbox_relay.delay(now=now)
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
        outbox_relay.delay(now=now)
    return written


@shared_task(name="notifications.notify_dpo_of_break_glass", time_limit=60)
def notify_dpo_of_break_glass(break_glass_id: int) -> int:
    """Tell the organisation's DPOs that a member opened an exceptional access (who, when, which
    category, why) — never the content of the record."""
    grant = BreakGlass.objects.select_related("user", "organisation").get(pk=break_glass_id)
    recipients = list(
        Membership.objects.filter(
            organisation=grant.organisation, role=Role.DPO, is_active=True
        ).values_list("user__email", flat=True)
    )
    recipients = [r for r in recipients if r]
    if not recipients:
        return 0
    send_mail(
        subject=_("[parcours] Accès exceptionnel ouvert par %(user)s")
        % {"user": grant.user.get_full_name() or grant.user.get_username()},
        message=_(
            "%(user)s (%(org)s) a ouvert un accès exceptionnel à la catégorie « %(category)s » "
            "du parcours n°%(pathway)s le %(at)s, jusqu'au %(until)s.\n\nMotif : %(reason)s\n\n"
            "Consultez le journal des accès : %(url)s/api/v1/\n"
        )
        % {
            "user": grant.user.get_full_name() or grant.user.get_username(),
            "org": grant.organisation.name,
            "category": DataCategory(grant.category).label,
            "pathway": grant.pathway_id,
            "at": grant.starts_at.strftime("%d/%m/%Y %H:%M"),
            "until": grant.ends_at.strftime("%d/%m/%Y %H:%M"),
            "reason": grant.reason,
            "url": settings.PARCOURS_PUBLIC_URL,
        },
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)
