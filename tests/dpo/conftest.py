"""A history across three organisations, built through the real API, and each organisation's
DPO (plus a national DPO and the DPO of an unrelated organisation)."""

import datetime as dt

import pytest
from django.utils import timezone

from parcours.models import AccessEvent, Role
from tests.factories import ConsentFactory, PathwayFactory, PersonFactory, ReferralFactory


@pytest.fixture
def history(make_actor, client_for):
    owner = make_actor(name="France Travail Lens")
    siae = make_actor(siae=True, name="Les Jardins du Bassin")
    stranger = make_actor(mission_locale=True, name="Mission locale d'Arras")
    person = PersonFactory(first_name="Léa", last_name="Martin")
    pathway = PathwayFactory(person=person, owner_organisation=owner.organisation)
    referral = ReferralFactory(
        pathway=pathway, sender_user=owner.user, receiver_organisation=siae.organisation, sent=True
    )
    ConsentFactory(person=person, organisations=[siae.organisation], categories=["social"])
    start = timezone.now() - dt.timedelta(seconds=1)
    assert client_for(owner).get(f"/api/v1/persons/{person.pk}/").status_code == 200
    assert (
        client_for(owner).patch(f"/api/v1/persons/{person.pk}/", {"city": "Lens"}).status_code
        == 200
    )
    assert client_for(siae).get("/api/v1/referrals/").status_code == 200
    assert client_for(siae).get(f"/api/v1/persons/{person.pk}/").status_code == 200
    assert client_for(stranger).get(f"/api/v1/persons/{person.pk}/").status_code == 404
    response = client_for(siae).post(
        f"/api/v1/pathways/{pathway.pk}/break-glass/",
        {"category": "health", "reason": "Adapter le poste dès le premier jour"},
    )
    assert response.status_code == 201
    return {
        "owner": owner,
        "siae": siae,
        "stranger": stranger,
        "person": person,
        "pathway": pathway,
        "referral": referral,
        "start": start,
        "owner_dpo": make_actor(organisation=owner.organisation, role=Role.DPO),
        "siae_dpo": make_actor(organisation=siae.organisation, role=Role.DPO),
        "unrelated_dpo": make_actor(name="CCAS de Béthune", role=Role.DPO),
        "national_dpo": make_actor(name="Opérateur de la plateforme", role=Role.NATIONAL_DPO),
        "last_event": AccessEvent.objects.order_by("-id").values_list("id", flat=True).first(),
    }


@pytest.fixture
def period():
    today = timezone.localdate()
    return {"from": (today - dt.timedelta(days=1)).isoformat(), "to": today.isoformat()}
