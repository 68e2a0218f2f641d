"""A user's choice of immediate e-mails or a daily digest."""

from django.contrib.auth.models import User
from django.db import transaction

from ..models import DeliveryMode, NotificationPreference


def preference_of(*, user: User) -> NotificationPreference:
    """The user's preference (immediate when never chosen; not saved then)."""
    found = NotificationPreference.objects.filter(user=user).first()
    return found or NotificationPreference(
        user=user, mode=DeliveryMode.IMMEDIATE, answers_mode=DeliveryMode.IMMEDIATE
    )


@transaction.atomic
def preference_set(
    *, user: User, mode: str | None = None, answers_mode: str | None = None
) -> NotificationPreference:
    """`mode` for alerts, `answers_mode` for the answers to the referrals the user sent; a
    choice not given is kept. Applies to alerts raised and answers received from now on: those
    already waiting keep their delivery."""
    defaults = {}
    if mode is not None:
        defaults["mode"] = DeliveryMode(mode)
    if answers_mode is not None:
        defaults["answers_mode"] = DeliveryMode(answers_mode)
    preference, _created = NotificationPreference.objects.update_or_create(
        user=user, defaults=defaults
    )
    return preference
