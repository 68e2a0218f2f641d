"""The webhooks' share of the domain's signals (connected in ParcoursConfig.ready):
`referral_moved` and `pathway_changed`, both sent inside the change's transaction, so the
deliveries commit or roll back with the change."""

from .services.webhooks import webhook_events_record, webhook_pathway_events_record


def record_webhook_events(sender, *, referral, action, now, event=None, **kwargs) -> None:
    if event is None:
        return
    webhook_events_record(referral=referral, action=action, event_id=event.pk, now=now)


def record_pathway_webhook_events(sender, *, pathway, kind, event, now, **kwargs) -> None:
    webhook_pathway_events_record(pathway=pathway, kind=kind, event_id=event.pk, now=now)
