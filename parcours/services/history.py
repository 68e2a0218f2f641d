"""Attribution of django-simple-history rows: who changed a record, and why."""

from django.db import models

from ..actor import Actor


def save_with_history(instance: models.Model, *, actor: Actor | None, reason: str) -> None:
    """Save `instance` so its history row names the acting user and the reason for the change."""
    instance._history_user = actor.user if actor else None  # type: ignore[attr-defined]
    instance._change_reason = _with_link(actor, reason)  # type: ignore[attr-defined]
    instance.full_clean(validate_unique=False, validate_constraints=False)
    instance.save()


def delete_with_history(instance: models.Model, *, actor: Actor | None, reason: str) -> None:
    """Delete `instance` so its last history row ("-") names the acting user and the reason."""
    instance._history_user = actor.user if actor else None  # type: ignore[attr-defined]
    instance._change_reason = reason  # type: ignore[attr-defined]
    instance.delete()


def _with_link(actor: Actor | None, reason: str) -> str:
    """A change made through a receiver's link has no user: its reason names the link."""
    if actor is None or actor.link is None:
        return reason
    return f"{reason} (lien d'accès sans compte n° {actor.link.link_id})"
