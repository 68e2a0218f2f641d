"""The sender's list through the API (issue 14): `GET /api/v1/referrals/` with `sent_by`,
`needs_attention` and `sent_since` — the page's scope and « à regarder »
(parcours.selectors.sent_referrals), allowed and denied per organisation and role, French 400
on a value not offered, and a constant number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parcours.models import Referral
from parcours.selectors.sent_referrals import NEEDS_ATTENTION

from ..factories import MembershipFactory, PathwayFactory, ReferralFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/referrals/"


class Sent:
    """What France Travail (`home`) sent and received, and what others sent."""

    def __init__(self, world):
        colleague = MembershipFactory(organisation=world.home).user

        def sent(user, **state):
            return ReferralFactory(
                pathway=PathwayFactory(owner_organisation=world.home),
                sender_user=user,
                receiver_organisation=world.siae,
                **state,
            )

        self.waiting = sent(world.me.user, sent=True)
        self.refused = sent(world.me.user, refused=True)
        self.colleagues = sent(colleague, closed=True)
        self.draft = sent(world.me.user)  # never sent
        self.received = ReferralFactory(
            pathway=PathwayFactory(owner_organisation=world.elsewhere),
            receiver_organisation=world.home,
            refused=True,
        )
        self.strangers = ReferralFactory(
            pathway=PathwayFactory(owner_organisation=world.elsewhere),
            sender_user=world.stranger.user,
            receiver_organisation=world.siae,
            refused=True,
        )


@pytest.fixture
def sent(world):
    return Sent(world)


def _ids(client, **query) -> list[int]:
    response = client.get(URL, query)
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_sent_by_me_and_by_my_organisation(world, sent, client_for):
    client = client_for(world.me)
    assert _ids(client, sent_by="me") == sorted([sent.waiting.pk, sent.refused.pk])
    assert _ids(client, sent_by="organisation") == sorted(
        [sent.waiting.pk, sent.refused.pk, sent.colleagues.pk]
    )
    # Without the filter, the received one too (the endpoint's scope is unchanged).
    assert sent.received.pk in _ids(client)


def test_needs_attention_is_the_one_definition(world, sent, client_for):
    client = client_for(world.me)
    attention = _ids(client, sent_by="organisation", needs_attention="true")
    assert attention == sorted([sent.refused.pk, sent.colleagues.pk])
    assert {Referral.objects.get(pk=pk).status for pk in attention} <= NEEDS_ATTENTION
    assert _ids(client, sent_by="organisation", needs_attention="false") == [sent.waiting.pk]
    assert _ids(client, sent_by="me", needs_attention="true") == [sent.refused.pk]


def test_sent_since(world, sent, client_for):
    recent = ReferralFactory(
        pathway=PathwayFactory(owner_organisation=world.home),
        sender_user=world.me.user,
        receiver_organisation=world.siae,
        sent=True,
        sent_at=timezone.now() - dt.timedelta(days=3),
    )
    client = client_for(world.me)
    assert _ids(client, sent_by="me", sent_since="7") == [recent.pk]
    # The factory's referrals were sent 19 days ago.
    assert _ids(client, sent_by="me", sent_since="30") == sorted(
        [recent.pk, sent.waiting.pk, sent.refused.pk]
    )


def test_another_organisation_never_gets_them(world, sent, client_for):
    # The Mission locale: its own two (one to France Travail), never France Travail's; the SIAE
    # received France Travail's and sent none.
    assert _ids(client_for(world.stranger), sent_by="organisation") == sorted(
        [sent.received.pk, sent.strangers.pk]
    )
    assert _ids(client_for(world.stranger), sent_by="me") == [sent.strangers.pk]
    assert _ids(client_for(world.siae_counsellor), sent_by="organisation") == []
    assert _ids(client_for(world.siae_counsellor), sent_by="me") == []


def test_a_manager_gets_the_organisations_without_the_person(world, sent, client_for):
    client = client_for(world.manager)
    assert _ids(client, sent_by="me") == []
    response = client.get(URL, {"sent_by": "organisation", "needs_attention": "true"})
    rows = response.json()["results"]
    assert sorted(r["id"] for r in rows) == sorted([sent.refused.pk, sent.colleagues.pk])
    assert all(not r.get("person") for r in rows)  # identity is not a manager's


def test_a_dpo_gets_no_record(world, sent, client_for):
    assert _ids(client_for(world.dpo), sent_by="organisation") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"sent_by": "everyone"}, "sent_by"),
        ({"sent_by": "ME"}, "sent_by"),
        ({"needs_attention": "yes"}, "needs_attention"),
        ({"needs_attention": "1"}, "needs_attention"),
        ({"sent_since": "12"}, "sent_since"),
        ({"sent_since": "abc"}, "sent_since"),
        ({"sent_since": "99999999999999999999"}, "sent_since"),
        ({"sent_since": "-7"}, "sent_since"),
    ],
)
def test_a_value_not_offered_is_a_french_400(world, client_for, query, field):
    response = client_for(world.me).get(URL, query)
    assert response.status_code == 400
    (message,) = response.json()[field]
    assert message.startswith("Sélectionnez un choix valide.")


def test_anonymous_and_without_membership(anonymous_client, no_membership_client):
    assert anonymous_client.get(URL, {"sent_by": "me"}).status_code == 401
    assert no_membership_client.get(URL, {"sent_by": "me"}).status_code == 403


def test_the_filtered_list_runs_a_constant_number_of_queries(world, client_for):
    client = client_for(world.me)
    query = {"sent_by": "me", "needs_attention": "true", "sent_since": "30", "page_size": 100}

    def grow(n):
        for _ in range(n):
            ReferralFactory(
                pathway=PathwayFactory(owner_organisation=world.home),
                sender_user=world.me.user,
                receiver_organisation=world.siae,
                refused=True,
                sent_at=timezone.now(),
            )

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, query)
        return len(queries), len(response.json()["results"])

    grow(10)
    client.get(URL, query)
    at_10 = count()
    grow(20)
    at_30 = count()
    assert (at_10[1], at_30[1]) == (10, 30)
    assert at_10[0] == at_30[0]
