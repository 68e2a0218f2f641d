"""The receiving team's services (services/referral_assignment.py, referral_accept): who may
hand a received referral to whom (table-driven from the gate's table), in which states, and
what taking it on changes — the counsellor in charge, the care team, the grants, the caseload,
history, timeline and journal."""

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parcours import access
from parcours.errors import Conflict, InvalidInput, NotAllowed
from parcours.gate import Action
from parcours.gate.context import Door, door
from parcours.models import (
    ASSIGNABLE_STATUSES,
    AccessEvent,
    CareTeamMember,
    EventKind,
    PathwayEvent,
    Referral,
    ReferralStatus,
    Role,
)
from parcours.rules import RULES, Relation, role_categories
from parcours.services import referral as referral_services
from parcours.services.pathway import pathway_close
from parcours.services.referral_assignment import referral_assign
from tests.factories import CareTeamMemberFactory, MembershipFactory

from .conftest import TeamWorld, build_team_world

pytestmark = pytest.mark.django_db

# How each organisation of the world stands to the referral (gate/relations.py).
RELATIONS = {
    "ml": frozenset({Relation.RECEIVER}),
    "ft": frozenset({Relation.SENDER}),
    "ccas": frozenset(),
}


def _expected(org: str, role: str) -> str:
    if "pathway" not in role_categories(role) or org == "ccas":
        return "not_found"  # no pathway category, or no relationship: like a missing record
    return "ok" if RULES[Action.REFERRAL_ASSIGN].allows(role, RELATIONS[org]) else "not_allowed"


CASES = [(org, role) for org in RELATIONS for role in Role.values]


@pytest.mark.parametrize(("org", "role"), CASES, ids=lambda v: str(v))
def test_every_role_and_relation_gets_what_the_table_says(org, role):
    w = build_team_world()
    actor = w.actor(org, role)
    expected = _expected(org, role)
    before = AccessEvent.objects.count()
    with door(Door.COMMAND):
        if expected == "ok":
            referral_assign(actor=actor, referral_id=w.referral.pk, user_id=w.ml_counsellor.user.pk)
        else:
            with pytest.raises((NotAllowed, ObjectDoesNotExist)) as caught:
                referral_assign(
                    actor=actor, referral_id=w.referral.pk, user_id=w.ml_counsellor.user.pk
                )
            assert isinstance(
                caught.value, NotAllowed if expected == "not_allowed" else ObjectDoesNotExist
            )
    rows = list(AccessEvent.objects.order_by("id")[before:])
    referral = Referral.objects.get(pk=w.referral.pk)
    if expected == "ok":
        assert referral.assigned_user_id == w.ml_counsellor.user.pk
        (row,) = rows
        assert (row.operation, row.object_type, row.object_id) == ("write", "referral", referral.pk)
        assert row.categories == ["pathway"]
        assert row.detail == {"door": "command", "action": "referral.assign"}
        assert row.person_id == w.pathway.person_id
        assert row.purpose == "Traitement d'une orientation reçue"
    else:
        assert referral.assigned_user_id is None
        (row,) = rows
        assert row.operation == "denied"
        refusal = "not_allowed" if expected == "not_allowed" else "not_found"
        assert row.detail == {"door": "command", "action": "referral.assign", "refusal": refusal}


def test_the_table_sends_the_receivers_case_workers_and_managers_only():
    rule = RULES[Action.REFERRAL_ASSIGN]
    assert rule.roles == {Role.COUNSELLOR, Role.SOCIAL_WORKER, Role.MANAGER}
    assert rule.relations == {Relation.RECEIVER}
    for relation in (Relation.SENDER, Relation.OWNER, Relation.CARE_TEAM):
        assert not rule.allows(Role.MANAGER, {relation})
    assert "destinataire" in rule.refusal_for(Role.COUNSELLOR)
    assert rule.refusal_for(Role.DPO).startswith("Seuls les conseillers")
    assert RULES[Action.BE_REFERRAL_ASSIGNEE].roles == {Role.COUNSELLOR, Role.SOCIAL_WORKER}


def test_a_manager_hands_the_referral_to_a_counsellor_with_history_and_timeline(team):
    referral = referral_assign(
        actor=team.ml_manager, referral_id=team.referral.pk, user_id=team.ml_counsellor.user.pk
    )
    assert referral.assigned_user == team.ml_counsellor.user
    latest = Referral.objects.get(pk=referral.pk).history.first()
    assert latest.assigned_user_id == team.ml_counsellor.user.pk
    assert latest.history_user == team.ml_manager.user
    assert latest.history_change_reason == "Orientation confiée à un conseiller"
    event = PathwayEvent.objects.get(pathway=team.pathway, kind=EventKind.REFERRAL_ASSIGNED)
    assert event.referral_id == referral.pk
    assert event.actor == team.ml_manager.user
    assert event.organisation == team.ml
    assert event.text == "Conseiller en charge : Inès Moreau"
    assert event.get_kind_display() == "Orientation confiée à un conseiller"


def test_a_counsellor_takes_one_on_or_hands_it_to_a_colleague(team):
    referral_assign(
        actor=team.ml_counsellor, referral_id=team.referral.pk, user_id=team.ml_counsellor.user.pk
    )
    referral_assign(
        actor=team.ml_counsellor,
        referral_id=team.referral.pk,
        user_id=team.ml_social_worker.user.pk,
    )
    referral = Referral.objects.get(pk=team.referral.pk)
    assert referral.assigned_user == team.ml_social_worker.user
    assert [h.assigned_user_id for h in referral.history.order_by("history_id")][-2:] == [
        team.ml_counsellor.user.pk,
        team.ml_social_worker.user.pk,
    ]


def test_assigning_the_counsellor_already_in_charge_writes_nothing(team):
    referral_assign(
        actor=team.ml_manager, referral_id=team.referral.pk, user_id=team.ml_counsellor.user.pk
    )
    counts = (
        AccessEvent.objects.count(),
        Referral.history.count(),
        PathwayEvent.objects.count(),
    )
    referral_assign(
        actor=team.ml_manager, referral_id=team.referral.pk, user_id=team.ml_counsellor.user.pk
    )
    assert counts == (
        AccessEvent.objects.count(),
        Referral.history.count(),
        PathwayEvent.objects.count(),
    )


def _refused_assignee(team: TeamWorld, user_id, message: str) -> None:
    before = (Referral.history.count(), PathwayEvent.objects.count(), AccessEvent.objects.count())
    with pytest.raises(InvalidInput) as caught:
        referral_assign(actor=team.ml_manager, referral_id=team.referral.pk, user_id=user_id)
    assert caught.value.fields == {"user": [message]}
    assert Referral.objects.get(pk=team.referral.pk).assigned_user_id is None
    after = (Referral.history.count(), PathwayEvent.objects.count(), AccessEvent.objects.count())
    assert after == before


NOT_A_MEMBER = "Cette personne n'est pas membre actif de Mission locale de Lens."
NOT_A_CASE_WORKER = "Une orientation se confie à un conseiller ou à un travailleur social."


@pytest.mark.parametrize(
    ("who", "message"),
    [
        (lambda t: 999_999, "Utilisateur inconnu."),
        (lambda t: "abc", "Utilisateur inconnu."),
        (lambda t: None, "Utilisateur inconnu."),
        (lambda t: t.deactivated.user_id, "Utilisateur inconnu."),
        (lambda t: t.ft_counsellor.user.pk, NOT_A_MEMBER),  # the sender's own counsellor
        (lambda t: t.left.user_id, NOT_A_MEMBER),
        (lambda t: t.ml_manager.user.pk, NOT_A_CASE_WORKER),
        (
            lambda t: MembershipFactory(organisation=t.ml, role=Role.DPO).user_id,
            NOT_A_CASE_WORKER,
        ),
        (
            lambda t: MembershipFactory(organisation=t.ml, role=Role.ADMIN).user_id,
            NOT_A_CASE_WORKER,
        ),
    ],
    ids=[
        "unknown",
        "not-an-id",
        "none",
        "deactivated-account",
        "senders-counsellor",
        "left-the-organisation",
        "manager",
        "dpo",
        "admin",
    ],
)
def test_the_assignee_is_an_active_case_worker_of_the_receiver(team, who, message):
    _refused_assignee(team, who(team), message)


@pytest.mark.parametrize("status", [s for s in ReferralStatus.values if s != "draft"])
def test_only_a_referral_its_receiver_still_handles_is_assigned(team, status):
    referral = team.received(**{status: True})  # the factory's trait of that state
    if status in ASSIGNABLE_STATUSES:
        referral_assign(
            actor=team.ml_manager, referral_id=referral.pk, user_id=team.ml_counsellor.user.pk
        )
        assert Referral.objects.get(pk=referral.pk).assigned_user == team.ml_counsellor.user
        return
    with pytest.raises(Conflict) as caught:
        referral_assign(
            actor=team.ml_manager, referral_id=referral.pk, user_id=team.ml_counsellor.user.pk
        )
    label = ReferralStatus(status).label
    assert str(caught.value.message) == (
        f"Cette orientation est à l'état « {label} » : elle ne se confie plus à un conseiller."
    )
    assert Referral.objects.get(pk=referral.pk).assigned_user_id is None


def test_a_draft_is_not_the_receivers_to_see(team):
    draft = team.received()
    assert draft.status == ReferralStatus.DRAFT
    with pytest.raises(Referral.DoesNotExist):
        referral_assign(
            actor=team.ml_manager, referral_id=draft.pk, user_id=team.ml_counsellor.user.pk
        )


# --- accepting, and taking the referral on ------------------------------------------------------


def _in_care_team(team: TeamWorld) -> bool:
    return CareTeamMember.objects.filter(
        pathway=team.pathway, organisation=team.ml, ended_at__isnull=True
    ).exists()


def test_the_counsellor_who_accepts_is_in_charge_and_the_receiver_joins_the_care_team(team):
    assert access.categories_for(team.ml_counsellor, [team.pathway.pk])[team.pathway.pk] == {
        "identity",
        "pathway",
    }  # what the referral shares, capped
    referral_services.referral_accept(actor=team.ml_counsellor, referral_id=team.referral.pk)
    referral = Referral.objects.get(pk=team.referral.pk)
    assert referral.status == ReferralStatus.ACCEPTED
    assert referral.assigned_user == team.ml_counsellor.user
    # One history row for the acceptance, which names the counsellor in charge.
    latest = referral.history.first()
    assert latest.history_change_reason == "Acceptation de l'orientation"
    assert latest.assigned_user_id == team.ml_counsellor.user.pk
    member = CareTeamMember.objects.get(pathway=team.pathway, organisation=team.ml)
    assert member.added_by == team.ml_counsellor.user
    assert member.history.first().history_change_reason == (
        f"Ajout à l'équipe de suivi : orientation {referral.reference} prise en charge"
    )
    # The grants are recomputed in the same transaction: the care team sees what its own bases
    # (Léa's consent to the Mission locale) cover, no longer only what the referral shared.
    seen = access.categories_for(team.ml_counsellor, [team.pathway.pk])[team.pathway.pk]
    assert seen == {"identity", "pathway", "contact"}
    # One user action, one journal row: the acceptance.
    assert list(
        AccessEvent.objects.filter(object_type="referral", object_id=referral.pk)
        .filter(operation="write")
        .values_list("detail__action", flat=True)
    ) == ["referral.accept"]


def test_a_manager_who_accepts_leaves_it_to_dispatch(team):
    referral_services.referral_accept(actor=team.ml_manager, referral_id=team.referral.pk)
    referral = Referral.objects.get(pk=team.referral.pk)
    assert referral.status == ReferralStatus.ACCEPTED
    assert referral.assigned_user_id is None
    assert not _in_care_team(team)  # nobody follows the person yet
    referral_assign(
        actor=team.ml_manager, referral_id=referral.pk, user_id=team.ml_colleague.user.pk
    )
    assert _in_care_team(team)
    assert Referral.objects.get(pk=referral.pk).assigned_user == team.ml_colleague.user


def test_assigned_before_answering_the_care_team_waits_for_the_acceptance(team):
    referral_assign(
        actor=team.ml_manager, referral_id=team.referral.pk, user_id=team.ml_colleague.user.pk
    )
    assert not _in_care_team(team)  # the referral may still be refused
    # Whoever accepts, the counsellor already in charge stays in charge.
    referral_services.referral_accept(actor=team.ml_counsellor, referral_id=team.referral.pk)
    assert Referral.objects.get(pk=team.referral.pk).assigned_user == team.ml_colleague.user
    assert _in_care_team(team)


def test_a_refused_referral_leaves_no_trace_in_the_care_team(team):
    referral_assign(
        actor=team.ml_manager, referral_id=team.referral.pk, user_id=team.ml_colleague.user.pk
    )
    referral_services.referral_refuse(
        actor=team.ml_colleague, referral_id=team.referral.pk, refusal_reason="no_capacity"
    )
    assert not _in_care_team(team)
    assert not access.caseload_of(team.ml_colleague).exists()


def test_an_organisation_already_in_the_care_team_is_not_added_twice(team):
    CareTeamMemberFactory(pathway=team.pathway, organisation=team.ml)
    referral_services.referral_accept(actor=team.ml_counsellor, referral_id=team.referral.pk)
    assert CareTeamMember.objects.filter(pathway=team.pathway, organisation=team.ml).count() == 1


def test_the_pathways_holder_receiving_back_does_not_join_its_own_care_team(team):
    """A return referral (the person comes back to the organisation that holds the file)."""
    back = team.received(accepted=True)
    back.pathway.owner_organisation = team.ml
    back.pathway.referent_organisation = team.ml
    back.pathway.save()
    back.sender_organisation = team.ft
    back.save()
    referral_assign(actor=team.ml_manager, referral_id=back.pk, user_id=team.ml_counsellor.user.pk)
    assert not CareTeamMember.objects.filter(pathway=back.pathway).exists()


# --- the caseload ----------------------------------------------------------------------------


def test_the_caseload_holds_pathways_followed_as_referent_or_in_charge_of_an_open_referral(team):
    own = team.received(sent=True)  # another person France Travail oriented
    own.pathway.referent = team.ml_counsellor.user  # (named référent elsewhere: still hers)
    own.pathway.save()
    assert set(access.caseload_of(team.ml_counsellor)) == {own.pathway}
    referral_assign(
        actor=team.ml_manager, referral_id=team.referral.pk, user_id=team.ml_counsellor.user.pk
    )
    assert set(access.caseload_of(team.ml_counsellor)) == {own.pathway, team.pathway}
    assert not access.caseload_of(team.ml_colleague).exists()  # not the whole team's
    # Handed to a colleague: it moves to their caseload.
    referral_assign(
        actor=team.ml_manager, referral_id=team.referral.pk, user_id=team.ml_colleague.user.pk
    )
    assert set(access.caseload_of(team.ml_counsellor)) == {own.pathway}
    assert set(access.caseload_of(team.ml_colleague)) == {team.pathway}


def test_a_finished_referral_leaves_the_caseload(team):
    referral_services.referral_accept(actor=team.ml_counsellor, referral_id=team.referral.pk)
    assert set(access.caseload_of(team.ml_counsellor)) == {team.pathway}
    referral_services.referral_withdraw(actor=team.ft_counsellor, referral_id=team.referral.pk)
    assert not access.caseload_of(team.ml_counsellor).exists()
    # The care team stays until the pathway's holders end it (with a reason).
    assert _in_care_team(team)


def test_a_closed_pathway_leaves_the_caseload(team):
    referral = team.received(accepted=True)
    referral_assign(
        actor=team.ml_manager, referral_id=referral.pk, user_id=team.ml_counsellor.user.pk
    )
    assert referral.pathway in set(access.caseload_of(team.ml_counsellor))
    referral_services.referral_close(
        actor=team.ml_counsellor, referral_id=referral.pk, outcome="support_started"
    )
    pathway_close(actor=team.ft_counsellor, pathway_id=referral.pathway_id, outcome="job")
    assert referral.pathway not in set(access.caseload_of(team.ml_counsellor))


def test_the_caseload_costs_the_same_whatever_its_size(team):
    def queries_for_the_caseload() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            size = len(list(access.caseload_of(team.ml_counsellor)))
        return len(queries), size

    def add(n: int) -> None:
        for _ in range(n):
            referral = team.received(accepted=True)
            referral_assign(
                actor=team.ml_manager, referral_id=referral.pk, user_id=team.ml_counsellor.user.pk
            )

    add(1)
    queries_at_1, size = queries_for_the_caseload()
    assert size == 1
    add(4)
    # The caseload itself, and the user's personal grants (read once per request).
    assert queries_for_the_caseload() == (queries_at_1, 5)
    assert queries_at_1 <= 2
