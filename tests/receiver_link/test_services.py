"""The link of a receiver without an account (issue 19): made in the send's transaction when the
receiver has nobody to sign in, hashed, single-referral, time-limited, revocable; the receiver's
answers through it are the referral services' moves, journaled with the link as the actor."""

import datetime as dt
import hashlib

import pytest
import time_machine
from django.conf import settings
from django.core import signing
from django.utils import timezone

from notifications.models import OutboxKind, OutboxMessage
from parcours import access
from parcours.errors import Conflict, ForbiddenTransition, NotAllowed
from parcours.models import (
    AccessEvent,
    Appointment,
    PathwayEvent,
    ReceiverLink,
    ReceiverLinkState,
    Referral,
    ReferralStatus,
    Role,
)
from parcours.rules import LINK, LINK_MOVES, RULES, move_action
from parcours.selectors.access_reports import staff_label
from parcours.services import receiver_link as link_services
from parcours.services import referral as referral_services
from parcours.services.receiver_link import (
    CLOSED,
    EXPIRED,
    INVALID,
    OTHER_REFERRAL,
    REVOKED,
    LinkRefused,
    receiver_link_issue,
    receiver_link_open,
    receiver_link_revoke,
    token_for,
)
from parcours.transitions import Action
from tests.factories import MembershipFactory, PersonFactory, UserFactory

from .conftest import sender_actor, token_of


def _opened(referral: Referral):
    link = ReceiverLink.objects.get(referral=referral, revoked_at__isnull=True)
    return receiver_link_open(token_of(link), referral.pk)


def _in_two_days() -> dt.datetime:
    return timezone.now() + dt.timedelta(days=2)


# --- made when the receiver has nobody to sign in ----------------------------------------------


def test_a_send_to_an_organisation_without_an_account_makes_one_hashed_link(world):
    referral = world.send()
    link = ReceiverLink.objects.get(referral=referral)
    assert link.organisation == world.ccas
    assert link.created_by == world.sender.user
    token = token_of(link)
    secret = signing.loads(token, salt=link_services.SALT)["s"]
    # Only the secret's SHA-256 is a column of its own; the token is no plain column.
    assert link.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ReceiverLink.objects.filter(pk=link.pk).values_list("token_hash"))
    assert link.expires_at == link.created_at + dt.timedelta(
        days=settings.PARCOURS_RECEIVER_LINK_DAYS
    )
    # The e-mail to the receiver's contact address, written in the send's transaction.
    outbox = OutboxMessage.objects.get(receiver_link=link)
    assert (outbox.kind, outbox.to_email) == (OutboxKind.RECEIVER_LINK, "accueil@ccas-bapaume.fr")


@pytest.mark.parametrize("member", ["active", "inactive_membership", "inactive_user"])
def test_a_receiver_with_an_active_user_gets_no_link(world, member):
    membership = MembershipFactory(organisation=world.ccas)
    if member == "inactive_membership":
        membership.is_active = False
        membership.save()
    if member == "inactive_user":
        membership.user.is_active = False
        membership.user.save()
    referral = world.send()
    made = ReceiverLink.objects.filter(referral=referral).exists()
    assert made is (member != "active")
    assert OutboxMessage.objects.filter(kind=OutboxKind.RECEIVER_LINK).exists() is made


def test_a_draft_gets_no_link_until_it_is_sent(world):
    referral = referral_services.referral_create(
        actor=world.sender,
        pathway_id=world.pathway.pk,
        receiver_organisation_id=world.ccas.pk,
        kind="upstream",
        reason="Logement",
        send=False,
    )
    assert not ReceiverLink.objects.filter(referral=referral).exists()
    referral_services.referral_send(actor=world.sender, referral_id=referral.pk)
    assert ReceiverLink.objects.filter(referral=referral).count() == 1


# --- opening: forged, other referral, expired, revoked, closed ---------------------------------


def test_a_forged_or_altered_token_opens_nothing_and_names_no_link(world):
    referral = world.send()
    link = ReceiverLink.objects.get(referral=referral)
    token = token_of(link)
    forged = signing.dumps({"l": link.pk, "s": "guessed"}, salt="another-salt")
    right_signature_wrong_secret = token_for(link.pk, "guessed")
    for bad in (token[:-2] + "xx", forged, "n'importe-quoi", right_signature_wrong_secret):
        with pytest.raises(LinkRefused) as refused:
            receiver_link_open(bad, referral.pk)
        assert refused.value.reason == INVALID
    # A token for a link that does not exist: the same refusal.
    with pytest.raises(LinkRefused) as refused:
        receiver_link_open(token_for(link.pk + 1000, "x"), referral.pk)
    assert refused.value.reason == INVALID


def test_the_link_refuses_another_referral_journaled_with_the_link(world):
    first = world.send()
    second = world.send(person=PersonFactory(first_name="Marc", last_name="Dupont"))
    token = token_of(ReceiverLink.objects.get(referral=first))
    link = ReceiverLink.objects.get(referral=first)
    with pytest.raises(LinkRefused) as refused:
        receiver_link_open(token, second.pk)
    assert refused.value.reason == OTHER_REFERRAL
    denied = AccessEvent.objects.get(operation="denied", object_id=second.pk)
    assert denied.user is None
    assert denied.organisation == world.ccas
    assert denied.detail["receiver_link"] == link.pk
    assert denied.detail["refusal"] == "receiver_link_other_referral"


def test_the_link_actor_sees_its_referral_and_no_other(world):
    first = world.send()
    second = world.send(person=PersonFactory(first_name="Marc", last_name="Dupont"))
    actor = _opened(first).actor
    assert list(access.referrals_visible_to(actor)) == [first]
    assert set(access.pathways_visible_to(actor)) == {first.pathway}
    grants = access.grants_for(actor, [first.pathway_id, second.pathway_id])
    assert grants[second.pathway_id].categories == frozenset()
    # Only what the receiver's bases give it (the person consented to identity and pathway; the
    # sender's note is in the pathway's social category, shared with nobody here).
    assert grants[first.pathway_id].categories == frozenset({"identity", "pathway"})
    # Its moves on the other referral: not found, like a missing one.
    with pytest.raises(Referral.DoesNotExist):
        referral_services.referral_accept(actor=actor, referral_id=second.pk)


def test_an_expired_link_opens_nothing(world):
    referral = world.send()
    token = token_of(ReceiverLink.objects.get(referral=referral))
    days = settings.PARCOURS_RECEIVER_LINK_DAYS
    later = timezone.now() + dt.timedelta(days=days, minutes=1)
    with time_machine.travel(later), pytest.raises(LinkRefused) as refused:
        receiver_link_open(token, referral.pk)
    assert refused.value.reason == EXPIRED
    assert AccessEvent.objects.filter(
        operation="denied", detail__refusal="receiver_link_expired"
    ).exists()


def test_the_sender_revokes_the_link_and_issues_a_new_one(world):
    referral = world.send()
    first = ReceiverLink.objects.get(referral=referral)
    token = token_of(first)
    receiver_link_revoke(actor=world.sender, referral_id=referral.pk)
    first.refresh_from_db()
    assert first.state() == ReceiverLinkState.REVOKED
    assert first.revoked_by == world.sender.user
    assert first.mail_token == ""  # nothing left to send
    with pytest.raises(LinkRefused) as refused:
        receiver_link_open(token, referral.pk)
    assert refused.value.reason == REVOKED
    with pytest.raises(Conflict):  # nothing in force any more
        receiver_link_revoke(actor=world.sender, referral_id=referral.pk)

    second = receiver_link_issue(actor=world.sender, referral_id=referral.pk)
    assert receiver_link_open(token_of(second), referral.pk).link == second
    assert OutboxMessage.objects.filter(kind=OutboxKind.RECEIVER_LINK).count() == 2
    writes = AccessEvent.objects.filter(operation="write", object_id=referral.pk)
    assert {e.detail["action"] for e in writes} >= {
        "receiver_link.revoke",
        "receiver_link.issue",
    }


def test_a_new_link_revokes_the_former(world):
    referral = world.send()
    first = ReceiverLink.objects.get(referral=referral)
    token = token_of(first)
    receiver_link_issue(actor=world.sender, referral_id=referral.pk)
    with pytest.raises(LinkRefused) as refused:
        receiver_link_open(token, referral.pk)
    assert refused.value.reason == REVOKED


def test_only_the_sender_revokes_or_issues(world):
    referral = world.send()
    ccas_member = sender_actor(world.ccas)  # the CCAS got an account since
    with pytest.raises(NotAllowed):
        receiver_link_revoke(actor=ccas_member, referral_id=referral.pk)
    with pytest.raises(NotAllowed):
        receiver_link_issue(actor=ccas_member, referral_id=referral.pk)
    dpo = sender_actor(world.france_travail, Role.DPO)
    with pytest.raises(Referral.DoesNotExist):  # a DPO sees no record: not found
        receiver_link_revoke(actor=dpo, referral_id=referral.pk)
    # And once the CCAS has an account, no new link: it answers from its inbox.
    with pytest.raises(Conflict):
        receiver_link_issue(actor=world.sender, referral_id=referral.pk)


def test_the_link_works_until_expiry_even_once_the_receiver_has_an_account(world):
    referral = world.send()
    MembershipFactory(organisation=world.ccas)
    opened = _opened(referral)
    referral_services.referral_accept(actor=opened.actor, referral_id=referral.pk)


# --- acting through the link ------------------------------------------------------------------


def test_the_receivers_answers_through_the_link_journaled_with_the_link(world):
    referral = world.send()
    opened = _opened(referral)
    actor = opened.actor
    assert actor.user is None and actor.role == LINK
    referral_services.referral_accept(actor=actor, referral_id=referral.pk)
    appointment = referral_services.referral_set_appointment(
        actor=actor, referral_id=referral.pk, starts_at=_in_two_days(), place="Mairie, bureau 2"
    )
    assert appointment.created_by is None
    with time_machine.travel(_in_two_days() + dt.timedelta(minutes=5)):
        referral_services.referral_record_attendance(actor=actor, referral_id=referral.pk)
        referral_services.referral_close(
            actor=actor, referral_id=referral.pk, outcome="support_started", comment="Suivi FSL"
        )
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.CLOSED
    assert referral.assigned_user is None  # nobody to put in charge
    writes = AccessEvent.objects.filter(
        operation="write", object_id=referral.pk, organisation=world.ccas
    ).order_by("id")
    assert [e.detail["action"] for e in writes] == [
        "referral.accept",
        "referral.set_appointment",
        "referral.record_attendance",
        "referral.close",
    ]
    for event in writes:
        assert event.user is None
        assert event.detail["receiver_link"] == opened.link.pk
        assert event.purpose == "Traitement d'une orientation reçue"
        assert event.basis  # under the receiver's bases
        assert staff_label(event, named=True) == "Lien d'accès sans compte (CCAS de Bapaume)"
    # History and timeline without a user: the organisation, and the link in the reason.
    history = referral.history.order_by("history_id").last()
    assert history.history_user is None
    assert f"lien d'accès sans compte n° {opened.link.pk}" in history.history_change_reason
    events = PathwayEvent.objects.filter(referral=referral, organisation=world.ccas)
    assert events.count() == 4 and all(e.actor_id is None for e in events)
    # Once closed, the link opens nothing more.
    with pytest.raises(LinkRefused) as refused:
        receiver_link_open(token_of(opened.link), referral.pk)
    assert refused.value.reason == CLOSED


def test_the_link_refuses_through_refusal(world):
    referral = world.send()
    actor = _opened(referral).actor
    referral_services.referral_refuse(
        actor=actor, referral_id=referral.pk, refusal_reason="no_capacity"
    )
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REFUSED


@pytest.mark.parametrize(
    "action",
    sorted(
        set(Action) - LINK_MOVES - {Action.EXPIRE}, key=lambda a: a.value
    ),  # every move the link may not make
)
def test_the_link_may_give_the_receivers_answers_only(action):
    assert LINK not in RULES[move_action(action)].roles


def test_a_link_may_not_propose_a_transfer_nor_read_the_pathway(world):
    referral = world.send()
    actor = _opened(referral).actor
    with pytest.raises(NotAllowed):
        referral_services.referral_propose_transfer(
            actor=actor,
            referral_id=referral.pk,
            receiver_organisation_id=world.france_travail.pk,
            reason="Plus proche",
        )
    from parcours.rules import Action as GateAction

    for read in (GateAction.PATHWAY_READ, GateAction.PERSON_READ, GateAction.CONSENT_READ):
        assert LINK not in RULES[read].roles
    assert LINK in RULES[GateAction.REFERRAL_READ].roles


def test_a_move_the_state_forbids_is_refused_as_for_staff(world):
    referral = world.send()
    actor = _opened(referral).actor
    with pytest.raises(ForbiddenTransition):
        referral_services.referral_record_attendance(actor=actor, referral_id=referral.pk)


def test_no_user_account_is_made_or_named(world):
    before = UserFactory._meta.model.objects.count()
    referral = world.send()
    actor = _opened(referral).actor
    referral_services.referral_accept(actor=actor, referral_id=referral.pk)
    assert UserFactory._meta.model.objects.count() == before
    assert not Appointment.objects.filter(referral=referral).exists()
