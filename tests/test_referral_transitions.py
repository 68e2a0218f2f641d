"""The referral lifecycle, driven by the one table `parcours.transitions.MOVES`.

Every (status, action) pair is enumerated: the moves in the table must work for the right party
only (the other party is told "not allowed", an unrelated organisation "not found"), and every
pair missing from the table must be refused with a French message naming the state and action.
"""

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from parcours.actor import Actor
from parcours.errors import ForbiddenTransition, InvalidInput, NotAllowed
from parcours.models import (
    AppointmentOutcome,
    EventKind,
    PathwayEvent,
    Referral,
    ReferralStatus,
)
from parcours.services import referral as referral_services
from parcours.services.consent import consent_record
from parcours.services.referral import (
    referral_accept,
    referral_close,
    referral_confirm_transfer,
    referral_correct_attendance,
    referral_create,
    referral_decline_transfer,
    referral_expire,
    referral_propose_transfer,
    referral_record_attendance,
    referral_record_no_show,
    referral_refuse,
    referral_send,
    referral_set_appointment,
    referral_transfer,
    referral_withdraw,
)
from parcours.transitions import (
    ACTION_LABELS,
    ACTION_PARTY,
    MOVES,
    STAMPED_FIELD,
    Action,
    Move,
    Party,
    actions_available,
    find_move,
)

from .factories import (
    AgreementFactory,
    AppointmentFactory,
    ConsentFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
)

PARIS = ZoneInfo("Europe/Paris")


def _in_two_days() -> dt.datetime:
    return timezone.now() + dt.timedelta(days=2)


def _partner(referral_id: int, *, agreement: bool):
    """Another partner for a transfer: an SIAE the person consented to (identity and pathway,
    what every referral carries) and, with `agreement`, bound to the receiver by an agreement in
    force that lets the receiver transfer at once."""
    referral = Referral.objects.select_related("pathway").get(pk=referral_id)
    partner = OrganisationFactory(siae=True)
    ConsentFactory(person=referral.pathway.person, organisations=[partner])
    if agreement:
        AgreementFactory(
            parties=[referral.receiver_organisation, partner], receiver_may_transfer=True
        )
    return partner


def _propose(actor, rid, *, agreement: bool = False):
    return referral_propose_transfer(
        actor=actor,
        referral_id=rid,
        receiver_organisation_id=_partner(rid, agreement=agreement).pk,
        reason="Un chantier d'insertion plus proche du domicile",
    )


# Action -> how a party performs it through the public services. `actor` is None only for the
# system move (expire), whose service takes no actor at all.
SERVICE_CALLS: dict[Action, Callable[[Actor | None, int], object]] = {
    Action.SEND: lambda actor, rid: referral_send(actor=actor, referral_id=rid),
    Action.WITHDRAW: lambda actor, rid: referral_withdraw(
        actor=actor, referral_id=rid, comment="La personne a trouvé un emploi"
    ),
    Action.ACCEPT: lambda actor, rid: referral_accept(actor=actor, referral_id=rid),
    Action.REFUSE: lambda actor, rid: referral_refuse(
        actor=actor, referral_id=rid, refusal_reason="no_capacity"
    ),
    Action.EXPIRE: lambda actor, rid: referral_expire(referral_id=rid),
    Action.SET_APPOINTMENT: lambda actor, rid: referral_set_appointment(
        actor=actor, referral_id=rid, starts_at=_in_two_days(), place="12 rue de la Gare"
    ),
    Action.RECORD_ATTENDANCE: lambda actor, rid: referral_record_attendance(
        actor=actor, referral_id=rid
    ),
    Action.RECORD_NO_SHOW: lambda actor, rid: referral_record_no_show(actor=actor, referral_id=rid),
    Action.CLOSE: lambda actor, rid: referral_close(
        actor=actor, referral_id=rid, outcome="support_started", comment="Entrée en ACI"
    ),
    Action.CORRECT_ATTENDANCE: lambda actor, rid: referral_correct_attendance(
        actor=actor, referral_id=rid, reason="Erreur de saisie : inversé avec un autre dossier"
    ),
    Action.PROPOSE_TRANSFER: _propose,
    Action.CONFIRM_TRANSFER: lambda actor, rid: referral_confirm_transfer(
        actor=actor, referral_id=rid
    ),
    Action.DECLINE_TRANSFER: lambda actor, rid: referral_decline_transfer(
        actor=actor, referral_id=rid, comment="La personne préfère rester suivie ici"
    ),
    Action.TRANSFER_UNDER_AGREEMENT: lambda actor, rid: referral_transfer(
        actor=actor,
        referral_id=rid,
        receiver_organisation_id=_partner(rid, agreement=True).pk,
        reason="Un chantier d'insertion plus proche du domicile",
    ),
}


@dataclass(frozen=True)
class Parties:
    sender: Actor
    receiver: Actor
    outsider: Actor

    def acting(self, party: Party) -> Actor | None:
        return {Party.SENDER: self.sender, Party.RECEIVER: self.receiver, Party.SYSTEM: None}[party]

    def other(self, party: Party) -> Actor:
        return self.receiver if party == Party.SENDER else self.sender


@pytest.fixture
def parties(make_actor) -> Parties:
    return Parties(
        sender=make_actor(),
        receiver=make_actor(siae=True),
        outsider=make_actor(mission_locale=True),
    )


def referral_in(status: str, parties: Parties, **extra: object) -> Referral:
    """A referral from `parties.sender` to `parties.receiver` in `status` (with a pending
    appointment when the state implies one)."""
    traits: dict[str, object] = {} if status == ReferralStatus.DRAFT else {status: True}
    if status in (ReferralStatus.ATTENDED, ReferralStatus.NO_SHOW):
        # Recorded by the receiver's member a moment ago: they may still correct it.
        traits["attendance_recorded_by"] = parties.receiver.user
        traits["attendance_correctable_until"] = timezone.now() + dt.timedelta(days=2)
    referral = ReferralFactory(
        pathway=PathwayFactory(owner_organisation=parties.sender.organisation),
        sender_user=parties.sender.user,
        receiver_organisation=parties.receiver.organisation,
        **traits,
        **extra,
    )
    if status == ReferralStatus.APPOINTMENT_SET:
        # Begun an hour ago: its outcome may be recorded (not before its start, issue 13).
        AppointmentFactory(
            referral=referral,
            created_by=parties.receiver.user,
            starts_at=timezone.now() - dt.timedelta(hours=1),
        )
    if status == ReferralStatus.TRANSFER_PROPOSED:
        # The partner proposed may receive what the referral carries: the person consented.
        ConsentFactory(
            person=referral.pathway.person, organisations=[referral.transfer_organisation]
        )
    assert referral.status == status
    return referral


def _moved_events(referral: Referral):
    return PathwayEvent.objects.filter(referral=referral, kind=EventKind.REFERRAL_MOVED)


def _assert_untouched(referral: Referral, status: str) -> None:
    referral.refresh_from_db()
    assert referral.status == status
    assert not _moved_events(referral).exists()


# --- The table itself ---------------------------------------------------------------------------


def test_table_has_one_move_per_action_and_source():
    keys = [(move.action, move.source) for move in MOVES]
    assert len(keys) == len(set(keys))


def test_every_action_has_a_service_and_a_label():
    assert set(SERVICE_CALLS) == set(Action) == set(ACTION_LABELS) == set(ACTION_PARTY)


def test_every_stamped_target_is_reachable():
    assert set(STAMPED_FIELD) <= {move.target for move in MOVES}
    for field in STAMPED_FIELD.values():
        assert hasattr(Referral, field)


def test_actions_available_follow_the_table():
    assert actions_available(ReferralStatus.SENT, Party.RECEIVER) == [
        Action.ACCEPT,
        Action.REFUSE,
        Action.PROPOSE_TRANSFER,
        Action.TRANSFER_UNDER_AGREEMENT,
    ]
    assert actions_available(ReferralStatus.SENT, Party.SENDER) == [Action.WITHDRAW]
    assert actions_available(ReferralStatus.SENT, Party.SYSTEM) == [Action.EXPIRE]
    assert actions_available(ReferralStatus.TRANSFER_PROPOSED, Party.SENDER) == [
        Action.CONFIRM_TRANSFER,
        Action.DECLINE_TRANSFER,
        Action.WITHDRAW,
    ]
    assert actions_available(ReferralStatus.TRANSFER_PROPOSED, Party.RECEIVER) == []
    for status in (
        ReferralStatus.REFUSED,
        ReferralStatus.EXPIRED,
        ReferralStatus.CLOSED,
        ReferralStatus.TRANSFERRED,
    ):
        for party in Party:
            assert actions_available(status, party) == []


# --- Allowed moves ------------------------------------------------------------------------------


def _move_id(move: Move) -> str:
    return f"{move.source}-{move.action}->{move.target}"


@pytest.mark.django_db
@pytest.mark.parametrize("move", MOVES, ids=[_move_id(m) for m in MOVES])
def test_allowed_move_by_the_right_party_only(move, parties):
    referral = referral_in(move.source, parties)

    # An unrelated organisation does not even see the referral: out of scope is "not found".
    if move.party != Party.SYSTEM:
        with pytest.raises(Referral.DoesNotExist):
            SERVICE_CALLS[move.action](parties.outsider, referral.pk)
        _assert_untouched(referral, move.source)

    # The other party of the referral sees it but may not perform this move.
    wrong_parties = (
        [parties.sender, parties.receiver]
        if move.party == Party.SYSTEM
        else [parties.other(move.party)]
    )
    for wrong in wrong_parties:
        if move.party == Party.SYSTEM:
            # The public expire service takes no actor; the guard behind it refuses people.
            with pytest.raises(NotAllowed, match="traitement automatique"):
                referral_services._move(
                    referral_id=referral.pk, actor=wrong, action=move.action, reason="test"
                )
        elif move.source == ReferralStatus.DRAFT and wrong == parties.receiver:
            # The receiver never sees a draft: for them it does not exist yet.
            with pytest.raises(Referral.DoesNotExist):
                SERVICE_CALLS[move.action](wrong, referral.pk)
        else:
            with pytest.raises(NotAllowed) as excinfo:
                SERVICE_CALLS[move.action](wrong, referral.pk)
            assert str(ACTION_LABELS[move.action]) in excinfo.value.message
        _assert_untouched(referral, move.source)

    actor = parties.acting(move.party)
    before = timezone.now()
    SERVICE_CALLS[move.action](actor, referral.pk)

    referral.refresh_from_db()
    assert referral.status == move.target
    stamped = STAMPED_FIELD.get(move.target)
    if stamped is not None:
        assert getattr(referral, stamped) >= before
    events = list(_moved_events(referral))
    assert len(events) == 1
    assert events[0].referral_status == move.target
    assert events[0].pathway_id == referral.pathway_id
    assert events[0].actor == (actor.user if actor else None)
    assert events[0].organisation == (actor.organisation if actor else None)
    if move.target == ReferralStatus.APPOINTMENT_SET:
        assert referral.appointments.filter(outcome=AppointmentOutcome.PENDING).count() == 1


# --- Forbidden moves ----------------------------------------------------------------------------

FORBIDDEN = [
    (status, action)
    for status, action in itertools.product(ReferralStatus, Action)
    if find_move(action, status) is None
]


def test_forbidden_pairs_complete_the_table():
    assert len(FORBIDDEN) + len(MOVES) == len(ReferralStatus) * len(Action)


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "action"), FORBIDDEN, ids=[f"{s}-{a}" for s, a in FORBIDDEN])
def test_move_missing_from_the_table_is_refused(status, action, parties):
    referral = referral_in(status, parties)
    party = ACTION_PARTY[action]
    actor = parties.acting(party)
    if status == ReferralStatus.DRAFT and party == Party.RECEIVER:
        with pytest.raises(Referral.DoesNotExist):  # drafts are invisible to the receiver
            SERVICE_CALLS[action](actor, referral.pk)
        actor = parties.sender  # the state is checked before the party: still forbidden

    with pytest.raises(ForbiddenTransition) as excinfo:
        SERVICE_CALLS[action](actor, referral.pk)

    message = excinfo.value.message
    assert f"« {ACTION_LABELS[action]} »" in message
    assert f"« {ReferralStatus(status).label} »" in message
    assert message.startswith("Impossible de")
    assert excinfo.value.status_code == 409
    _assert_untouched(referral, status)


@pytest.mark.django_db
def test_forbidden_transition_message_in_french(parties):
    referral = referral_in(ReferralStatus.CLOSED, parties)
    with pytest.raises(ForbiddenTransition) as excinfo:
        referral_accept(actor=parties.receiver, referral_id=referral.pk)
    assert excinfo.value.message == (
        "Impossible de « accepter » : l'orientation est à l'état « Clôturée »."
    )


# --- Specific rules -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_rescheduling_cancels_the_pending_appointment(parties):
    referral = referral_in(ReferralStatus.APPOINTMENT_SET, parties)
    previous = referral.appointments.get()
    new_start = timezone.now() + dt.timedelta(days=5)

    appointment = referral_set_appointment(
        actor=parties.receiver, referral_id=referral.pk, starts_at=new_start, channel="phone"
    )

    previous.refresh_from_db()
    assert previous.outcome == AppointmentOutcome.CANCELLED
    assert previous.outcome_recorded_at is not None
    assert appointment.pk != previous.pk
    assert appointment.outcome == AppointmentOutcome.PENDING
    assert appointment.starts_at == new_start
    assert appointment.channel == "phone"
    assert appointment.created_by == parties.receiver.user
    pending = referral.appointments.filter(outcome=AppointmentOutcome.PENDING)
    assert list(pending) == [appointment]
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.APPOINTMENT_SET


@pytest.mark.django_db
def test_withdrawal_cancels_the_pending_appointment(parties):
    referral = referral_in(ReferralStatus.APPOINTMENT_SET, parties)
    appointment = referral.appointments.get()

    referral_withdraw(actor=parties.sender, referral_id=referral.pk)

    appointment.refresh_from_db()
    assert appointment.outcome == AppointmentOutcome.CANCELLED
    assert appointment.outcome_recorded_at is not None
    assert appointment.history.first().history_user == parties.sender.user


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("service", "outcome", "status"),
    [
        (referral_record_attendance, AppointmentOutcome.ATTENDED, ReferralStatus.ATTENDED),
        (referral_record_no_show, AppointmentOutcome.NO_SHOW, ReferralStatus.NO_SHOW),
    ],
    ids=["attendance", "no-show"],
)
def test_recording_the_outcome_dates_the_pending_appointment(service, outcome, status, parties):
    referral = referral_in(ReferralStatus.APPOINTMENT_SET, parties)
    appointment = referral.appointments.get()

    service(actor=parties.receiver, referral_id=referral.pk)

    appointment.refresh_from_db()
    assert appointment.outcome == outcome
    assert appointment.outcome_recorded_at is not None
    referral.refresh_from_db()
    assert referral.status == status


@pytest.mark.django_db
def test_reinvitation_after_no_show(parties):
    referral = referral_in(ReferralStatus.APPOINTMENT_SET, parties)
    referral_record_no_show(actor=parties.receiver, referral_id=referral.pk)

    appointment = referral_set_appointment(
        actor=parties.receiver, referral_id=referral.pk, starts_at=_in_two_days()
    )

    referral.refresh_from_db()
    assert referral.status == ReferralStatus.APPOINTMENT_SET
    assert sorted(referral.appointments.values_list("outcome", flat=True)) == [
        AppointmentOutcome.NO_SHOW,
        AppointmentOutcome.PENDING,
    ]
    assert appointment.outcome == AppointmentOutcome.PENDING


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("refusal_reason", "comment", "field"),
    [
        ("", "", "refusal_reason"),
        ("not_a_reason", "", "refusal_reason"),
        ("other", "", "comment"),
        ("other", "   ", "comment"),
    ],
    ids=["missing", "unknown", "other-without-comment", "other-blank-comment"],
)
def test_refusal_requires_a_reason(refusal_reason, comment, field, parties):
    referral = referral_in(ReferralStatus.SENT, parties)
    with pytest.raises(InvalidInput) as excinfo:
        referral_refuse(
            actor=parties.receiver,
            referral_id=referral.pk,
            refusal_reason=refusal_reason,
            comment=comment,
        )
    assert field in excinfo.value.fields
    _assert_untouched(referral, ReferralStatus.SENT)


@pytest.mark.django_db
def test_refusal_other_with_comment_is_kept(parties):
    referral = referral_in(ReferralStatus.SENT, parties)
    referral_refuse(
        actor=parties.receiver,
        referral_id=referral.pk,
        refusal_reason="other",
        comment="  Structure fermée pour travaux  ",
    )
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REFUSED
    assert referral.refusal_reason == "other"
    assert referral.refusal_comment == "Structure fermée pour travaux"
    assert _moved_events(referral).get().text == "Autre motif"


@pytest.mark.django_db
@pytest.mark.parametrize("outcome", ["", "unknown"], ids=["missing", "unknown"])
def test_close_requires_an_outcome(outcome, parties):
    referral = referral_in(ReferralStatus.ATTENDED, parties)
    with pytest.raises(InvalidInput) as excinfo:
        referral_close(actor=parties.receiver, referral_id=referral.pk, outcome=outcome)
    assert "outcome" in excinfo.value.fields
    _assert_untouched(referral, ReferralStatus.ATTENDED)


@pytest.mark.django_db
def test_close_feeds_the_outcome_back(parties):
    referral = referral_in(ReferralStatus.ATTENDED, parties)
    referral_close(
        actor=parties.receiver, referral_id=referral.pk, outcome="job", comment=" CDD 6 mois "
    )
    referral.refresh_from_db()
    assert (referral.status, referral.outcome, referral.outcome_comment) == (
        ReferralStatus.CLOSED,
        "job",
        "CDD 6 mois",
    )


# --- What a referral shares ---------------------------------------------------------------------


def _create_to_receiver(parties: Parties, pathway, **kwargs) -> Referral:
    return referral_create(
        actor=parties.sender,
        pathway_id=pathway.pk,
        receiver_organisation_id=parties.receiver.organisation.pk,
        kind="substitution",
        reason="Accès à un chantier d'insertion",
        **kwargs,
    )


@pytest.mark.django_db
def test_referral_to_an_siae_without_consent_is_refused(parties):
    """An SIAE has no legal basis for identity and pathway, which every referral carries: the
    person's consent must be recorded first. The refusal names the missing categories."""
    pathway = PathwayFactory(owner_organisation=parties.sender.organisation)
    with pytest.raises(InvalidInput) as excinfo:
        _create_to_receiver(parties, pathway)
    receiver = parties.receiver.organisation
    assert str(excinfo.value) == (
        f"{receiver.name} n'a pas de base pour recevoir : Identité, "
        "Parcours, orientations et rendez-vous. Recueillez d'abord l'accord de la personne "
        "pour cet organisme."
    )
    assert excinfo.value.fields == {
        "shared_categories": ["Accord de la personne manquant pour ce destinataire."]
    }
    assert not Referral.objects.filter(pathway=pathway).exists()


@pytest.mark.django_db
def test_referral_sharing_beyond_the_consent_names_only_the_uncovered_category(parties):
    pathway = PathwayFactory(owner_organisation=parties.sender.organisation)
    ConsentFactory(
        person=pathway.person,
        organisations=[parties.receiver.organisation],
        categories=["identity", "pathway"],
    )
    with pytest.raises(InvalidInput) as excinfo:
        _create_to_receiver(parties, pathway, shared_categories=["social"])
    assert "recevoir : Diagnostic social et freins périphériques." in str(excinfo.value)
    assert "Identité" not in str(excinfo.value)
    assert not Referral.objects.filter(pathway=pathway).exists()

    referral = _create_to_receiver(parties, pathway)  # identity and pathway are covered
    assert referral.status == ReferralStatus.SENT
    assert referral.shared_categories == ["identity", "pathway"]


# --- Delays -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_acknowledge_due_skips_french_holidays_and_weekends(parties):
    pathway = PathwayFactory(owner_organisation=parties.sender.organisation)
    # Wednesday 13 May 2026; Thursday 14 May is Ascension Day. Five working days:
    # Fri 15 (1), [Sat 16, Sun 17], Mon 18 (2), Tue 19 (3), Wed 20 (4), Thu 21 (5).
    assert settings.PARCOURS_DEFAULT_ACKNOWLEDGE_WORKING_DAYS == 5
    with time_machine.travel(dt.datetime(2026, 5, 13, 10, 30, tzinfo=PARIS), tick=False):
        # An SIAE has no legal basis: the person's consent comes first (that same day).
        consent_record(
            actor=parties.sender,
            person_id=pathway.person_id,
            organisation_ids=[parties.receiver.organisation.pk],
            categories=["identity", "pathway"],
            purpose="Orientation vers un chantier d'insertion",
            evidence_kind="oral",
        )
        referral = referral_create(
            actor=parties.sender,
            pathway_id=pathway.pk,
            receiver_organisation_id=parties.receiver.organisation.pk,
            kind="substitution",
            reason="Accès à un chantier d'insertion",
        )

    referral.refresh_from_db()
    assert referral.status == ReferralStatus.SENT
    assert referral.sent_at == dt.datetime(2026, 5, 13, 10, 30, tzinfo=PARIS)
    assert referral.acknowledge_due_at == dt.datetime(2026, 5, 21, 23, 59, 59, tzinfo=PARIS)


@pytest.mark.django_db
def test_acknowledge_due_uses_the_agreement_delay(parties):
    AgreementFactory(
        parties=[parties.sender.organisation, parties.receiver.organisation],
        acknowledge_within_working_days=2,
    )
    referral = referral_in(ReferralStatus.DRAFT, parties)
    # Friday 8 May 2026 is Victory Day: from Thursday 7 May, two working days are Mon 11, Tue 12.
    with time_machine.travel(dt.datetime(2026, 5, 7, 16, 0, tzinfo=PARIS), tick=False):
        referral_send(actor=parties.sender, referral_id=referral.pk)
    referral.refresh_from_db()
    assert referral.acknowledge_due_at == dt.datetime(2026, 5, 12, 23, 59, 59, tzinfo=PARIS)


@pytest.mark.django_db
def test_first_appointment_due_uses_the_agreement_delay(parties):
    AgreementFactory(
        parties=[parties.sender.organisation, parties.receiver.organisation],
        first_appointment_within_days=8,
    )
    referral = referral_in(ReferralStatus.SENT, parties)

    referral_accept(actor=parties.receiver, referral_id=referral.pk)

    referral.refresh_from_db()
    assert settings.PARCOURS_DEFAULT_FIRST_APPOINTMENT_DAYS != 8
    assert referral.first_appointment_due_at == referral.accepted_at + dt.timedelta(days=8)


@pytest.mark.django_db
def test_agreement_of_other_organisations_does_not_apply(parties, make_actor):
    # An agreement the receiver signed with someone else does not cover this pair.
    AgreementFactory(
        parties=[parties.receiver.organisation, make_actor().organisation],
        first_appointment_within_days=8,
    )
    referral = referral_in(ReferralStatus.SENT, parties)

    referral_accept(actor=parties.receiver, referral_id=referral.pk)

    referral.refresh_from_db()
    expected = dt.timedelta(days=settings.PARCOURS_DEFAULT_FIRST_APPOINTMENT_DAYS)
    assert referral.first_appointment_due_at == referral.accepted_at + expected


@pytest.mark.django_db
def test_expired_agreement_does_not_apply(parties):
    AgreementFactory(
        parties=[parties.sender.organisation, parties.receiver.organisation],
        first_appointment_within_days=8,
        starts_on=dt.date(2020, 1, 1),
        ends_on=dt.date(2021, 12, 31),
    )
    referral = referral_in(ReferralStatus.SENT, parties)

    referral_accept(actor=parties.receiver, referral_id=referral.pk)

    referral.refresh_from_db()
    expected = dt.timedelta(days=settings.PARCOURS_DEFAULT_FIRST_APPOINTMENT_DAYS)
    assert referral.first_appointment_due_at == referral.accepted_at + expected


@pytest.mark.django_db
def test_receiver_delay_applies_without_agreement(parties):
    receiver = parties.receiver.organisation
    receiver.first_appointment_within_days = 10
    receiver.save()
    referral = referral_in(ReferralStatus.SENT, parties)

    referral_accept(actor=parties.receiver, referral_id=referral.pk)

    referral.refresh_from_db()
    assert referral.first_appointment_due_at == referral.accepted_at + dt.timedelta(days=10)
