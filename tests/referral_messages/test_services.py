"""Messages on a referral: the service, the gate's rows (allow and deny), the read marks and the
unread counts, the journal, the notices written to the outbox, anonymisation."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from notifications.mail import build_email
from notifications.models import OutboxKind, OutboxMessage
from notifications.services.referral_message import message_notices_create
from parcours import access
from parcours.errors import Archived, Conflict, InvalidInput, NotAllowed
from parcours.gate.context import Door, door
from parcours.models import (
    MESSAGE_MAX_LENGTH,
    AccessEvent,
    Membership,
    Referral,
    ReferralMessage,
    ReferralMessageRead,
)
from parcours.rules import RULES, Action, Relation
from parcours.selectors.referral_messages import thread_of, with_unread_messages
from parcours.services.erasure import pathway_anonymise
from parcours.services.referral_message import (
    referral_message_post,
    referral_messages_mark_read,
)
from parcours.signals import referral_message_posted

from .conftest import TEXT, ThreadWorld

pytestmark = pytest.mark.django_db


def _post(actor, referral, text=TEXT) -> ReferralMessage:
    return referral_message_post(actor=actor, referral_id=referral.pk, text=text)


def _unread(actor, referral) -> int | None:
    return (
        with_unread_messages(Referral.objects.filter(pk=referral.pk), actor)
        .values_list("unread_messages", flat=True)
        .get()
    )


def _newest_journal_row() -> AccessEvent:
    return AccessEvent.objects.order_by("-id").first()


# --- the gate's table ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", [Action.REFERRAL_MESSAGE_READ, Action.REFERRAL_MESSAGE_POST])
def test_the_rows_name_the_two_parties_and_the_case_workers(action):
    rule = RULES[action]
    for role in ("counsellor", "social_worker"):
        assert rule.allows(role, {Relation.SENDER})
        assert rule.allows(role, {Relation.RECEIVER})
        # A care-team member, the holder of the pathway that is not the sender: no party.
        assert not rule.allows(role, {Relation.CARE_TEAM, Relation.OWNER, Relation.REFERENT})
    for role in ("manager", "dpo", "national_dpo", "admin"):
        assert not rule.allows(role, {Relation.SENDER, Relation.RECEIVER})
    assert rule.category == "pathway"


# --- posting: allowed ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sender", "receiver", "receiver_colleague"])
def test_a_party_posts_a_message_journaled_as_a_write(thread_world: ThreadWorld, who):
    actor = getattr(thread_world, who)
    message = _post(actor, thread_world.referral, f"  {TEXT}\n")
    message.refresh_from_db()
    assert message.text == TEXT  # stripped
    assert (message.author, message.author_organisation) == (actor.user, actor.organisation)
    row = _newest_journal_row()
    assert (row.operation, row.object_type, row.object_id) == (
        "write",
        "referral",
        thread_world.referral.pk,
    )
    assert row.detail["action"] == "referral_message.post"
    assert row.categories == ["pathway"]
    assert row.person_id == thread_world.pathway.person_id
    assert row.basis and row.purpose  # under the bases the organisation holds the record


def test_the_text_is_encrypted_in_the_database(thread_world):
    message = _post(thread_world.sender, thread_world.referral)
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM parcours_referralmessage WHERE id = %s", [message.pk])
        (stored,) = cursor.fetchone()
    assert TEXT not in stored and "transport" not in stored


@pytest.mark.parametrize(
    "state", ["accepted", "refused", "withdrawn", "expired", "appointment_set", "closed"]
)
def test_both_parties_write_while_they_see_the_referral_ended_or_not(thread_world, state):
    """A partner still asks « pourquoi ? » after a refusal, or says « elle est finalement
    venue » after the close: allowed as long as the referral's basis lasts."""
    referral = thread_world.referral_in(**{state: True})
    _post(thread_world.sender, referral)
    _post(referral.receiver, referral, "Réponse")
    assert referral.messages.count() == 2


def test_a_message_at_the_maximum_length_is_kept_whole(thread_world):
    text = "é" * MESSAGE_MAX_LENGTH
    assert _post(thread_world.sender, thread_world.referral, text).text == text


# --- posting: refused ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Écrivez votre message."),
        ("   \n ", "Écrivez votre message."),
        ("x" * (MESSAGE_MAX_LENGTH + 1), "2000 caractères au plus (2001 saisis)."),
        ("Léa\x00Martin", "Le message contient un caractère invalide."),
    ],
)
def test_a_bad_text_is_refused_in_french_before_anything(thread_world, text, says):
    before = AccessEvent.objects.count()
    with pytest.raises(InvalidInput) as refused:
        _post(thread_world.sender, thread_world.referral, text)
    assert refused.value.fields == {"text": [says]}
    assert refused.value.message == "Le message n'a pas été envoyé."
    assert not ReferralMessage.objects.exists()
    assert AccessEvent.objects.count() == before  # nothing looked up, nothing journaled


def test_an_organisation_without_the_referral_finds_nothing(thread_world):
    """The CCAS has no relation to Léa: not found, exactly as a missing referral, the probe
    journaled."""
    with door(Door.COMMAND), pytest.raises(Referral.DoesNotExist):
        _post(thread_world.stranger, thread_world.referral)
    row = _newest_journal_row()
    assert (row.operation, row.object_id, row.detail["refusal"]) == (
        "denied",
        thread_world.referral.pk,
        "not_found",
    )
    assert row.detail["action"] == "referral_message.post"
    assert not ReferralMessage.objects.exists()


def test_a_care_team_bystander_sees_the_referral_but_is_no_party_to_the_thread(thread_world):
    bystander = thread_world.bystander
    assert access.referrals_visible_to(bystander).filter(pk=thread_world.referral.pk).exists()
    with door(Door.COMMAND), pytest.raises(NotAllowed) as refused:
        _post(bystander, thread_world.referral)
    row = _newest_journal_row()
    assert (row.operation, row.detail["refusal"]) == ("denied", "not_allowed")
    assert row.detail["action"] == "referral_message.post"
    assert refused.value.message == (
        "Seuls l'organisme prescripteur et l'organisme destinataire de cette orientation "
        "échangent des messages à son sujet."
    )
    with pytest.raises(NotAllowed):
        referral_messages_mark_read(actor=bystander, referral_id=thread_world.referral.pk)
    assert not ReferralMessage.objects.exists()


@pytest.mark.parametrize("who", ["manager", "receiver_manager"])
def test_a_manager_of_a_party_neither_reads_nor_writes_the_thread(thread_world, who):
    manager = getattr(thread_world, who)
    assert access.referrals_visible_to(manager).filter(pk=thread_world.referral.pk).exists()
    with pytest.raises(NotAllowed) as refused:
        _post(manager, thread_world.referral)
    assert "conseillers et travailleurs sociaux" in refused.value.message
    with pytest.raises(NotAllowed):
        referral_messages_mark_read(actor=manager, referral_id=thread_world.referral.pk)
    _post(thread_world.sender, thread_world.referral)
    assert not access.referral_messages_visible_to(manager).exists()
    assert _unread(manager, thread_world.referral) is None


def test_a_dpo_finds_no_referral_to_write_about(thread_world):
    with pytest.raises(Referral.DoesNotExist):
        _post(thread_world.dpo, thread_world.referral)


def test_a_draft_has_no_thread_yet(thread_world):
    draft = thread_world.referral_in()
    with pytest.raises(Conflict) as refused:
        _post(thread_world.sender, draft)
    assert "n'est pas encore envoyée" in refused.value.message
    with pytest.raises(Referral.DoesNotExist):  # the receiver does not see a draft
        _post(draft.receiver, draft)
    assert not ReferralMessage.objects.exists()


def test_an_archived_record_takes_no_message(thread_world):
    thread_world.pathway.archived_at = timezone.now()
    thread_world.pathway.save(update_fields=["archived_at"])
    with pytest.raises(Archived):
        _post(thread_world.sender, thread_world.referral)
    assert not ReferralMessage.objects.exists()


# --- reading: the thread, the marks, the unread counts ------------------------------------------


def test_the_thread_is_the_parties_only(thread_world):
    message = _post(thread_world.sender, thread_world.referral)
    for who in ("sender", "receiver", "receiver_colleague"):
        actor = getattr(thread_world, who)
        assert list(access.referral_messages_visible_to(actor)) == [message], who
        assert thread_of(actor, thread_world.referral).messages == [message], who
    for who in ("bystander", "stranger", "manager", "receiver_manager", "dpo"):
        actor = getattr(thread_world, who)
        assert not access.referral_messages_visible_to(actor).exists(), who


def test_unread_counts_are_per_organisation_and_never_ones_own(thread_world):
    referral = thread_world.referral
    first = _post(thread_world.sender, referral, "Premier message")
    _post(thread_world.sender, referral, "Second message")
    assert _unread(thread_world.receiver, referral) == 2
    assert _unread(thread_world.receiver_colleague, referral) == 2
    assert _unread(thread_world.sender, referral) == 0  # its own organisation's messages
    assert _unread(thread_world.bystander, referral) is None  # no party: nothing to count

    # One SIAE counsellor reads the first message: the whole team has read it.
    previous = referral_messages_mark_read(
        actor=thread_world.receiver, referral_id=referral.pk, up_to_id=first.pk
    )
    assert previous == 0
    assert _unread(thread_world.receiver_colleague, referral) == 1
    # Her colleague reads everything; the mark says who and when.
    assert (
        referral_messages_mark_read(actor=thread_world.receiver_colleague, referral_id=referral.pk)
        == first.pk
    )
    assert _unread(thread_world.receiver, referral) == 0
    mark = ReferralMessageRead.objects.get(referral=referral, organisation=thread_world.siae)
    assert mark.read_by == thread_world.receiver_colleague.user

    # The SIAE answers: its own answer is read by it, new to France Travail.
    _post(thread_world.receiver, referral, "Oui, elle a un vélo.")
    assert _unread(thread_world.receiver, referral) == 0
    assert _unread(thread_world.sender, referral) == 1


def test_a_mark_only_moves_forward(thread_world):
    referral = thread_world.referral
    first = _post(thread_world.sender, referral, "Un")
    second = _post(thread_world.sender, referral, "Deux")
    referral_messages_mark_read(actor=thread_world.receiver, referral_id=referral.pk)
    # An older page of the thread read afterwards does not make the newest unread again.
    assert (
        referral_messages_mark_read(
            actor=thread_world.receiver, referral_id=referral.pk, up_to_id=first.pk
        )
        == second.pk
    )
    assert _unread(thread_world.receiver, referral) == 0
    # A mark beyond the thread (a made-up id) stops at its newest message.
    referral_messages_mark_read(
        actor=thread_world.receiver, referral_id=referral.pk, up_to_id=second.pk + 1000
    )
    assert (
        ReferralMessageRead.objects.get(
            referral=referral, organisation=thread_world.siae
        ).last_read_message_id
        == second.pk
    )


def test_marking_an_empty_thread_writes_nothing(thread_world):
    assert (
        referral_messages_mark_read(
            actor=thread_world.receiver, referral_id=thread_world.referral.pk
        )
        == 0
    )
    assert not ReferralMessageRead.objects.exists()


def test_one_read_mark_per_organisation_and_referral(thread_world):
    _post(thread_world.sender, thread_world.referral)
    mark = ReferralMessageRead.objects.get(organisation=thread_world.france_travail)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralMessageRead.objects.create(
            referral=mark.referral,
            organisation=mark.organisation,
            last_read_message_id=0,
            read_at=timezone.now(),
        )


def test_a_list_counts_unread_messages_in_its_own_query(thread_world, django_assert_num_queries):
    """France Travail's list of the referrals it sent, each with its receiver's answers: the
    counts come with the rows, whatever their number."""
    sender = thread_world.sender
    referrals = [thread_world.referral_in(sent=True) for _ in range(3)]
    for n, referral in enumerate(referrals):
        for _ in range(n + 1):
            _post(referral.receiver, referral, "Une réponse")
    listed = access.referrals_visible_to(sender).filter(pk__in=[r.pk for r in referrals])
    with django_assert_num_queries(1):  # the rows with their counts (the scope is built above)
        counts = {r.pk: r.unread_messages for r in with_unread_messages(listed, sender)}
    assert counts == {r.pk: n + 1 for n, r in enumerate(referrals)}
    # A bystander's list (the Mission locale sees them through the care team): no counts.
    bystander = thread_world.bystander
    seen = with_unread_messages(
        access.referrals_visible_to(bystander).filter(pk__in=[r.pk for r in referrals]), bystander
    )
    assert [r.unread_messages for r in seen] == [None] * 3


# --- the other party is told -----------------------------------------------------------------


def test_a_post_tells_the_other_party_in_its_own_transaction(thread_world):
    told = []
    referral_message_posted.connect(
        lambda sender, **kwargs: told.append(
            (kwargs["message"].pk, transaction.get_connection().in_atomic_block)
        ),
        dispatch_uid="test-told",
        weak=False,
    )
    try:
        message = _post(thread_world.sender, thread_world.referral)
    finally:
        referral_message_posted.disconnect(dispatch_uid="test-told")
    assert told == [(message.pk, True)]


def test_the_senders_message_goes_to_the_receiving_organisations_address(thread_world):
    message = _post(thread_world.sender, thread_world.referral)
    rows = OutboxMessage.objects.filter(referral_message=message)
    assert [(r.kind, r.to_email, r.user_id) for r in rows] == [
        (OutboxKind.REFERRAL_MESSAGE, thread_world.siae.contact_email, None)
    ]
    assert message_notices_create(message=message, referral=thread_world.referral) == 0  # once


def test_the_receivers_answer_goes_to_the_sending_counsellor(thread_world):
    _post(thread_world.sender, thread_world.referral)
    answer = _post(thread_world.receiver, thread_world.referral, "Oui, elle a un vélo.")
    assert list(
        OutboxMessage.objects.filter(referral_message=answer).values_list("to_email", "user_id")
    ) == [(thread_world.sender.user.email, thread_world.sender.user.pk)]
    # Now that the SIAE's counsellor wrote, France Travail's next message reaches her too.
    again = _post(thread_world.sender, thread_world.referral, "Merci !")
    assert sorted(
        OutboxMessage.objects.filter(referral_message=again).values_list("to_email", flat=True)
    ) == sorted([thread_world.siae.contact_email, thread_world.receiver.user.email])


def test_the_counsellor_the_referral_is_assigned_to_hears_of_the_senders_messages(thread_world):
    """Assigned (« Confier à »), the receiving counsellor follows the referral as if they had
    written in it; a colleague of theirs, assigned nothing, is not told."""
    Referral.objects.filter(pk=thread_world.referral.pk).update(
        assigned_user=thread_world.receiver_colleague.user
    )
    thread_world.referral.refresh_from_db()
    message = _post(thread_world.sender, thread_world.referral)
    assert sorted(
        OutboxMessage.objects.filter(referral_message=message).values_list("to_email", flat=True)
    ) == sorted([thread_world.siae.contact_email, thread_world.receiver_colleague.user.email])


def test_a_sender_who_left_is_replaced_by_the_referent_or_the_address(thread_world):
    Membership.objects.filter(user=thread_world.sender.user).update(is_active=False)
    colleague = thread_world.receiver
    thread_world.pathway.referent = None
    thread_world.pathway.save(update_fields=["referent"])
    answer = _post(colleague, thread_world.referral, "La personne est venue.")
    assert list(
        OutboxMessage.objects.filter(referral_message=answer).values_list("to_email", flat=True)
    ) == [thread_world.france_travail.contact_email]


def test_one_notice_per_address_and_message_in_the_database(thread_world):
    message = _post(thread_world.sender, thread_world.referral)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.create(
            kind=OutboxKind.REFERRAL_MESSAGE,
            to_email=thread_world.siae.contact_email,
            referral_message=message,
            next_attempt_at=timezone.now(),
            created_at=timezone.now(),
        )


def test_the_email_carries_neither_the_text_nor_a_name(thread_world):
    message = _post(thread_world.sender, thread_world.referral)
    email = build_email(OutboxMessage.objects.get(referral_message=message))
    assert email is not None
    reference = thread_world.referral.reference
    assert email.subject == f"[parcours] {reference} : nouveau message de France Travail Lens"
    html = email.alternatives[0][0]
    for body in (email.body, html):
        assert reference in body
        assert f"/orientations/{thread_world.referral.pk}/#messages" in body
        assert "France Travail Lens" in body and "Chantier Les Jardins" in body
        for secret in ("transport", "Léa", "Martin", thread_world.sender.user.last_name):
            assert secret not in body, secret
    assert email.to == [thread_world.siae.contact_email]


# --- anonymisation ------------------------------------------------------------------------------


def test_anonymisation_wipes_the_messages(thread_world):
    message = _post(thread_world.sender, thread_world.referral)
    pathway_anonymise(pathway=thread_world.pathway, now=timezone.now())
    message.refresh_from_db()
    assert message.text == ""
    assert message.created_at is not None  # the row (who wrote, when) stays for statistics
