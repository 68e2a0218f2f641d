"""The case committee's pages: each, an allow and a deny; the coordinator's journey through the
forms (a session, the agenda, a decision that creates an action and a referral); bad input: the
form again in French with the values kept; the coordinator never reaches the person's page."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parcours.models import (
    AccessEvent,
    Committee,
    CommitteeProposal,
    CommitteeStatus,
    PlanAction,
    ProposalStatus,
    Referral,
)
from parcours.services import committee as services

from ..factories import ConsentFactory, PathwayFactory
from .conftest import member

pytestmark = pytest.mark.django_db

# The pages of the committee (tests/web/test_pages.py counts them in its table of pages).
COMMITTEE_PAGES = {
    "committees",
    "committee-create",
    "committee-detail",
    "committee-cancel",
    "committee-proposal",
    "committee-proposal-move",
    "committee-proposal-decline",
    "committee-proposal-decide",
    "committee-propose",
}
FORBIDDEN = "Accès refusé"
NOT_FOUND = "Page introuvable"


def _client(actor) -> Client:
    client = Client()
    client.force_login(actor.user)  # one membership each: the acting organisation
    return client


def _scheduled(world, attendees=()):
    proposal = world.propose()
    committee = world.session(attendees=attendees)
    services.committee_schedule(
        actor=world.coordinator, proposal_id=proposal.pk, committee_id=committee.pk
    )
    return proposal, committee


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_the_list_allow_and_deny(world):
    proposal = world.propose()
    page = _client(world.coordinator).get(reverse("web:committees"))
    assert page.status_code == 200
    text = page.content.decode()
    assert proposal.reference in text
    assert "Prévoir un comité" in text
    assert world.pathway.person.last_name not in text  # lists name nobody
    assert (
        "Prévoir un comité"
        not in _client(world.proposer).get(reverse("web:committees")).content.decode()
    )
    dpo = member(world.holder, role="dpo")
    assert _client(dpo).get(reverse("web:committees")).status_code == 403


def test_create_a_session_allow_deny_and_bad_input(world):
    url = reverse("web:committee-create")
    coordinator = _client(world.coordinator)
    assert coordinator.get(url).status_code == 200
    bad = coordinator.post(
        url,
        {
            "employment_area": world.area.pk,
            "meets_at": _local(timezone.now() - dt.timedelta(days=2)),
            "place": "Salle du conseil",
        },
    )
    assert bad.status_code == 400
    assert "La date du comité ne peut pas être passée." in bad.content.decode()
    assert 'value="Salle du conseil"' in bad.content.decode()  # nothing typed is lost
    made = coordinator.post(
        url,
        {
            "employment_area": world.area.pk,
            "meets_at": _local(timezone.now() + dt.timedelta(days=4)),
            "place": "Salle du conseil",
            "attendees": [world.siae.pk],
        },
    )
    assert made.status_code == 302
    committee = Committee.objects.get()
    assert made.url == reverse("web:committee-detail", args=[committee.pk])
    assert list(committee.attendees.all()) == [world.siae]
    assert _client(world.proposer).get(url).status_code == 403
    assert _client(world.proposer).post(url, {"place": "x"}).status_code == 403
    assert Committee.objects.count() == 1


def test_the_session_page_builds_the_agenda(world):
    proposal = world.propose()
    committee = world.session(attendees=[world.siae])
    url = reverse("web:committee-detail", args=[committee.pk])
    coordinator = _client(world.coordinator)

    page = coordinator.get(url)
    assert page.status_code == 200
    assert "Inscrire à l'ordre du jour" in page.content.decode()
    added = coordinator.post(url, {"proposal": proposal.pk})
    assert added.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.committee_id, proposal.position) == (
        ProposalStatus.SCHEDULED,
        committee.pk,
        1,
    )
    # An attendee reads the agenda, has no button, and its post is refused.
    siae = _client(world.siae_counsellor)
    seen = siae.get(url).content.decode()
    assert proposal.reference in seen and "Inscrire" not in seen
    assert siae.post(url, {"proposal": proposal.pk}).status_code == 403
    # Not invited: not found.
    assert _client(world.care_team_counsellor).get(url).status_code == 404


def test_move_and_cancel_allow_and_deny(world):
    _first, committee = _scheduled(world, attendees=[world.siae])
    second = world.propose(pathway_id=PathwayFactory(owner_organisation=world.holder).pk)
    services.committee_schedule(
        actor=world.coordinator, proposal_id=second.pk, committee_id=committee.pk
    )
    move = reverse("web:committee-proposal-move", args=[second.pk])
    assert _client(world.siae_counsellor).post(move, {"offset": "-1"}).status_code == 403
    assert _client(world.coordinator).post(move, {"offset": "-1"}).status_code == 302
    second.refresh_from_db()
    assert second.position == 1
    cancel = reverse("web:committee-cancel", args=[committee.pk])
    assert _client(world.siae_counsellor).post(cancel).status_code == 403
    assert _client(world.care_team_counsellor).post(cancel).status_code == 404
    assert _client(world.coordinator).post(cancel).status_code == 302
    committee.refresh_from_db()
    assert committee.status == CommitteeStatus.CANCELLED


def test_the_proposal_page_is_a_journaled_read_and_opens_no_record(world):
    proposal, _committee = _scheduled(world, attendees=[world.siae, world.care_team])
    url = reverse("web:committee-proposal", args=[proposal.pk])

    page = _client(world.coordinator).get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Quel partenaire peut financer le permis ?" in text
    assert "Ouvrir le dossier de la personne" not in text
    row = AccessEvent.objects.filter(object_type="committee_proposal", operation="read").get()
    assert (row.detail["door"], row.purpose, row.basis) == (
        "page",
        "Examen en comité de parcours",
        "legal:spe",
    )
    # The Mission locale has its own basis: a link to the record; the SIAE has none.
    assert "Ouvrir le dossier" in _client(world.care_team_counsellor).get(url).content.decode()
    assert "Ouvrir le dossier" not in _client(world.siae_counsellor).get(url).content.decode()
    assert _client(world.other_coordinator).get(url).status_code == 404
    # The coordinator, on the person's page and pathway pages: not found.
    coordinator = _client(world.coordinator)
    person = coordinator.get(reverse("web:person-detail", args=[world.pathway.person_id]))
    assert person.status_code == 404
    assert NOT_FOUND in person.content.decode()
    propose = coordinator.get(reverse("web:committee-propose", args=[world.pathway.pk]))
    assert propose.status_code == 404


def test_propose_from_the_person_page(world):
    person = _client(world.proposer).get(
        reverse("web:person-detail", args=[world.pathway.person_id])
    )
    url = reverse("web:committee-propose", args=[world.pathway.pk])
    assert url in person.content.decode()  # the button « Proposer au comité »
    page = _client(world.proposer).get(url)
    assert page.status_code == 200
    assert "N'écrivez que le nécessaire" in page.content.decode()
    bad = _client(world.proposer).post(url, {"reason": "Bloqué", "question": "", "summary": ""})
    assert bad.status_code == 400
    assert "Indiquez la base du partage avec le comité." in bad.content.decode()
    assert "Bloqué" in bad.content.decode()
    made = _client(world.proposer).post(
        url,
        {
            "reason": "Bloqué",
            "question": "Qui peut aider ?",
            "summary": "Résumé.",
            "basis": "legal:spe",
        },
    )
    assert made.status_code == 302
    assert CommitteeProposal.objects.get().legal_basis == "legal:spe"
    # A manager: the table refuses (403); an organisation without relation: not found.
    other = PathwayFactory(owner_organisation=world.holder)
    manager = member(world.holder, role="manager")
    assert (
        _client(manager).get(reverse("web:committee-propose", args=[other.pk])).status_code == 403
    )
    assert (
        _client(world.siae_counsellor)
        .get(reverse("web:committee-propose", args=[other.pk]))
        .status_code
        == 404
    )


def test_a_pathway_without_basis_says_how_to_get_one(world):
    siae_pathway = PathwayFactory(owner_organisation=world.siae)
    page = _client(world.siae_counsellor).get(
        reverse("web:committee-propose", args=[siae_pathway.pk])
    )
    assert page.status_code == 200
    assert "Aucune base pour partager ce dossier" in page.content.decode()
    refused = _client(world.siae_counsellor).post(
        reverse("web:committee-propose", args=[siae_pathway.pk]),
        {"reason": "r", "question": "q", "summary": "s", "basis": "legal:spe"},
    )
    assert refused.status_code == 400
    assert not CommitteeProposal.objects.exists()


def test_decline_allow_and_deny(world):
    proposal = world.propose()
    url = reverse("web:committee-proposal-decline", args=[proposal.pk])
    assert _client(world.proposer).get(url).status_code == 403
    assert _client(world.coordinator).post(url, {"reason": ""}).status_code == 400
    done = _client(world.coordinator).post(url, {"reason": "Relève de l'équipe rSa."})
    assert done.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.DECLINED


def test_the_decision_form_creates_an_action_and_a_referral(world):
    ConsentFactory(
        person=world.pathway.person,
        organisations=[world.siae],
        collected_by_organisation=world.holder,
    )
    proposal, _committee = _scheduled(world, attendees=[world.siae])
    url = reverse("web:committee-proposal-decide", args=[proposal.pk])
    assert _client(world.siae_counsellor).get(url).status_code == 403
    assert _client(world.coordinator).get(url).status_code == 200
    due = (timezone.localdate() + dt.timedelta(days=15)).isoformat()
    incomplete = _client(world.coordinator).post(
        url,
        {"decision": "Point d'étape", "outcome": "follow_up", "action_label": "Point d'étape"},
    )
    assert incomplete.status_code == 400
    assert "Complétez l&#x27;action" in incomplete.content.decode()
    done = _client(world.coordinator).post(
        url,
        {
            "decision": "Orientation vers le chantier, point d'étape.",
            "outcome": "follow_up",
            "action_label": "Point d'étape",
            "action_owner": world.holder.pk,
            "action_due_on": due,
            "referral_receiver": world.siae.pk,
            "referral_kind": "simultaneous",
            "referral_reason": "Contrat d'insertion",
        },
    )
    assert done.status_code == 302, done.content.decode()
    assert PlanAction.objects.get(pathway=world.pathway).label == "Point d'étape"
    assert Referral.objects.get(pathway=world.pathway).receiver_organisation == world.siae
    shown = _client(world.proposer).get(reverse("web:committee-proposal", args=[proposal.pk]))
    assert "Suites créées" in shown.content.decode()


def test_a_decision_its_follow_ups_refuse_shows_the_form_again(world):
    proposal, _committee = _scheduled(world)
    url = reverse("web:committee-proposal-decide", args=[proposal.pk])
    page = _client(world.coordinator).post(
        url,
        {
            "decision": "Orientation vers le chantier.",
            "outcome": "follow_up",
            "referral_receiver": world.siae.pk,
            "referral_kind": "simultaneous",
            "referral_reason": "Contrat d'insertion",
        },
    )
    assert page.status_code == 400
    assert "Accord de la personne manquant pour ce destinataire." in page.content.decode()
    assert "Orientation vers le chantier." in page.content.decode()
    assert not Referral.objects.exists()
