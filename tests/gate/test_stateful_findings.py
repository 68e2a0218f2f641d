"""Regression tests of what the stateful test of the gate (tests/gate/test_gate_stateful.py)
found, each through the door a user would use. The grant intervals it found (an age condition
ending on the birthday, each relationship reason's own span) are in
tests/access/test_grant_intervals.py.
"""

import datetime as dt

import pytest
from django.utils import timezone

from parcours.access import grants_for
from parcours.gate.relations import relations_to_pathway
from parcours.models import Referral
from parcours.services.referral import referral_create

from ..factories import CareTeamMemberFactory, PathwayFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_a_care_team_member_sends_the_person_to_the_organisation_that_holds_her_file(
    make_actor, client_for
):
    """A Mission locale of the care team sends a young woman to the CCAS that holds her pathway:
    the CCAS has a basis for what a referral carries — it holds the file — and needs no consent
    of hers for it (it was refused "n'a pas de base pour recevoir")."""
    ccas = make_actor(kind="ccas", name="CCAS de Lens")
    mission = make_actor(mission_locale=True, name="Mission locale de Lens")
    young = PersonFactory(birth_date=timezone.localdate() - dt.timedelta(days=20 * 365))
    pathway = PathwayFactory(person=young, owner_organisation=ccas.organisation)
    CareTeamMemberFactory(pathway=pathway, organisation=mission.organisation)

    response = client_for(mission).post(
        "/api/v1/referrals/",
        {
            "pathway": pathway.pk,
            "receiver_organisation": ccas.organisation.pk,
            "kind": "upstream",
            "reason": "Aide au logement",
            "shared_categories": ["contact"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Referral.objects.get(pk=response.json()["id"]).receiver_organisation == ccas.organisation
    # Sharing what neither the CCAS's holding nor a consent covers is still refused.
    refused = client_for(mission).post(
        "/api/v1/referrals/",
        {
            "pathway": pathway.pk,
            "receiver_organisation": ccas.organisation.pk,
            "kind": "upstream",
            "reason": "Aide au logement",
            "shared_categories": ["health"],
        },
        format="json",
    )
    assert refused.status_code == 400


def test_a_draft_makes_its_sender_a_party_in_the_rows_at_once(make_actor):
    """Saving a draft recomputes the pathway: the rows name the organisation as the sender the
    gate says it is (relations journaled as the purpose), not at some later recompute."""
    holder = make_actor(kind="ccas", name="CCAS de Lens")
    france_travail = make_actor(name="France Travail Lens")
    pathway = PathwayFactory(owner_organisation=holder.organisation)
    referral_create(
        actor=holder,
        pathway_id=pathway.pk,
        receiver_organisation_id=france_travail.organisation.pk,
        kind="substitution",
        reason="Inscription",
        send=False,
    )
    held = grants_for(holder, [pathway.pk])[pathway.pk].relations
    assert held == {"owner", "referent", "sender"}
    assert held == set(relations_to_pathway(holder, pathway))


def test_a_draft_withdrawn_without_being_sent_gives_its_receiver_nothing(make_actor, client_for):
    """A CCAS drafts a referral to France Travail and abandons it: France Travail was never sent
    anything and has no relationship with the pathway — it used to see the person for the grace
    period under its public-service mission."""
    holder = make_actor(kind="ccas", name="CCAS de Lens")
    france_travail = make_actor(name="France Travail Lens")
    pathway = PathwayFactory(owner_organisation=holder.organisation)
    draft = referral_create(
        actor=holder,
        pathway_id=pathway.pk,
        receiver_organisation_id=france_travail.organisation.pk,
        kind="substitution",
        reason="Inscription",
        send=False,
    )
    url = f"/api/v1/pathways/{pathway.pk}/"
    assert client_for(france_travail).get(url).status_code == 404
    withdrawn = client_for(holder).post(f"/api/v1/referrals/{draft.pk}/withdraw/")
    assert withdrawn.status_code == 200
    assert client_for(france_travail).get(url).status_code == 404
    assert grants_for(france_travail, [pathway.pk])[pathway.pk].bases == {}
    # Sent, then withdrawn: France Travail received it and keeps it for the grace period.
    sent = referral_create(
        actor=holder,
        pathway_id=pathway.pk,
        receiver_organisation_id=france_travail.organisation.pk,
        kind="substitution",
        reason="Inscription",
    )
    client_for(holder).post(f"/api/v1/referrals/{sent.pk}/withdraw/")
    assert client_for(france_travail).get(url).json()["categories"] == ["identity", "pathway"]
