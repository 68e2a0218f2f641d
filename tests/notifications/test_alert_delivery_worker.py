"""No-show alerts end to end: a real Celery worker on real Redis runs the scan and the relay,
and a real SMTP server (started by the test session) receives the e-mails.

The clock is injected: each task is given the moment it must see (`now`), so a referral
"crosses its delay" without anybody waiting for it.
"""

import datetime as dt

import pytest

from notifications.models import (
    Alert,
    AlertKind,
    AlertState,
    DeliveryMode,
    NotificationPreference,
    OutboxMessage,
)
from notifications.tasks import alerts_scan, digests_send, outbox_relay
from tests.processes import wait_until

from .conftest import answers_delivered, real_past

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MINUTE = dt.timedelta(minutes=1)
SENSITIVE = ("Martin", "0612345678", "psychiatrique", "justice", "soins", "RQTH")


def run(task, at: dt.datetime, **kwargs):
    return task.delay(now=at.isoformat(), **kwargs).get(timeout=60)


def settle(sink, expected: int, at: dt.datetime) -> list:
    """Wait for `expected` mails, then run the relay once more and check none follows."""
    wait_until(lambda: len(sink.messages()) >= expected, what=f"{expected} mail(s)")
    run(outbox_relay, at)
    assert not OutboxMessage.objects.filter(status__in=("pending", "sending")).exists()
    messages = sink.messages()
    assert len(messages) == expected, [m.subject for m in messages]
    assert len({m.message_id for m in messages}) == expected
    return messages


def recipients(messages) -> list[str]:
    return sorted(r for m in messages for r in m.rcpt_tos)


def crossing(kind: str, journey, sink):
    """A referral about to cross the delay of `kind`: (journey, deadline, extra recipients,
    the sentence the sender reads). The sender's e-mails about the receiver's moves (issue 14)
    are delivered first and put aside."""
    j = journey(real_past(40))
    if kind == AlertKind.UNANSWERED:
        return j, j.referral.acknowledge_due_at, [], "n'a pas reçu de réponse"
    j.accept(j.sent_at + dt.timedelta(days=1))
    if kind == AlertKind.NO_APPOINTMENT:
        answers_delivered(sink)
        return j, j.referral.appointment_due_at, [], "n'a pas de rendez-vous fixé"
    if kind == AlertKind.NO_SHOW:
        starts = j.sent_at + dt.timedelta(days=3)
        j.book(j.sent_at + dt.timedelta(days=2), starts_at=starts)
        answers_delivered(sink)
        return j, starts + dt.timedelta(hours=24), [j.receiver_email], "ne s'est pas présenté(e)"
    j.book(j.sent_at + dt.timedelta(days=2), starts_at=j.sent_at + dt.timedelta(days=30))
    answers_delivered(sink)
    return j, j.referral.first_appointment_due_at, [], "n'a été reçu(e) à aucun rendez-vous"


@pytest.mark.parametrize("kind", AlertKind.values)
def test_each_kind_yields_exactly_one_mail_per_recipient(
    kind, journey, celery_worker_process, mail_sink
):
    j, deadline, extra, sentence = crossing(kind, journey, mail_sink)

    report = run(alerts_scan, deadline - MINUTE)
    assert report["raised"][kind] == 0
    run(outbox_relay, deadline - MINUTE)
    assert mail_sink.messages() == []

    report = run(alerts_scan, deadline + MINUTE)
    assert report["raised"][kind] == 1
    messages = settle(mail_sink, 2 + len(extra), deadline + MINUTE)
    assert recipients(messages) == sorted([j.sender_email, j.receiver_contact, *extra])

    to_sender = mail_sink.to(j.sender_email)[0]
    assert to_sender.subject.startswith(f"[parcours] {j.referral.reference} : ")
    assert to_sender.message["From"] == "parcours <ne-pas-repondre@parcours.local>"
    assert to_sender.message["Auto-Submitted"] == "auto-generated"
    for body in (to_sender.text, to_sender.html):
        assert "Bonjour" in body and "Léa M." in body
        assert sentence in body.replace("&#x27;", "'")
        assert j.receiver.organisation.name in body
        assert not [secret for secret in SENSITIVE if secret in body]

    # The scan again (a retry, the next beat): not one more mail.
    run(alerts_scan, deadline + 10 * MINUTE)
    settle(mail_sink, 2 + len(extra), deadline + 10 * MINUTE)
    alert = Alert.objects.get(referral=j.referral, kind=kind)
    assert alert.state == AlertState.NOTIFIED


def test_escalation_then_resolution_stops_everything(
    journey, celery_worker_process, mail_sink, settings
):
    j = journey(real_past(40), with_managers=True)
    raised = j.referral.acknowledge_due_at + MINUTE
    run(alerts_scan, raised)
    settle(mail_sink, 2, raised)
    mail_sink.reset()

    later = raised + dt.timedelta(hours=settings.PARCOURS_ALERT_ESCALATION_HOURS)
    assert run(alerts_scan, later - MINUTE)["escalated"] == 0
    assert run(alerts_scan, later + MINUTE)["escalated"] == 1
    messages = settle(mail_sink, 2, later + MINUTE)  # one manager on each side
    assert all(m.subject.startswith("[parcours] Escalade — ") for m in messages)
    assert all("responsable de structure" in m.text for m in messages)
    mail_sink.reset()

    j.accept(later + dt.timedelta(hours=1))
    assert set(Alert.objects.filter(referral=j.referral).values_list("state", flat=True)) == {
        AlertState.RESOLVED
    }
    # Weeks later, nothing more about that alert: only the accepted referral's own clock runs.
    report = run(alerts_scan, later + dt.timedelta(hours=2))
    assert report["escalated"] == 0 and report["raised"][AlertKind.UNANSWERED] == 0
    run(outbox_relay, later + dt.timedelta(hours=2))
    # The one e-mail left is the acceptance, to the sender (issue 14).
    (accepted,) = settle(mail_sink, 1, later + dt.timedelta(hours=2))
    assert accepted.rcpt_tos == [j.sender_email]
    assert accepted.subject.startswith(f"[parcours] {j.referral.reference} : orientation acceptée")


def test_digest_mode_groups_the_days_alerts_in_one_mail(journey, celery_worker_process, mail_sink):
    first = journey(real_past(40))
    second = journey(real_past(40) + dt.timedelta(hours=1))
    for j in (first, second):
        NotificationPreference.objects.create(user=j.sender.user, mode=DeliveryMode.DIGEST)
    raised = second.referral.acknowledge_due_at + MINUTE
    run(alerts_scan, raised)
    settle(mail_sink, 2, raised)  # the two receivers' contact addresses only
    assert recipients(mail_sink.messages()) == sorted(
        [first.receiver_contact, second.receiver_contact]
    )
    mail_sink.reset()

    next_morning = raised + dt.timedelta(hours=10)
    assert run(digests_send, next_morning) == 2
    assert run(digests_send, next_morning) == 0
    messages = settle(mail_sink, 2, next_morning)
    assert recipients(messages) == sorted([first.sender_email, second.sender_email])
    assert all(m.subject.startswith("[parcours] Récapitulatif : 1 alerte(s)") for m in messages)
