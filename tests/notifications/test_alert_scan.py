"""The alert scan, in process on a controlled clock: each kind is raised exactly once when its
referral crosses its delay, goes to the right people, escalates, resolves, and digests group.
(The same journeys through a real worker and a real SMTP server: test_alert_delivery_worker.py;
crashes and SMTP errors: test_outbox_faults.py.)"""

import datetime as dt
from html import unescape

import pytest
from django.core import mail
from django.db.models import Q

from notifications.models import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertState,
    Delivery,
    DeliveryMode,
    NotificationPreference,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from notifications.rules import RULES
from notifications.services.alerts import alert_acknowledge, alerts_scan
from notifications.services.digest import digests_compose
from notifications.services.relay import outbox_relay
from parcours.models import Membership, Referral, ReferralStatus, Role
from tests.factories import MembershipFactory

from .conftest import paris

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


def alerts(referral, **filters) -> list[Alert]:
    return list(Alert.objects.filter(referral=referral, **filters).order_by("level", "id"))


def addresses(alert: Alert) -> set[str]:
    return set(alert.deliveries.values_list("email", flat=True))


# --- the rules table ------------------------------------------------------------------------


def test_rules_table_covers_every_kind_and_matches_the_partial_indexes():
    assert set(RULES) == set(AlertKind.values)
    conditions = {
        index.fields[0]: index.condition for index in Referral._meta.indexes if index.condition
    }
    for kind, rule in RULES.items():
        assert set(rule.statuses) <= set(ReferralStatus.values), kind
        if kind == AlertKind.NO_SHOW:
            continue  # reads the appointments' partial index and referral_no_show_idx
        # The scan's filter repeats the index condition, so the planner can use it.
        condition = conditions[rule.due_field]
        expected = (
            Q(status=rule.statuses[0]) if len(rule.statuses) == 1 else Q(status__in=rule.statuses)
        )
        assert condition == expected, kind


# --- each kind, exactly once, on time -------------------------------------------------------


def test_unanswered_counts_french_working_days_and_is_raised_once(journey):
    # Sent on Thursday 30 April 2026: 1 May and 8 May are public holidays, so the five working
    # days are 4, 5, 6, 7 and 11 May.
    j = journey(paris(2026, 4, 30, 10))
    due = j.referral.acknowledge_due_at
    assert due == paris(2026, 5, 11, 23, 59, 59)

    assert alerts_scan(now=due - MINUTE).raised[AlertKind.UNANSWERED] == 0
    report = alerts_scan(now=due + MINUTE)
    assert report.raised[AlertKind.UNANSWERED] == 1
    (alert,) = alerts(j.referral)
    assert (alert.kind, alert.level, alert.state) == (AlertKind.UNANSWERED, 1, AlertState.OPEN)
    assert alert.due_at == due
    # The referral's two parties, copied on the alert (the badge's index reads them).
    assert (alert.sender_organisation_id, alert.receiver_organisation_id) == (
        j.referral.sender_organisation_id,
        j.referral.receiver_organisation_id,
    )
    assert addresses(alert) == {j.sender_email, j.receiver_contact}
    assert OutboxMessage.objects.filter(deliveries__alert=alert).count() == 2

    # The scan again, later, and a third time: nothing new.
    assert sum(alerts_scan(now=due + 2 * H).raised.values()) == 0
    assert sum(alerts_scan(now=due + 2 * H).raised.values()) == 0
    assert len(alerts(j.referral)) == 1
    assert OutboxMessage.objects.count() == 2


def test_no_appointment_after_the_agreed_days(journey):
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    due = j.referral.appointment_due_at
    assert due == paris(2026, 1, 11, 9)  # 5 days (settings default) after acceptance
    assert alerts_scan(now=due - MINUTE).raised[AlertKind.NO_APPOINTMENT] == 0
    assert alerts_scan(now=due + MINUTE).raised[AlertKind.NO_APPOINTMENT] == 1
    (alert,) = alerts(j.referral, kind=AlertKind.NO_APPOINTMENT)
    assert addresses(alert) == {j.sender_email, j.receiver_contact}


def test_no_show_when_no_outcome_is_recorded_after_the_grace(journey):
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    j.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 9, 14))
    grace_end = paris(2026, 1, 10, 14)  # 24 hours of grace (settings default)
    assert alerts_scan(now=grace_end - MINUTE).raised[AlertKind.NO_SHOW] == 0
    assert alerts_scan(now=grace_end + MINUTE).raised[AlertKind.NO_SHOW] == 1
    (alert,) = alerts(j.referral, kind=AlertKind.NO_SHOW)
    assert alert.due_at == grace_end
    assert alert.appointment is not None
    # The member who set the appointment is asked to record its outcome.
    assert addresses(alert) == {j.sender_email, j.receiver_contact, j.receiver_email}
    assert alerts_scan(now=grace_end + H).raised[AlertKind.NO_SHOW] == 0


def test_no_show_recorded_by_the_receiver(journey):
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    j.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 9, 14))
    j.record_no_show(paris(2026, 1, 9, 15))
    report = alerts_scan(now=paris(2026, 1, 9, 15, 5))
    assert report.raised[AlertKind.NO_SHOW] == 1
    (alert,) = alerts(j.referral, kind=AlertKind.NO_SHOW)
    assert alert.due_at == paris(2026, 1, 9, 15)
    assert j.sender_email in addresses(alert)


def test_never_arrived_at_the_end_of_the_first_appointment_delay(journey):
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    j.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 30, 14))  # beyond the 15 days
    due = j.referral.first_appointment_due_at
    assert due == paris(2026, 1, 21, 9)
    assert alerts_scan(now=due - MINUTE).raised[AlertKind.NEVER_ARRIVED] == 0
    assert alerts_scan(now=due + MINUTE).raised[AlertKind.NEVER_ARRIVED] == 1
    (alert,) = alerts(j.referral, kind=AlertKind.NEVER_ARRIVED)
    assert addresses(alert) == {j.sender_email, j.receiver_contact}


def test_attended_in_time_raises_nothing(journey):
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    j.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 9, 14))
    j.record_attendance(paris(2026, 1, 9, 15))
    report = alerts_scan(now=paris(2026, 3, 1, 9))
    assert sum(report.raised.values()) == 0
    assert not alerts(j.referral)


# --- escalation -----------------------------------------------------------------------------


def test_escalation_to_both_managers_after_the_further_delay(journey, settings):
    settings.PARCOURS_ALERT_ESCALATION_HOURS = 48
    j = journey(paris(2026, 1, 5, 10), with_managers=True)
    raised_at = j.referral.acknowledge_due_at + MINUTE
    alerts_scan(now=raised_at)
    assert alerts_scan(now=raised_at + 48 * H - MINUTE).escalated == 0
    assert alerts_scan(now=raised_at + 48 * H + MINUTE).escalated == 1
    first, second = alerts(j.referral)
    assert (first.level, first.state) == (AlertLevel.FIRST, AlertState.ESCALATED)
    assert first.escalated_at == raised_at + 48 * H + MINUTE
    assert (second.level, second.state, second.kind) == (2, AlertState.OPEN, first.kind)
    managers = set(
        Membership.objects.filter(role=Role.MANAGER).values_list("user__email", flat=True)
    )
    assert len(managers) == 2
    assert addresses(second) == managers
    assert alerts_scan(now=raised_at + 100 * H).escalated == 0  # once


def test_escalation_reaches_the_contact_address_without_a_manager(journey):
    j = journey(paris(2026, 1, 5, 10))
    raised_at = j.referral.acknowledge_due_at + MINUTE
    alerts_scan(now=raised_at)
    alerts_scan(now=raised_at + 100 * H)
    (second,) = alerts(j.referral, level=2)
    assert addresses(second) == {
        j.sender.organisation.contact_email,
        j.receiver.organisation.contact_email,
    }


def test_an_acknowledged_alert_is_not_escalated(journey):
    j = journey(paris(2026, 1, 5, 10), with_managers=True)
    raised_at = j.referral.acknowledge_due_at + MINUTE
    alerts_scan(now=raised_at)
    (alert,) = alerts(j.referral)
    alert_acknowledge(actor=j.receiver, alert_id=alert.pk, now=raised_at + H)
    assert alerts_scan(now=raised_at + 200 * H).escalated == 0
    alert.refresh_from_db()
    assert alert.acknowledged_by == j.receiver.user


# --- resolution -----------------------------------------------------------------------------


def test_moving_on_resolves_the_alert_and_cancels_its_unsent_mail(journey):
    j = journey(paris(2026, 1, 5, 10), with_managers=True)
    raised_at = j.referral.acknowledge_due_at + MINUTE
    alerts_scan(now=raised_at)
    (alert,) = alerts(j.referral)
    j.accept(raised_at + H)  # the receiver answers before the relay ran

    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert alert.resolved_at == raised_at + H
    assert "Acceptée" in alert.resolution
    assert set(
        OutboxMessage.objects.filter(kind=OutboxKind.ALERT).values_list("status", flat=True)
    ) == {"cancelled"}
    # Only the acceptance leaves, to the sender (issue 14): never the alert's e-mails.
    assert outbox_relay(now=raised_at + 2 * H).sent == 1
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (
            [j.sender_email],
            f"[parcours] {j.referral.reference} : orientation acceptée — "
            f"{j.receiver.organisation.name}",
        )
    ]
    # Nothing escalates either, and the accepted referral starts its own clock afresh.
    report = alerts_scan(now=raised_at + 200 * H)
    assert report.escalated == 0
    assert [a.kind for a in alerts(j.referral)] == [AlertKind.UNANSWERED, AlertKind.NO_APPOINTMENT]


@pytest.mark.parametrize("move", ["refuse", "record_attendance"])
def test_every_open_alert_of_the_referral_resolves(journey, move):
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    if move == "record_attendance":
        j.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 30, 14))
        alerts_scan(now=paris(2026, 1, 22, 9))  # never arrived (15 days passed)
        j.record_attendance(paris(2026, 1, 30, 15))
    else:
        j = journey(paris(2026, 1, 5, 10))
        alerts_scan(now=paris(2026, 1, 13, 9))  # unanswered
        j.refuse(paris(2026, 1, 13, 10))
    assert alerts(j.referral)
    assert all(a.state == AlertState.RESOLVED for a in alerts(j.referral))


def test_rescheduling_after_a_missed_appointment_resolves_the_no_show(journey):
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    j.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 8, 14))
    alerts_scan(now=paris(2026, 1, 9, 15))
    (no_show,) = alerts(j.referral, kind=AlertKind.NO_SHOW)
    j.book(paris(2026, 1, 9, 16), starts_at=paris(2026, 1, 12, 14))  # a new appointment
    no_show.refresh_from_db()
    assert no_show.state == AlertState.RESOLVED


# --- e-mail ---------------------------------------------------------------------------------


def test_the_mail_is_french_minimal_and_sent_once(journey):
    j = journey(paris(2026, 1, 5, 10))
    raised_at = j.referral.acknowledge_due_at + MINUTE
    alerts_scan(now=raised_at)
    assert outbox_relay(now=raised_at).sent == 2
    assert outbox_relay(now=raised_at + H).sent == 0  # nothing twice
    assert sorted(m.to[0] for m in mail.outbox) == sorted([j.sender_email, j.receiver_contact])
    message = next(m for m in mail.outbox if m.to == [j.receiver_contact])
    reference = j.referral.reference
    assert message.subject == f"[parcours] {reference} : orientation sans réponse"
    html = unescape(message.alternatives[0][0])
    assert message.alternatives[0][1] == "text/html"
    for body in (message.body, html):
        assert "Léa M." in body
        assert reference in body
        assert j.sender.organisation.name in body and j.receiver.organisation.name in body
        assert "05/01/2026" in body and "12/01/2026" in body
        assert f"/orientations/{j.referral.pk}/" in body
        assert "Merci d'accepter ou de refuser" in body
        for secret in (
            "Martin",
            j.referral.pathway.person.nir,
            "0612345678",
            "psychiatrique",
            "justice",
            "soins",
            "RQTH",
        ):
            assert secret not in body, secret
    assert message.extra_headers["Message-ID"].startswith("<parcours.alert.")
    sender_message = next(m for m in mail.outbox if m.to == [j.sender_email])
    assert "relancer la structure destinataire" in sender_message.body
    alert = alerts(j.referral)[0]
    assert alert.state == AlertState.NOTIFIED
    assert alert.notified_at == raised_at


def test_a_sender_who_left_is_replaced_by_the_referent_then_the_contact(journey):
    j = journey(paris(2026, 1, 5, 10))
    Membership.objects.filter(user=j.sender.user).update(is_active=False)
    referent = MembershipFactory(organisation=j.sender.organisation).user
    pathway = j.referral.pathway
    pathway.referent = referent
    pathway.save(update_fields=["referent"])
    alerts_scan(now=j.referral.acknowledge_due_at + MINUTE)
    (alert,) = alerts(j.referral)
    assert addresses(alert) == {referent.email, j.receiver_contact}

    other = journey(paris(2026, 1, 5, 10))
    Membership.objects.filter(user=other.sender.user).update(is_active=False)
    alerts_scan(now=other.referral.acknowledge_due_at + MINUTE)
    (alert,) = alerts(other.referral)
    assert addresses(alert) == {other.sender.organisation.contact_email, other.receiver_contact}


def test_an_alert_that_would_reach_nobody_goes_to_the_administrators(journey, caplog):
    """Issue 16: 4 alerts reached no recipient and stayed open without anyone knowing. Now the
    administrators of both organisations are told (they can fix the addresses); with none, the
    alert is logged at ERROR."""
    from parcours.models import Organisation

    def unreachable(j):
        Membership.objects.filter(user=j.sender.user).update(is_active=False)
        Organisation.objects.filter(
            pk__in=[j.sender.organisation.pk, j.receiver.organisation.pk]
        ).update(contact_email="")

    j = journey(paris(2026, 1, 5, 10))
    unreachable(j)
    admins = [
        MembershipFactory(organisation=org, role=Role.ADMIN).user
        for org in (j.sender.organisation, j.receiver.organisation)
    ]
    alerts_scan(now=j.referral.acknowledge_due_at + MINUTE)
    (alert,) = alerts(j.referral)
    assert addresses(alert) == {a.email for a in admins}

    nobody = journey(paris(2026, 1, 5, 10))
    unreachable(nobody)
    with caplog.at_level("ERROR", logger="notifications.services.recipients"):
        alerts_scan(now=nobody.referral.acknowledge_due_at + MINUTE)
    (alert,) = alerts(nobody.referral)
    assert addresses(alert) == set()
    assert any(f"alert {alert.pk} reaches nobody" in r.message for r in caplog.records)


# --- digest ---------------------------------------------------------------------------------


def test_digest_mode_groups_a_days_alerts_into_one_mail(journey):
    first = journey(paris(2026, 1, 5, 10))
    # The same counsellor sends a second person the same day.
    second = journey(paris(2026, 1, 5, 11))
    Referral.objects.filter(pk=second.referral.pk).update(sender_user=first.sender.user)
    MembershipFactory(user=first.sender.user, organisation=second.sender.organisation)
    NotificationPreference.objects.create(user=first.sender.user, mode=DeliveryMode.DIGEST)

    alerts_scan(now=paris(2026, 1, 13, 9))
    waiting = Delivery.objects.filter(user=first.sender.user)
    assert waiting.count() == 2
    assert set(waiting.values_list("mode", flat=True)) == {"digest"}
    assert not waiting.filter(outbox__isnull=False).exists()
    outbox_relay(now=paris(2026, 1, 13, 9))
    assert first.sender_email not in {m.to[0] for m in mail.outbox}  # not yet
    mail.outbox.clear()

    assert digests_compose(now=paris(2026, 1, 14, 8)) == 1
    assert digests_compose(now=paris(2026, 1, 14, 8)) == 0  # a second beat: nothing more
    assert outbox_relay(now=paris(2026, 1, 14, 8)).sent == 1
    (digest,) = mail.outbox
    assert digest.to == [first.sender_email]
    assert digest.subject == "[parcours] Récapitulatif : 2 alerte(s) sur vos orientations"
    assert first.referral.reference in digest.body and second.referral.reference in digest.body
    assert "Martin" not in digest.body
    assert digest.extra_headers["Message-ID"].startswith("<parcours.digest.")


def test_a_resolved_alert_leaves_the_digest(journey):
    j = journey(paris(2026, 1, 5, 10))
    NotificationPreference.objects.create(user=j.sender.user, mode=DeliveryMode.DIGEST)
    alerts_scan(now=paris(2026, 1, 13, 9))
    j.accept(paris(2026, 1, 13, 10))
    assert digests_compose(now=paris(2026, 1, 14, 8)) == 0
    assert Delivery.objects.get(user=j.sender.user).cancelled_at == paris(2026, 1, 13, 10)


def test_outbox_status_values_are_the_documented_ones():
    assert set(OutboxStatus.values) == {"pending", "sending", "sent", "failed", "cancelled"}


def test_the_scan_reads_due_referrals_in_pages_without_missing_or_repeating(journey, monkeypatch):
    from notifications import selectors

    monkeypatch.setattr(selectors, "PAGE", 2)  # five referrals: three pages
    # Same deadline for all five: the id breaks the ties between pages.
    journeys = [journey(paris(2026, 1, 5, 10)) for _ in range(5)]
    due = journeys[0].referral.acknowledge_due_at
    assert {j.referral.acknowledge_due_at for j in journeys} == {due}
    rows = list(selectors.referrals_due(AlertKind.UNANSWERED, now=due + MINUTE))
    assert sorted(r.referral_id for r in rows) == sorted(j.referral.pk for j in journeys)
    assert alerts_scan(now=due + MINUTE).raised[AlertKind.UNANSWERED] == 5
    assert Alert.objects.filter(kind=AlertKind.UNANSWERED).count() == 5


def test_the_scan_resolves_alerts_whose_referral_moved_without_the_domain_signal(journey):
    j = journey(paris(2026, 1, 5, 10)).accept(paris(2026, 1, 6, 9))
    j.book(paris(2026, 1, 7, 9), starts_at=paris(2026, 1, 8, 14))
    alerts_scan(now=paris(2026, 1, 9, 15))  # no-show on the pending appointment
    (no_show,) = alerts(j.referral, kind=AlertKind.NO_SHOW)
    # A data fix outside the services: the outcome recorded straight in the table.
    j.referral.appointments.update(outcome="attended", outcome_recorded_at=paris(2026, 1, 9, 16))
    assert alerts_scan(now=paris(2026, 1, 9, 17)).resolved == 1
    no_show.refresh_from_db()
    assert no_show.state == AlertState.RESOLVED


def test_a_backlog_refreshes_the_planner_statistics(journey, monkeypatch):
    from django.db import connection

    from notifications.services import alerts as alerts_service

    def analyze_count() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT analyze_count FROM pg_stat_user_tables "
                "WHERE relname = 'notifications_alert'"
            )
            return cursor.fetchone()[0]

    monkeypatch.setattr(alerts_service, "ANALYZE_AFTER", 2)
    for hour in (10, 11):
        journey(paris(2026, 1, 5, hour))
    before = analyze_count()
    alerts_scan(now=paris(2026, 1, 4, 9))  # nothing due: no ANALYZE
    assert analyze_count() == before
    alerts_scan(now=paris(2026, 1, 20, 9))  # two alerts raised: ANALYZE
    assert analyze_count() == before + 1
