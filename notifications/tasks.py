"""Notification tasks. They take ids, are idempotent where it matters, and never put record
content in an e-mail."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext as _

from parcours.categories import DataCategory
from parcours.models import BreakGlass, Membership, Role


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
