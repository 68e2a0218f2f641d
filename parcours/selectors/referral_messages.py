"""Reads of the messages on a referral, for an actor: a thread as a page shows it, and the
unread counts of a list of referrals. Scopes come from `parcours.access`; a door has checked the
gate's rule (`referral_message.read`) on the referral before showing its thread."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import access
from ..actor import Actor
from ..models import Referral, ReferralMessage, ReferralMessageRead

# A page shows the latest messages of a thread; the API pages through all of them.
THREAD_SHOWN = 100


def with_unread_messages(referrals: QuerySet[Referral], actor: Actor) -> QuerySet[Referral]:
    """Annotate `unread_messages`: how many messages of the other party the actor's organisation
    has not read yet, on the referrals it sent or received; None where it does not read the
    thread (a care-team bystander, a manager…). One subquery per row of the same query: a list
    costs no query more however many rows it shows."""
    if not access.may_read_messages(actor):
        return referrals.annotate(unread_messages=Value(None, output_field=IntegerField()))
    organisation_id = actor.organisation.pk
    read_up_to = ReferralMessageRead.objects.filter(
        referral_id=OuterRef("referral_id"), organisation_id=organisation_id
    ).values("last_read_message_id")[:1]
    unread = (
        ReferralMessage.objects.filter(referral_id=OuterRef("pk"))
        .exclude(author_organisation_id=organisation_id)
        .filter(id__gt=Coalesce(Subquery(read_up_to), Value(0)))
        .order_by()
        .values("referral_id")
        .annotate(count=Count("id"))
        .values("count")
    )
    party = Q(sender_organisation_id=organisation_id) | Q(receiver_organisation_id=organisation_id)
    return referrals.annotate(
        unread_messages=Case(
            When(party, then=Coalesce(Subquery(unread), Value(0))),
            default=Value(None),
            output_field=IntegerField(),
        )
    )


@dataclass(frozen=True)
class Thread:
    """A thread as a page shows it: its latest messages, oldest first, and how many older ones
    the page leaves out."""

    messages: list[ReferralMessage]
    older: int

    @property
    def newest_id(self) -> int | None:
        return self.messages[-1].pk if self.messages else None


def _thread_scope(
    actor: Actor, now: dt.datetime | None, referral: int | Referral
) -> QuerySet[ReferralMessage]:
    return access.referral_messages_visible_to(actor, now=now).filter(referral=referral)


def _latest(scoped: QuerySet[ReferralMessage], limit: int) -> QuerySet[ReferralMessage]:
    return scoped.select_related("author", "author_organisation").order_by("-id")[:limit]


# The page's thread and its count, compiled once per role (issue 17): the referral's page built
# and compiled both querysets on every request.
_THREAD_LATEST = access.ScopedRows(
    ReferralMessage,
    lambda actor, now, referral: _latest(_thread_scope(actor, now, referral), THREAD_SHOWN),
    "referral",
    prepared=True,  # one referral's (parcours/prepared_statements.py)
)
_THREAD = access.ScopedRows(ReferralMessage, _thread_scope, "referral", prepared=True)


def thread_of(actor: Actor, referral: Referral, *, limit: int = THREAD_SHOWN) -> Thread:
    """The referral's latest messages within the actor's scope (two queries, the second only
    when the thread holds more than `limit`): compiled for the page's `limit`, by the ORM for
    another or for an actor whose scope has another shape — the same statements."""
    now = timezone.now()  # one time for both statements, as one queryset has
    if limit == THREAD_SHOWN:
        latest = _THREAD_LATEST.read(actor, now=now, referral=referral.pk)
    else:
        latest = list(_latest(_thread_scope(actor, now, referral.pk), limit))
    if len(latest) < limit:
        older = 0
    else:
        older = _THREAD.counted(actor, now=now, referral=referral.pk) - len(latest)
    return Thread(messages=latest[::-1], older=older)
