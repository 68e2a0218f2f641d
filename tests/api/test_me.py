"""`/api/v1/me/` written directly (issue 17): `list_rows.me_row` answers the bytes
`MeSerializer` writes, through the compiled memberships' query, which sends the ORM's statement
(`access.memberships_of`)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from parcours import access
from parcours.actor import Actor
from parcours.api import serializers
from parcours.models import Role

from ..factories import MembershipFactory, OrganisationFactory, UserFactory, api_token_for


def _by_serializer(actor: Actor) -> bytes:
    """The answer as the serializer wrote it, from the ORM's memberships."""
    user = actor.account
    data = {
        "id": user.pk,
        "username": user.get_username(),
        "full_name": user.get_full_name(),
        "email": user.email,
        "memberships": access.memberships_of(actor),
        "acting_organisation": actor.organisation,
        "acting_role": actor.role,
    }
    return JSONRenderer().render(serializers.MeSerializer(data).data)


@pytest.mark.django_db
@pytest.mark.parametrize("through", ["session", "token"])
def test_me_answers_the_serializer_s_bytes_with_the_orm_s_statement(through):
    user = UserFactory(first_name="Éloïse", last_name="N'Diaye", email="eloise@exemple.test")
    home = OrganisationFactory(name="CCAS d'Arras « Centre »")
    MembershipFactory(user=user, organisation=home, role=Role.SOCIAL_WORKER)
    MembershipFactory(user=user, organisation=OrganisationFactory(siae=True), role=Role.MANAGER)
    left = MembershipFactory(user=user, organisation=OrganisationFactory(mission_locale=True))
    left.is_active = False  # a membership ended: never listed
    left.save()
    other = MembershipFactory(organisation=home)  # someone else's: never listed
    actor = Actor(user=user, organisation=home, role=Role.SOCIAL_WORKER)
    client = APIClient()
    if through == "token":
        _token, secret = api_token_for(home.memberships.get(user=user))
        client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    else:
        client.force_authenticate(user=user)
        client.credentials(HTTP_X_PARCOURS_ORGANISATION=str(home.pk))

    with CaptureQueriesContext(connection) as orm:
        list(access.memberships_of(actor))
    (statement,) = [q["sql"] for q in orm.captured_queries]
    with CaptureQueriesContext(connection) as served:
        response = client.get("/api/v1/me/")

    assert response.status_code == 200
    assert response.content == _by_serializer(actor)
    body = response.json()
    assert len(body["memberships"]) == 2
    assert other.pk not in {m["id"] for m in body["memberships"]}
    assert body["full_name"] == "Éloïse N'Diaye"
    sent = [q["sql"] for q in served.captured_queries]
    # The memberships' statement, word for word, with this user's id.
    assert sent.count(statement) == 1, sent
