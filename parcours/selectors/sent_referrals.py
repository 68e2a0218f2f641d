"""The sender's side of referrals (« Orientations envoyées »): what the acting organisation, or
the acting user, sent, and which of them need the sender's attention.

`NEEDS_ATTENTION` is the one definition of « à regarder »: the page's filter, the API's
`needs_attention`, the home counter and the tests all read it. Scopes come from
`parcours.access`; nothing here decides who sees what.
"""

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import access
from ..actor import Actor
from ..models import EventKind, Organisation, PathwayEvent, Referral, ReferralStatus

# The receiver's answers a sender has to act upon: the person was turned away (refused), did
# not come (no-show), nobody answered in time (expired), or the receiver closed the referral and
# recorded what became of the person (a closed referral always carries its outcome: the
# `referral_closed_has_date_and_outcome` constraint).
NEEDS_ATTENTION: frozenset[str] = frozenset(
    {
        ReferralStatus.REFUSED,
        ReferralStatus.NO_SHOW,
        ReferralStatus.EXPIRED,
        ReferralStatus.CLOSED,
    }
)


class SentBy(StrEnum):
    """Whose referrals: the acting user's, or every member's of the acting organisation."""

    ME = "me"
    ORGANISATION = "organisation"


SENT_BY_LABELS = {SentBy.ME: _("Par moi"), SentBy.ORGANISATION: _("Par mon organisation")}

# « Envoyées depuis » : the few ages offered, in days (no choice: any age).
SENT_SINCE_DAYS: tuple[int, ...] = (7, 30, 90)

# The states a sender filters on: every state a sent referral can be in (a draft is not sent).
SENT_STATUSES: tuple[str, ...] = tuple(
    status for status in ReferralStatus.values if status != ReferralStatus.DRAFT
)


def needs_attention() -> Q:
    return Q(status__in=NEEDS_ATTENTION)


def sent_by(actor: Actor, by: SentBy) -> Q:
    """Sent (a draft never sent is not) by the acting organisation, or by the acting user for
    the organisation they act for (a user of two organisations sees each one's apart)."""
    condition = Q(sender_organisation_id=actor.organisation.pk, sent_at__isnull=False)
    if by == SentBy.ME:
        condition &= Q(sender_user_id=actor.account.pk)
    return condition


def sent_since(days: int, *, now: dt.datetime | None = None) -> Q:
    return Q(sent_at__gte=(now or timezone.now()) - dt.timedelta(days=days))


def referrals_sent(actor: Actor, *, by: SentBy = SentBy.ME) -> QuerySet[Referral]:
    """Referrals sent by the actor's organisation (or by the actor) that it may still see."""
    return access.referrals_visible_to(actor).filter(sent_by(actor, by))


# Each organisation the sender sent to, in the order of `referral_sender_receiver_idx`: the
# first receiver, then the first one after it, and so on — one probe of the index per
# receiver (a "loose index scan", which PostgreSQL 15 does not do by itself).
_RECEIVERS_SENT_TO = """
WITH RECURSIVE receivers(id) AS (
    (SELECT receiver_organisation_id FROM parcours_referral
     WHERE sender_organisation_id = %s AND sent_at IS NOT NULL
     ORDER BY receiver_organisation_id LIMIT 1)
    UNION ALL
    SELECT (SELECT later.receiver_organisation_id FROM parcours_referral later
            WHERE later.sender_organisation_id = %s AND later.sent_at IS NOT NULL
            AND later.receiver_organisation_id > receivers.id
            ORDER BY later.receiver_organisation_id LIMIT 1)
    FROM receivers WHERE receivers.id IS NOT NULL
)
SELECT id FROM receivers WHERE id IS NOT NULL
"""


def organisations_sent_to(actor: Actor) -> QuerySet[Organisation]:
    """The organisations the acting organisation ever sent a referral to, by name: the receivers
    « Orientations envoyées » offers to filter on (never the whole directory). The
    organisation's own sending history, names from the directory, never a person nor a
    referral: not narrowed by the scope, whose check for each of the 135,000 referrals a large
    organisation sent took 770 ms a page (issue 17); found in the index, 1,831 receivers in
    ~15 ms."""
    organisation = actor.organisation.pk
    receivers: Any  # a raw subquery or a queryset of ids, both read by `pk__in`
    if connection.vendor == "postgresql":
        # A fixed text, the organisation's id a parameter (S611: nothing interpolated).
        receivers = RawSQL(_RECEIVERS_SENT_TO, (organisation, organisation))  # noqa: S611
    else:  # the SQLite fallback of `make run`: its demo data is small
        receivers = Referral.objects.filter(
            sender_organisation_id=organisation, sent_at__isnull=False
        ).values("receiver_organisation_id")
    return Organisation.objects.filter(pk__in=receivers).order_by("name", "id")


@dataclass(frozen=True)
class SentFilters:
    """The page's and the API's filters, already validated (their forms say what is wrong)."""

    by: SentBy = SentBy.ME
    status: str = ""
    receiver: int | None = None  # an organisation's id
    since_days: int | None = None
    needs_attention: bool = False


def filtered(
    referrals: QuerySet[Referral], filters: SentFilters, *, now: dt.datetime | None = None
) -> QuerySet[Referral]:
    """`referrals` narrowed by the filters other than « by whom » (already in the scope)."""
    if filters.status:
        referrals = referrals.filter(status=filters.status)
    if filters.receiver is not None:
        referrals = referrals.filter(receiver_organisation_id=filters.receiver)
    if filters.since_days is not None:
        referrals = referrals.filter(sent_since(filters.since_days, now=now))
    if filters.needs_attention:
        referrals = referrals.filter(needs_attention())
    return referrals


def with_latest_answer(referrals: QuerySet[Referral]) -> QuerySet[Referral]:
    """Each referral with the receiver's latest answer: the state its latest move reached
    (`latest_answer_status`) and when (`latest_answer_at`), from the timeline — the receiver's
    moves (accepted, refused, appointment set or moved, attended, no-show, closed, a correction)
    and the system's (expired). Two correlated subqueries in the list's own query, whatever its
    length (the `referral_id` foreign key index finds a referral's few events)."""
    answers = PathwayEvent.objects.filter(
        Q(organisation_id=OuterRef("receiver_organisation_id")) | Q(organisation__isnull=True),
        referral_id=OuterRef("pk"),
        kind=EventKind.REFERRAL_MOVED,
    ).order_by("-occurred_at", "-id")
    return referrals.annotate(
        latest_answer_status=Subquery(answers.values("referral_status")[:1]),
        latest_answer_at=Subquery(answers.values("occurred_at")[:1]),
    )


def status_label(status: str | None) -> str:
    """A state in French (never the code); empty for none."""
    if not status:
        return ""
    try:
        return str(ReferralStatus(status).label)
    except ValueError:
        return str(_("état inconnu"))


def sent_list(
    actor: Actor, filters: SentFilters, *, now: dt.datetime | None = None
) -> QuerySet[Referral]:
    """The page's list: sent by the actor or its organisation, filtered, each with the
    receiver's latest answer and what a row shows joined, the latest sent first."""
    return with_latest_answer(
        filtered(referrals_sent(actor, by=filters.by), filters, now=now)
        .select_related("pathway__person", "receiver_organisation", "receiver_service")
        .order_by("-sent_at", "-id")
    )
