"""A hand-built set of referrals whose every figure is known in advance (issue 18).

France Travail Lens (`home`) sends to a SIAE (`siae`), in one month `MONTH` (two months ago,
Paris time), `copies` times this pattern of 17 referrals:

| referrals | state | answer | appointment |
|---|---|---|---|
| 3 | refused, « plus de place » | 1 day after sending | — |
| 2 | refused, « conditions d'accès » | 1 day | — |
| 2 | closed, « accès à l'emploi » | accepted after 3 days | attended, 7 days after sending |
| 1 | closed, « accompagnement engagé » | 3 days | attended, 7 days |
| 1 | attended | 3 days | attended, 7 days |
| 2 | no-show | 3 days | missed, 7 days |
| 1 | accepted | 3 days | one cancelled (not a first appointment) |
| 1 | accepted | 3 days | — |
| 2 | sent | — | — |
| 1 | expired | — | — |
| 1 | draft (never sent: not counted) | — | — |

Per copy: 16 sent, 13 answered (5 × 1 day + 8 × 3 days = 29 days), 8 accepted, 5 refused
(3 + 2), 1 expired, 6 with a first appointment (6 × 7 days), 4 appointments attended, 2 missed,
3 closed (2 jobs, 1 support started). Each copy is a new person's pathway (tests/bulk.py).
"""

import copy
import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from parcours.actor import Actor
from parcours.dates import add_months
from parcours.models import Organisation, Referral, Role
from parcours.services.referral_figures import referral_figures_refresh
from tests.bulk import clone_appointments, clone_referrals
from tests.factories import (
    AppointmentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
)
from tests.worlds import built_once

DAY = dt.timedelta(days=1)


def month_ago(months: int) -> dt.date:
    return add_months(timezone.localdate().replace(day=1), -months)


def paris(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=timezone.get_current_timezone())


@dataclass
class World:
    home: Organisation
    siae: Organisation
    manager: Actor
    counsellor: Actor
    month: dt.date
    referrals: list[Referral]

    def sent_at(self, day: int = 10) -> dt.datetime:
        return paris(self.month.replace(day=day))


def _one(home, siae, copies, appointment=None, **fields) -> list[Referral]:
    fields.setdefault("created_at", fields.get("sent_at", timezone.now()) - dt.timedelta(hours=1))
    template = ReferralFactory(
        pathway=PathwayFactory(owner_organisation=home),
        sender_organisation=home,
        receiver_organisation=siae,
        with_consent=False,
        **fields,
    )
    clones = clone_referrals(template, copies - 1) if copies > 1 else []
    if appointment is not None:
        made = AppointmentFactory(referral=template, **appointment)
        clone_appointments(made, clones)
    return [template, *clones]


def build_pattern(home, siae, sent_at: dt.datetime, copies: int = 1) -> list[Referral]:
    accepted_at = sent_at + 3 * DAY
    accepted = dict(
        status="accepted",
        sent_at=sent_at,
        acknowledge_due_at=sent_at + 7 * DAY,
        accepted_at=accepted_at,
        appointment_due_at=accepted_at + 5 * DAY,
        first_appointment_due_at=accepted_at + 15 * DAY,
    )
    seen = sent_at + 7 * DAY

    def appointment(outcome):
        return dict(
            starts_at=seen,
            outcome=outcome,
            outcome_recorded_at=seen + dt.timedelta(hours=2) if outcome != "pending" else None,
        )

    def refused(reason):
        return dict(
            status="refused", sent_at=sent_at, refused_at=sent_at + DAY, refusal_reason=reason
        )

    closed = {**accepted, "status": "closed", "attended_at": seen, "closed_at": seen + DAY}
    made: list[Referral] = []
    for _ in range(3):
        made += _one(home, siae, copies, **refused("no_capacity"))
    for _ in range(2):
        made += _one(home, siae, copies, **refused("not_eligible"))
    for outcome in ("job", "job", "support_started"):
        made += _one(home, siae, copies, appointment("attended"), **closed, outcome=outcome)
    made += _one(
        home,
        siae,
        copies,
        appointment("attended"),
        **{**accepted, "status": "attended", "attended_at": seen},
    )
    for _ in range(2):
        made += _one(
            home,
            siae,
            copies,
            appointment("no_show"),
            **{**accepted, "status": "no_show", "no_show_at": seen},
        )
    made += _one(home, siae, copies, appointment("cancelled"), **accepted)
    made += _one(home, siae, copies, **accepted)
    for _ in range(2):
        made += _one(
            home,
            siae,
            copies,
            status="sent",
            sent_at=sent_at,
            acknowledge_due_at=sent_at + 7 * DAY,
        )
    made += _one(
        home,
        siae,
        copies,
        status="expired",
        sent_at=sent_at,
        acknowledge_due_at=sent_at + 7 * DAY,
        expired_at=sent_at + 8 * DAY,
    )
    made += _one(home, siae, copies, created_at=sent_at)  # a draft: never counted
    return made


def _actor(organisation, role) -> Actor:
    membership = MembershipFactory(organisation=organisation, role=role)
    return Actor(user=membership.user, organisation=organisation, role=role)


def make_world(copies: int, *, refresh: bool = True) -> World:
    home = OrganisationFactory(name="France Travail Lens")
    siae = OrganisationFactory(name="Chantier Les Jardins", siae=True)
    month = month_ago(2)
    world = World(
        home=home,
        siae=siae,
        manager=_actor(home, Role.MANAGER),
        counsellor=_actor(home, Role.COUNSELLOR),
        month=month,
        referrals=[],
    )
    world.referrals = build_pattern(home, siae, world.sent_at(), copies)
    if refresh:
        referral_figures_refresh(full=True)
    return world


@pytest.fixture(scope="module")
def world_template(django_db_setup, django_db_blocker):
    """The five copies built once per module, each test on its own copy in a savepoint
    (tests/worlds.py): ~1,300 statements and a full refresh of the figures per test were most
    of these modules' time (tests/statistics/test_doors.py: 96 s → 17 s alone)."""
    with built_once(django_db_blocker):
        yield make_world(5)


@pytest.fixture
def world(world_template, db) -> World:
    """Five copies of the pattern: every count of the month at least 5, nothing suppressed."""
    return copy.deepcopy(world_template)


@pytest.fixture
def small_world(db) -> World:
    """One copy: most counts under 5."""
    return make_world(1)
