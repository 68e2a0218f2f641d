"""Changes of basis or relationship take effect at the very next request (no cache, no wait)."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from parcours.models import AccessEvent

from .scenarios import CASES, build_world

pytestmark = pytest.mark.django_db


def _case(name: str):
    return next(c for c in CASES if c.name == name)


def _person(client, world):
    return client.get(f"/api/v1/persons/{world.person.pk}/")


def _last_read(world):
    return AccessEvent.objects.filter(user=world.user, operation="read").latest("id")


def test_revoking_a_consent_ends_its_bases_at_the_next_request(client_of, client_for):
    world = build_world(_case("receiver+consent_shared_social"))
    receiver = client_of(world)
    assert _person(receiver, world).data["categories"] == ["identity", "pathway", "social"]

    response = client_for(world.owner_counsellor).post(
        f"/api/v1/consents/{world.ids['consent']}/revoke/"
    )
    assert response.status_code == 200

    # The receiver must still answer the referral: whom and why remain, under the referral
    # alone (ADR 0010); what only the consent covered is gone at once.
    data = _person(receiver, world).data
    assert data["categories"] == ["identity", "pathway"]
    assert "lives_in_qpv" not in data
    assert _last_read(world).basis == f"referral:{world.referral.pk}"

    # Once the referral ends, nothing is left: the record answers 404, the refusal journaled.
    withdrawn = client_for(world.owner_counsellor).post(
        f"/api/v1/referrals/{world.referral.pk}/withdraw/", {"comment": ""}, format="json"
    )
    assert withdrawn.status_code == 200
    assert _person(receiver, world).status_code == 404
    denied = AccessEvent.objects.order_by("-id").first()
    assert (denied.operation, denied.object_id, denied.user_id) == (
        "denied",
        world.person.pk,
        world.user.pk,
    )


def test_narrowing_a_consent_drops_the_category_at_the_next_request(client_of, client_for):
    world = build_world(_case("receiver+consent_shared_social"))
    receiver = client_of(world)
    assert "lives_in_qpv" in _person(receiver, world).data

    response = client_for(world.owner_counsellor).post(
        f"/api/v1/consents/{world.ids['consent']}/narrow/",
        {"categories": ["identity", "pathway"]},
        format="json",
    )
    assert response.status_code == 200

    data = _person(receiver, world).data
    assert data["categories"] == ["identity", "pathway"]
    assert "lives_in_qpv" not in data
    assert _last_read(world).basis == f"consent:{world.ids['consent']} referral:{world.referral.pk}"


def test_a_consent_ending_today_is_gone_tomorrow(client_of):
    world = build_world(_case("receiver+consent_lapsed"))  # ends_on today
    receiver = client_of(world)
    assert _person(receiver, world).status_code == 200
    assert f"consent:{world.ids['consent']}" in _last_read(world).basis.split()
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, hours=1)):
        # Only the open referral's minimum remains (no job ran: the row had its end).
        assert _person(receiver, world).status_code == 200
        assert _last_read(world).basis == f"referral:{world.referral.pk}"


def test_break_glass_shows_the_category_to_its_user_until_it_ends(client_of):
    world = build_world(_case("receiver+break_glass"))
    receiver = client_of(world)
    data = _person(receiver, world).data
    assert data["categories"] == ["health", "identity", "pathway"]
    assert "rqth" in data
    event = AccessEvent.objects.order_by("-id").first()
    assert f"break_glass:{world.ids['break_glass']}" in event.basis.split()
    hours = settings.PARCOURS_BREAK_GLASS_HOURS
    with time_machine.travel(timezone.now() + dt.timedelta(hours=hours, minutes=1)):
        data = _person(receiver, world).data
        assert data["categories"] == ["identity", "pathway"]
        assert "rqth" not in data


def test_a_closed_referral_is_visible_until_the_grace_period_ends(client_of):
    world = build_world(_case("receiver_past_grace+consent"))  # closed two days ago
    receiver = client_of(world)
    assert _person(receiver, world).data["categories"] == ["identity", "pathway"]
    days = settings.PARCOURS_RELATIONSHIP_GRACE_DAYS
    with time_machine.travel(timezone.now() + dt.timedelta(days=days - 3)):
        assert _person(receiver, world).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=days - 1)):
        assert _person(receiver, world).status_code == 404
        assert client_of(world).get(f"/api/v1/referrals/{world.referral.pk}/").status_code == 404
