"""Réorientation (issue 14): the receiver proposes another partner instead of refusing; the sender
confirms — the referral ends `transferred`, pointing to a new referral from the sender to the
partner, sent at once, with the same shared categories checked again as `referral_create` checks
them — or declines — back to the receiver, who must answer. Within an agreement that allows it,
the receiver's proposal is confirmed at once. History, timeline, grants and alerts follow.

The transitions table's every move and forbidden pair: tests/test_referral_transitions.py.
"""

import datetime as dt
from dataclasses import dataclass
from html import unescape

import pytest
import time_machine
from django.core import mail

from notifications.answers import answer_line
from notifications.models import Alert, AlertKind, AlertState, AnswerKind, AnswerNotice
from notifications.services.alerts import alerts_scan
from notifications.services.relay import outbox_relay
from parcours import access
from parcours.actor import Actor
from parcours.errors import DuplicateReferral, InvalidInput, NotAllowed
from parcours.gate import Door, door
from parcours.models import (
    AccessEvent,
    EventKind,
    Membership,
    PathwayEvent,
    Referral,
    ReferralStatus,
    Role,
)
from parcours.services import referral as referral_services
from parcours.services.consent import consent_revoke
from parcours.transitions import Action
from tests.factories import (
    AgreementFactory,
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
    ServiceFactory,
)
from tests.notifications.conftest import paris

pytestmark = pytest.mark.django_db

SENT = paris(2026, 3, 2, 10)  # a Monday
REASON = "Un chantier d'insertion en espaces verts, plus proche de son domicile"


@dataclass
class World:
    sender: Actor  # France Travail, which holds the pathway
    receiver: Actor  # the SIAE the person was sent to
    partner: Actor  # another SIAE, the receiver's proposal
    outsider: Actor
    referral: Referral

    def refresh(self) -> "World":
        self.referral.refresh_from_db()
        return self


def _actor(organisation, role=Role.COUNSELLOR) -> Actor:
    membership = MembershipFactory(organisation=organisation, role=role)
    return Actor(membership.user, organisation, role)


@pytest.fixture
def world() -> World:
    with time_machine.travel(SENT, tick=False):
        france_travail = OrganisationFactory(name="France Travail Lens")
        siae = OrganisationFactory(siae=True, name="Chantier Les Jardins")
        partner = OrganisationFactory(siae=True, name="Régie de quartier Liévin")
        sender = _actor(france_travail)
        receiver = _actor(siae)
        person = PersonFactory(first_name="Léa", last_name="Martin")
        pathway = PathwayFactory(person=person, owner_organisation=france_travail)
        # The person agreed to both SIAE receiving what a referral carries, and her situation.
        ConsentFactory(
            person=person, organisations=[siae, partner], categories=["identity", "pathway"]
        )
        ConsentFactory(person=person, organisations=[siae, partner], categories=["social"])
        referral = referral_services.referral_create(
            actor=sender,
            pathway_id=pathway.pk,
            receiver_organisation_id=siae.pk,
            kind="substitution",
            reason="Reprise d'activité",
            context_note="Pas de permis de conduire",
            shared_categories=["social"],
        )
    return World(
        sender=sender,
        receiver=receiver,
        partner=_actor(partner),
        outsider=_actor(OrganisationFactory()),
        referral=referral,
    )


def _propose(w: World, at: dt.datetime, actor: Actor | None = None, **kwargs) -> Referral:
    arguments = {"receiver_organisation_id": w.partner.organisation.pk, "reason": REASON}
    arguments.update(kwargs)
    with time_machine.travel(at, tick=False), door(Door.COMMAND):
        return referral_services.referral_propose_transfer(
            actor=actor or w.receiver, referral_id=w.referral.pk, **arguments
        )


def _confirm(w: World, at: dt.datetime, actor: Actor | None = None) -> Referral:
    with time_machine.travel(at, tick=False), door(Door.COMMAND):
        return referral_services.referral_confirm_transfer(
            actor=actor or w.sender, referral_id=w.referral.pk
        )


def _moves(referral: Referral) -> list[PathwayEvent]:
    return list(
        PathwayEvent.objects.filter(referral=referral, kind=EventKind.REFERRAL_MOVED).order_by(
            "occurred_at", "id"
        )
    )


# --- Propose, then confirm ------------------------------------------------------------------------


def test_the_receiver_proposes_and_the_sender_confirms(world):
    w = world
    proposed = _propose(w, paris(2026, 3, 3, 9))

    assert proposed.status == ReferralStatus.TRANSFER_PROPOSED
    assert proposed.transfer_organisation == w.partner.organisation
    assert proposed.transfer_reason == REASON
    assert proposed.transfer_proposed_at == paris(2026, 3, 3, 9)
    assert _moves(proposed)[-1].text == (
        f"Réorientation proposée vers Régie de quartier Liévin. Motif : {REASON}"
    )
    # The receiver waits: nothing more to do there; the sender has the answer to give.
    assert referral_services.moves_offered(w.receiver, proposed) == []
    assert referral_services.moves_offered(w.sender, proposed) == [
        Action.CONFIRM_TRANSFER,
        Action.DECLINE_TRANSFER,
        Action.WITHDRAW,
    ]

    original = _confirm(w, paris(2026, 3, 4, 11))

    assert original.status == ReferralStatus.TRANSFERRED
    assert original.transferred_at == paris(2026, 3, 4, 11)
    new = original.transferred_to
    assert new.transferred_from == original
    # The same person, pathway, kind, reason, context and shares; from the sender, sent at once.
    assert (new.pathway_id, new.kind, new.reason) == (
        original.pathway_id,
        original.kind,
        original.reason,
    )
    assert new.context_note == "Pas de permis de conduire"
    assert new.shared_categories == ["identity", "pathway", "social"]
    assert new.sender_organisation == w.sender.organisation
    assert new.sender_user == w.sender.user
    assert new.receiver_organisation == w.partner.organisation
    assert new.receiver_service is None
    assert new.status == ReferralStatus.SENT
    assert new.sent_at == paris(2026, 3, 4, 11)
    # Five working days to answer, from the confirmation (Wed 4 → Wed 11 March).
    assert new.acknowledge_due_at == paris(2026, 3, 11, 23, 59, 59)
    # History with its author; the timeline on both referrals.
    assert original.history.first().history_user == w.sender.user
    assert new.history.first().history_user == w.sender.user
    assert _moves(original)[-1].text == "Réorientée vers Régie de quartier Liévin."
    assert _moves(original)[-1].referral_status == ReferralStatus.TRANSFERRED
    (sent,) = _moves(new)
    assert sent.referral_status == ReferralStatus.SENT
    assert sent.text == f"Suite de la réorientation de {original.reference}."
    assert sent.organisation == w.sender.organisation
    # One journal row per referral written, under the move's name.
    rows = AccessEvent.objects.filter(user=w.sender.user, operation="write").order_by("id")
    assert [(r.detail["action"], r.object_id) for r in rows][-2:] == [
        ("referral.confirm_transfer", original.pk),
        ("referral.confirm_transfer", new.pk),
    ]


def test_the_new_receiver_sees_what_was_shared_and_the_old_one_only_for_the_grace(world, settings):
    w = world
    assert access.categories_for(w.partner, [w.referral.pathway_id])[w.referral.pathway_id] == (
        frozenset()
    )
    _propose(w, paris(2026, 3, 3, 9))
    # A proposal shares nothing yet with the partner.
    assert not access.referrals_visible_to(w.partner).exists()

    _confirm(w, paris(2026, 3, 4, 11))

    pathway_id = w.referral.pathway_id
    with time_machine.travel(paris(2026, 3, 4, 12), tick=False):
        seen = access.categories_for(w.partner, [pathway_id])[pathway_id]
        assert seen == {"identity", "pathway", "social"}
        # Its referral, and the one it follows (as every referral of a pathway it sees).
        assert set(access.referrals_visible_to(w.partner)) == {
            w.refresh().referral,
            w.referral.transferred_to,
        }
        # The receiver that passed the person on keeps its view for the grace period only.
        assert access.categories_for(w.receiver, [pathway_id])[pathway_id]
    after_grace = paris(2026, 3, 4, 12) + dt.timedelta(
        days=settings.PARCOURS_RELATIONSHIP_GRACE_DAYS + 1
    )
    with time_machine.travel(after_grace, tick=False):
        assert access.categories_for(w.receiver, [pathway_id])[pathway_id] == frozenset()
        assert access.categories_for(w.partner, [pathway_id])[pathway_id]


def test_the_originals_alerts_resolve_and_the_new_referral_has_its_own(world):
    w = world
    alerts_scan(now=paris(2026, 3, 12, 10))  # no answer within five working days
    (late,) = Alert.objects.filter(referral=w.referral, kind=AlertKind.UNANSWERED)
    assert late.state != AlertState.RESOLVED

    _propose(w, paris(2026, 3, 12, 11))
    late.refresh_from_db()
    assert late.state == AlertState.RESOLVED
    # Waiting for the sender's answer is no receiver's delay: nothing raised meanwhile.
    alerts_scan(now=paris(2026, 3, 20, 10))
    assert Alert.objects.filter(referral=w.referral).count() == 1

    new = _confirm(w, paris(2026, 3, 20, 11)).transferred_to
    alerts_scan(now=paris(2026, 4, 1, 10))  # the partner did not answer either
    assert Alert.objects.filter(referral=new, kind=AlertKind.UNANSWERED).count() == 1
    assert Alert.objects.filter(referral=w.referral).count() == 1


def test_a_service_of_the_partner_can_be_proposed(world):
    w = world
    service = ServiceFactory(organisation=w.partner.organisation, name="Espaces verts")
    proposed = _propose(w, paris(2026, 3, 3, 9), receiver_service_id=service.pk)
    assert proposed.transfer_service == service
    assert "vers Régie de quartier Liévin (Espaces verts)." in _moves(proposed)[-1].text

    new = _confirm(w, paris(2026, 3, 4, 11)).transferred_to
    assert new.receiver_service == service


def test_an_accepted_referral_may_be_proposed_for_transfer_too(world):
    w = world
    with time_machine.travel(paris(2026, 3, 3, 9), tick=False):
        referral_services.referral_accept(actor=w.receiver, referral_id=w.referral.pk)
    proposed = _propose(w, paris(2026, 3, 4, 9))
    assert proposed.status == ReferralStatus.TRANSFER_PROPOSED
    assert _confirm(w, paris(2026, 3, 5, 9)).status == ReferralStatus.TRANSFERRED


# --- Decline --------------------------------------------------------------------------------------


def test_the_sender_declines_and_the_receiver_must_answer_again(world):
    w = world
    with time_machine.travel(paris(2026, 3, 3, 9), tick=False):
        referral_services.referral_accept(actor=w.receiver, referral_id=w.referral.pk)
    _propose(w, paris(2026, 3, 4, 9))

    with time_machine.travel(paris(2026, 3, 5, 9), tick=False), door(Door.COMMAND):
        declined = referral_services.referral_decline_transfer(
            actor=w.sender, referral_id=w.referral.pk, comment="Elle tient à ce chantier-ci"
        )

    assert declined.status == ReferralStatus.SENT
    # The proposal is gone from the referral (history and timeline keep it).
    assert declined.transfer_organisation is None
    assert declined.transfer_reason == ""
    assert declined.transfer_proposed_at is None
    assert declined.history.filter(status=ReferralStatus.TRANSFER_PROPOSED).exists()
    # The receiver answers again, on a fresh clock; its earlier acceptance is undone.
    assert declined.accepted_at is None
    assert declined.first_appointment_due_at is None
    assert declined.sent_at == paris(2026, 3, 5, 9)
    assert declined.acknowledge_due_at == paris(2026, 3, 12, 23, 59, 59)
    assert declined.transferred_to is None
    assert _moves(declined)[-1].text == (
        "Réorientation vers Régie de quartier Liévin refusée par le prescripteur. "
        "Elle tient à ce chantier-ci"
    )
    assert referral_services.moves_offered(w.receiver, declined)[:3] == [
        Action.ACCEPT,
        Action.REFUSE,
        Action.PROPOSE_TRANSFER,
    ]
    assert Referral.objects.filter(pathway=w.referral.pathway).count() == 1
    with time_machine.travel(paris(2026, 3, 6, 9), tick=False):
        referral_services.referral_accept(actor=w.receiver, referral_id=w.referral.pk)
    assert w.refresh().referral.status == ReferralStatus.ACCEPTED


def test_the_sender_may_withdraw_instead_of_answering(world):
    w = world
    _propose(w, paris(2026, 3, 3, 9))
    with time_machine.travel(paris(2026, 3, 4, 9), tick=False):
        referral_services.referral_withdraw(actor=w.sender, referral_id=w.referral.pk)
    assert w.refresh().referral.status == ReferralStatus.WITHDRAWN


# --- Within an agreement: confirmed at once ------------------------------------------------------


def _agreement(w: World, *, pending: bool = False, **kwargs):
    """An agreement between the receiver and the partner (the partner yet to accept it, with
    `pending`) letting the receiver transfer at once unless told otherwise."""
    kwargs.setdefault("receiver_may_transfer", True)
    kwargs.setdefault("name", "Convention SIAE du Lensois")
    return AgreementFactory(
        parties=[w.receiver.organisation, w.partner.organisation],
        parties__pending=[w.partner.organisation] if pending else (),
        **kwargs,
    )


def test_within_an_agreement_that_allows_it_the_proposal_is_confirmed_at_once(world):
    w = world
    _agreement(w)

    original = _propose(w, paris(2026, 3, 3, 9))

    assert original.status == ReferralStatus.TRANSFERRED
    new = original.transferred_to
    assert new.status == ReferralStatus.SENT
    # The new referral is the sender's (its counsellor follows the person); made by the receiver.
    assert (new.sender_organisation, new.sender_user) == (w.sender.organisation, w.sender.user)
    assert new.receiver_organisation == w.partner.organisation
    assert original.transfer_organisation == w.partner.organisation
    assert original.transfer_reason == REASON
    assert original.history.first().history_user == w.receiver.user
    assert new.history.first().history_user == w.receiver.user
    (event,) = [e for e in _moves(original) if e.referral_status == ReferralStatus.TRANSFERRED]
    assert event.text == (
        "Réorientée vers Régie de quartier Liévin. "
        "Dans le cadre de la convention « Convention SIAE du Lensois »."
    )
    assert event.organisation == w.receiver.organisation
    rows = AccessEvent.objects.filter(user=w.receiver.user, operation="write").order_by("id")
    assert {r.detail["action"] for r in rows[len(rows) - 2 :]} == {
        "referral.transfer_under_agreement"
    }
    pathway_id = original.pathway_id
    with time_machine.travel(paris(2026, 3, 3, 10), tick=False):
        assert access.categories_for(w.partner, [pathway_id])[pathway_id] == {
            "identity",
            "pathway",
            "social",
        }


@pytest.mark.parametrize(
    "agreement",
    [
        {"receiver_may_transfer": False},
        {"pending": True},
        {"starts_on": dt.date(2026, 6, 1)},
        {"ends_on": dt.date(2026, 2, 28)},
    ],
    ids=[
        "not-allowed-by-the-agreement",
        "not-accepted-by-every-party",
        "not-yet-in-force",
        "over",
    ],
)
def test_without_an_agreement_in_force_that_allows_it_the_sender_answers(world, agreement):
    w = world
    _agreement(w, **agreement)
    assert _propose(w, paris(2026, 3, 3, 9)).status == ReferralStatus.TRANSFER_PROPOSED


def test_within_an_agreement_a_partner_without_basis_waits_for_the_sender(world):
    """The partner must be able to receive what the referral shares (referral_create's check):
    without the person's consent for it, the proposal waits; the sender, confirming, is told."""
    w = world
    stranger = _actor(OrganisationFactory(siae=True, name="ACI du Bassin minier"))
    AgreementFactory(
        parties=[w.receiver.organisation, stranger.organisation], receiver_may_transfer=True
    )
    proposed = _propose(w, paris(2026, 3, 3, 9), receiver_organisation_id=stranger.organisation.pk)
    assert proposed.status == ReferralStatus.TRANSFER_PROPOSED

    with pytest.raises(InvalidInput) as refused:
        _confirm(w, paris(2026, 3, 4, 9))
    assert str(refused.value).startswith("ACI du Bassin minier n'a pas de base pour recevoir")
    assert refused.value.fields == {
        "shared_categories": ["Accord de la personne manquant pour ce destinataire."]
    }
    assert w.refresh().referral.status == ReferralStatus.TRANSFER_PROPOSED
    assert Referral.objects.filter(pathway=w.referral.pathway).count() == 1


def test_a_manager_of_the_receiver_proposes_but_does_not_transfer_at_once(world):
    w = world
    _agreement(w)
    manager = _actor(w.receiver.organisation, Role.MANAGER)
    assert _propose(w, paris(2026, 3, 3, 9), actor=manager).status == (
        ReferralStatus.TRANSFER_PROPOSED
    )


def test_the_direct_transfer_needs_the_agreement(world):
    w = world
    with time_machine.travel(paris(2026, 3, 3, 9), tick=False), pytest.raises(InvalidInput) as e:
        referral_services.referral_transfer(
            actor=w.receiver,
            referral_id=w.referral.pk,
            receiver_organisation_id=w.partner.organisation.pk,
            reason=REASON,
        )
    assert "Aucune convention en vigueur entre votre organisation et Régie de quartier" in str(
        e.value
    )
    assert w.refresh().referral.status == ReferralStatus.SENT


def test_within_an_agreement_a_sender_who_left_lets_the_proposal_wait(world):
    w = world
    _agreement(w)
    membership = Membership.objects.get(user=w.sender.user)
    membership.is_active = False
    membership.save()
    assert _propose(w, paris(2026, 3, 3, 9)).status == ReferralStatus.TRANSFER_PROPOSED


# --- Refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partner", "field", "message"),
    [
        ("receiver", "receiver_organisation", "Proposez un autre partenaire que l'organisme"),
        ("sender", "receiver_organisation", "France Travail Lens est l'organisme prescripteur"),
        ("unknown", "receiver_organisation", "Organisme inconnu."),
        ("not-a-number", "receiver_organisation", "Organisme inconnu."),
    ],
)
def test_the_partner_must_be_another_known_organisation(world, partner, field, message):
    w = world
    ids = {
        "receiver": w.receiver.organisation.pk,
        "sender": w.sender.organisation.pk,
        "unknown": 987654321,
        "not-a-number": "abc",
    }
    with pytest.raises(InvalidInput) as refused:
        _propose(w, paris(2026, 3, 3, 9), receiver_organisation_id=ids[partner])
    assert field in refused.value.fields
    assert refused.value.fields[field][0].startswith(message)
    assert w.refresh().referral.status == ReferralStatus.SENT
    assert len(_moves(w.referral)) == 1  # sent only


@pytest.mark.parametrize("which", ["inactive", "another-organisations"])
def test_the_service_must_be_an_active_one_of_the_partner(world, which):
    w = world
    if which == "inactive":
        service = ServiceFactory(organisation=w.partner.organisation, is_active=False)
    else:
        service = ServiceFactory(organisation=w.receiver.organisation)
    with pytest.raises(InvalidInput) as refused:
        _propose(w, paris(2026, 3, 3, 9), receiver_service_id=service.pk)
    assert refused.value.fields == {
        "receiver_service": ["Service inconnu ou inactif pour cet organisme."]
    }
    assert w.refresh().referral.status == ReferralStatus.SENT


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_a_reason_is_required_and_bounded(world, reason):
    w = world
    with pytest.raises(InvalidInput) as refused:
        _propose(w, paris(2026, 3, 3, 9), reason=reason)
    assert "reason" in refused.value.fields
    assert w.refresh().referral.status == ReferralStatus.SENT


def test_a_partner_already_receiving_the_person_is_a_duplicate(world):
    w = world
    ReferralFactory(
        pathway=w.referral.pathway,
        sender_user=w.sender.user,
        receiver_organisation=w.partner.organisation,
        sent=True,
    )
    with pytest.raises(DuplicateReferral):
        _propose(w, paris(2026, 3, 3, 9))
    assert w.refresh().referral.status == ReferralStatus.SENT


def test_a_consent_revoked_before_the_confirmation_stops_it(world):
    w = world
    _propose(w, paris(2026, 3, 3, 9))
    consents = w.referral.pathway.person.consents.filter(organisations=w.partner.organisation)
    with time_machine.travel(paris(2026, 3, 3, 15), tick=False):
        for consent in consents:
            consent_revoke(actor=w.sender, consent_id=consent.pk)
    with pytest.raises(InvalidInput, match="n'a pas de base pour recevoir"):
        _confirm(w, paris(2026, 3, 4, 9))
    assert w.refresh().referral.status == ReferralStatus.TRANSFER_PROPOSED


def test_out_of_scope_is_not_found_and_journaled(world):
    w = world
    with pytest.raises(Referral.DoesNotExist):
        _propose(w, paris(2026, 3, 3, 9), actor=w.outsider)
    with pytest.raises(Referral.DoesNotExist):
        _confirm(w, paris(2026, 3, 3, 9), actor=w.partner)
    denied = AccessEvent.objects.filter(operation="denied").order_by("id")
    assert [(d.user_id, d.detail["action"], d.detail["refusal"]) for d in denied] == [
        (w.outsider.user.pk, "referral.propose_transfer", "not_found"),
        (w.partner.user.pk, "referral.confirm_transfer", "not_found"),
    ]
    assert w.refresh().referral.status == ReferralStatus.SENT


def test_the_wrong_party_is_refused_and_journaled(world):
    w = world
    with pytest.raises(NotAllowed, match="Seul l'organisme destinataire peut « proposer une"):
        _propose(w, paris(2026, 3, 3, 9), actor=w.sender)
    _propose(w, paris(2026, 3, 3, 10))
    with pytest.raises(NotAllowed, match="Seul l'organisme prescripteur peut « confirmer la"):
        _confirm(w, paris(2026, 3, 4, 9), actor=w.receiver)
    with (
        time_machine.travel(paris(2026, 3, 4, 9), tick=False),
        door(Door.COMMAND),
        pytest.raises(NotAllowed, match="Seul l'organisme prescripteur peut « refuser la r"),
    ):
        referral_services.referral_decline_transfer(actor=w.receiver, referral_id=w.referral.pk)
    denied = AccessEvent.objects.filter(operation="denied").order_by("id")
    assert [(d.user_id, d.detail["action"], d.detail["refusal"], d.object_id) for d in denied] == [
        (w.sender.user.pk, "referral.propose_transfer", "not_allowed", w.referral.pk),
        (w.receiver.user.pk, "referral.confirm_transfer", "not_allowed", w.referral.pk),
        (w.receiver.user.pk, "referral.decline_transfer", "not_allowed", w.referral.pk),
    ]
    assert w.refresh().referral.status == ReferralStatus.TRANSFER_PROPOSED


def test_a_manager_of_the_sender_may_decline_but_not_confirm(world):
    w = world
    _propose(w, paris(2026, 3, 3, 9))
    manager = _actor(w.sender.organisation, Role.MANAGER)
    with pytest.raises(NotAllowed, match="Seuls les conseillers et travailleurs sociaux orientent"):
        _confirm(w, paris(2026, 3, 4, 9), actor=manager)
    assert AccessEvent.objects.get(operation="denied").detail["action"] == (
        "referral.confirm_transfer"
    )
    with time_machine.travel(paris(2026, 3, 4, 10), tick=False):
        referral_services.referral_decline_transfer(actor=manager, referral_id=w.referral.pk)
    assert w.refresh().referral.status == ReferralStatus.SENT


def test_anonymising_the_pathway_wipes_the_transfer_reason_not_the_states(world):
    from django.db import transaction
    from django.utils import timezone

    from parcours.models import Pathway
    from parcours.services.erasure import WIPED_TEXT, pathway_anonymise

    w = world
    _propose(w, paris(2026, 3, 3, 9))
    new = _confirm(w, paris(2026, 3, 4, 9)).transferred_to
    with transaction.atomic():
        pathway = Pathway.objects.select_for_update().get(pk=w.referral.pathway_id)
        pathway_anonymise(pathway=pathway, now=timezone.now())
    original = w.refresh().referral
    assert original.transfer_reason == WIPED_TEXT
    assert (original.status, original.transferred_to) == (ReferralStatus.TRANSFERRED, new)
    assert original.transfer_organisation == w.partner.organisation
    assert not Referral.history.filter(transfer_reason=REASON).exists()
    assert all(REASON not in event.text for event in PathwayEvent.objects.filter(pathway=pathway))


# --- The agreement's switch ---------------------------------------------------------------------


def test_allowing_the_direct_transfer_is_a_new_version_forbidding_it_is_at_once(make_actor):
    from django.utils import timezone

    from parcours.models import Agreement, AgreementParty, AgreementPartyStatus
    from parcours.services.agreement import agreement_accept, agreement_update

    first = make_actor(siae=True, role=Role.MANAGER)
    second = make_actor(siae=True, role=Role.MANAGER)
    agreement = AgreementFactory(parties=[first.organisation, second.organisation])
    today = timezone.localdate()

    def allowing() -> bool:
        return Agreement.objects.allowing_transfer(
            first.organisation.pk, second.organisation.pk, today
        ).exists()

    def answer(actor) -> str:
        return AgreementParty.objects.get(
            agreement=agreement, organisation=actor.organisation
        ).status

    agreement_update(actor=first, agreement_id=agreement.pk, receiver_may_transfer=True)
    # It binds the other party further: nothing allows it until that party accepts.
    assert answer(second) == AgreementPartyStatus.PENDING
    assert not allowing()
    agreement_accept(actor=second, agreement_id=agreement.pk)
    assert allowing()

    agreement_update(actor=second, agreement_id=agreement.pk, receiver_may_transfer=False)
    assert answer(first) == AgreementPartyStatus.ACCEPTED  # a narrowing: the answers stand
    assert Agreement.objects.in_force_on(today).filter(pk=agreement.pk).exists()
    assert not allowing()


# --- The sender hears of it (issue 14: answers pushed back) -------------------------------------


def _answers_to_sender(w: World) -> list[AnswerNotice]:
    return list(AnswerNotice.objects.filter(referral=w.referral).order_by("id"))


def test_the_sender_is_told_of_a_proposal_with_the_partner_never_the_reason(world, settings):
    w = world
    settings.PARCOURS_PUBLIC_URL = "https://parcours.example.fr"
    _propose(w, paris(2026, 3, 3, 9))

    (notice,) = _answers_to_sender(w)
    assert (notice.answer, notice.recipient) == (AnswerKind.TRANSFER_PROPOSED, w.sender.user)
    assert outbox_relay().sent == 1
    (email,) = mail.outbox
    assert email.to == [w.sender.user.email]
    for body in (email.body, unescape(email.alternatives[0][0])):
        assert (
            f"Chantier Les Jardins propose le 03/03/2026 à 09:00 de réorienter la personne de "
            f"l'orientation {w.referral.reference} vers Régie de quartier Liévin." in body
        )
        assert "Confirmez ou refusez la réorientation" in body
        assert "espaces verts" not in body and "Léa" not in body  # no text typed, no name
        assert "transfer" not in body  # never a raw code
    # Declined since: the referral no longer names the partner, the notice still reads.
    with time_machine.travel(paris(2026, 3, 3, 10), tick=False), door(Door.COMMAND):
        referral_services.referral_decline_transfer(actor=w.sender, referral_id=w.referral.pk)
    notice.referral.refresh_from_db()
    assert answer_line(notice).detail == "Vers un autre partenaire"
    assert len(_answers_to_sender(w)) == 1  # the sender's own answer tells nobody


def test_the_sender_is_told_once_where_the_person_went_within_an_agreement(world):
    w = world
    _agreement(w)
    _propose(w, paris(2026, 3, 3, 9))

    (notice,) = _answers_to_sender(w)
    assert notice.answer == AnswerKind.TRANSFERRED
    line = answer_line(notice)
    assert line.label == "Personne réorientée"
    assert line.detail == "Vers Régie de quartier Liévin"
    assert (
        f"Chantier Les Jardins a réorienté le 03/03/2026 à 09:00 la personne de l'orientation "
        f"{w.referral.reference} vers Régie de quartier Liévin, comme votre convention le permet."
        == line.fact
    )
