"""The receiving team through the API: POST /api/v1/referrals/{id}/assign/ {"user": id}, the
referral's `assigned_user`, and the list filter `assigned_to=me|none|<id>`."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parcours.models import AccessEvent, Referral, ReferralStatus
from tests.factories import PathwayFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def _assign(client_for, actor, referral, payload):
    return client_for(actor).post(
        f"/api/v1/referrals/{referral.pk}/assign/", payload, format="json"
    )


def test_a_manager_dispatches_and_everyone_reads_who_is_in_charge(team, client_for):
    detail = client_for(team.ml_manager).get(f"/api/v1/referrals/{team.referral.pk}/").json()
    assert detail["assigned_user"] is None

    response = _assign(
        client_for, team.ml_manager, team.referral, {"user": team.ml_counsellor.user.pk}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == team.referral.pk
    assert body["assigned_user"] == {
        "id": team.ml_counsellor.user.pk,
        "username": team.ml_counsellor.user.username,
        "full_name": "Inès Moreau",
    }
    row = AccessEvent.objects.filter(operation="write").latest("id")
    assert (row.object_type, row.object_id) == ("referral", team.referral.pk)
    assert row.detail == {"door": "api", "action": "referral.assign"}
    # The sender reads who handles the person on the other side.
    seen = client_for(team.ft_counsellor).get(f"/api/v1/referrals/{team.referral.pk}/").json()
    assert seen["assigned_user"]["full_name"] == "Inès Moreau"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"user": 999_999}, "Utilisateur inconnu."),
        (
            {"user": "ft"},
            "Cette personne n'est pas membre actif de Mission locale de Lens.",
        ),
        (
            {"user": "manager"},
            "Une orientation se confie à un conseiller ou à un travailleur social.",
        ),
    ],
    ids=["unknown", "not-a-member", "not-a-case-worker"],
)
def test_a_wrong_assignee_is_a_french_400_on_the_field(team, client_for, payload, message):
    named = {"ft": team.ft_counsellor.user.pk, "manager": team.ml_manager.user.pk}
    payload = {"user": named.get(payload["user"], payload["user"])}
    before = AccessEvent.objects.count()
    response = _assign(client_for, team.ml_manager, team.referral, payload)
    assert response.status_code == 400, response.content
    assert response.json()["user"] == [message]
    assert response.json()["code"] == "invalid"
    assert Referral.objects.get(pk=team.referral.pk).assigned_user_id is None
    assert AccessEvent.objects.count() == before  # a refused input is no access


@pytest.mark.parametrize("payload", [{}, {"user": "abc"}, {"user": 0}, {"user": None}])
def test_a_malformed_payload_is_a_french_400(team, client_for, payload):
    response = _assign(client_for, team.ml_manager, team.referral, payload)
    assert response.status_code == 400
    (message,) = response.json()["user"]
    assert message.replace("\xa0", " ") in {
        "Ce champ est obligatoire.",
        "Un nombre entier valide est requis.",
        "Assurez-vous que cette valeur est supérieure ou égale à 1.",
        "Ce champ ne peut être nul.",
    }, message


def test_the_sender_is_refused_and_the_refusal_journaled(team, client_for):
    response = _assign(
        client_for, team.ft_counsellor, team.referral, {"user": team.ml_counsellor.user.pk}
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Seul l'organisme destinataire confie cette orientation à l'un de ses "
        "conseillers.",
        "code": "not_allowed",
    }
    row = AccessEvent.objects.latest("id")
    assert (row.operation, row.object_type, row.object_id) == (
        "denied",
        "referral",
        team.referral.pk,
    )
    assert row.detail == {"door": "api", "action": "referral.assign", "refusal": "not_allowed"}
    assert row.purpose == "Suivi d'une orientation envoyée"
    assert Referral.objects.get(pk=team.referral.pk).assigned_user_id is None


def test_out_of_scope_is_not_found(team, client_for):
    stranger = team.actor("ccas")
    response = _assign(client_for, stranger, team.referral, {"user": team.ml_counsellor.user.pk})
    assert response.status_code == 404
    assert response.json() == {"detail": "Non trouvé."}
    row = AccessEvent.objects.latest("id")
    assert row.detail["refusal"] == "not_found"


def test_a_closed_referral_is_a_409(team, client_for):
    closed = team.received(closed=True)
    response = _assign(client_for, team.ml_manager, closed, {"user": team.ml_counsellor.user.pk})
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Cette orientation est à l'état « Clôturée » : elle ne se confie plus à un conseiller."
    )


def test_accepting_through_the_api_names_the_counsellor_in_charge(team, client_for):
    response = client_for(team.ml_counsellor).post(
        f"/api/v1/referrals/{team.referral.pk}/accept/", format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == ReferralStatus.ACCEPTED
    assert response.json()["assigned_user"]["id"] == team.ml_counsellor.user.pk


# --- the list filter -------------------------------------------------------------------------


def _ids(client, query) -> set[int]:
    response = client.get("/api/v1/referrals/", query)
    assert response.status_code == 200, response.content
    return {r["id"] for r in response.json()["results"]}


def test_the_list_filters_by_who_is_in_charge(team, client_for):
    mine = team.received(sent=True)
    colleagues = team.received(accepted=True)
    for referral, actor in ((mine, team.ml_counsellor), (colleagues, team.ml_colleague)):
        _assign(client_for, team.ml_manager, referral, {"user": actor.user.pk})
    client = client_for(team.ml_counsellor)
    assert _ids(client, {"assigned_to": "me"}) == {mine.pk}
    assert _ids(client, {"assigned_to": "none"}) == {team.referral.pk}
    assert _ids(client, {"assigned_to": team.ml_colleague.user.pk}) == {colleagues.pk}
    assert _ids(client, {}) == {mine.pk, colleagues.pk, team.referral.pk}
    # « me » is the acting user, whoever asks.
    assert _ids(client_for(team.ml_colleague), {"assigned_to": "me"}) == {colleagues.pk}


@pytest.mark.parametrize("value", ["moi", "-1", "0", "1e3", "9" * 30, "me,none"])
def test_a_wrong_filter_value_is_a_french_400(team, client_for, value):
    response = client_for(team.ml_counsellor).get("/api/v1/referrals/", {"assigned_to": value})
    assert response.status_code == 400
    assert response.json()["assigned_to"] == [
        "Valeur attendue : « me », « none » ou l'identifiant d'un utilisateur."
    ]


def test_the_filtered_list_costs_the_same_whatever_its_length(team, client_for):
    client = client_for(team.ml_counsellor)

    def count() -> tuple[int, int]:
        client.get("/api/v1/referrals/", {"assigned_to": "me"})  # warm the actor's caches
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/referrals/", {"assigned_to": "me", "page_size": 100})
        return len(queries), len(response.json()["results"])

    def add(n: int) -> None:
        for _ in range(n):
            referral = ReferralFactory(
                pathway=PathwayFactory(owner_organisation=team.ft),
                receiver_organisation=team.ml,
                accepted=True,
                assigned_user=team.ml_counsellor.user,
            )
            assert referral.assigned_user_id == team.ml_counsellor.user.pk

    add(2)
    queries_at_2, rows_at_2 = count()
    add(8)
    queries_at_10, rows_at_10 = count()
    assert (rows_at_2, rows_at_10) == (2, 10)
    assert queries_at_10 == queries_at_2
