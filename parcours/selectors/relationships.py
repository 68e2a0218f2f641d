"""Who works with a pathway: the relationship half of access (parcours/access.py)."""

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


@dataclass
class Relationship:
    cap: set[str] | None = field(default_factory=set)  # None: every category the bases allow
    until: dt.datetime | None = None
    reasons: set[str] = field(default_factory=set)

    def widen(self, *, cap: set[str] | None, until: dt.datetime | None, reason: str) -> None:
        self.cap = None if self.cap is None or cap is None else self.cap | cap
        self.until = until if not self.reasons else later_end(self.until, until)
        self.reasons.add(reason)


def relationships_of(pathway: Pathway, *, now: dt.datetime) -> dict[int, Relationship]:
    """Organisation id → its relationship with the pathway (absent: none)."""
    relations: dict[int, Relationship] = {}

    def add(org_id: int | None, *, cap: set[str] | None, until=None, reason: str) -> None:
        if org_id is not None and (until is None or until > now):
            relations.setdefault(org_id, Relationship()).widen(cap=cap, until=until, reason=reason)

    add(pathway.owner_organisation_id, cap=None, reason="owner")
    add(pathway.referent_organisation_id, cap=None, reason="referent")
    for member in CareTeamMember.objects.filter(pathway=pathway, ended_at__isnull=True):
        add(member.organisation_id, cap=None, reason="care_team")
    grace = dt.timedelta(days=settings.PARCOURS_RELATIONSHIP_GRACE_DAYS)
    for referral in pathway.referrals.all():
        if referral.status in OPEN_REFERRAL_STATUSES:
            until = None
        else:
            until = getattr(referral, TERMINAL_STAMP[referral.status]) + grace
        add(referral.sender_organisation_id, cap=None, until=until, reason="sender")
        if referral.status != ReferralStatus.DRAFT:
            shared = set(referral.shared_categories) | REFERRAL_MINIMUM
            add(referral.receiver_organisation_id, cap=shared, until=until, reason="receiver")
    return relations
