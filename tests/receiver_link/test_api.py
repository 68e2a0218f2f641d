"""The API's side of a receiver's link (issue 19): its state on a referral (never the token),
the sender's revocation and new link — the same services as the pages."""

import pytest

from parcours.models import ReceiverLink, Role
from tests.factories import OrganisationFactory

from .conftest import sender_actor


def _base(referral) -> str:
    return f"/api/v1/referrals/{referral.pk}/receiver-link/"


def test_the_sender_reads_the_state_never_the_token(world, client_for):
    referral = world.send()
    link = ReceiverLink.objects.get(referral=referral)
    response = client_for(world.sender).get(_base(referral))
    assert response.status_code == 200
    assert response.data["state"] == "active"
    assert response.data["state_label"] == "Actif"
    assert response.data["receiver_organisation"] == world.ccas.pk
    body = response.content.decode()
    assert link.token_hash not in body and link.mail_token not in body


def test_a_referral_without_link_says_none(world, client_for):
    sender_actor(world.ccas)  # the CCAS has an account: no link
    referral = world.send()
    response = client_for(world.sender).get(_base(referral))
    assert response.status_code == 200
    assert response.data["state"] == "none"


def test_revoke_then_issue_through_the_api(world, client_for):
    referral = world.send()
    client = client_for(world.sender)
    response = client.post(_base(referral) + "revoke/")
    assert response.status_code == 200
    assert response.data["state"] == "revoked"
    again = client.post(_base(referral) + "revoke/")
    assert again.status_code == 409
    assert "pas de lien d'accès en vigueur" in again.data["detail"]
    response = client.post(_base(referral) + "issue/")
    assert response.status_code == 201
    assert response.data["state"] == "active"
    assert ReceiverLink.objects.filter(referral=referral).count() == 2


@pytest.mark.parametrize("who", ["receiver", "outsider", "dpo"])
def test_others_may_not_revoke_or_issue(world, client_for, who):
    referral = world.send()
    actor = {
        "receiver": lambda: sender_actor(world.ccas),
        "outsider": lambda: sender_actor(OrganisationFactory(name="Mission locale")),
        "dpo": lambda: sender_actor(world.france_travail, Role.DPO),
    }[who]()
    client = client_for(actor)
    expected = 403 if who == "receiver" else 404
    assert client.post(_base(referral) + "revoke/").status_code == expected
    assert client.post(_base(referral) + "issue/").status_code == expected
    assert ReceiverLink.objects.get(referral=referral).revoked_at is None
    if who != "receiver":
        assert client.get(_base(referral)).status_code == 404
