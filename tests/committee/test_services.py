"""The case committee's services (CLCVP): a proposal needs a basis; the coordinator builds the
agenda and records the decision, which creates the plan actions and referrals it says (as the
proposer, through their own services, linked back, all or nothing); every read and write of a
proposal journaled under the committee's purpose."""

import datetime as dt

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from parcours import access, gate
from parcours.errors import Conflict, InvalidInput, NotAllowed
from parcours.gate import Action
from parcours.gate.context import Door, door
from parcours.models import (
    AccessEvent,
    CommitteeFollowUp,
    CommitteeProposal,
    CommitteeStatus,
    DecisionOutcome,
    EventKind,
    Objective,
    PlanAction,
    ProposalStatus,
    Referral,
    ReferralStatus,
)
from parcours.rules import COMMITTEE_PURPOSE
from parcours.services import committee as services

from ..factories import ConsentFactory, OrganisationFactory, PathwayFactory
from .conftest import member

pytestmark = pytest.mark.django_db


def _in_days(days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


def _scheduled(world, attendees=()):
    proposal = world.propose()
    committee = world.session(attendees=attendees)
    services.committee_schedule(
        actor=world.coordinator, proposal_id=proposal.pk, committee_id=committee.pk
    )
    proposal.refresh_from_db()
    return proposal, committee


# --- Proposing ------------------------------------------------------------------------------------


def test_a_follower_proposes_under_a_legal_basis_it_holds_journaled_and_on_the_timeline(world):
    proposal = world.propose()

    assert proposal.status == ProposalStatus.PROPOSED
    assert proposal.employment_area_id == world.area.pk
    assert proposal.proposer_organisation_id == world.holder.pk
    row = AccessEvent.objects.get(object_type="committee_proposal", object_id=proposal.pk)
    assert row.operation == "write"
    assert row.purpose == COMMITTEE_PURPOSE
    assert row.basis == "legal:spe"
    assert row.detail["action"] == "committee.propose"
    assert row.person_id == world.pathway.person_id
    assert world.pathway.events.filter(kind=EventKind.COMMITTEE).count() == 1


def test_a_proposal_under_the_persons_consent_names_it_as_its_basis(world):
    consent = world.consent()

    proposal = world.propose(basis_kind="consent", consent_id=consent.pk, legal_basis="")

    assert proposal.consent_id == consent.pk
    row = AccessEvent.objects.get(object_type="committee_proposal", object_id=proposal.pk)
    assert row.basis == f"consent:{consent.pk}"


def test_a_proposal_without_consent_or_legal_basis_is_refused_in_french(world):
    # An SIAE holds the file of another person: no legal basis, no consent recorded.
    siae_pathway = PathwayFactory(owner_organisation=world.siae)

    with pytest.raises(InvalidInput) as refused:
        world.propose(actor=world.siae_counsellor, pathway_id=siae_pathway.pk)

    assert "accord de la personne" in refused.value.message
    assert refused.value.fields["legal_basis"] == [
        "Votre organisation ne dispose pas de cette base légale pour ce parcours."
    ]
    assert (
        services.proposal_bases(actor=world.siae_counsellor, pathway_id=siae_pathway.pk).legal == []
    )
    with pytest.raises(InvalidInput) as no_consent:
        world.propose(
            actor=world.siae_counsellor,
            pathway_id=siae_pathway.pk,
            basis_kind="consent",
            consent_id=None,
        )
    assert no_consent.value.fields["consent"] == [
        "Choisissez un accord de la personne en cours de validité."
    ]
    with pytest.raises(InvalidInput) as no_kind:
        world.propose(basis_kind="", legal_basis="")
    assert "basis_kind" in no_kind.value.fields
    assert not CommitteeProposal.objects.exists()


def test_a_revoked_consent_or_one_under_an_objection_is_no_basis(world):
    consent = world.consent()
    consent.revoked_at = timezone.now()
    consent.revoked_by = world.proposer.user
    consent.save()

    with pytest.raises(InvalidInput):
        world.propose(basis_kind="consent", consent_id=consent.pk, legal_basis="")
    assert not CommitteeProposal.objects.exists()


def test_texts_are_required_and_checked_together(world):
    with pytest.raises(InvalidInput) as refused:
        world.propose(reason=" ", question="", summary="x" * 2001)

    assert set(refused.value.fields) == {"reason", "question", "summary"}


def test_one_open_proposal_per_pathway(world):
    world.propose()

    with pytest.raises(Conflict):
        world.propose()


def test_who_may_propose_is_the_gates_table(world, make_actor):
    manager = member(world.holder, role="manager")
    with pytest.raises(NotAllowed):
        world.propose(actor=manager)
    # An organisation without any relation to the pathway does not even find it.
    with pytest.raises(ObjectDoesNotExist):
        world.propose(actor=world.siae_counsellor)
    # The coordinator sees no record: not found either.
    with pytest.raises(ObjectDoesNotExist):
        world.propose(actor=world.coordinator)
    assert not CommitteeProposal.objects.exists()


# --- Sessions and agenda --------------------------------------------------------------------------


def test_the_coordinator_builds_the_agenda_and_the_proposer_is_invited(world):
    first = world.propose()
    second_pathway = PathwayFactory(owner_organisation=world.holder)
    second = world.propose(pathway_id=second_pathway.pk)
    committee = world.session(attendees=[world.siae])

    services.committee_schedule(
        actor=world.coordinator, proposal_id=first.pk, committee_id=committee.pk
    )
    services.committee_schedule(
        actor=world.coordinator, proposal_id=second.pk, committee_id=committee.pk
    )
    services.committee_move(actor=world.coordinator, proposal_id=second.pk, offset=-1)

    agenda = list(committee.agenda.order_by("position").values_list("pk", "position", "status"))
    assert agenda == [
        (second.pk, 1, ProposalStatus.SCHEDULED),
        (first.pk, 2, ProposalStatus.SCHEDULED),
    ]
    assert set(committee.attendees.values_list("pk", flat=True)) == {world.siae.pk, world.holder.pk}


def test_only_the_areas_coordinator_schedules(world):
    proposal = world.propose()
    committee = world.session()

    with pytest.raises(NotAllowed):  # the proposer sees its proposal, may not schedule it
        services.committee_schedule(
            actor=world.proposer, proposal_id=proposal.pk, committee_id=committee.pk
        )
    with pytest.raises(ObjectDoesNotExist):  # another area's coordinator does not find it
        services.committee_schedule(
            actor=world.other_coordinator, proposal_id=proposal.pk, committee_id=committee.pk
        )
    with pytest.raises(NotAllowed):
        services.committee_create(
            actor=world.other_coordinator,
            employment_area_id=world.area.pk,
            meets_at=timezone.now() + dt.timedelta(days=3),
            place="Ailleurs",
            attendee_ids=[],
        )
    with pytest.raises(NotAllowed):
        services.committee_create(
            actor=world.proposer,
            employment_area_id=world.area.pk,
            meets_at=timezone.now() + dt.timedelta(days=3),
            place="Ici",
            attendee_ids=[],
        )
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PROPOSED


def test_a_session_in_the_past_or_without_place_is_refused_in_french(world):
    with pytest.raises(InvalidInput) as refused:
        services.committee_create(
            actor=world.coordinator,
            employment_area_id=world.area.pk,
            meets_at=timezone.now() - dt.timedelta(days=3),
            place="",
            attendee_ids=[10**9],
        )
    assert refused.value.fields["meets_at"] == ["La date du comité ne peut pas être passée."]
    assert refused.value.fields["place"] == ["Ce champ est obligatoire."]
    assert refused.value.fields["attendees"] == ["Organisation inconnue."]


def test_declining_needs_a_reason_the_proposer_reads(world):
    proposal = world.propose()

    with pytest.raises(InvalidInput):
        services.committee_decline(actor=world.coordinator, proposal_id=proposal.pk, reason=" ")
    services.committee_decline(
        actor=world.coordinator,
        proposal_id=proposal.pk,
        reason="Relève de l'équipe pluridisciplinaire rSa.",
    )

    read = services.committee_proposal_read(actor=world.proposer, proposal_id=proposal.pk)
    assert read.status == ProposalStatus.DECLINED
    assert read.declined_reason == "Relève de l'équipe pluridisciplinaire rSa."
    # Declined: the pathway may be proposed again.
    assert world.propose().status == ProposalStatus.PROPOSED


def test_cancelling_a_session_returns_its_items_to_the_pending_proposals(world):
    proposal, committee = _scheduled(world)

    services.committee_cancel(actor=world.coordinator, committee_id=committee.pk)

    proposal.refresh_from_db()
    committee.refresh_from_db()
    assert committee.status == CommitteeStatus.CANCELLED
    assert (proposal.status, proposal.committee_id, proposal.position) == (
        ProposalStatus.PROPOSED,
        None,
        None,
    )


# --- The decision ---------------------------------------------------------------------------------


def test_the_decision_creates_the_actions_and_referrals_it_says(world):
    # The SIAE receives the person: she consented to it.
    ConsentFactory(
        person=world.pathway.person,
        organisations=[world.siae],
        collected_by_organisation=world.holder,
    )
    proposal, committee = _scheduled(world, attendees=[world.siae, world.care_team])

    services.committee_decide(
        actor=world.coordinator,
        proposal_id=proposal.pk,
        decision="La Mission locale finance le permis ; orientation vers le chantier d'insertion.",
        outcome=DecisionOutcome.FOLLOW_UP,
        actions=[
            services.DecidedAction(
                label="Monter le dossier d'aide au permis",
                owner_organisation_id=world.care_team.pk,
                due_on=_in_days(30),
            ),
            services.DecidedAction(
                label="Point d'étape avec la personne",
                owner_organisation_id=world.holder.pk,
                due_on=_in_days(45),
            ),
        ],
        referrals=[
            services.DecidedReferral(
                receiver_organisation_id=world.siae.pk,
                reason="Contrat d'insertion proposé par le comité",
            )
        ],
    )

    proposal.refresh_from_db()
    committee.refresh_from_db()
    assert proposal.status == ProposalStatus.DECIDED
    assert proposal.outcome == DecisionOutcome.FOLLOW_UP
    assert proposal.decided_by == world.coordinator.user
    assert committee.status == CommitteeStatus.HELD
    # Exactly what the decision says: two actions under one new objective, one referral sent.
    actions = PlanAction.objects.filter(pathway=world.pathway).order_by("due_on")
    assert [(a.label, a.owner_organisation_id, a.due_on) for a in actions] == [
        ("Monter le dossier d'aide au permis", world.care_team.pk, _in_days(30)),
        ("Point d'étape avec la personne", world.holder.pk, _in_days(45)),
    ]
    objective = Objective.objects.get(pathway=world.pathway)
    assert objective.title.startswith("Décision du comité de parcours du ")
    assert {a.objective_id for a in actions} == {objective.pk}
    referral = Referral.objects.get(pathway=world.pathway)
    assert (referral.receiver_organisation_id, referral.status, referral.reason) == (
        world.siae.pk,
        ReferralStatus.SENT,
        "Contrat d'insertion proposé par le comité",
    )
    # Authored by the proposer's organisation, as its rules require.
    assert {a.created_by_organisation_id for a in actions} == {world.holder.pk}
    assert referral.sender_organisation_id == world.holder.pk
    assert referral.sender_user == world.proposer.user
    # Each linked back to the decision.
    links = CommitteeFollowUp.objects.filter(proposal=proposal)
    assert {f.plan_action_id for f in links if f.plan_action_id} == {a.pk for a in actions}
    assert [f.referral_id for f in links if f.referral_id] == [referral.pk]
    # Journaled: the coordinator's decision names what it created; the writes their own rows.
    decided = AccessEvent.objects.get(
        object_type="committee_proposal", detail__action="committee.decide"
    )
    assert decided.user == world.coordinator.user
    assert decided.purpose == COMMITTEE_PURPOSE
    assert sorted(decided.detail["plan_actions"]) == sorted(a.pk for a in actions)
    assert decided.detail["referrals"] == [referral.pk]
    assert AccessEvent.objects.filter(object_type="plan_action", operation="write").count() == 2
    assert AccessEvent.objects.filter(object_type="referral", operation="write").count() == 1


def test_a_follow_up_its_rules_refuse_undoes_the_whole_decision(world):
    # No consent for the SIAE: it has no basis to receive the person.
    proposal, _committee = _scheduled(world)

    with pytest.raises(InvalidInput) as refused:
        services.committee_decide(
            actor=world.coordinator,
            proposal_id=proposal.pk,
            decision="Orientation vers le chantier d'insertion.",
            outcome=DecisionOutcome.FOLLOW_UP,
            actions=[
                services.DecidedAction(
                    label="Point d'étape",
                    owner_organisation_id=world.holder.pk,
                    due_on=_in_days(10),
                )
            ],
            referrals=[
                services.DecidedReferral(
                    receiver_organisation_id=world.siae.pk, reason="Contrat d'insertion"
                )
            ],
        )

    assert "referrals.0.shared_categories" in refused.value.fields
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SCHEDULED
    assert not PlanAction.objects.exists()
    assert not Objective.objects.exists()
    assert not Referral.objects.exists()
    assert not CommitteeFollowUp.objects.exists()


def test_an_action_held_by_an_organisation_that_does_not_see_the_pathway_is_refused(world):
    proposal, _committee = _scheduled(world)

    with pytest.raises(InvalidInput) as refused:
        services.committee_decide(
            actor=world.coordinator,
            proposal_id=proposal.pk,
            decision="Action confiée au chantier.",
            outcome=DecisionOutcome.FOLLOW_UP,
            actions=[
                services.DecidedAction(
                    label="Accueil en immersion",
                    owner_organisation_id=world.siae.pk,
                    due_on=_in_days(10),
                )
            ],
        )

    assert "actions.0.owner_organisation" in refused.value.fields
    assert not PlanAction.objects.exists()


def test_the_outcome_and_the_follow_ups_agree(world):
    proposal, _committee = _scheduled(world)

    with pytest.raises(InvalidInput) as no_items:
        services.committee_decide(
            actor=world.coordinator,
            proposal_id=proposal.pk,
            decision="Des suites.",
            outcome=DecisionOutcome.FOLLOW_UP,
        )
    assert "outcome" in no_items.value.fields
    with pytest.raises(InvalidInput) as unknown:
        services.committee_decide(
            actor=world.coordinator, proposal_id=proposal.pk, decision="", outcome="nope"
        )
    assert set(unknown.value.fields) == {"decision", "outcome"}

    services.committee_decide(
        actor=world.coordinator,
        proposal_id=proposal.pk,
        decision="Le parcours continue ; à revoir dans trois mois.",
        outcome=DecisionOutcome.ADJOURNED,
    )
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.DECIDED
    assert not proposal.follow_ups.exists()


def test_only_the_coordinator_decides_and_only_once(world):
    proposal, _committee = _scheduled(world, attendees=[world.siae])

    for actor in (world.proposer, world.siae_counsellor):
        with door(Door.COMMAND), pytest.raises(NotAllowed):
            services.committee_decide(
                actor=actor,
                proposal_id=proposal.pk,
                decision="Sans suite.",
                outcome=DecisionOutcome.NO_FOLLOW_UP,
            )
    services.committee_decide(
        actor=world.coordinator,
        proposal_id=proposal.pk,
        decision="Sans suite.",
        outcome=DecisionOutcome.NO_FOLLOW_UP,
    )
    with pytest.raises(Conflict):
        services.committee_decide(
            actor=world.coordinator,
            proposal_id=proposal.pk,
            decision="Encore.",
            outcome=DecisionOutcome.NO_FOLLOW_UP,
        )
    refusals = AccessEvent.objects.filter(operation="denied", object_type="committee_proposal")
    assert refusals.count() == 2


def test_a_proposer_who_left_cannot_author_the_follow_ups(world):
    proposal, _committee = _scheduled(world)
    world.proposer.user.memberships.update(is_active=False)

    with pytest.raises(Conflict) as refused:
        services.committee_decide(
            actor=world.coordinator,
            proposal_id=proposal.pk,
            decision="Point d'étape.",
            outcome=DecisionOutcome.FOLLOW_UP,
            actions=[
                services.DecidedAction(
                    label="Point d'étape",
                    owner_organisation_id=world.holder.pk,
                    due_on=_in_days(10),
                )
            ],
        )
    assert "n'est plus membre" in refused.value.message


# --- Who reads what -------------------------------------------------------------------------------


def test_the_coordinator_reads_the_proposal_text_never_the_record(world):
    proposal = world.propose()

    read = services.committee_proposal_read(actor=world.coordinator, proposal_id=proposal.pk)

    assert read.summary.startswith("Personne motivée")
    row = AccessEvent.objects.get(
        object_type="committee_proposal", object_id=proposal.pk, operation="read"
    )
    assert (row.user, row.purpose, row.basis, row.detail["action"]) == (
        world.coordinator.user,
        COMMITTEE_PURPOSE,
        "legal:spe",
        "committee.read_item",
    )
    # The record: nothing, whatever the category.
    assert not access.pathways_visible_to(world.coordinator).exists()
    assert not access.persons_visible_to(world.coordinator).exists()
    assert access.grants_for(world.coordinator, [world.pathway.pk])[world.pathway.pk].bases == {}
    with pytest.raises(ObjectDoesNotExist):
        gate.pathway_for(world.coordinator, world.pathway.pk, Action.PATHWAY_READ, lock=False)


def test_attendees_read_the_text_and_only_their_own_bases_open_the_record(world):
    proposal, _committee = _scheduled(world, attendees=[world.siae, world.care_team])

    for attendee in (world.siae_counsellor, world.care_team_counsellor):
        read = services.committee_proposal_read(actor=attendee, proposal_id=proposal.pk)
        assert read.question == "Quel partenaire peut financer le permis ?"
    # The SIAE, invited, still has no basis on the person's record; the Mission locale has its
    # own (the person's consent): the usual scoped record.
    assert (
        not access.pathways_visible_to(world.siae_counsellor).filter(pk=world.pathway.pk).exists()
    )
    assert (
        access.pathways_visible_to(world.care_team_counsellor).filter(pk=world.pathway.pk).exists()
    )
    reads = AccessEvent.objects.filter(object_type="committee_proposal", operation="read")
    assert {r.organisation_id for r in reads} == {world.siae.pk, world.care_team.pk}
    assert {r.basis for r in reads} == {"legal:spe"}


def test_an_organisation_not_invited_or_another_area_does_not_find_the_proposal(world):
    proposal, _committee = _scheduled(world)
    uninvited = member(OrganisationFactory(employment_area=world.area))

    for actor in (world.siae_counsellor, uninvited, world.other_coordinator):
        with door(Door.COMMAND), pytest.raises(ObjectDoesNotExist):
            services.committee_proposal_read(actor=actor, proposal_id=proposal.pk)
        assert not access.committee_proposals_visible_to(actor).exists()
    # A pending proposal is not shown to attendees of future sessions before it is scheduled.
    pending = world.propose(pathway_id=PathwayFactory(owner_organisation=world.holder).pk)
    world.session(attendees=[world.siae])
    with door(Door.COMMAND), pytest.raises(ObjectDoesNotExist):
        services.committee_proposal_read(actor=world.siae_counsellor, proposal_id=pending.pk)
    denied = AccessEvent.objects.filter(operation="denied", object_type="committee_proposal")
    assert denied.count() == 4


def test_dpos_and_admins_see_no_committee(world, make_actor):
    proposal = world.propose()
    for role in ("dpo", "admin"):
        actor = member(world.holder, role=role)
        assert not access.committees_visible_to(actor).exists()
        with pytest.raises(ObjectDoesNotExist):
            services.committee_proposal_read(actor=actor, proposal_id=proposal.pk)
        with pytest.raises(NotAllowed):
            services.committee_lists(actor=actor)
