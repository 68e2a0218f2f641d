from django.utils import timezone

from ..actor import Actor
from ..categories import EVENT_KIND_CATEGORY, DataCategory
from ..models import Pathway, PathwayEvent, Referral


def timeline_record(
    *,
    pathway: Pathway,
    kind: str,
    actor: Actor | None,
    text: str = "",
    referral: Referral | None = None,
    category: str | None = None,
) -> PathwayEvent:
    """Append one event to a pathway's timeline (call inside the caller's transaction)."""
    return PathwayEvent.objects.create(
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
