"""The case committee in the API: every endpoint, an allow and a deny; the coordinator never
reaches the person's record; a proposal without basis answers 400 in French; the decision's
follow-ups are created."""

import datetime as dt

import pytest
from django.utils import timezone

from parcours.models import (
    AccessEvent,
    CommitteeProposal,
    CommitteeStatus,
    PlanAction,
    ProposalStatus,
    Referral,
)

from ..factories import ConsentFactory, PathwayFactory
from .conftest import member

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _soon() -> str:
    return (timezone.now() + dt.timedelta(days=5)).replace(microsecond=0).isoformat()


def _scheduled(world):
    proposal = world.propose()
    committee = world.session(attendees=[world.siae])
    from parcours.services import committee as services

    services.committee_schedule(
        actor=world.coordinator, proposal_id=proposal.pk, committee_id=committee.pk
    )
    return proposal, committee


def test_propose_allow_and_deny(world, client_for):
    payload = {
        "pathway": world.pathway.pk,
        "reason": "Bloqué",
        "question": "Qui peut aider ?",
        "summary": "Situation résumée.",
        "basis_kind": "legal",
        "legal_basis": "legal:spe",
    }
    answer = client_for(world.proposer).post(f"{API}/committee-proposals/", payload, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["basis"] == "legal:spe"
    assert answer.json()["reference"].startswith("CLCVP-")

    other = PathwayFactory(owner_organisation=world.holder)
    refused = client_for(world.coordinator).post(
        f"{API}/committee-proposals/", payload | {"pathway": other.pk}, format="json"
    )
    assert refused.status_code == 404


def test_a_proposal_without_basis_answers_400_with_field_messages(world, client_for):
    siae_pathway = PathwayFactory(owner_organisation=world.siae)
    answer = client_for(world.siae_counsellor).post(
        f"{API}/committee-proposals/",
        {
            "pathway": siae_pathway.pk,
            "reason": "Bloqué",
            "question": "Qui ?",
            "summary": "Résumé.",
            "basis_kind": "legal",
            "legal_basis": "legal:spe",
        },
        format="json",
    )
    assert answer.status_code == 400
    body = answer.json()
    assert "accord de la personne" in str(body)
    assert not CommitteeProposal.objects.exists()


def test_committee_create_list_and_detail(world, client_for):
    coordinator = client_for(world.coordinator)
    created = coordinator.post(
        f"{API}/committees/",
        {
            "employment_area": world.area.pk,
            "meets_at": _soon(),
            "place": "Visio",
            "attendees": [world.siae.pk],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    committee_id = created.json()["id"]
    assert coordinator.get(f"{API}/committees/").json()["results"][0]["id"] == committee_id
    assert coordinator.get(f"{API}/committees/{committee_id}/").status_code == 200
    # Invited: the SIAE sees the session; the proposer's organisation, not invited yet, not.
    assert (
        client_for(world.siae_counsellor).get(f"{API}/committees/{committee_id}/").status_code
        == 200
    )
    assert client_for(world.proposer).get(f"{API}/committees/{committee_id}/").status_code == 404
    assert client_for(world.other_coordinator).get(f"{API}/committees/").json()["results"] == []
    denied = client_for(world.proposer).post(
        f"{API}/committees/",
        {"employment_area": world.area.pk, "meets_at": _soon(), "place": "Ici"},
        format="json",
    )
    assert denied.status_code == 403


def test_attendees_and_cancel_allow_and_deny(world, client_for):
    _proposal, committee = _scheduled(world)
    url = f"{API}/committees/{committee.pk}"
    assert (
        client_for(world.siae_counsellor)
        .post(f"{url}/attendees/", {"attendees": []}, format="json")
        .status_code
        == 403
    )
    answer = client_for(world.coordinator).post(
        f"{url}/attendees/", {"attendees": [world.care_team.pk]}, format="json"
    )
    assert answer.status_code == 200
    # The proposer's organisation stays invited while its case is on the agenda.
    assert set(answer.json()["attendees"]) == {world.care_team.pk, world.holder.pk}
    assert client_for(world.holder and world.proposer).post(f"{url}/cancel/").status_code == 403
    assert client_for(world.coordinator).post(f"{url}/cancel/").status_code == 200
    committee.refresh_from_db()
    assert committee.status == CommitteeStatus.CANCELLED


def test_proposal_detail_is_a_journaled_read_for_whom_it_concerns(world, client_for):
    proposal, _committee = _scheduled(world)
    url = f"{API}/committee-proposals/{proposal.pk}/"

    answer = client_for(world.siae_counsellor).get(url)
    assert answer.status_code == 200
    assert answer.json()["summary"].startswith("Personne motivée")
    assert (
        AccessEvent.objects.filter(
            object_type="committee_proposal", operation="read", detail__door="api"
        ).count()
        == 1
    )
    assert client_for(world.other_coordinator).get(url).status_code == 404
    assert client_for(world.care_team_counsellor).get(url).status_code == 404  # not invited
    listed = client_for(world.coordinator).get(f"{API}/committee-proposals/").json()["results"]
    assert [p["id"] for p in listed] == [proposal.pk]
    assert "summary" not in listed[0]  # lists name nobody


def test_schedule_move_decline_allow_and_deny(world, client_for):
    proposal = world.propose()
    second = world.propose(pathway_id=PathwayFactory(owner_organisation=world.holder).pk)
    committee = world.session()
    url = f"{API}/committee-proposals"
    assert (
        client_for(world.proposer)
        .post(f"{url}/{proposal.pk}/schedule/", {"committee": committee.pk}, format="json")
        .status_code
        == 403
    )
    answer = client_for(world.coordinator).post(
        f"{url}/{proposal.pk}/schedule/", {"committee": committee.pk}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json()["position"] == 1
    assert (
        client_for(world.proposer)
        .post(f"{url}/{proposal.pk}/move/", {"offset": 1}, format="json")
        .status_code
        == 403
    )
    assert (
        client_for(world.coordinator)
        .post(f"{url}/{proposal.pk}/move/", {"offset": 1}, format="json")
        .status_code
        == 200
    )
    assert (
        client_for(world.proposer)
        .post(f"{url}/{second.pk}/decline/", {"reason": "Non."}, format="json")
        .status_code
        == 403
    )
    declined = client_for(world.coordinator).post(
        f"{url}/{second.pk}/decline/", {"reason": "Hors du champ du comité."}, format="json"
    )
    assert declined.status_code == 200
    assert declined.json()["status"] == ProposalStatus.DECLINED
    empty = client_for(world.coordinator).post(
        f"{url}/{proposal.pk}/decline/", {"reason": ""}, format="json"
    )
    assert empty.status_code == 400


def test_the_decision_through_the_api_creates_its_follow_ups(world, client_for):
    ConsentFactory(
        person=world.pathway.person,
        organisations=[world.siae],
        collected_by_organisation=world.holder,
    )
    proposal, _committee = _scheduled(world)
    url = f"{API}/committee-proposals/{proposal.pk}/decide/"
    payload = {
        "decision": "Orientation vers le chantier et point d'étape.",
        "outcome": "follow_up",
        "actions": [
            {
                "label": "Point d'étape",
                "owner_organisation": world.holder.pk,
                "due_on": (timezone.localdate() + dt.timedelta(days=20)).isoformat(),
            }
        ],
        "referrals": [{"receiver_organisation": world.siae.pk, "reason": "Contrat d'insertion"}],
    }
    assert client_for(world.siae_counsellor).post(url, payload, format="json").status_code == 403
    answer = client_for(world.coordinator).post(url, payload, format="json")
    assert answer.status_code == 200, answer.content
    follow_ups = answer.json()["follow_ups"]
    plan_action = PlanAction.objects.get(pathway=world.pathway)
    referral = Referral.objects.get(pathway=world.pathway)
    assert {(f["plan_action"], f["referral"]) for f in follow_ups} == {
        (plan_action.pk, None),
        (None, referral.pk),
    }
    bad = client_for(world.coordinator).post(url, payload, format="json")
    assert bad.status_code == 409


def test_the_coordinator_cannot_reach_the_persons_record(world, client_for):
    proposal, _committee = _scheduled(world)
    coordinator = client_for(world.coordinator)

    assert coordinator.get(f"{API}/committee-proposals/{proposal.pk}/").status_code == 200
    for url in (
        f"{API}/persons/{world.pathway.person_id}/",
        f"{API}/pathways/{world.pathway.pk}/",
        f"{API}/pathways/{world.pathway.pk}/timeline/",
        f"{API}/pathways/{world.pathway.pk}/diagnostic/",
    ):
        assert coordinator.get(url).status_code == 404, url
    assert coordinator.get(f"{API}/persons/").json()["results"] == []
    assert coordinator.get(f"{API}/pathways/").json()["results"] == []


def test_dpo_sees_no_committee(world, client_for):
    proposal = world.propose()
    dpo = client_for(member(world.holder, role="dpo"))
    assert dpo.get(f"{API}/committees/").json()["results"] == []
    assert dpo.get(f"{API}/committee-proposals/{proposal.pk}/").status_code == 404
