"""Answers pushed back to the sender (issue 14): each receiver move on a referral reaches the
sending counsellor — an « À traiter » item and an e-mail at once or in the daily digest, as they
chose — written in the move's own transaction, exactly once, naming no one in the e-mail.

(Through a real worker, broker and SMTP server, under faults: test_answers_worker.py.)
"""

import datetime as dt
from html import unescape

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction

from notifications.models import (
    ANSWER_OF_MOVE,
    AnswerKind,
    AnswerNotice,
    DeliveryMode,
    NotificationPreference,
    OutboxKind,
    OutboxMessage,
)
from notifications.services.alerts import alerts_scan
from notifications.services.answers import answer_mark_seen, answer_notices_create
from notifications.services.digest import digests_compose
from notifications.services.relay import outbox_relay
from parcours.actor import Actor
from parcours.models import EventKind, Membership, PathwayEvent, ReferralStatus, Role
from parcours.services import referral as referral_services
from parcours.transitions import MOVES, Action, Party
from tests.factories import MembershipFactory, OrganisationFactory

from .conftest import paris

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)
SENT = paris(2026, 1, 5, 10)
SENSITIVE = ("Léa", "Martin", "0612345678", "psychiatrique", "justice", "soins", "RQTH")


def notices_of(j, **filters):
    return AnswerNotice.objects.filter(referral=j.referral, **filters).order_by("id")


def latest_event(j) -> PathwayEvent:
    return PathwayEvent.objects.filter(referral=j.referral, kind=EventKind.REFERRAL_MOVED).latest(
        "id"
    )


def close(j, at, outcome="training", comment="Entrée en formation de cariste, suivi justice"):
    with time_machine.travel(at, tick=False):
        referral_services.referral_close(
            actor=j.receiver, referral_id=j.referral.pk, outcome=outcome, comment=comment
        )
    return j.refresh()


def test_the_table_names_every_receiver_move_but_the_correction():
    """Every move the receiver makes is an answer the sender hears of — except the correction
    of an attendance or absence, which has its own e-mail to both partners."""
    receiver_moves = {m.action for m in MOVES if m.party == Party.RECEIVER}
    told = {action for action, _source in ANSWER_OF_MOVE}
    assert told == receiver_moves - {Action.CORRECT_ATTENDANCE}
    assert set(ANSWER_OF_MOVE.values()) == set(AnswerKind)


def test_each_receiver_move_tells_the_sender_once(journey):
    j = journey(SENT)
    steps = [
        (lambda: j.accept(SENT + H), AnswerKind.ACCEPTED),
        (lambda: j.book(SENT + 2 * H, starts_at=SENT + 48 * H), AnswerKind.APPOINTMENT_SET),
        (lambda: j.book(SENT + 3 * H, starts_at=SENT + 50 * H), AnswerKind.APPOINTMENT_MOVED),
        (lambda: j.record_no_show(SENT + 51 * H), AnswerKind.NO_SHOW),
        (lambda: j.book(SENT + 52 * H, starts_at=SENT + 96 * H), AnswerKind.REINVITED),
        (lambda: j.record_attendance(SENT + 97 * H), AnswerKind.ATTENDED),
        (lambda: close(j, SENT + 98 * H), AnswerKind.CLOSED),
    ]
    for number, (move, answer) in enumerate(steps, 1):
        move()
        notice = notices_of(j).last()
        assert notices_of(j).count() == number, answer
        assert (notice.answer, notice.recipient, notice.email, notice.mode) == (
            answer,
            j.sender.user,
            j.sender_email,
            DeliveryMode.IMMEDIATE,
        )
        assert notice.event == latest_event(j)
        assert notice.seen_at is None
        # Its e-mail: one outbox row about this move, to the sender, linked to the notice.
        assert notice.outbox.kind == OutboxKind.ANSWER
        assert (notice.outbox.event, notice.outbox.to_email) == (notice.event, j.sender_email)
        if answer in (AnswerKind.APPOINTMENT_SET, AnswerKind.APPOINTMENT_MOVED):
            assert notice.appointment.starts_at == j.referral.appointments.latest("id").starts_at
    assert OutboxMessage.objects.filter(kind=OutboxKind.ANSWER).count() == len(steps)
    # The receiving side is not told of its own moves.
    assert not AnswerNotice.objects.exclude(recipient=j.sender.user).exists()


def test_a_refusal_tells_its_reason_and_never_the_comment(journey, settings):
    settings.PARCOURS_PUBLIC_URL = "https://parcours.example.fr"
    j = journey(SENT)
    with time_machine.travel(SENT + H, tick=False):
        referral_services.referral_refuse(
            actor=j.receiver,
            referral_id=j.referral.pk,
            refusal_reason="other",
            comment="Mme Martin a un suivi psychiatrique incompatible",
        )
    (notice,) = notices_of(j)
    assert notice.answer == AnswerKind.REFUSED
    assert outbox_relay().sent == 1
    (email,) = mail.outbox
    assert email.to == [j.sender_email]
    assert email.subject == (
        f"[parcours] {j.referral.reference} : orientation refusée — {j.receiver.organisation.name}"
    )
    for body in (email.body, unescape(email.alternatives[0][0])):
        assert (
            f"{j.receiver.organisation.name} a refusé l'orientation {j.referral.reference} le "
            "05/01/2026 à 11:00. Motif : Autre motif." in body
        )
        assert "Vous pouvez orienter la personne vers un autre partenaire." in body
        assert f"https://parcours.example.fr/orientations/{j.referral.pk}/" in body
        assert "https://parcours.example.fr/preferences/" in body
        assert not [secret for secret in SENSITIVE if secret in body]
        assert "other" not in body and "refused" not in body  # never a raw code
    assert email.extra_headers["Message-ID"] == notice.outbox.message_id


@pytest.mark.parametrize(
    ("reach", "sentence"),
    [
        (lambda j: j.accept(SENT + H), "a accepté l'orientation"),
        (
            lambda j: j.accept(SENT + H).book(SENT + 2 * H, starts_at=paris(2026, 1, 8, 14)),
            "a fixé un rendez-vous le 08/01/2026 à 14:00 pour l'orientation",
        ),
        (
            lambda j: (
                j.accept(SENT + H)
                .book(SENT + 2 * H, starts_at=paris(2026, 1, 8, 14))
                .book(SENT + 3 * H, starts_at=paris(2026, 1, 9, 9, 30))
            ),
            "a déplacé le rendez-vous de l'orientation OR-",
        ),
        (
            lambda j: (
                j.accept(SENT + H)
                .book(SENT + 2 * H, starts_at=paris(2026, 1, 8, 14))
                .record_no_show(paris(2026, 1, 8, 15))
                .book(paris(2026, 1, 8, 16), starts_at=paris(2026, 1, 12, 10))
            ),
            "a réinvité la personne à un rendez-vous le 12/01/2026 à 10:00",
        ),
        (
            lambda j: (
                j.accept(SENT + H)
                .book(SENT + 2 * H, starts_at=paris(2026, 1, 8, 14))
                .record_no_show(paris(2026, 1, 8, 15))
            ),
            "indique que la personne ne s'est pas présentée au rendez-vous",
        ),
        (
            lambda j: close(
                j.accept(SENT + H)
                .book(SENT + 2 * H, starts_at=paris(2026, 1, 8, 14))
                .record_attendance(paris(2026, 1, 8, 15)),
                paris(2026, 1, 9, 10),
            ),
            "Suite donnée : Entrée en formation.",
        ),
    ],
)
def test_each_answer_reads_in_french_without_the_person(reach, sentence, journey):
    j = reach(journey(SENT))
    outbox_relay()
    last = mail.outbox[-1]
    assert last.to == [j.sender_email]
    for body in (last.body, unescape(last.alternatives[0][0])):
        assert sentence in body
        assert not [secret for secret in SENSITIVE if secret in body]
        assert "cariste" not in body  # the closing's comment is never said


def test_the_senders_own_moves_the_expiry_and_a_correction_tell_no_answer(journey, settings):
    withdrawn = journey(SENT)
    with time_machine.travel(SENT + H, tick=False):
        referral_services.referral_withdraw(
            actor=withdrawn.sender, referral_id=withdrawn.referral.pk
        )
    expired = journey(SENT)
    with time_machine.travel(SENT + 60 * 24 * H, tick=False):
        referral_services.referral_expire(referral_id=expired.referral.pk)
    corrected = (
        journey(SENT)
        .accept(SENT + H)
        .book(SENT + 2 * H, starts_at=paris(2026, 1, 8, 14))
        .record_no_show(paris(2026, 1, 8, 15))
    )
    told = AnswerNotice.objects.count()
    with time_machine.travel(paris(2026, 1, 8, 16), tick=False):
        referral_services.referral_correct_attendance(
            actor=corrected.receiver, referral_id=corrected.referral.pk, reason="Saisie inversée"
        )
    assert not notices_of(withdrawn).exists()
    assert not notices_of(expired).exists()
    assert AnswerNotice.objects.count() == told  # the correction: its own e-mail only
    assert OutboxMessage.objects.filter(kind=OutboxKind.CORRECTION).count() == 2


def test_a_rolled_back_move_tells_nothing(journey):
    j = journey(SENT)
    with pytest.raises(RuntimeError), transaction.atomic():
        j.accept(SENT + H)
        assert notices_of(j).count() == 1  # written in the move's transaction…
        raise RuntimeError("the request fails after the move")
    assert j.refresh().referral.status == ReferralStatus.SENT
    assert not AnswerNotice.objects.exists()  # …and gone with it
    assert not OutboxMessage.objects.filter(kind=OutboxKind.ANSWER).exists()


def test_a_notice_is_written_once_whatever_runs_twice(journey):
    j = journey(SENT).accept(SENT + H)
    (notice,) = notices_of(j)
    again = answer_notices_create(
        referral=j.referral,
        event=notice.event,
        action=Action.ACCEPT,
        source=ReferralStatus.SENT,
        now=SENT + 2 * H,
    )
    assert again == 0
    assert notices_of(j).count() == 1
    assert OutboxMessage.objects.filter(kind=OutboxKind.ANSWER).count() == 1
    # The database itself refuses a second item for the user, or a second e-mail to the address.
    with pytest.raises(IntegrityError), transaction.atomic():
        AnswerNotice.objects.create(
            referral=j.referral,
            event=notice.event,
            answer=notice.answer,
            recipient=notice.recipient,
            created_at=SENT,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        AnswerNotice.objects.create(
            referral=j.referral,
            event=notice.event,
            answer=notice.answer,
            email=notice.email,
            created_at=SENT,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.create(
            kind=OutboxKind.ANSWER,
            to_email=j.sender_email,
            event=notice.event,
            next_attempt_at=SENT,
            created_at=SENT,
        )


# --- who is told ------------------------------------------------------------------------------


def _colleague(j, role=Role.COUNSELLOR, **kwargs):
    return MembershipFactory(organisation=j.sender.organisation, role=role, **kwargs).user


def test_a_sender_who_left_is_replaced_by_the_referent_of_the_sending_organisation(journey):
    j = journey(SENT)
    referent = _colleague(j)
    j.referral.pathway.referent = referent
    j.referral.pathway.save()
    Membership.objects.filter(user=j.sender.user).update(is_active=False)
    j.accept(SENT + H)
    (notice,) = notices_of(j)
    assert (notice.recipient, notice.email) == (referent, referent.email)


def test_without_sender_nor_referent_every_case_worker_of_the_sending_organisation(journey):
    j = journey(SENT)
    first = _colleague(j)
    social_worker = _colleague(j, role=Role.SOCIAL_WORKER)
    _colleague(j, role=Role.MANAGER)  # reads no name: never a recipient
    _colleague(j, is_active=False)  # left the organisation
    gone = _colleague(j)
    gone.is_active = False
    gone.save()
    j.sender.user.is_active = False  # the sender's account is closed
    j.sender.user.save()
    j.accept(SENT + H)
    assert {n.recipient for n in notices_of(j)} == {first, social_worker}
    assert OutboxMessage.objects.filter(kind=OutboxKind.ANSWER).count() == 2


def test_a_sender_who_became_a_manager_is_not_told(journey):
    j = journey(SENT)
    colleague = _colleague(j)
    Membership.objects.filter(user=j.sender.user).update(role=Role.MANAGER)
    j.accept(SENT + H)
    assert [n.recipient for n in notices_of(j)] == [colleague]


def test_nobody_left_on_the_sending_side_the_contact_address_gets_the_email(journey):
    j = journey(SENT)
    Membership.objects.filter(user=j.sender.user).update(is_active=False)
    j.accept(SENT + H)
    (notice,) = notices_of(j)
    contact = j.sender.organisation.contact_email
    assert (notice.recipient, notice.email, notice.mode) == (None, contact, "immediate")
    assert notice.outbox.to_email == contact


def test_a_user_without_address_gets_the_home_item_only(journey):
    j = journey(SENT)
    j.sender.user.email = ""
    j.sender.user.save()
    j.accept(SENT + H)
    (notice,) = notices_of(j)
    assert (notice.recipient, notice.email, notice.outbox) == (j.sender.user, "", None)
    assert not OutboxMessage.objects.filter(kind=OutboxKind.ANSWER).exists()


def test_the_member_who_made_the_move_is_not_told_of_it(journey):
    """A user of both organisations answering a referral they sent knows the answer."""
    j = journey(SENT)
    MembershipFactory(user=j.sender.user, organisation=j.receiver.organisation)
    as_receiver = Actor(j.sender.user, j.receiver.organisation, Role.COUNSELLOR)
    with time_machine.travel(SENT + H, tick=False):
        referral_services.referral_accept(actor=as_receiver, referral_id=j.referral.pk)
    assert not AnswerNotice.objects.exists()


# --- the digest -------------------------------------------------------------------------------


def test_answers_in_the_daily_digest_once_and_only_those_not_seen(journey):
    j = journey(SENT)
    NotificationPreference.objects.create(
        user=j.sender.user, mode=DeliveryMode.IMMEDIATE, answers_mode=DeliveryMode.DIGEST
    )
    j.accept(SENT + H).book(SENT + 2 * H, starts_at=paris(2026, 1, 8, 14))
    other = journey(SENT)
    NotificationPreference.objects.create(user=other.sender.user, answers_mode="digest")
    other.accept(SENT + H)
    answer_mark_seen(actor=other.sender, notice_id=notices_of(other).get().pk)
    assert set(AnswerNotice.objects.values_list("mode", flat=True)) == {DeliveryMode.DIGEST}
    assert not OutboxMessage.objects.exists()  # nothing at once

    assert digests_compose(now=SENT + 20 * H) == 1  # the one who has unseen answers
    assert digests_compose(now=SENT + 20 * H) == 0  # a second run finds nothing
    (digest,) = OutboxMessage.objects.filter(kind=OutboxKind.DIGEST)
    assert digest.to_email == j.sender_email
    assert set(notices_of(j).values_list("outbox", flat=True)) == {digest.pk}
    assert notices_of(other).get().outbox is None  # seen on the home: no e-mail
    assert outbox_relay().sent == 1
    (email,) = mail.outbox
    assert email.subject == "[parcours] Récapitulatif : 2 réponse(s) à vos orientations"
    for body in (email.body, unescape(email.alternatives[0][0])):
        assert "Voici les réponses reçues à vos orientations (2)." in body
        assert "a accepté l'orientation" in body
        assert "a fixé un rendez-vous le 08/01/2026 à 14:00" in body
        assert "Voici les alertes" not in body
        assert not [secret for secret in SENSITIVE if secret in body]
    # The next day's answers make the next digest, never the same ones again.
    j.record_attendance(paris(2026, 1, 8, 15))
    assert digests_compose(now=paris(2026, 1, 9, 7)) == 1
    newest = OutboxMessage.objects.filter(kind=OutboxKind.DIGEST).latest("id")
    assert [n.answer for n in newest.answer_notices.all()] == [AnswerKind.ATTENDED]


def test_alerts_and_answers_share_the_digest_each_by_its_own_choice(journey):
    j = journey(SENT)
    NotificationPreference.objects.create(user=j.sender.user, mode="digest", answers_mode="digest")
    raised = j.referral.acknowledge_due_at + dt.timedelta(minutes=1)
    alerts_scan(now=raised)  # the unanswered alert: its sender's line waits for the digest
    j.accept(raised + H)  # resolves that alert, and is an answer
    late = journey(SENT)
    NotificationPreference.objects.create(user=late.sender.user, mode="digest")
    alerts_scan(now=late.referral.acknowledge_due_at + dt.timedelta(minutes=1))
    late.accept(late.referral.acknowledge_due_at + 2 * H)  # answers_mode immediate

    assert digests_compose(now=raised + 10 * H) == 1  # the resolved alert's line is dropped
    outbox_relay()
    subjects = sorted((m.to[0], m.subject) for m in mail.outbox if m.to[0].startswith("user"))
    assert subjects == sorted(
        [
            (j.sender_email, "[parcours] Récapitulatif : 1 réponse(s) à vos orientations"),
            (
                late.sender_email,
                f"[parcours] {late.referral.reference} : orientation acceptée — "
                f"{late.receiver.organisation.name}",
            ),
        ]
    )


# --- « marquer comme vu » ---------------------------------------------------------------------


def test_only_the_recipient_acting_for_the_sending_organisation_marks_it_seen(journey):
    j = journey(SENT).accept(SENT + H)
    (notice,) = notices_of(j)
    colleague = Actor(_colleague(j), j.sender.organisation, Role.COUNSELLOR)
    with pytest.raises(AnswerNotice.DoesNotExist):
        answer_mark_seen(actor=colleague, notice_id=notice.pk)
    elsewhere = OrganisationFactory()
    MembershipFactory(user=j.sender.user, organisation=elsewhere)
    with pytest.raises(AnswerNotice.DoesNotExist):
        answer_mark_seen(
            actor=Actor(j.sender.user, elsewhere, Role.COUNSELLOR), notice_id=notice.pk
        )
    with pytest.raises(AnswerNotice.DoesNotExist):
        answer_mark_seen(actor=j.receiver, notice_id=notice.pk)
    notice.refresh_from_db()
    assert notice.seen_at is None

    first = answer_mark_seen(actor=j.sender, notice_id=notice.pk, now=SENT + 2 * H)
    assert first.seen_at == SENT + 2 * H
    again = answer_mark_seen(actor=j.sender, notice_id=notice.pk, now=SENT + 3 * H)
    assert again.seen_at == SENT + 2 * H  # the first time is kept
