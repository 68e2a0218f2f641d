"""Shared fixtures: real PostgreSQL (pytest-django), real Redis, a real Celery worker process."""

import pytest
from rest_framework.test import APIClient

from parcours.actor import Actor
from parcours.models import Role

from .factories import MembershipFactory, OrganisationFactory, UserFactory


@pytest.fixture
def make_actor(db):
    """Build an Actor: a user with a membership (role) in an organisation."""

    def build(organisation=None, role: str = Role.COUNSELLOR, **org_kwargs) -> Actor:
        organisation = organisation or OrganisationFactory(**org_kwargs)
        membership = MembershipFactory(organisation=organisation, role=role)
        return Actor(user=membership.user, organisation=organisation, role=role)

    return build


@pytest.fixture
def counsellor(make_actor) -> Actor:
    return make_actor()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for():
    """An API client authenticated as `actor.user`, acting for `actor.organisation`."""

    def build(actor: Actor) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=actor.user)
        client.credentials(HTTP_X_PARCOURS_ORGANISATION=str(actor.organisation.pk))
        return client

    return build


@pytest.fixture
def user_without_membership(db):
    return UserFactory()
