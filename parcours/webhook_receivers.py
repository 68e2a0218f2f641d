"""The webhooks' share of the `referral_moved` signal (connected in ParcoursConfig.ready): sent
inside the move's transaction, so the deliveries commit or roll back with the move."""

from .services.webhooks import webhook_events_record


def record_webhook_events(sender, *, referral, action, now, event=None, **kwargs) -> None:
    if event is None:
        return
    webhook_events_record(referral=referral, action=action, event_id=event.pk, now=now)
