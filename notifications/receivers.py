"""Reactions to domain signals (connected in NotificationsConfig.ready)."""

from django.dispatch import receiver

from parcours.signals import break_glass_opened, referral_moved

from .services.alerts import alerts_resolve_for_referral
from .tasks import notify_dpo_of_break_glass


@receiver(referral_moved, dispatch_uid="notifications.resolve_alerts_on_move")
def resolve_alerts_when_referral_moves(sender, *, referral, action, now, **kwargs) -> None:
    """In the move's own transaction: the referral moved on, its alerts stop."""
    alerts_resolve_for_referral(referral=referral, now=now)


@receiver(break_glass_opened, dispatch_uid="notifications.tell_dpo_of_break_glass")
def tell_dpo_when_break_glass_opens(sender, *, break_glass, **kwargs) -> None:
    """After the opening commits (never for a rolled-back one), e-mail the organisation's DPOs."""
    notify_dpo_of_break_glass.delay_on_commit(break_glass.pk)
