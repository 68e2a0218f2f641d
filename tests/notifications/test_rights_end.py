"""The benefit-transition warning (issue 18): a person whose unemployment rights end within
PARCOURS_RIGHTS_END_WARNING_DAYS may fall to the rSa; the daily scan tells their référent (failing
one, the owning organisation's case workers) and a Conseil départemental in the care team, once
per pathway and announced date, with e-mails that name nobody. In process on a controlled
clock; the task through a real broker and worker: tests/tasks/test_every_task.py."""

import datetime as dt
from html import unescape

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from notifications.mail import build_email
from notifications.models import OutboxKind, OutboxMessage, RightsEndWarning
from notifications.services.relay import outbox_relay
from notifications.services.rights_end import rights_end_warnings_raise
from parcours.models import Membership, PathwayOutcome, PathwayStatus, Role
from tests.factories import (
    CareTeamMemberFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2027, 3, 1, 11, 0, tzinfo=dt.UTC)
TODAY = dt.date(2027, 3, 1)


def scan(at: dt.datetime = NOON):
    with time_machine.travel(at, tick=False):
        return rights_end_warnings_raise(now=timezone.now())


def followed(*, ends_on: dt.date | None, receives_rsa: bool = False, **pathway):
    """A pathway held by a counsellor (its référent), whose person's rights end `ends_on`."""
    referent = MembershipFactory(role=Role.COUNSELLOR)
    person = PersonFactory(
        first_name="Léa",
        last_name="Martin",
        rights_ending=ends_on is not None,
        rights_end_date=ends_on,
        receives_rsa=receives_rsa,
    )
    return PathwayFactory(
        person=person,
        owner_organisation=referent.organisation,
        referent=referent.user,
        **pathway,
    )


def warned(pathway) -> list[str]:
    return sorted(
        OutboxMessage.objects.filter(
            kind=OutboxKind.RIGHTS_END, rights_end_warning__pathway=pathway
        ).values_list("to_email", flat=True)
    )


def test_ends_inside_the_window_are_warned_once(settings):
    settings.PARCOURS_RIGHTS_END_WARNING_DAYS = 60
    today = followed(ends_on=TODAY)
    last_day = followed(ends_on=TODAY + dt.timedelta(days=60))
    too_far = followed(ends_on=TODAY + dt.timedelta(days=61))
    passed = followed(ends_on=TODAY - dt.timedelta(days=1))
    undated = followed(ends_on=None)
    on_rsa = followed(ends_on=TODAY + dt.timedelta(days=10), receives_rsa=True)

    report = scan()

    assert report.as_dict() == {"warnings": 2, "messages": 2}
    assert warned(today) == [today.referent.email]
    assert warned(last_day) == [last_day.referent.email]
    for pathway in (too_far, passed, undated, on_rsa):
        assert warned(pathway) == []
    # Whatever runs again (a second beat, the next day): nothing twice — the next day, only
    # the end that has just come within the window.
    assert scan().as_dict() == {"warnings": 0, "messages": 0}
    assert scan(NOON + dt.timedelta(days=1)).as_dict() == {"warnings": 1, "messages": 1}
    assert warned(too_far) == [too_far.referent.email]
    assert scan(NOON + dt.timedelta(days=1)).as_dict() == {"warnings": 0, "messages": 0}
    assert RightsEndWarning.objects.count() == 3


def test_the_window_follows_the_setting(settings):
    pathway = followed(ends_on=TODAY + dt.timedelta(days=30))
    settings.PARCOURS_RIGHTS_END_WARNING_DAYS = 20
    assert scan().warnings == 0
    settings.PARCOURS_RIGHTS_END_WARNING_DAYS = 30
    assert scan().warnings == 1
    assert warned(pathway) == [pathway.referent.email]


def test_a_new_date_is_a_new_warning():
    """Rights extended (a new date recorded): the new end is warned about too."""
    pathway = followed(ends_on=TODAY + dt.timedelta(days=5))
    assert scan().warnings == 1
    person = pathway.person
    person.rights_end_date = TODAY + dt.timedelta(days=40)
    person.save(update_fields=["rights_end_date"])
    assert scan().warnings == 1
    assert sorted(
        RightsEndWarning.objects.filter(pathway=pathway).values_list("rights_end_date", flat=True)
    ) == [TODAY + dt.timedelta(days=5), TODAY + dt.timedelta(days=40)]


def test_closed_and_archived_pathways_are_not_warned():
    closed = followed(
        ends_on=TODAY + dt.timedelta(days=5),
        status=PathwayStatus.CLOSED,
        closed_at=NOON,
        outcome=PathwayOutcome.JOB,
    )
    archived = followed(ends_on=TODAY + dt.timedelta(days=5), archived_at=NOON)
    assert scan().warnings == 0
    assert warned(closed) == warned(archived) == []


def test_without_a_reachable_referent_the_owners_case_workers_then_its_address():
    pathway = followed(ends_on=TODAY + dt.timedelta(days=5))
    Membership.objects.filter(user=pathway.referent).update(is_active=False)  # they left
    owner = pathway.owner_organisation
    colleague = MembershipFactory(organisation=owner, role=Role.SOCIAL_WORKER)
    MembershipFactory(organisation=owner, role=Role.MANAGER)  # a manager reads no person's file
    lonely = followed(ends_on=TODAY + dt.timedelta(days=6))
    Membership.objects.filter(organisation=lonely.owner_organisation).update(is_active=False)

    scan()

    assert warned(pathway) == [colleague.user.email]
    assert warned(lonely) == [lonely.owner_organisation.contact_email]


def test_a_departement_in_the_care_team_is_told_at_its_address():
    pathway = followed(ends_on=TODAY + dt.timedelta(days=5))
    departement = OrganisationFactory(departement_council=True)
    CareTeamMemberFactory(pathway=pathway, organisation=departement)
    # Another département that left the care team, and a Mission locale in it: not told.
    gone = OrganisationFactory(departement_council=True)
    CareTeamMemberFactory(
        pathway=pathway, organisation=gone, ended_at=NOON, end_reason="Fin du suivi"
    )
    CareTeamMemberFactory(pathway=pathway, organisation=OrganisationFactory(mission_locale=True))
    # A département without a shared address: its social workers.
    quiet = followed(ends_on=TODAY + dt.timedelta(days=5))
    council = OrganisationFactory(departement_council=True, contact_email="")
    worker = MembershipFactory(organisation=council, role=Role.SOCIAL_WORKER)
    CareTeamMemberFactory(pathway=quiet, organisation=council)

    scan()

    assert warned(pathway) == sorted([pathway.referent.email, departement.contact_email])
    assert warned(quiet) == sorted([quiet.referent.email, worker.user.email])


def test_the_email_names_nobody_and_is_sent_once():
    pathway = followed(ends_on=dt.date(2027, 3, 20))
    scan()
    with time_machine.travel(NOON, tick=False):
        outbox_relay(now=timezone.now())
        outbox_relay(now=timezone.now())
    (email,) = mail.outbox
    body = unescape(email.body + email.alternatives[0][0])
    assert "20/03/2027" in email.subject and "20/03/2027" in body
    assert "rSa" in body
    assert f"/personnes/{pathway.person_id}/" in body
    for secret in ("Léa", "Martin"):
        assert secret not in email.subject and secret not in body


def test_no_email_once_the_pathway_closed_meanwhile():
    pathway = followed(ends_on=TODAY + dt.timedelta(days=5))
    scan()
    message = OutboxMessage.objects.get(kind=OutboxKind.RIGHTS_END)
    assert build_email(message) is not None
    pathway.status, pathway.closed_at, pathway.outcome = PathwayStatus.CLOSED, NOON, "job"
    pathway.save(update_fields=["status", "closed_at", "outcome"])
    assert build_email(message) is None
