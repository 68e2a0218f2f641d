"""Services leave an attributed history (who, why) and keep pathway data coherent.

django-simple-history rows must name the acting user (`history_user`) and carry a French change
reason, for every write a service makes on a historied model.
"""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from parcours.actor import Actor
from parcours.errors import Conflict, InvalidInput, NotAllowed
from parcours.models import (
    AppointmentOutcome,
    Barrier,
    BarrierStatus,
    EventKind,
    Membership,
    ModalityPeriod,
    Pathway,
    PathwayEvent,
    PathwayStatus,
    Person,
    Referral,
    ReferralStatus,
    Role,
)
from parcours.services.agreement import agreement_accept, agreement_propose, agreement_update
from parcours.services.consent import consent_record, consent_revoke
from parcours.services.pathway import (
    barrier_record,
    pathway_close,
    pathway_set_modality,
    pathway_set_referent,
)
from parcours.services.person import person_create, person_update
from parcours.services.referral import (
    referral_accept,
    referral_close,
    referral_create,
    referral_expire,
    referral_record_attendance,
    referral_record_no_show,
    referral_refuse,
    referral_send,
    referral_set_appointment,
    referral_withdraw,
)

from .factories import MembershipFactory, OrganisationFactory, UserFactory


def assert_attributed(record, *, user, history_type: str | None = None) -> None:
    """The latest history row of `record` names `user` and gives a reason."""
    latest = record.history.order_by("-history_id").first()
    assert latest is not None, f"no history for {record!r}"
    assert latest.history_user == user
    assert latest.history_change_reason
    assert latest.history_change_reason.strip()
    if history_type is not None:
        assert latest.history_type == history_type


def _person(actor, **fields: object) -> Person:
    return person_create(
        actor=actor,
        first_name=fields.pop("first_name", "Léa"),
        last_name=fields.pop("last_name", "Martin"),
        birth_date=dt.date(2001, 3, 4),
        **fields,
    )


@pytest.fixture
def person(counsellor) -> Person:
    return _person(counsellor)


@pytest.fixture
def pathway(person) -> Pathway:
    return person.pathways.get()


@pytest.fixture
def receiver(make_actor):
    return make_actor(siae=True)


def _consent(actor, pathway: Pathway, receiver):
    """The person's consent for the receiver (an SIAE has no legal basis) to see what every
    referral carries: recorded before referring, as the referral service requires."""
    return consent_record(
        actor=actor,
        person_id=pathway.person_id,
        organisation_ids=[receiver.organisation.pk],
        categories=["identity", "pathway"],
        purpose="Orientation vers un chantier d'insertion",
        evidence_kind="oral",
    )


# --- Person, Pathway ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_person_create_and_update_are_attributed(counsellor, person):
    assert_attributed(person, user=counsellor.user, history_type="+")
    assert person.created_by == counsellor.user

    colleague = MembershipFactory(organisation=counsellor.organisation).user
    other = Actor(user=colleague, organisation=counsellor.organisation, role=Role.COUNSELLOR)
    person_update(actor=other, person_id=person.pk, changes={"phone": "0612345678"})

    assert_attributed(person, user=colleague, history_type="~")
    assert person.history.count() == 2
    assert person.history.first().phone == "0612345678"


@pytest.mark.django_db
def test_pathway_open_is_attributed(counsellor, pathway):
    assert_attributed(pathway, user=counsellor.user, history_type="+")
    assert pathway.referent == counsellor.user
    assert pathway.referent_organisation == counsellor.organisation
    period = pathway.modality_periods.get()
    assert (period.modality, period.ended_at, period.set_by) == (
        pathway.modality,
        None,
        counsellor.user,
    )
    assert pathway.events.filter(kind=EventKind.PATHWAY_OPENED).count() == 1


@pytest.mark.django_db
def test_set_modality_closes_the_previous_period(counsellor, pathway):
    first_period = pathway.modality_periods.get()

    pathway_set_modality(actor=counsellor, pathway_id=pathway.pk, modality="renforce")

    first_period.refresh_from_db()
    assert first_period.ended_at is not None
    current = ModalityPeriod.objects.get(pathway=pathway, ended_at__isnull=True)
    assert current.modality == "renforce"
    assert current.started_at == first_period.ended_at
    assert current.set_by == counsellor.user
    pathway.refresh_from_db()
    assert pathway.modality == "renforce"
    assert_attributed(pathway, user=counsellor.user, history_type="~")
    assert pathway.events.filter(kind=EventKind.MODALITY_CHANGED).get().text == "Renforcé"

    pathway_set_modality(actor=counsellor, pathway_id=pathway.pk, modality="accompagnement_global")
    assert pathway.modality_periods.count() == 3
    assert pathway.modality_periods.filter(ended_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_set_modality_to_the_same_value_changes_nothing(counsellor, pathway):
    pathway_set_modality(actor=counsellor, pathway_id=pathway.pk, modality=pathway.modality)
    assert pathway.modality_periods.count() == 1
    assert pathway.history.count() == 1


@pytest.mark.django_db
def test_set_modality_refuses_unknown_modality(counsellor, pathway):
    with pytest.raises(InvalidInput):
        pathway_set_modality(actor=counsellor, pathway_id=pathway.pk, modality="intensif")
    assert pathway.modality_periods.count() == 1


@pytest.mark.django_db
def test_barrier_record_dates_resolution(counsellor, pathway):
    barrier = barrier_record(
        actor=counsellor, pathway_id=pathway.pk, kind="mobility", status="identified"
    )
    assert barrier.resolved_at is None
    assert_attributed(barrier, user=counsellor.user, history_type="+")

    before = timezone.now()
    barrier = barrier_record(
        actor=counsellor,
        pathway_id=pathway.pk,
        kind="mobility",
        status=BarrierStatus.RESOLVED,
        detail="Permis obtenu",
    )

    barrier.refresh_from_db()
    assert barrier.status == BarrierStatus.RESOLVED
    assert barrier.resolved_at is not None
    assert barrier.resolved_at >= before
    assert barrier.detail == "Permis obtenu"
    assert Barrier.objects.filter(pathway=pathway).count() == 1  # updated, not duplicated
    assert_attributed(barrier, user=counsellor.user, history_type="~")
    assert list(barrier.history.values_list("status", flat=True)) == ["resolved", "identified"]

    # Reopened: no resolution date any more.
    barrier = barrier_record(
        actor=counsellor, pathway_id=pathway.pk, kind="mobility", status="in_progress"
    )
    barrier.refresh_from_db()
    assert barrier.resolved_at is None
    assert pathway.events.filter(kind=EventKind.BARRIER_RECORDED).count() == 3


@pytest.mark.django_db
def test_pathway_close_waits_for_open_referrals(counsellor, pathway, receiver):
    _consent(counsellor, pathway, receiver)
    referral = referral_create(
        actor=counsellor,
        pathway_id=pathway.pk,
        receiver_organisation_id=receiver.organisation.pk,
        kind="substitution",
        reason="Chantier d'insertion",
    )

    with pytest.raises(Conflict):
        pathway_close(actor=counsellor, pathway_id=pathway.pk, outcome="job")
    pathway.refresh_from_db()
    assert pathway.status == PathwayStatus.OPEN

    referral_withdraw(actor=counsellor, referral_id=referral.pk)
    pathway_close(actor=counsellor, pathway_id=pathway.pk, outcome="job")

    pathway.refresh_from_db()
    assert (pathway.status, pathway.outcome) == (PathwayStatus.CLOSED, "job")
    assert pathway.closed_at is not None
    assert not pathway.modality_periods.filter(ended_at__isnull=True).exists()
    assert_attributed(pathway, user=counsellor.user, history_type="~")
    assert pathway.events.filter(kind=EventKind.PATHWAY_CLOSED).get().text == "Emploi"

    with pytest.raises(Conflict):
        pathway_close(actor=counsellor, pathway_id=pathway.pk, outcome="job")


@pytest.mark.django_db
@pytest.mark.parametrize("outcome", ["", "unknown"], ids=["missing", "unknown"])
def test_pathway_close_requires_an_outcome(outcome, counsellor, pathway):
    with pytest.raises(InvalidInput) as excinfo:
        pathway_close(actor=counsellor, pathway_id=pathway.pk, outcome=outcome)
    assert "outcome" in excinfo.value.fields
    pathway.refresh_from_db()
    assert pathway.status == PathwayStatus.OPEN
    assert pathway.history.count() == 1


@pytest.mark.django_db
def test_pathway_close_only_by_owner(counsellor, pathway, receiver):
    _consent(counsellor, pathway, receiver)
    referral_create(
        actor=counsellor,
        pathway_id=pathway.pk,
        receiver_organisation_id=receiver.organisation.pk,
        kind="substitution",
        reason="Chantier d'insertion",
    )
    with pytest.raises(NotAllowed):
        pathway_close(actor=receiver, pathway_id=pathway.pk, outcome="job")


@pytest.mark.django_db
def test_pathway_set_referent_only_by_owner(counsellor, pathway, receiver, make_actor):
    # The receiver sees the pathway (through a sent referral) but does not own it.
    _consent(counsellor, pathway, receiver)
    referral_create(
        actor=counsellor,
        pathway_id=pathway.pk,
        receiver_organisation_id=receiver.organisation.pk,
        kind="simultaneous",
        reason="Accompagnement conjoint",
    )
    social_worker = make_actor(departement_council=True, role=Role.SOCIAL_WORKER)

    with pytest.raises(NotAllowed):
        pathway_set_referent(actor=receiver, pathway_id=pathway.pk, referent_id=receiver.user.pk)
    stranger = make_actor()
    with pytest.raises(Pathway.DoesNotExist):  # out of scope: not found
        pathway_set_referent(actor=stranger, pathway_id=pathway.pk, referent_id=stranger.user.pk)
    pathway.refresh_from_db()
    assert pathway.referent == counsellor.user

    pathway_set_referent(actor=counsellor, pathway_id=pathway.pk, referent_id=social_worker.user.pk)

    pathway.refresh_from_db()
    assert pathway.referent == social_worker.user
    assert pathway.referent_organisation == social_worker.organisation
    assert_attributed(pathway, user=counsellor.user, history_type="~")
    assert pathway.events.filter(kind=EventKind.REFERENT_CHANGED).count() == 1


@pytest.mark.django_db
def test_pathway_set_referent_requires_a_casework_member(counsellor, pathway, make_actor):
    manager = make_actor(organisation=counsellor.organisation, role=Role.MANAGER)
    with pytest.raises(InvalidInput):
        pathway_set_referent(actor=counsellor, pathway_id=pathway.pk, referent_id=manager.user.pk)
    with pytest.raises(InvalidInput):
        pathway_set_referent(actor=counsellor, pathway_id=pathway.pk, referent_id=UserFactory().pk)
    pathway.refresh_from_db()
    assert pathway.referent == counsellor.user


# --- Referral and Appointment -------------------------------------------------------------------


def _referral(actor, pathway, receiver, *, send: bool = True) -> Referral:
    _consent(actor, pathway, receiver)
    return referral_create(
        actor=actor,
        pathway_id=pathway.pk,
        receiver_organisation_id=receiver.organisation.pk,
        kind="substitution",
        reason="Chantier d'insertion",
        send=send,
    )


def _reasons(referral: Referral) -> list[tuple[str, object, str]]:
    rows = referral.history.order_by("history_id")
    return [(row.status, row.history_user, row.history_change_reason) for row in rows]


@pytest.mark.django_db
def test_every_referral_move_is_attributed(counsellor, pathway, receiver):
    referral = _referral(counsellor, pathway, receiver, send=False)
    referral_send(actor=counsellor, referral_id=referral.pk)
    referral_accept(actor=receiver, referral_id=referral.pk)
    appointment = referral_set_appointment(
        actor=receiver, referral_id=referral.pk, starts_at=timezone.now() + dt.timedelta(days=1)
    )
    with time_machine.travel(dt.timedelta(days=2)):  # the outcome once the appointment began
        referral_record_no_show(actor=receiver, referral_id=referral.pk)
        second = referral_set_appointment(
            actor=receiver, referral_id=referral.pk, starts_at=timezone.now() + dt.timedelta(days=1)
        )
    with time_machine.travel(second.starts_at + dt.timedelta(hours=1)):
        referral_record_attendance(actor=receiver, referral_id=referral.pk)
        referral_close(actor=receiver, referral_id=referral.pk, outcome="training")

    rows = _reasons(referral)
    assert [status for status, _user, _reason in rows] == [
        ReferralStatus.DRAFT,
        ReferralStatus.SENT,
        ReferralStatus.ACCEPTED,
        ReferralStatus.APPOINTMENT_SET,
        ReferralStatus.NO_SHOW,
        ReferralStatus.APPOINTMENT_SET,
        ReferralStatus.ATTENDED,
        ReferralStatus.CLOSED,
    ]
    users = [user for _status, user, _reason in rows]
    assert users == [counsellor.user] * 2 + [receiver.user] * 6
    reasons = [reason for _status, _user, reason in rows]
    assert all(reason and reason.strip() for reason in reasons)
    assert len(set(reasons)) >= 6  # each kind of move says why, in its own words
    # One timeline event per move (creation is not a move).
    assert referral.events.filter(kind=EventKind.REFERRAL_MOVED).count() == 7

    appointment.refresh_from_db()
    assert appointment.outcome == AppointmentOutcome.NO_SHOW
    assert [row.history_user for row in appointment.history.all()] == [receiver.user] * 2
    assert all(row.history_change_reason for row in appointment.history.all())


@pytest.mark.django_db
def test_refusal_withdrawal_and_expiry_are_attributed(counsellor, make_actor, receiver):
    refused = _referral(counsellor, _person(counsellor, first_name="A").pathways.get(), receiver)
    referral_refuse(actor=receiver, referral_id=refused.pk, refusal_reason="not_eligible")
    assert_attributed(refused, user=receiver.user)

    withdrawn = _referral(counsellor, _person(counsellor, first_name="B").pathways.get(), receiver)
    referral_withdraw(actor=counsellor, referral_id=withdrawn.pk)
    assert_attributed(withdrawn, user=counsellor.user)

    expired = _referral(counsellor, _person(counsellor, first_name="C").pathways.get(), receiver)
    referral_expire(referral_id=expired.pk)
    latest = expired.history.order_by("-history_id").first()
    assert latest.status == ReferralStatus.EXPIRED
    assert latest.history_user is None  # a system move: nobody to name
    assert "Expiration" in latest.history_change_reason
    event = PathwayEvent.objects.get(referral=expired, referral_status=ReferralStatus.EXPIRED)
    assert (event.actor, event.organisation) == (None, None)


@pytest.mark.django_db
def test_rescheduled_appointment_history(counsellor, pathway, receiver):
    referral = _referral(counsellor, pathway, receiver)
    referral_accept(actor=receiver, referral_id=referral.pk)
    first = referral_set_appointment(
        actor=receiver, referral_id=referral.pk, starts_at=timezone.now() + dt.timedelta(days=1)
    )
    assert_attributed(first, user=receiver.user, history_type="+")

    referral_set_appointment(
        actor=receiver, referral_id=referral.pk, starts_at=timezone.now() + dt.timedelta(days=2)
    )

    first.refresh_from_db()
    assert first.outcome == AppointmentOutcome.CANCELLED
    assert_attributed(first, user=receiver.user, history_type="~")
    assert first.history.count() == 2


# --- Consent -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_consent_record_and_revoke_are_attributed(counsellor, pathway, receiver):
    consent = _consent(counsellor, pathway, receiver)
    # One row for the consent, one for its organisations (m2m history), both attributed.
    rows = list(consent.history.order_by("history_id"))
    assert [row.history_type for row in rows] == ["+", "~"]
    assert {row.history_user for row in rows} == {counsellor.user}
    assert all(row.history_change_reason for row in rows)
    assert (consent.collected_by, consent.collected_by_organisation) == (
        counsellor.user,
        counsellor.organisation,
    )

    consent_revoke(actor=counsellor, consent_id=consent.pk)

    consent.refresh_from_db()
    assert consent.revoked_at is not None
    assert consent.revoked_by == counsellor.user
    assert_attributed(consent, user=counsellor.user, history_type="~")
    assert consent.history.count() == 3


# --- Agreement, Membership ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.COUNSELLOR, Role.SOCIAL_WORKER, Role.DPO])
def test_agreement_propose_requires_a_manager(role, make_actor):
    actor = make_actor(role=role)
    partner = OrganisationFactory(mission_locale=True)
    with pytest.raises(NotAllowed):
        agreement_propose(
            actor=actor,
            party_ids=[actor.organisation.pk, partner.pk],
            name="Convention jeunes",
            level="local",
            starts_on=dt.date(2025, 1, 1),
        )


@pytest.mark.django_db
def test_agreement_propose_accept_and_update_are_attributed(make_actor):
    manager = make_actor(role=Role.MANAGER)
    partner = make_actor(mission_locale=True, role=Role.MANAGER)

    agreement = agreement_propose(
        actor=manager,
        party_ids=[manager.organisation.pk, partner.organisation.pk],
        name="Convention jeunes",
        level="departemental",
        starts_on=dt.date(2025, 1, 1),
        first_appointment_within_days=8,
    )

    assert_attributed(agreement, user=manager.user, history_type="+")
    assert set(agreement.parties.all()) == {manager.organisation, partner.organisation}
    assert agreement.first_appointment_within_days == 8
    # Each party's answer has its own history: the proposer's acceptance and the pending partner
    # are both attributed to the proposing manager.
    own = agreement.signatures.get(organisation=manager.organisation)
    other = agreement.signatures.get(organisation=partner.organisation)
    assert (own.status, own.decided_by) == ("accepted", manager.user)
    assert (other.status, other.decided_by) == ("pending", None)
    assert_attributed(own, user=manager.user)
    assert_attributed(other, user=manager.user, history_type="+")

    agreement_accept(actor=partner, agreement_id=agreement.pk)
    other.refresh_from_db()
    assert (other.status, other.decided_by) == ("accepted", partner.user)
    assert_attributed(other, user=partner.user, history_type="~")
    assert other.history.first().history_change_reason == "Acceptée par l'organisation"

    agreement_update(actor=manager, agreement_id=agreement.pk, review_on=dt.date(2026, 1, 1))
    assert_attributed(agreement, user=manager.user, history_type="~")
    assert agreement.history.first().review_on == dt.date(2026, 1, 1)


@pytest.mark.django_db
def test_agreement_parties_must_include_the_actor(make_actor):
    manager = make_actor(role=Role.MANAGER)
    others = [OrganisationFactory().pk, OrganisationFactory().pk]
    with pytest.raises(InvalidInput):
        agreement_propose(
            actor=manager,
            party_ids=others,
            name="Convention",
            level="local",
            starts_on=dt.date(2025, 1, 1),
        )


@pytest.mark.django_db
def test_membership_history_exists_on_create():
    membership = MembershipFactory(role=Role.SOCIAL_WORKER)
    row = membership.history.get()
    assert row.history_type == "+"
    assert (row.user_id, row.organisation_id, row.role) == (
        membership.user_id,
        membership.organisation_id,
        Role.SOCIAL_WORKER,
    )
    assert Membership.history.filter(id=membership.pk).count() == 1
