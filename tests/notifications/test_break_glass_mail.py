"""Break-glass: the organisation's DPOs are told who opened what, when and why — never the
content of the record — through outbox rows written in the opening's own transaction."""

import pytest
from django.core import mail
from django.db import transaction

from notifications.models import OutboxKind, OutboxMessage, OutboxStatus
from notifications.services.break_glass import break_glass_notices_create
from notifications.services.relay import outbox_relay
from parcours.models import Role
from parcours.services.break_glass import break_glass_open
from tests.factories import MembershipFactory, PersonFactory, ReferralFactory

pytestmark = pytest.mark.django_db

REASON = "Adapter le poste de travail proposé dès le premier jour"


@pytest.fixture
def opening(make_actor):
    """A sent referral whose receiving SIAE counsellor may open a break-glass on it."""
    referral = ReferralFactory(
        sent=True,
        pathway__person=PersonFactory(rqth=True, first_name="Inès", last_name="Zerbib"),
        receiver_organisation__name="Les Jardins",
    )
    receiver = make_actor(organisation=referral.receiver_organisation)
    receiver.user.first_name, receiver.user.last_name = "Julie", "Roux"
    receiver.user.save()
    return referral, receiver


def open_health(referral, receiver):
    return break_glass_open(
        actor=receiver, pathway_id=referral.pathway_id, category="health", reason=REASON
    )


def test_one_notice_per_dpo_written_with_the_opening(
    opening, make_actor, django_capture_on_commit_callbacks
):
    referral, receiver = opening
    dpos = [MembershipFactory(organisation=receiver.organisation, role=Role.DPO) for _ in "ab"]
    MembershipFactory(organisation=receiver.organisation, role=Role.COUNSELLOR)  # not told
    MembershipFactory(organisation=receiver.organisation, role=Role.DPO, is_active=False)
    MembershipFactory(organisation=referral.sender_organisation, role=Role.DPO)  # other org
    make_actor(role=Role.NATIONAL_DPO)  # not told either

    with django_capture_on_commit_callbacks() as callbacks:
        grant = open_health(referral, receiver)

    notices = OutboxMessage.objects.filter(break_glass=grant).order_by("to_email")
    assert [(n.kind, n.status, n.to_email) for n in notices] == sorted(
        (OutboxKind.BREAK_GLASS, OutboxStatus.PENDING, d.user.email) for d in dpos
    )
    assert len(callbacks) == 1  # the relay's wake-up, only once the opening commits
    # Idempotent: the same opening never gets a second notice per address.
    assert break_glass_notices_create(break_glass=grant) == 0


def test_a_rolled_back_opening_tells_nobody(opening, django_capture_on_commit_callbacks):
    referral, receiver = opening
    MembershipFactory(organisation=receiver.organisation, role=Role.DPO)
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        open_health(referral, receiver)
        raise RuntimeError("the caller's transaction fails after the opening")
    assert not OutboxMessage.objects.exists()
    assert callbacks == []


def test_the_notice_says_who_what_when_why_and_nothing_of_the_record(opening, settings):
    settings.PARCOURS_PUBLIC_URL = "https://parcours.example.fr"
    referral, receiver = opening
    dpo = MembershipFactory(organisation=receiver.organisation, role=Role.DPO)
    grant = open_health(referral, receiver)

    assert outbox_relay().sent == 1
    (message,) = mail.outbox
    assert message.to == [dpo.user.email]
    assert message.subject == "[parcours] Accès exceptionnel ouvert par Julie Roux (Les Jardins)"
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert "Julie Roux (Les Jardins)" in body
        assert "« Santé et handicap »" in body  # the category, in French
        assert REASON in body
        assert grant.starts_at.astimezone().strftime("%d/%m/%Y") in body
        assert "Jusqu'au" in body or "Jusqu&#x27;au" in body
        assert "https://parcours.example.fr/protection-des-donnees/" in body
        for secret in ("Inès", "Zerbib", f"n°{referral.pathway_id}", referral.reference):
            assert secret not in body  # nothing about the person or the record
    notice = OutboxMessage.objects.get(break_glass=grant)
    assert message.extra_headers["Message-ID"] == notice.message_id
    assert notice.status == OutboxStatus.SENT
    assert outbox_relay().sent == 0  # sent once


def test_no_dpo_no_notice(opening, django_capture_on_commit_callbacks):
    referral, receiver = opening
    with django_capture_on_commit_callbacks() as callbacks:
        open_health(referral, receiver)
    assert not OutboxMessage.objects.exists()
    assert callbacks == []  # nothing to send, nothing to wake
