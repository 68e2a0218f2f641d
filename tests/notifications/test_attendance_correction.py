"""Correcting a wrong attendance or absence (issue 13): its author, within the delay, with a
reason; history, a timeline event, and a new e-mail to the partners written in the same
transaction — the absence's alert not yet sent is cancelled. Anyone else, or too late: refused in
French, journaled. (The e-mail through a real worker and SMTP server: test_correction_worker.py.)
"""

import datetime as dt
from html import unescape

import pytest
import time_machine
from django.core import mail

from notifications.models import Alert, AlertKind, AlertState, OutboxKind, OutboxMessage
from notifications.services.alerts import alerts_scan
from notifications.services.relay import outbox_relay
from parcours.actor import Actor
from parcours.errors import ForbiddenTransition, InvalidInput, NotAllowed
from parcours.gate import Door, door
from parcours.models import (
    AccessEvent,
    AppointmentOutcome,
    EventKind,
    PathwayEvent,
    ReferralStatus,
    Role,
)
from parcours.services.referral import (
    moves_offered,
    referral_close,
    referral_correct_attendance,
)
from parcours.transitions import Action
from tests.factories import MembershipFactory

from .conftest import answers_relayed, paris

pytestmark = pytest.mark.django_db

REASON = "Confusion avec un autre rendez-vous de l'après-midi"
RECORDED = paris(2026, 1, 9, 15)  # a Friday
# Three French working days later, at the end of the day: Wednesday 14 January.
DEADLINE = paris(2026, 1, 14, 23, 59, 59)


def _recorded_no_show(journey):
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    j.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 9, 14))
    j.record_no_show(RECORDED)
    answers_relayed(3)  # acceptance, appointment, absence: told to the sender at once
    return j


def _recorded_attendance(journey):
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    j.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 9, 14))
    j.record_attendance(RECORDED)
    answers_relayed(3)  # acceptance, appointment, attendance: told to the sender at once
    return j


def _correct(j, at, actor=None, reason=REASON):
    with time_machine.travel(at, tick=False), door(Door.COMMAND):
        referral_correct_attendance(
            actor=actor or j.receiver, referral_id=j.referral.pk, reason=reason
        )
    return j.refresh()


def test_recording_an_outcome_stamps_its_author_and_the_delay(journey):
    j = _recorded_no_show(journey)
    assert j.referral.attendance_recorded_by == j.receiver.user
    assert j.referral.attendance_correctable_until == DEADLINE
    with time_machine.travel(DEADLINE - dt.timedelta(hours=1), tick=False):
        assert Action.CORRECT_ATTENDANCE in moves_offered(j.receiver, j.referral)
    with time_machine.travel(DEADLINE + dt.timedelta(seconds=1), tick=False):
        assert Action.CORRECT_ATTENDANCE not in moves_offered(j.receiver, j.referral)
    assert Action.CORRECT_ATTENDANCE not in moves_offered(j.sender, j.referral)


def test_the_author_corrects_an_absence_within_the_delay(journey):
    j = _recorded_no_show(journey)
    alerts_scan(now=RECORDED + dt.timedelta(minutes=5))  # the absence's alert, not yet sent
    (alert,) = Alert.objects.filter(referral=j.referral, kind=AlertKind.NO_SHOW)
    pending = set(
        OutboxMessage.objects.filter(deliveries__alert=alert).values_list("pk", flat=True)
    )
    assert pending

    _correct(j, DEADLINE - dt.timedelta(minutes=1))

    assert j.referral.status == ReferralStatus.ATTENDED
    (appointment,) = j.referral.appointments.all()
    assert appointment.outcome == AppointmentOutcome.ATTENDED
    # History: who, and why.
    last = j.referral.history.first()
    assert last.history_user == j.receiver.user
    assert last.history_change_reason == "Correction de la venue ou de l'absence saisie"
    assert appointment.history.first().history_change_reason == "Correction de l'issue saisie"
    # The timeline says what became of what, and why.
    event = PathwayEvent.objects.filter(referral=j.referral, kind=EventKind.REFERRAL_MOVED).latest(
        "id"
    )
    assert event.referral_status == ReferralStatus.ATTENDED
    assert event.text == (
        f"Correction : « Personne absente » devient « Personne venue ». Motif : {REASON}"
    )
    # The absence's alert is resolved, its e-mails not yet sent cancelled; one notice per partner.
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert set(OutboxMessage.objects.filter(pk__in=pending).values_list("status", flat=True)) == {
        "cancelled"
    }
    notices = OutboxMessage.objects.filter(kind=OutboxKind.CORRECTION, event=event)
    assert sorted(n.to_email for n in notices) == sorted([j.sender_email, j.receiver_contact])
    # Journaled as a write of this move.
    row = AccessEvent.objects.filter(user=j.receiver.user, operation="write").latest("id")
    assert row.detail["action"] == "referral.correct_attendance"
    assert row.object_id == j.referral.pk


def test_the_notice_says_what_was_corrected_in_french_and_nothing_typed(journey, settings):
    settings.PARCOURS_PUBLIC_URL = "https://parcours.example.fr"
    j = _recorded_no_show(journey)
    j.receiver.user.first_name, j.receiver.user.last_name = "Julie", "Roux"
    j.receiver.user.save()
    _correct(j, RECORDED + dt.timedelta(hours=2))

    assert outbox_relay().sent == 2
    to_sender = next(m for m in mail.outbox if m.to == [j.sender_email])
    assert to_sender.subject == (
        f"[parcours] {j.referral.reference} : correction — la personne est bien venue"
    )
    for body in (to_sender.body, unescape(to_sender.alternatives[0][0])):
        assert "L'absence de Léa M. au rendez-vous du 09/01/2026 à 14:00" in body
        assert "était une erreur : Julie Roux (" in body
        assert "corrigée le 09/01/2026 à 17:00. La personne est bien venue." in body
        assert f"https://parcours.example.fr/orientations/{j.referral.pk}/" in body
        for secret in (REASON, "Martin", "no_show", "attended", "psychiatrique"):
            assert secret not in body
    assert outbox_relay().sent == 0  # sent once


def test_an_attendance_corrected_to_an_absence_is_a_fresh_no_show(journey):
    j = _recorded_attendance(journey)
    assert alerts_scan(now=RECORDED + dt.timedelta(hours=1)).raised[AlertKind.NO_SHOW] == 0

    corrected_at = RECORDED + dt.timedelta(days=1)
    _correct(j, corrected_at)
    assert j.referral.status == ReferralStatus.NO_SHOW
    assert j.referral.no_show_at == corrected_at
    assert j.referral.appointments.get().outcome == AppointmentOutcome.NO_SHOW
    notices = OutboxMessage.objects.filter(kind=OutboxKind.CORRECTION)
    assert notices.count() == 2
    # The scan then treats it as any recorded absence: its alert, once.
    report = alerts_scan(now=corrected_at + dt.timedelta(minutes=5))
    assert report.raised[AlertKind.NO_SHOW] == 1
    outbox_relay()
    subjects = sorted(m.subject for m in mail.outbox if m.to == [j.sender_email])
    assert subjects == [
        f"[parcours] {j.referral.reference} : correction — la personne était absente",
        f"[parcours] {j.referral.reference} : personne absente au rendez-vous",
    ]


def test_another_member_of_the_receiver_is_refused_and_journaled(journey):
    j = _recorded_no_show(journey)
    colleague = MembershipFactory(organisation=j.receiver.organisation, role=Role.COUNSELLOR)
    actor = Actor(colleague.user, j.receiver.organisation, Role.COUNSELLOR)
    with pytest.raises(NotAllowed) as refused:
        _correct(j, RECORDED + dt.timedelta(hours=1), actor=actor)
    assert refused.value.message.startswith(
        "Seule la personne qui a saisi la venue ou l'absence peut la corriger"
    )
    assert j.refresh().referral.status == ReferralStatus.NO_SHOW
    assert not OutboxMessage.objects.filter(kind=OutboxKind.CORRECTION).exists()
    denied = AccessEvent.objects.get(user=colleague.user, operation="denied")
    assert denied.detail["action"] == "referral.correct_attendance"
    assert denied.detail["refusal"] == "not_allowed"
    assert (denied.object_type, denied.object_id) == ("referral", j.referral.pk)


def test_the_sender_is_refused_as_the_wrong_party(journey):
    j = _recorded_no_show(journey)
    with pytest.raises(NotAllowed, match="Seul l'organisme destinataire"):
        _correct(j, RECORDED + dt.timedelta(hours=1), actor=j.sender)


def test_after_the_delay_even_the_author_is_refused_and_journaled(journey):
    j = _recorded_no_show(journey)
    with pytest.raises(NotAllowed) as refused:
        _correct(j, DEADLINE + dt.timedelta(seconds=1))
    assert refused.value.message.startswith(
        "Le délai de correction est dépassé (il courait jusqu'au 14/01/2026 à 23:59)"
    )
    assert j.refresh().referral.status == ReferralStatus.NO_SHOW
    assert AccessEvent.objects.filter(user=j.receiver.user, operation="denied").count() == 1
    assert not OutboxMessage.objects.filter(kind=OutboxKind.CORRECTION).exists()


def test_a_reason_is_required_and_a_closed_referral_is_not_corrected(journey):
    j = _recorded_no_show(journey)
    with pytest.raises(InvalidInput) as invalid:
        _correct(j, RECORDED + dt.timedelta(hours=1), reason="   ")
    assert "reason" in invalid.value.fields
    assert j.refresh().referral.status == ReferralStatus.NO_SHOW
    with time_machine.travel(RECORDED + dt.timedelta(hours=2), tick=False):
        referral_close(actor=j.receiver, referral_id=j.referral.pk, outcome="not_reached")
    with pytest.raises(ForbiddenTransition):
        _correct(j, RECORDED + dt.timedelta(hours=3))
