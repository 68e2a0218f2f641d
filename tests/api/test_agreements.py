"""Agreements through the API (issue 12, finding 2): an organisation proposes, each party accepts
or declines for itself, and an agreement opens nothing until every party accepted it."""

from types import SimpleNamespace

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcours.models import AgreementParty, Role
from parcours.tasks import access_recompute_owned_by

from ..factories import AgreementFactory, CareTeamMemberFactory, PathwayFactory

pytestmark = pytest.mark.django_db

SHARED = ["identity", "pathway", "social"]


@pytest.fixture
def area(make_actor, client_for):
    """An SIAE, a Mission locale and a CCAS with their managers; the CCAS owns a pathway the
    Mission locale works on (care team) without any basis of its own."""
    area = SimpleNamespace(
        siae=make_actor(siae=True, role=Role.MANAGER),
        ml=make_actor(mission_locale=True, role=Role.MANAGER),
        ccas=make_actor(kind="ccas", role=Role.MANAGER),
    )
    area.ml_counsellor = make_actor(organisation=area.ml.organisation)
    area.ccas_pathway = PathwayFactory(owner_organisation=area.ccas.organisation)
    CareTeamMemberFactory(pathway=area.ccas_pathway, organisation=area.ml.organisation)
    area.ids = [a.organisation.pk for a in (area.siae, area.ml, area.ccas)]
    area.client = lambda actor: client_for(actor)
    return area


def _proposal(parties, **overrides):
    return {
        "name": "Convention de coopération du bassin",
        "level": "local",
        "parties": parties,
        "starts_on": "2025-01-01",
        "shared_categories": SHARED,
        **overrides,
    }


def _answers(body) -> dict[int, str]:
    return {s["organisation"]["id"]: s["status"] for s in body["signatures"]}


def _ml_sees_the_ccas_pathway(area) -> int:
    access_recompute_owned_by(area.ids)
    client = area.client(area.ml_counsellor)
    return client.get(f"/api/v1/pathways/{area.ccas_pathway.pk}/").status_code


def test_an_siae_manager_cannot_bind_the_mission_locale_and_the_ccas(area):
    response = area.client(area.siae).post(
        "/api/v1/agreements/", _proposal(area.ids[1:]), format="json"
    )
    assert response.status_code == 400
    assert response.json()["parties"] == ["Ajoutez votre organisation aux signataires."]
    assert response.json()["detail"] == "Votre organisation doit être signataire de la convention."


def test_the_mission_locale_sees_no_ccas_pathway_until_both_accepted(
    area, django_capture_on_commit_callbacks
):
    proposed = area.client(area.siae).post(
        "/api/v1/agreements/", _proposal(area.ids), format="json"
    )
    assert proposed.status_code == 201, proposed.content
    body = proposed.json()
    pk = body["id"]
    assert _answers(body) == {
        area.ids[0]: "accepted",
        area.ids[1]: "pending",
        area.ids[2]: "pending",
    }
    assert (body["accepted_by_every_party"], body["in_force"]) == (False, False)
    assert body["proposed_by"] == area.ids[0]
    assert body["available_actions"] == ["update", "decline"]
    assert _ml_sees_the_ccas_pathway(area) == 404

    ml_view = area.client(area.ml).get(f"/api/v1/agreements/{pk}/").json()
    assert ml_view["available_actions"] == ["update", "accept", "decline"]
    counsellor_view = area.client(area.ml_counsellor).get(f"/api/v1/agreements/{pk}/").json()
    assert counsellor_view["available_actions"] == []

    accepted = area.client(area.ml).post(f"/api/v1/agreements/{pk}/accept/")
    assert accepted.status_code == 200
    # The Mission locale answered for itself only.
    assert _answers(accepted.json())[area.ids[1]] == "accepted"
    assert _answers(accepted.json())[area.ids[2]] == "pending"
    assert _ml_sees_the_ccas_pathway(area) == 404

    with django_capture_on_commit_callbacks() as callbacks:
        accepted = area.client(area.ccas).post(f"/api/v1/agreements/{pk}/accept/")
    assert accepted.status_code == 200
    assert (accepted.json()["accepted_by_every_party"], accepted.json()["in_force"]) == (True, True)
    assert len(callbacks) == 1
    assert _ml_sees_the_ccas_pathway(area) == 200


def test_widening_through_the_api_waits_for_the_new_parties(area, make_actor):
    agreement = AgreementFactory(
        parties=[area.siae.organisation, area.ccas.organisation], shared_categories=SHARED
    )
    response = area.client(area.siae).patch(
        f"/api/v1/agreements/{agreement.pk}/", {"parties": area.ids}, format="json"
    )
    assert response.status_code == 200, response.content
    answers = _answers(response.json())
    assert answers == {area.ids[0]: "accepted", area.ids[1]: "pending", area.ids[2]: "pending"}
    assert response.json()["in_force"] is False
    assert _ml_sees_the_ccas_pathway(area) == 404


def test_acceptance_by_another_organisation_is_refused(area, make_actor):
    agreement = AgreementFactory(
        parties=[area.siae.organisation, area.ml.organisation, area.ccas.organisation],
        parties__pending=[area.ml.organisation, area.ccas.organisation],
    )
    url = f"/api/v1/agreements/{agreement.pk}/accept/"

    stranger = make_actor(role=Role.MANAGER)
    assert area.client(stranger).post(url).json() == {"detail": "Non trouvé."}

    refused = area.client(area.ml_counsellor).post(url)
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "Votre rôle ne permet pas d'accepter une convention "
        "(réservé à : responsable de structure, administrateur)."
    )

    # The SIAE already accepted (it proposed): it cannot answer for the others.
    again = area.client(area.siae).post(url)
    assert again.status_code == 409
    assert again.json()["detail"] == (
        "Votre organisation a déjà répondu « acceptée » à cette convention."
    )
    statuses = AgreementParty.objects.filter(agreement=agreement).values_list("status", flat=True)
    assert sorted(statuses) == ["accepted", "pending", "pending"]


def test_a_party_declines_with_a_reason(area):
    agreement = AgreementFactory(
        parties=[area.siae.organisation, area.ml.organisation], shared_categories=SHARED
    )
    url = f"/api/v1/agreements/{agreement.pk}/decline/"
    too_long = area.client(area.ml).post(url, {"reason": "x" * 2001}, format="json")
    assert too_long.status_code == 400
    assert list(too_long.json()) == ["reason"]

    response = area.client(area.ml).post(url, {"reason": "Projet arrêté"}, format="json")
    assert response.status_code == 200
    signature = next(
        s for s in response.json()["signatures"] if s["organisation"]["id"] == area.ids[1]
    )
    assert (signature["status"], signature["decline_reason"]) == ("declined", "Projet arrêté")
    assert response.json()["available_actions"] == ["update", "accept"]


# --- bad input never answers 500 ---------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
FIELDS = [
    "name",
    "level",
    "parties",
    "starts_on",
    "ends_on",
    "review_on",
    "acknowledge_within_working_days",
    "first_appointment_within_days",
    "no_show_grace_hours",
    "shared_categories",
    "reason",
]


class _Rollback(Exception):
    pass


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(["propose", "update", "accept", "decline"]),
    garbage=st.dictionaries(st.sampled_from(FIELDS), json_values, min_size=1, max_size=4),
)
def test_garbage_is_a_400_never_a_500(area, route, garbage):
    agreement = AgreementFactory(
        parties=[area.siae.organisation, area.ml.organisation],
        parties__pending=[area.ml.organisation],
    )
    client = area.client(area.ml)
    try:
        with transaction.atomic():
            if route == "propose":
                response = client.post("/api/v1/agreements/", garbage, format="json")
            elif route == "update":
                url = f"/api/v1/agreements/{agreement.pk}/"
                response = client.patch(url, garbage, format="json")
            else:
                url = f"/api/v1/agreements/{agreement.pk}/{route}/"
                response = client.post(url, garbage, format="json")
            assert response.status_code < 500, (route, garbage, response.content[:300])
            if response.status_code == 400:
                assert response.json(), response.content
            raise _Rollback
    except _Rollback:
        pass


@pytest.mark.parametrize(
    "garbage",
    [
        {"parties": [2**70]},
        {"parties": [2**63]},
        {"parties": [-1, 1.5]},
        {"parties": "1,2"},
        {"parties": [True, None]},
        {"name": "\x00"},
        {"name": "x" * 201},
        {"starts_on": 2**70},
        {"starts_on": "9999-99-99"},
        {"shared_categories": "identity"},
        {"shared_categories": ["health"]},
        {"no_show_grace_hours": 2**70},
    ],
    ids=repr,
)
@pytest.mark.parametrize("method", ["post", "patch"])
def test_edge_values_are_a_400(area, method, garbage):
    agreement = AgreementFactory(parties=[area.siae.organisation, area.ml.organisation])
    client = area.client(area.ml)
    if method == "post":
        payload = {**_proposal(area.ids[:2]), **garbage}
        response = client.post("/api/v1/agreements/", payload, format="json")
    else:
        response = client.patch(f"/api/v1/agreements/{agreement.pk}/", garbage, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) - {"detail", "code"} == set(garbage), response.json()
