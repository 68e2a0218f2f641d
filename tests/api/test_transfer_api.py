"""Réorientation through the API's referral moves (issue 14): the receiver proposes
(`propose-transfer/`), the sender confirms (`confirm-transfer/`) or declines
(`decline-transfer/`); the referral shows where the person went, the new one where it comes from.
Bad input is a French 400 on its field, the wrong party a French 403, an unrelated organisation
404. The services' own rules: tests/test_referral_transfer.py."""

import pytest

from parcours.models import AccessEvent, Referral, ReferralStatus
from tests.factories import (
    AgreementFactory,
    ConsentFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

REASON = "Un chantier plus proche du domicile"


@pytest.fixture
def outgoing(world):
    """Sent by `home` (its counsellor `me`) to the SIAE, which may answer through its counsellor;
    the person consented to a second SIAE, `partner`, receiving what the referral carries."""
    referral = ReferralFactory(
        pathway=PathwayFactory(owner_organisation=world.home),
        sender_user=world.me.user,
        receiver_organisation=world.siae,
        sent=True,
    )
    referral.partner = OrganisationFactory(siae=True, name="Régie de quartier")
    ConsentFactory(person=referral.pathway.person, organisations=[referral.partner])
    return referral


def _post(client, referral, move, payload=None):
    return client.post(f"/api/v1/referrals/{referral.pk}/{move}/", payload or {}, format="json")


def test_propose_then_confirm(world, client_for, outgoing):
    siae = client_for(world.siae_counsellor)
    before = siae.get(f"/api/v1/referrals/{outgoing.pk}/").json()
    assert "propose_transfer" in before["available_actions"]
    assert "transfer_under_agreement" not in before["available_actions"]

    proposed = _post(
        siae,
        outgoing,
        "propose-transfer",
        {"receiver_organisation": outgoing.partner.pk, "reason": REASON},
    )
    assert proposed.status_code == 200, proposed.content
    body = proposed.json()
    assert body["status"] == "transfer_proposed"
    assert body["transfer_organisation"]["name"] == "Régie de quartier"
    assert body["transfer_reason"] == REASON
    assert body["transfer_proposed_at"]
    assert body["available_actions"] == []

    me = client_for(world.me)
    assert me.get(f"/api/v1/referrals/{outgoing.pk}/").json()["available_actions"] == [
        "confirm_transfer",
        "decline_transfer",
        "withdraw",
    ]
    confirmed = _post(me, outgoing, "confirm-transfer")
    assert confirmed.status_code == 200, confirmed.content
    body = confirmed.json()
    assert body["status"] == "transferred"
    assert body["transferred_at"]
    new = Referral.objects.get(pk=body["transferred_to"])
    follows = me.get(f"/api/v1/referrals/{new.pk}/").json()
    assert follows["transferred_from"] == outgoing.pk
    assert follows["status"] == "sent"
    assert follows["receiver_organisation"]["id"] == outgoing.partner.pk
    assert follows["sender_organisation"]["id"] == world.home.pk


def test_within_an_agreement_the_proposal_is_done_at_once(world, client_for, outgoing):
    AgreementFactory(parties=[world.siae, outgoing.partner], receiver_may_transfer=True)
    response = _post(
        client_for(world.siae_counsellor),
        outgoing,
        "propose-transfer",
        {"receiver_organisation": outgoing.partner.pk, "reason": REASON},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "transferred"
    assert response.json()["transferred_to"]


def test_decline_sends_it_back_to_the_receiver(world, client_for, outgoing):
    _post(
        client_for(world.siae_counsellor),
        outgoing,
        "propose-transfer",
        {"receiver_organisation": outgoing.partner.pk, "reason": REASON},
    )
    declined = _post(
        client_for(world.me), outgoing, "decline-transfer", {"comment": "Elle préfère rester"}
    )
    assert declined.status_code == 200, declined.content
    assert declined.json()["status"] == "sent"
    assert declined.json()["transfer_organisation"] is None
    seen = client_for(world.siae_counsellor).get(f"/api/v1/referrals/{outgoing.pk}/").json()
    assert seen["available_actions"][:3] == ["accept", "refuse", "propose_transfer"]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"reason": REASON}, "receiver_organisation", "Ce champ est obligatoire."),
        ({"receiver_organisation": "abc", "reason": REASON}, "receiver_organisation", None),
        ({"receiver_organisation": 999999999, "reason": REASON}, "receiver_organisation", None),
        ({"receiver_organisation": "partner"}, "reason", "Ce champ est obligatoire."),
        ({"receiver_organisation": "partner", "reason": "  "}, "reason", None),
        ({"receiver_organisation": "partner", "reason": "x" * 2001}, "reason", None),
        ({"receiver_organisation": "siae", "reason": REASON}, "receiver_organisation", None),
        ({"receiver_organisation": "home", "reason": REASON}, "receiver_organisation", None),
        (
            {"receiver_organisation": "partner", "receiver_service": "inactive", "reason": REASON},
            "receiver_service",
            "Service inconnu ou inactif pour cet organisme.",
        ),
    ],
    ids=[
        "no-partner",
        "partner-not-a-number",
        "unknown-partner",
        "no-reason",
        "blank-reason",
        "reason-too-long",
        "the-receiver-itself",
        "the-sender",
        "inactive-service",
    ],
)
def test_bad_proposals_are_french_400s(world, client_for, outgoing, payload, field, message):
    ids = {"partner": outgoing.partner.pk, "siae": world.siae.pk, "home": world.home.pk}
    inactive = ServiceFactory(organisation=outgoing.partner, is_active=False)
    payload = {
        key: ids.get(value, value) if isinstance(value, str) else value
        for key, value in payload.items()
    }
    if payload.get("receiver_service") == "inactive":
        payload["receiver_service"] = inactive.pk
    response = _post(client_for(world.siae_counsellor), outgoing, "propose-transfer", payload)
    assert response.status_code == 400, response.content
    errors = response.json()[field]
    assert errors and all(isinstance(e, str) and e for e in errors)
    if message:
        assert errors == [message]
    assert not any("field" in e.lower() or "required" in e.lower() for e in errors)
    assert Referral.objects.get(pk=outgoing.pk).status == ReferralStatus.SENT


def test_the_wrong_party_is_a_french_403_and_journaled(world, client_for, outgoing):
    response = _post(
        client_for(world.me),
        outgoing,
        "propose-transfer",
        {"receiver_organisation": outgoing.partner.pk, "reason": REASON},
    )
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Seul l'organisme destinataire peut « proposer une réorientation » cette orientation."
    )
    denied = AccessEvent.objects.get(operation="denied", user=world.me.user)
    assert denied.detail["action"] == "referral.propose_transfer"
    confirm = _post(client_for(world.siae_counsellor), outgoing, "confirm-transfer")
    assert confirm.status_code == 409  # not proposed: the table has no such move from « sent »
    assert "Impossible de « confirmer la réorientation »" in confirm.json()["detail"]


def test_a_manager_may_not_confirm(world, client_for, outgoing):
    outgoing.status = ReferralStatus.TRANSFER_PROPOSED
    outgoing.transfer_organisation = outgoing.partner
    outgoing.transfer_reason = REASON
    outgoing.transfer_proposed_at = outgoing.sent_at
    outgoing.save()
    response = _post(client_for(world.manager), outgoing, "confirm-transfer")
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Seuls les conseillers et travailleurs sociaux orientent une personne vers un partenaire."
    )


def test_an_unrelated_organisation_finds_nothing(world, client_for, outgoing):
    for move, payload in (
        ("propose-transfer", {"receiver_organisation": outgoing.partner.pk, "reason": REASON}),
        ("confirm-transfer", None),
        ("decline-transfer", None),
    ):
        response = _post(client_for(world.stranger), outgoing, move, payload)
        assert response.status_code == 404, move
    assert Referral.objects.get(pk=outgoing.pk).status == ReferralStatus.SENT


def test_an_agreement_says_whether_its_parties_may_transfer_directly(world, client_for):
    response = client_for(world.manager).post(
        "/api/v1/agreements/",
        {
            "name": "Convention de réorientation",
            "level": "local",
            "parties": [world.home.pk, world.siae.pk],
            "starts_on": "2026-01-01",
            "receiver_may_transfer": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["receiver_may_transfer"] is True
    listed = client_for(world.manager).get(f"/api/v1/agreements/{response.json()['id']}/")
    assert listed.json()["receiver_may_transfer"] is True
