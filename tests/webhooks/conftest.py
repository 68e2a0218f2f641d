import pytest

from parcours.models import Role
from parcours.services import webhooks as webhook_services

from .receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def subscribe(make_actor):
    """An administrator of `organisation` subscribes the receiver to `events` (all of them by
    default); the receiver learns the secret."""

    def build(organisation, receiver, events=None):
        admin = make_actor(organisation=organisation, role=Role.ADMIN)
        issued = webhook_services.webhook_subscription_create(
            actor=admin,
            url=receiver.url,
            description="Logiciel du partenaire",
            events=events or list(webhook_services.EVENTS),
        )
        receiver.secrets.append(issued.secret)
        return admin, issued

    return build


from tests.notifications.conftest import journey  # noqa: E402, F401 (the referral journeys)
