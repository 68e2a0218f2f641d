"""Reminders to the receiver before each of its deadlines (issue 14): scheduled by the move that
sets the deadline, N hours before it (the agreement's `reminder_hours_before`, else
PARCOURS_DEFAULT_REMINDER_HOURS); written to the outbox by the periodic scan when they fall due,
to the receiving organisation's case workers; exactly once per (referral, deadline); dropped when
the referral moved on. In process, on a controlled clock (through a real worker and SMTP server:
crashes, broker restarts, two beats and SMTP errors: test_outbox_faults.py)."""

import datetime as dt
from html import unescape

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from notifications.models import (
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Reminder,
    ReminderDeadline,
    ReminderState,
)
from notifications.rules import REMINDER_RULES
from notifications.services.relay import outbox_relay
from notifications.services.reminders import reminders_send
from parcours.models import Membership, ReferralStatus, Role
from tests.factories import (
    AgreementFactory,
    ConsentFactory,
    MembershipFactory,
    PathwayFactory,
    PersonFactory,
)

from .conftest import answers_relayed, paris

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
SENSITIVE = ("Léa", "Martin", "0612345678", "psychiatrique", "justice", "soins", "RQTH")


def send_at(at: dt.datetime):
    """The periodic scan, run at `at` on the travelled clock."""
    with time_machine.travel(at, tick=False):
        return reminders_send(now=timezone.now())


def reminder(referral, deadline) -> Reminder:
    return Reminder.objects.get(referral=referral, deadline=deadline)


def reminded(referral) -> list[str]:
    return sorted(
        OutboxMessage.objects.filter(
            kind=OutboxKind.REMINDER, reminder__referral=referral
        ).values_list("to_email", flat=True)
    )


def test_the_rules_table_names_a_stamped_deadline_for_each_reminder():
    from parcours.models import Referral

    assert set(REMINDER_RULES) == set(ReminderDeadline.values)
    fields = {f.name for f in Referral._meta.get_fields()}
    for rule in REMINDER_RULES.values():
        assert rule.due_field in fields
        assert set(rule.statuses) <= set(ReferralStatus.values)


def test_sending_schedules_the_answer_reminder_and_the_scan_sends_it_once(journey):
    # Sent on Thursday 30 April 2026: the answer is due on Monday 11 May, end of day.
    j = journey(paris(2026, 4, 30, 10))
    due = j.referral.acknowledge_due_at
    scheduled = reminder(j.referral, ReminderDeadline.ACKNOWLEDGE)
    assert (scheduled.due_at, scheduled.remind_at) == (due, due - 24 * H)
    assert scheduled.state == ReminderState.SCHEDULED

    assert send_at(due - 24 * H - MINUTE).notified == 0
    report = send_at(due - 24 * H + MINUTE)
    assert (report.notified, report.messages) == (1, 1)
    # The receiving organisation's counsellor (its only case worker here).
    assert reminded(j.referral) == [j.receiver_email]
    scheduled.refresh_from_db()
    assert scheduled.state == ReminderState.NOTIFIED
    assert scheduled.notified_at == due - 24 * H + MINUTE
    # Another beat, a retry: nothing more.
    assert send_at(due - 20 * H).messages == 0
    assert send_at(due - 20 * H).messages == 0
    assert reminded(j.referral) == [j.receiver_email]

    assert outbox_relay(now=due - 20 * H).sent == 1
    assert outbox_relay(now=due - 19 * H).sent == 0
    (message,) = mail.outbox
    reference = j.referral.reference
    assert message.subject == (
        f"[parcours] {reference} : rappel — réponse attendue avant le 11/05/2026"
    )
    html = unescape(message.alternatives[0][0])
    for body in (message.body, html):
        assert f"L'orientation {reference}, envoyée le 30/04/2026" in body
        assert "attend votre réponse avant le 11/05/2026 à 23:59" in body
        assert "Merci d'accepter ou de refuser" in body
        assert f"/orientations/{j.referral.pk}/" in body
        # No person named, nothing sensitive: the reference says which referral.
        assert not [secret for secret in SENSITIVE if secret in body]
    assert message.extra_headers["Message-ID"].startswith("<parcours.reminder.")


def test_accepting_schedules_the_appointment_reminders(journey):
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    answers_relayed(1)  # the sender heard of the acceptance
    booking = reminder(j.referral, ReminderDeadline.APPOINTMENT)
    arrival = reminder(j.referral, ReminderDeadline.FIRST_APPOINTMENT)
    assert booking.due_at == j.referral.appointment_due_at == paris(2026, 1, 11, 9)
    assert arrival.due_at == j.referral.first_appointment_due_at == paris(2026, 1, 21, 9)
    assert booking.remind_at == paris(2026, 1, 10, 9)
    assert arrival.remind_at == paris(2026, 1, 20, 9)
    assert send_at(paris(2026, 1, 10, 9, 1)).as_dict() == {
        "notified": 1,
        "cancelled": 0,
        "messages": 1,
    }
    assert reminded(j.referral) == [j.receiver_email]
    outbox_relay(now=paris(2026, 1, 10, 9, 2))
    (message,) = mail.outbox
    assert "rendez-vous à fixer avant le 11/01/2026" in message.subject
    assert "acceptée le 06/01/2026" in message.body
    # The answer was given: its reminder is dropped when its time comes, without an e-mail.
    assert send_at(paris(2026, 1, 12, 0, 1)).as_dict() == {
        "notified": 0,
        "cancelled": 1,
        "messages": 0,
    }
    assert reminder(j.referral, ReminderDeadline.ACKNOWLEDGE).state == ReminderState.CANCELLED


def test_the_first_appointment_reminder_waits_for_no_appointment_set(journey):
    """Booked in time, the receiver did its part: no reminder; absent, a new date is wanted."""
    booked = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    booked.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 12, 14))
    absent = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    absent.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 12, 14))
    absent.record_no_show(paris(2026, 1, 12, 15))
    send_at(paris(2026, 1, 20, 10))
    assert (
        reminder(booked.referral, ReminderDeadline.FIRST_APPOINTMENT).state
        == ReminderState.CANCELLED
    )
    assert reminded(booked.referral) == []
    assert reminder(absent.referral, ReminderDeadline.FIRST_APPOINTMENT).state == "notified"
    assert reminded(absent.referral) == [absent.receiver_email]


def test_the_agreement_sets_how_long_before(journey):
    j0 = journey(paris(2026, 1, 5, 10))  # the organisations, for the agreement
    AgreementFactory(
        parties=[j0.sender.organisation, j0.receiver.organisation], reminder_hours_before=48
    )
    # A second person referred between them, now that the agreement is in force.
    from parcours.services import referral as referral_services

    with time_machine.travel(paris(2026, 1, 5, 11), tick=False):
        person = PersonFactory()
        pathway = PathwayFactory(person=person, owner_organisation=j0.sender.organisation)
        ConsentFactory(person=person, organisations=[j0.receiver.organisation])
        second = referral_services.referral_create(
            actor=j0.sender,
            pathway_id=pathway.pk,
            receiver_organisation_id=j0.receiver.organisation.pk,
            kind="simultaneous",
            reason="Une formation qualifiante",
        )
    scheduled = reminder(second, ReminderDeadline.ACKNOWLEDGE)
    assert scheduled.remind_at == second.acknowledge_due_at - 48 * H
    # The referral sent before the agreement keeps the default it was scheduled with.
    first = reminder(j0.referral, ReminderDeadline.ACKNOWLEDGE)
    assert first.remind_at == j0.referral.acknowledge_due_at - 24 * H


def test_an_agreement_may_set_no_reminder(journey):
    j0 = journey(paris(2026, 1, 5, 10))
    AgreementFactory(
        parties=[j0.sender.organisation, j0.receiver.organisation], reminder_hours_before=0
    )
    j0.accept(paris(2026, 1, 6, 9))
    assert set(
        Reminder.objects.filter(referral=j0.referral).values_list("deadline", flat=True)
    ) == {
        ReminderDeadline.ACKNOWLEDGE  # scheduled at the send, before the agreement
    }


def test_a_deadline_closer_than_the_reminder_gets_none(journey, settings):
    settings.PARCOURS_DEFAULT_APPOINTMENT_SET_DAYS = 1
    settings.PARCOURS_DEFAULT_REMINDER_HOURS = 48
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    deadlines = set(Reminder.objects.filter(referral=j.referral).values_list("deadline", flat=True))
    assert ReminderDeadline.APPOINTMENT not in deadlines  # due in 24 h, reminded 48 h ahead
    assert ReminderDeadline.FIRST_APPOINTMENT in deadlines


def test_every_case_worker_of_the_receiver_is_reminded_else_its_address(journey):
    j = journey(paris(2026, 1, 5, 10))
    colleague = MembershipFactory(organisation=j.receiver.organisation, role=Role.SOCIAL_WORKER)
    MembershipFactory(organisation=j.receiver.organisation, role=Role.MANAGER)  # not a worker
    MembershipFactory(organisation=j.receiver.organisation, role=Role.DPO)
    MembershipFactory(organisation=j.receiver.organisation, is_active=False)
    due = j.referral.acknowledge_due_at
    send_at(due - 23 * H)
    assert reminded(j.referral) == sorted([j.receiver_email, colleague.user.email])

    alone = journey(paris(2026, 1, 5, 10))
    Membership.objects.filter(organisation=alone.receiver.organisation).update(is_active=False)
    send_at(due - 23 * H)
    assert reminded(alone.referral) == [alone.receiver_contact]


def test_a_referral_answered_before_the_relay_sends_nothing(journey):
    j = journey(paris(2026, 1, 5, 10))
    due = j.referral.acknowledge_due_at
    send_at(due - 23 * H)
    j.accept(due - 22 * H)  # answered after the scan wrote the e-mail, before it left
    report = outbox_relay(now=due - 21 * H)
    # Only the acceptance's answer to the sender leaves; the reminder is dropped.
    assert (report.sent, report.cancelled) == (1, 1)
    assert [m.to for m in mail.outbox] == [[j.sender_email]]
    message = OutboxMessage.objects.get(kind=OutboxKind.REMINDER)
    assert message.status == OutboxStatus.CANCELLED
    assert message.last_error == "Rappel sans objet : l'orientation a avancé avant l'envoi"


def test_a_reminder_whose_deadline_passed_during_an_outage_is_dropped(journey):
    j = journey(paris(2026, 1, 5, 10))
    send_at(j.referral.acknowledge_due_at + MINUTE)  # the scan was down all day
    scheduled = reminder(j.referral, ReminderDeadline.ACKNOWLEDGE)
    assert scheduled.state == ReminderState.CANCELLED
    assert reminded(j.referral) == []  # the alert takes over


def test_an_archived_pathway_is_reminded_nothing(journey):
    j = journey(paris(2026, 1, 5, 10))
    j.referral.pathway.__class__.objects.filter(pk=j.referral.pathway_id).update(
        archived_at=paris(2026, 1, 6, 9)
    )
    send_at(j.referral.acknowledge_due_at - 23 * H)
    assert reminded(j.referral) == []


def test_scheduling_twice_changes_nothing(journey):
    from notifications.services.reminders import reminders_schedule

    j = journey(paris(2026, 1, 5, 10))
    assert reminders_schedule(referral=j.referral, now=paris(2026, 1, 5, 11)) == 0
    assert Reminder.objects.filter(referral=j.referral).count() == 1
