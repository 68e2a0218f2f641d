"""Fixtures for the HTTP API tests: a small world of organisations seen from one counsellor."""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from parcours.actor import Actor
from parcours.models import Organisation, Role

from ..factories import MembershipFactory, OrganisationFactory


@dataclass
class World:
    """`me` is a counsellor of `home`; `manager` manages `home`; `siae` is a partner SIAE with
    its own counsellor; `stranger` belongs to an organisation unrelated to `home`."""

    home: Organisation
    me: Actor
    manager: Actor
    siae: Organisation
    siae_counsellor: Actor
    elsewhere: Organisation
    stranger: Actor
    dpo: Actor  # the DPO of `home`


def build_world() -> World:
    """The API tests' world; the `world` fixture builds one per test, and a module whose tests
    may share one builds it once (tests/worlds.py; tests/api/test_endpoint_matrix.py)."""

    def actor(organisation=None, role: str = Role.COUNSELLOR, **org_kwargs) -> Actor:
        organisation = organisation or OrganisationFactory(**org_kwargs)
        membership = MembershipFactory(organisation=organisation, role=role)
        return Actor(user=membership.user, organisation=organisation, role=role)

    me = actor()
    siae_counsellor = actor(siae=True)
    stranger = actor(mission_locale=True)
    return World(
        home=me.organisation,
        me=me,
        manager=actor(organisation=me.organisation, role=Role.MANAGER),
        siae=siae_counsellor.organisation,
        siae_counsellor=siae_counsellor,
        elsewhere=stranger.organisation,
        stranger=stranger,
        dpo=actor(organisation=me.organisation, role=Role.DPO),
    )


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


@pytest.fixture
def no_membership_client(user_without_membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user_without_membership)
    return client


@pytest.fixture
def inactive_membership_client(db) -> APIClient:
    """A user whose only membership was deactivated (left the organisation)."""
    membership = MembershipFactory(organisation=OrganisationFactory(), is_active=False)
    client = APIClient()
    client.force_authenticate(user=membership.user)
    client.credentials(HTTP_X_PARCOURS_ORGANISATION=str(membership.organisation_id))
    return client
