"""Escalation ladders from the agreement, and every no-show alerted (issue 14).

The scan reads the ladder of the agreement that governs the referral (its rungs: after how many
hours since the alert, to whom), else the default ladder (the managers, after
PARCOURS_ALERT_ESCALATION_HOURS); each (alert, rung) is raised once, whatever runs twice. A
no-show alert is keyed on the appointment missed: a second absence after a re-invitation is
alerted too, each once. The clock is moved with time-machine."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from notifications.models import Alert, AlertKind, AlertState, OutboxKind, OutboxMessage
from notifications.services.alerts import alert_acknowledge, alerts_scan
from notifications.services.relay import outbox_relay
from parcours.actor import Actor
from parcours.models import EscalationAudience, Membership, Role
from parcours.services.agreement import agreement_accept, agreement_update
from parcours.services.delays import ladders_for
from tests.factories import AgreementFactory, MembershipFactory

from .conftest import answers_relayed, paris

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
COUNSELLORS, MANAGERS = EscalationAudience.COUNSELLORS, EscalationAudience.MANAGERS


def scan_at(at: dt.datetime):
    """The periodic scan, run at `at` on the travelled clock."""
    with time_machine.travel(at, tick=False):
        return alerts_scan(now=timezone.now())


def chain(referral, kind=AlertKind.UNANSWERED) -> list[Alert]:
    return list(Alert.objects.filter(referral=referral, kind=kind).order_by("level", "id"))


def addresses(alert: Alert) -> set[str]:
    return set(alert.deliveries.values_list("email", flat=True))


def managers_of(*organisations) -> set[str]:
    return set(
        Membership.objects.filter(organisation__in=organisations, role=Role.MANAGER).values_list(
            "user__email", flat=True
        )
    )


def agreement_between(j, ladder=(), **terms):
    return AgreementFactory(
        parties=[j.sender.organisation, j.receiver.organisation], ladder=list(ladder), **terms
    )


# --- the ladder as data ---------------------------------------------------------------------


def test_the_scan_climbs_the_agreements_ladder_each_rung_once(journey):
    j = journey(paris(2026, 1, 5, 10), with_managers=True)
    agreement_between(j, [(24, COUNSELLORS), (48, MANAGERS)])
    raised_at = j.referral.acknowledge_due_at + MINUTE
    scan_at(raised_at)
    (first,) = chain(j.referral)
    assert first.next_rung_at == raised_at + 24 * H  # the agreement's first rung, not 72 h

    assert scan_at(raised_at + 24 * H - MINUTE).escalated == 0
    assert scan_at(raised_at + 24 * H + MINUTE).escalated == 1
    first, to_counsellors = chain(j.referral)
    assert (to_counsellors.level, to_counsellors.audience) == (2, COUNSELLORS)
    assert to_counsellors.due_at == raised_at + 24 * H
    parties = (j.referral.sender_organisation_id, j.referral.receiver_organisation_id)
    assert (to_counsellors.sender_organisation_id, to_counsellors.receiver_organisation_id) == (
        parties
    )
    # The counsellors are told again: the sender's counsellor and the receiver's address.
    assert addresses(to_counsellors) == {j.sender_email, j.receiver_contact}
    assert (first.state, first.last_rung) == (AlertState.ESCALATED, 1)
    assert first.escalated_at == raised_at + 24 * H + MINUTE
    assert first.next_rung_at == raised_at + 48 * H

    assert scan_at(raised_at + 30 * H).escalated == 0  # a second beat, a retry: nothing
    assert scan_at(raised_at + 48 * H + MINUTE).escalated == 1
    first, _to_counsellors, to_managers = chain(j.referral)
    assert (to_managers.level, to_managers.audience) == (3, MANAGERS)
    assert addresses(to_managers) == managers_of(j.sender.organisation, j.receiver.organisation)
    assert len(addresses(to_managers)) == 2
    assert (first.state, first.last_rung, first.next_rung_at) == (AlertState.ESCALATED, 2, None)
    assert first.escalated_at == raised_at + 24 * H + MINUTE  # the first rung's moment stays

    assert scan_at(raised_at + 500 * H).escalated == 0  # the top of the ladder
    assert len(chain(j.referral)) == 3

    # Each rung's e-mail says which it is.
    outbox_relay(now=raised_at + 500 * H)
    subjects = {(m.to[0], m.subject) for m in mail.outbox}
    reference = j.referral.reference
    assert (j.sender_email, f"[parcours] Relance — {reference} : orientation sans réponse") in (
        subjects
    )
    manager = sorted(addresses(to_managers))[0]
    assert (manager, f"[parcours] Escalade — {reference} : orientation sans réponse") in subjects
    relance = next(m for m in mail.outbox if m.subject.startswith("[parcours] Relance"))
    assert "reste sans évolution ni prise en compte" in relance.body
    assert "Martin" not in relance.body


def test_without_an_agreement_the_default_ladder_applies(journey, settings):
    settings.PARCOURS_ALERT_ESCALATION_HOURS = 60
    j = journey(paris(2026, 1, 5, 10), with_managers=True)
    raised_at = j.referral.acknowledge_due_at + MINUTE
    scan_at(raised_at)
    assert chain(j.referral)[0].next_rung_at == raised_at + 60 * H
    assert scan_at(raised_at + 60 * H + MINUTE).escalated == 1
    _first, second = chain(j.referral)
    assert (second.level, second.audience) == (2, MANAGERS)
    assert second.level_label == "Escalade, échelon 1 : responsables des deux structures"


@pytest.mark.parametrize(
    "terms",
    [
        {},  # in force, but sets no rungs
        {"ends_on": dt.date(2025, 12, 31)},  # its rungs, but ended before the scan
        {"parties__pending": "receiver"},  # its rungs, but the receiver has not accepted it
    ],
    ids=["no-rungs", "ended", "not-accepted"],
)
def test_an_agreement_that_does_not_govern_leaves_the_default_ladder(journey, terms):
    j = journey(paris(2026, 1, 5, 10))
    ladder = [] if not terms else [(24, COUNSELLORS)]
    if terms.get("parties__pending"):
        terms = {"parties__pending": [j.receiver.organisation]}
    agreement_between(j, ladder, **terms)
    pair = (j.sender.organisation.pk, j.receiver.organisation.pk)
    found = ladders_for(pairs=[pair], on=dt.date(2026, 1, 13))[pair]
    assert found.agreement_id is None
    assert [(r.after_hours, r.audience) for r in found.rungs] == [(72, MANAGERS)]
    raised_at = j.referral.acknowledge_due_at + MINUTE
    scan_at(raised_at)
    assert chain(j.referral)[0].next_rung_at == raised_at + 72 * H


def test_each_referral_climbs_the_ladder_of_its_own_partners(journey):
    governed = journey(paris(2026, 1, 5, 10))
    agreement_between(governed, [(12, COUNSELLORS)])
    other = journey(paris(2026, 1, 5, 10))  # two other organisations, no agreement
    due = max(governed.referral.acknowledge_due_at, other.referral.acknowledge_due_at) + MINUTE
    scan_at(due)
    assert chain(governed.referral)[0].next_rung_at == due + 12 * H
    assert chain(other.referral)[0].next_rung_at == due + 72 * H
    assert scan_at(due + 13 * H).escalated == 1
    assert len(chain(governed.referral)) == 2 and len(chain(other.referral)) == 1


def test_a_ladder_changed_meanwhile_is_read_as_it_is_now(journey):
    j = journey(paris(2026, 1, 5, 10))
    agreement = agreement_between(j, [(24, COUNSELLORS)])
    raised_at = j.referral.acknowledge_due_at + MINUTE
    scan_at(raised_at)
    # The parties change the ladder through the agreement's services (a new version, accepted
    # by the other party): managers at 10 h, then the counsellors at 30 h.
    sender_manager = MembershipFactory(organisation=j.sender.organisation, role=Role.MANAGER)
    receiver_manager = MembershipFactory(organisation=j.receiver.organisation, role=Role.MANAGER)
    with time_machine.travel(raised_at + H, tick=False):
        agreement_update(
            actor=Actor(sender_manager.user, j.sender.organisation, Role.MANAGER),
            agreement_id=agreement.pk,
            escalation_ladder=[(30, COUNSELLORS), (10, MANAGERS)],
        )
        agreement_accept(
            actor=Actor(receiver_manager.user, j.receiver.organisation, Role.MANAGER),
            agreement_id=agreement.pk,
        )
    # The alert was due its first rung at 24 h: then the new ladder's first rung (10 h) is
    # raised, the second (30 h) waits for its own time.
    assert scan_at(raised_at + 20 * H).escalated == 0
    assert scan_at(raised_at + 24 * H).escalated == 1
    first, rung = chain(j.referral)
    assert (rung.level, rung.audience) == (2, MANAGERS)
    assert first.next_rung_at == raised_at + 30 * H
    assert scan_at(raised_at + 30 * H).escalated == 1
    assert [(a.level, a.audience) for a in chain(j.referral)] == [
        (1, ""),
        (2, MANAGERS),
        (3, COUNSELLORS),
    ]


def test_rungs_overdue_together_are_each_raised_once(journey):
    """After a long outage of the scan, every rung whose time passed is raised, in order."""
    j = journey(paris(2026, 1, 5, 10), with_managers=True)
    agreement_between(j, [(24, COUNSELLORS), (48, MANAGERS)])
    raised_at = j.referral.acknowledge_due_at + MINUTE
    scan_at(raised_at)
    assert scan_at(raised_at + 100 * H).escalated == 2
    assert scan_at(raised_at + 101 * H).escalated == 0
    assert [a.level for a in chain(j.referral)] == [1, 2, 3]


def test_acknowledging_a_rung_stops_the_ladder(journey):
    j = journey(paris(2026, 1, 5, 10), with_managers=True)
    agreement_between(j, [(24, COUNSELLORS), (48, MANAGERS)])
    raised_at = j.referral.acknowledge_due_at + MINUTE
    scan_at(raised_at)
    scan_at(raised_at + 25 * H)
    first, rung = chain(j.referral)
    alert_acknowledge(actor=j.receiver, alert_id=rung.pk, now=raised_at + 26 * H)
    first.refresh_from_db()
    assert first.next_rung_at is None
    assert scan_at(raised_at + 100 * H).escalated == 0
    assert len(chain(j.referral)) == 2


def test_a_referral_moving_on_stops_its_ladder_and_cancels_unsent_rungs(journey):
    j = journey(paris(2026, 1, 5, 10), with_managers=True)
    agreement_between(j, [(24, COUNSELLORS), (48, MANAGERS)])
    raised_at = j.referral.acknowledge_due_at + MINUTE
    scan_at(raised_at)
    scan_at(raised_at + 25 * H)
    j.accept(raised_at + 26 * H)  # before the relay sent the rung's e-mails
    assert {a.state for a in chain(j.referral)} == {AlertState.RESOLVED}
    assert scan_at(raised_at + 100 * H).escalated == 0
    # (The acceptance's answer to the sender is its own e-mail, still to send.)
    alert_mails = OutboxMessage.objects.exclude(kind=OutboxKind.ANSWER)
    assert set(alert_mails.values_list("status", flat=True)) == {"cancelled"}


# --- every no-show alerted ------------------------------------------------------------------


def _no_show_twice(journey):
    """Booked, absent, re-invited, absent again (each absence recorded by the receiver)."""
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    j.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 9, 14))
    j.record_no_show(paris(2026, 1, 9, 15))
    answers_relayed(3)  # the sender heard of the acceptance, the appointment, the absence
    assert scan_at(paris(2026, 1, 9, 15, 5)).raised[AlertKind.NO_SHOW] == 1
    assert outbox_relay(now=paris(2026, 1, 9, 15, 6)).sent == 3  # the first absence's e-mails
    j.first_absence_mails = [m for m in mail.outbox if m.to == [j.sender_email]]
    j.book(paris(2026, 1, 9, 16), starts_at=paris(2026, 1, 12, 14))  # the re-invitation
    answers_relayed(1)
    return j


def test_a_second_no_show_after_a_re_invitation_is_alerted_once(journey):
    j = _no_show_twice(journey)
    (first,) = chain(j.referral, AlertKind.NO_SHOW)
    assert first.state == AlertState.RESOLVED  # the re-invitation answered it
    j.record_no_show(paris(2026, 1, 12, 15))
    answers_relayed(1)

    assert scan_at(paris(2026, 1, 12, 15, 5)).raised[AlertKind.NO_SHOW] == 1
    assert scan_at(paris(2026, 1, 12, 16)).raised[AlertKind.NO_SHOW] == 0  # once
    first, second = chain(j.referral, AlertKind.NO_SHOW)
    missed = list(j.referral.appointments.order_by("starts_at"))
    assert (first.appointment, second.appointment) == (missed[0], missed[1])
    assert second.state == AlertState.OPEN
    assert second.due_at == paris(2026, 1, 12, 15)
    assert addresses(second) == {j.sender_email, j.receiver_contact, j.receiver_email}
    # Its own ladder, from its own raising.
    assert second.next_rung_at == paris(2026, 1, 12, 15, 5) + 72 * H

    assert outbox_relay(now=paris(2026, 1, 12, 16)).sent == 3
    assert outbox_relay(now=paris(2026, 1, 12, 17)).sent == 0
    to_sender = j.first_absence_mails + [m for m in mail.outbox if m.to == [j.sender_email]]
    assert [m.subject for m in to_sender] == [
        f"[parcours] {j.referral.reference} : personne absente au rendez-vous"
    ] * 2
    assert "rendez-vous du 09/01/2026 à 14:00" in to_sender[0].body
    assert "rendez-vous du 12/01/2026 à 14:00" in to_sender[1].body


def test_a_re_invitation_left_without_outcome_is_alerted_past_its_grace(journey):
    j = _no_show_twice(journey)
    grace_end = paris(2026, 1, 13, 14)  # the re-invitation + 24 h, nothing recorded
    assert scan_at(grace_end - MINUTE).raised[AlertKind.NO_SHOW] == 0
    assert scan_at(grace_end + MINUTE).raised[AlertKind.NO_SHOW] == 1
    # Recorded later on the same appointment: the same absence, not a third alert.
    j.record_no_show(grace_end + H)
    assert scan_at(grace_end + 2 * H).raised[AlertKind.NO_SHOW] == 0
    alerts = chain(j.referral, AlertKind.NO_SHOW)
    assert len(alerts) == 2 and alerts[1].state == AlertState.OPEN


def test_a_third_no_show_is_a_third_alert(journey):
    j = _no_show_twice(journey)
    j.record_no_show(paris(2026, 1, 12, 15))
    scan_at(paris(2026, 1, 12, 15, 5))
    j.book(paris(2026, 1, 12, 16), starts_at=paris(2026, 1, 14, 10))
    j.record_no_show(paris(2026, 1, 14, 11))
    assert scan_at(paris(2026, 1, 14, 11, 5)).raised[AlertKind.NO_SHOW] == 1
    alerts = chain(j.referral, AlertKind.NO_SHOW)
    assert len({a.appointment_id for a in alerts}) == 3
    assert [a.state for a in alerts] == [AlertState.RESOLVED] * 2 + [AlertState.OPEN]


# --- alerts raised before the ladders (migration 0006) --------------------------------------


def test_alerts_raised_before_the_ladders_are_placed_on_the_default_ladder(journey, settings):
    """The migration's data step, on rows shaped as before it: a waiting level-1 alert has the
    default rung due 72 h after it was raised; an escalated one has climbed it; a level-2 alert
    was the managers' rung."""
    import importlib

    from django.apps import apps

    step = importlib.import_module("notifications.migrations.0006_ladder")
    waiting, escalated = journey(paris(2026, 1, 5, 10)), journey(paris(2026, 1, 5, 10))
    acknowledged = journey(paris(2026, 1, 5, 10))
    raised_at = waiting.referral.acknowledge_due_at + MINUTE
    scan_at(raised_at)
    scan_at(raised_at + 73 * H)  # `escalated` (and the others) climb the default rung…
    Alert.objects.filter(referral=waiting.referral, level=2).delete()  # …`waiting` not yet
    Alert.objects.filter(referral=acknowledged.referral, level=2).delete()
    Alert.objects.filter(referral__in=[waiting.referral, acknowledged.referral]).update(
        state=AlertState.NOTIFIED, escalated_at=None
    )
    Alert.objects.filter(referral=acknowledged.referral).update(
        acknowledged_at=raised_at + H, acknowledged_by=acknowledged.receiver.user
    )
    # As the rows were before the migration: no ladder columns filled in.
    Alert.objects.update(audience="", last_rung=0, next_rung_at=None)

    step.place_alerts_on_the_default_ladder(apps, None)

    (first,) = chain(waiting.referral)
    assert (first.last_rung, first.next_rung_at) == (0, raised_at + 72 * H)
    first, rung = chain(escalated.referral)
    assert (first.last_rung, first.next_rung_at) == (1, None)
    assert rung.audience == MANAGERS
    (first,) = chain(acknowledged.referral)
    assert first.next_rung_at is None
    # The waiting one climbs at the next scan, once.
    assert scan_at(raised_at + 74 * H).escalated == 1
    assert scan_at(raised_at + 75 * H).escalated == 0
