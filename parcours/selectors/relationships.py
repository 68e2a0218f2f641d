"""Who works with a pathway: the relationship half of access (parcours/access.py).

An organisation may stand to a pathway for several reasons at once — it holds it, it sent a
referral that closed last week, it received another one that is open. Each reason keeps its own
**span**: what it lets the organisation see (its cap) and until when. They are never merged: a
closed referral's grace ends with that referral's cap, whatever another reason lets through for
longer, and an open referral's narrow cap does not inherit the wider view of one that ended.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings

from ..categories import REFERRAL_MINIMUM
from ..models import OPEN_REFERRAL_STATUSES, CareTeamMember, Pathway, ReferralStatus

# When a referral ends, its parties keep seeing the pathway a while (to close the loop).
TERMINAL_STAMP: dict[str, str] = {
    ReferralStatus.REFUSED: "refused_at",
    ReferralStatus.WITHDRAWN: "withdrawn_at",
    ReferralStatus.EXPIRED: "expired_at",
    ReferralStatus.CLOSED: "closed_at",
    # The receiver that passed the person on keeps the grace as for any ended referral; the
    # referral that followed gives the sender and the new receiver their own spans.
    ReferralStatus.TRANSFERRED: "transferred_at",
}


def later_end(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    """The later of two ends, None meaning 'no end'."""
    return None if a is None or b is None else max(a, b)


def earlier_end(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


@dataclass(frozen=True)
class Span:
    """One reason to see the pathway: the categories it can carry and until when."""

    reason: str  # owner, referent, care_team, sender, receiver
    cap: frozenset[str] | None = None  # None: every category the bases allow
    until: dt.datetime | None = None  # None: no end

    def allows(self, category: str) -> bool:
        return self.cap is None or category in self.cap


@dataclass
class Relationship:
    spans: list[Span] = field(default_factory=list)

    @property
    def reasons(self) -> set[str]:
        return {span.reason for span in self.spans}


# The attribute a caller that already fetched the pathway's open care team (`Prefetch(...,
# to_attr=OPEN_CARE_TEAM)`, e.g. gate.relations.pathways_of_person) leaves it under.
OPEN_CARE_TEAM = "open_care_team"


def relationships_of(pathway: Pathway, *, now: dt.datetime) -> dict[int, Relationship]:
    """Organisation id → its relationship with the pathway, reason by reason (absent: none).
    Its referrals and open care team are read from the pathway's prefetches when it has them."""
    relations: dict[int, Relationship] = {}

    def add(org_id: int | None, *, cap=None, until=None, reason: str) -> None:
        if org_id is not None and (until is None or until > now):
            span = Span(reason, None if cap is None else frozenset(cap), until)
            relations.setdefault(org_id, Relationship()).spans.append(span)

    add(pathway.owner_organisation_id, reason="owner")
    add(pathway.referent_organisation_id, reason="referent")
    members = getattr(pathway, OPEN_CARE_TEAM, None)
    if members is None:
        members = CareTeamMember.objects.filter(pathway=pathway, ended_at__isnull=True)
    for member in members:
        add(member.organisation_id, reason="care_team")
    grace = dt.timedelta(days=settings.PARCOURS_RELATIONSHIP_GRACE_DAYS)
    for referral in pathway.referrals.all():
        if referral.status in OPEN_REFERRAL_STATUSES:
            until = None
        else:
            until = getattr(referral, TERMINAL_STAMP[referral.status]) + grace
        add(referral.sender_organisation_id, until=until, reason="sender")
        # Received once sent: never a draft, nor a draft withdrawn without being sent.
        if referral.sent_at is not None:
            shared = set(referral.shared_categories) | REFERRAL_MINIMUM
            add(referral.receiver_organisation_id, cap=shared, until=until, reason="receiver")
    return relations
