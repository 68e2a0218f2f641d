"""Fixtures of the consent-scoped access tests."""

import pytest
from rest_framework.test import APIClient

from .scenarios import World


@pytest.fixture
def client_of():
    """An API client for the world's acting user (acting for their organisation, if any)."""

    def build(world: World) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=world.user)
        if world.actor is not None:
            client.credentials(HTTP_X_PARCOURS_ORGANISATION=str(world.acting_org.pk))
        return client

    return build
