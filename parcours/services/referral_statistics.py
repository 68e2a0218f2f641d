"""The statistics of managers and territorial coordinators as the doors ask for them (issue
18): the gate first (`statistics.read`, 403 with the rule's French message), then the selector
(`parcours.selectors.referral_statistics`) — so the page, its CSV and the API refuse alike, and
the selector stays a read that the gate sits above."""

from django.db.models import QuerySet

from .. import gate
from ..actor import Actor
from ..gate import Action
from ..models import EmploymentArea, Organisation
from ..selectors.referral_statistics import (
    ReferralStatistics,
    StatisticsFilters,
    areas_for,
    partners_for,
    referral_statistics_for,
)


def referral_statistics_partners(*, actor: Actor, direction: str) -> QuerySet[Organisation]:
    """The partners the actor's organisation has figures with in `direction` (the filter's
    choices); NotAllowed unless the gate's table lets the actor's role read statistics."""
    gate.require(actor, Action.STATISTICS_READ)
    return partners_for(actor, direction)


def referral_statistics_areas(*, actor: Actor) -> QuerySet[EmploymentArea]:
    """The employment areas the actor coordinates (the area filter's choices; none for a
    manager); NotAllowed as above."""
    gate.require(actor, Action.STATISTICS_READ)
    return areas_for(actor)


def referral_statistics_read(*, actor: Actor, filters: StatisticsFilters) -> ReferralStatistics:
    """The organisation's figures over the filters, small cells suppressed; NotAllowed as above,
    FilterError (field `partner`) for a partner without figures."""
    gate.require(actor, Action.STATISTICS_READ)
    return referral_statistics_for(actor, filters)
