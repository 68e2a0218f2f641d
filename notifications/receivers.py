"""Reactions to domain signals (connected in NotificationsConfig.ready)."""

from django.dispatch import receiver

from parcours.signals import referral_moved

from .services.alerts import alerts_resolve_for_referral


@receiver(referral_moved, dispatch_uid="notifications.resolve_alerts_on_move")
def resolve_alerts_when_referral_moves(sender, *, referral, action, now, **kwargs) -> None:
    """In the move's own transaction: the referral moved on, its alerts stop."""
    alerts_resolve_for_referral(referral=referral, now=now)
