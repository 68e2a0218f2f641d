"""The last contact: the clock of every retention delay (docs/retention.md).

It is the latest of: the pathway's opening, and every activity a professional records on it —
timeline events with an actor (notes, actions, diagnostics, barriers, référent and modality
changes, closing, every referral move including appointments set, attended or missed, a
reactivation), a rectification of the person and a consent collected (both counted on the
person's open pathway). System moves (an unanswered referral expiring) are not contacts.

Kept denormalised in `Pathway.last_contact_at` so that the daily retention job reads an index
range instead of aggregating timelines.
"""

import datetime as dt

from django.db.models import Q

from ..models import Pathway, PathwayStatus


def last_contact_stamp(*, pathway: Pathway, at: dt.datetime) -> None:
    """Move the pathway's last contact to `at` if later (inside the caller's transaction).

    A guarded `.update()` rather than `save()`, on purpose: the stamp is a reading of the
    timeline, not a change of the record (no history row — the event is the trace — and no
    `updated_at` bump), and the `last_contact_at < at` condition never moves it backwards even
    when two activities commit in either order. A new contact also empties `erased_categories`:
    data of those categories may be recorded again and will have to be erased again.
    """
    Pathway.objects.filter(Q(last_contact_at__lt=at), pk=pathway.pk).update(
        last_contact_at=at, erased_categories=[]
    )
    if pathway.last_contact_at is None or pathway.last_contact_at < at:
        # Keep the caller's instance in step, so a later save() does not write the old value.
        pathway.last_contact_at = at
        pathway.erased_categories = []


def last_contact_stamp_person(*, person_id: int, at: dt.datetime) -> None:
    """A contact about the person (rectification, consent): counted on their open pathway."""
    for pathway in Pathway.objects.filter(
        person_id=person_id, status=PathwayStatus.OPEN, archived_at__isnull=True
    ).only("pk", "last_contact_at"):
        last_contact_stamp(pathway=pathway, at=at)
