from django.utils import timezone

from ..actor import Actor
from ..categories import EVENT_KIND_CATEGORY, DataCategory
from ..models import Pathway, PathwayEvent, Referral
from .last_contact import last_contact_stamp


def timeline_record(
    *,
    pathway: Pathway,
    kind: str,
    actor: Actor | None,
    text: str = "",
    referral: Referral | None = None,
    category: str | None = None,
) -> PathwayEvent:
    """Append one event to a pathway's timeline (call inside the caller's transaction).
    An event recorded by a professional is a contact: it moves the pathway's last contact."""
    event = PathwayEvent.objects.create(
        pathway=pathway,
        kind=kind,
        occurred_at=timezone.now(),
        actor=actor.user if actor else None,
        organisation=actor.organisation if actor else None,
        referral=referral,
        referral_status=referral.status if referral else "",
        text=text,
        category=category or EVENT_KIND_CATEGORY.get(kind, DataCategory.PATHWAY),
    )
    if actor is not None:
        last_contact_stamp(pathway=pathway, at=event.occurred_at)
    return event
