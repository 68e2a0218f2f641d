"""A user's choice of immediate e-mails or a daily digest."""

from django.contrib.auth.models import User
from django.db import transaction

from ..models import DeliveryMode, NotificationPreference


def preference_of(*, user: User) -> NotificationPreference:
    """The user's preference (immediate when never chosen; not saved then)."""
    found = NotificationPreference.objects.filter(user=user).first()
    return found or NotificationPreference(user=user, mode=DeliveryMode.IMMEDIATE)


@transaction.atomic
def preference_set(*, user: User, mode: str) -> NotificationPreference:
    """Applies to alerts raised from now on; alerts already waiting keep their delivery."""
    preference, _created = NotificationPreference.objects.update_or_create(
        user=user, defaults={"mode": DeliveryMode(mode)}
    )
    return preference
