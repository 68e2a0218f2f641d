"""Who is acting: a user, for one of their organisations, with the role they hold there."""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import QuerySet

from .compiled import CompiledQuery
from .errors import NoMembership
from .models import Membership, Organisation
from .request_memo import remembered


@dataclass(frozen=True)
class LinkScope:
    """What a receiver's link is for: one referral (and so one pathway), nothing else."""

    link_id: int
    referral_id: int
    pathway_id: int


@dataclass(frozen=True)
class Actor:
    # None only for a receiver's link (`link`): the organisation acts without an account.
    user: User | None
    organisation: Organisation
    role: str  # what the role may do is the gate's table (parcours/rules.py)
    link: LinkScope | None = None

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    @property
    def account(self) -> User:
        """The acting user, for a write that names one (a link never gets there: its role
        allows only the receiver's answers, rules.LINK)."""
        if self.user is None:
            raise NoMembership()
        return self.user


def _memberships(user: User | int, organisation_id: int | None = None) -> QuerySet[Membership]:
    memberships = Membership.objects.filter(user=user, is_active=True).select_related(
        "organisation"
    )
    if organisation_id is not None:
        memberships = memberships.filter(organisation_id=organisation_id)
    return memberships.order_by("id")


# `_memberships(…).first()` compiled once (issue 17): every page asks it, and building and
# compiling the query was most of its cost. `.first()` of an ordered queryset is its `[:1]`.
# By the user's id: prepared (parcours/prepared_statements.py).
_FIRST_MEMBERSHIP = CompiledQuery(
    Membership, lambda user: _memberships(user)[:1], "user", types={"user": int}, prepared=True
)
_MEMBERSHIP_IN = CompiledQuery(
    Membership,
    lambda user, organisation: _memberships(user, organisation)[:1],
    "user",
    "organisation",
    types={"user": int, "organisation": int},
    prepared=True,
)
# Every active membership of a user, compiled once: `/api/v1/me/` lists them on each call.
_ALL_MEMBERSHIPS = CompiledQuery(
    Membership, _memberships, "user", types={"user": int}, prepared=True
)
_INTEGER = range(-(2**31), 2**31)  # ids beyond a column's range: the ORM's answer for them


def memberships_of_user(user: User | int) -> QuerySet[Membership]:
    """The user's active memberships with their organisations, by id."""
    return _memberships(user)


def active_memberships(user_id: int) -> list[Membership]:
    """`memberships_of_user(user_id)`'s rows, through the statement compiled once."""
    return _ALL_MEMBERSHIPS.all(user=user_id)


def actor_for(user: User, organisation_id: int | None = None) -> Actor:
    """The actor for `user`, acting for `organisation_id` or, if none is chosen, their first one.

    Raises NoMembership when the user has no active membership (there, or at all).
    """
    if organisation_id is None:
        membership = _FIRST_MEMBERSHIP.first(user=user.pk)
    elif organisation_id in _INTEGER:
        membership = _MEMBERSHIP_IN.first(user=user.pk, organisation=organisation_id)
    else:
        membership = _memberships(user, organisation_id).first()
    if membership is None:
        raise NoMembership()
    return Actor(user=user, organisation=membership.organisation, role=membership.role)


def membership_area_ids(actor: Actor) -> frozenset[int]:
    """The employment areas of the actor's membership (a coordinator's; empty for others):
    one query, once per request (`request_memo`). Whether they count is the gate's table's
    (`access.coordinated_area_ids`)."""

    def query() -> frozenset[int]:
        return frozenset(
            Membership.employment_areas.through.objects.filter(
                membership__user_id=actor.account.pk,
                membership__organisation_id=actor.organisation.pk,
                membership__is_active=True,
            ).values_list("employmentarea_id", flat=True)
        )

    if actor.user is None:  # a receiver's link coordinates nothing
        return frozenset()
    return remembered(("membership_areas", actor.user.pk, actor.organisation.pk), query)
