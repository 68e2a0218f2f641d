"""/api/v1/alerts/ and /api/v1/me/notification-preference/: scoped like every record, with
French errors, and a bounded number of queries."""

import datetime as dt

import pytest

from notifications.models import AlertState, NotificationPreference
from notifications.services.alerts import alerts_scan
from parcours.services.access_grants import access_recompute

from .conftest import paris

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def raised(journey):
    j = journey(paris(2026, 1, 5, 10))
    alerts_scan(now=j.referral.acknowledge_due_at + MINUTE)
    return j


def test_both_parties_see_the_alert_with_its_deliveries(raised, client_for):
    for actor in (raised.sender, raised.receiver):
        response = client_for(actor).get("/api/v1/alerts/")
        assert response.status_code == 200
        (alert,) = response.json()["results"]
        assert alert["kind"] == "unanswered"
        assert alert["kind_label"] == "Orientation sans réponse"
        assert alert["state"] == "open" and alert["state_label"] == "Ouverte"
        assert alert["referral"] == raised.referral.pk
        assert alert["referral_reference"] == raised.referral.reference
        assert {d["email"] for d in alert["deliveries"]} == {
            raised.sender_email,
            raised.receiver_contact,
        }
        assert {d["status"] for d in alert["deliveries"]} == {"pending"}
        # Both see the person's identity on this pathway (who may not: test_alert_names.py).
        assert alert["person_name"] == "Léa Martin"


def test_an_unrelated_organisation_sees_nothing_and_gets_404(raised, make_actor, client_for):
    stranger = client_for(make_actor(mission_locale=True))
    assert stranger.get("/api/v1/alerts/").json()["results"] == []
    alert_id = raised.referral.alerts.get().pk
    response = stranger.get(f"/api/v1/alerts/{alert_id}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Non trouvé."}
    assert stranger.post(f"/api/v1/alerts/{alert_id}/acknowledge/").status_code == 404


def test_a_dpo_of_a_party_sees_no_alert(raised, make_actor, client_for):
    dpo = make_actor(organisation=raised.sender.organisation, role="dpo")
    assert client_for(dpo).get("/api/v1/alerts/").json()["results"] == []


def test_acknowledge_then_resolved_is_a_conflict(raised, client_for):
    alert_id = raised.referral.alerts.get().pk
    client = client_for(raised.receiver)
    response = client.post(f"/api/v1/alerts/{alert_id}/acknowledge/")
    assert response.status_code == 200
    body = response.json()
    assert body["acknowledged_by"] == raised.receiver.user.pk
    assert body["acknowledged_at"] is not None
    raised.accept(raised.referral.acknowledge_due_at + 2 * MINUTE)
    assert raised.referral.alerts.get().state == AlertState.RESOLVED
    response = client.post(f"/api/v1/alerts/{alert_id}/acknowledge/")
    assert response.status_code == 409
    assert "déjà résolue" in response.json()["detail"]


def test_filters_by_state(raised, client_for):
    client = client_for(raised.sender)
    assert len(client.get("/api/v1/alerts/?state=open").json()["results"]) == 1
    assert client.get("/api/v1/alerts/?state=resolved").json()["results"] == []
    response = client.get("/api/v1/alerts/?state=nonsense")
    assert response.status_code == 400
    assert "state" in response.json()


def test_alert_list_query_count_is_bounded(journey, client_for, django_assert_max_num_queries):
    first = journey(paris(2026, 1, 5, 10))
    for hour in range(11, 16):  # five more referrals from the same sender
        other = journey(paris(2026, 1, 5, hour))
        other.referral.sender_organisation = first.sender.organisation
        other.referral.sender_user = first.sender.user
        other.referral.save(update_fields=["sender_organisation", "sender_user"])
        access_recompute(pathway_id=other.referral.pathway_id)
    alerts_scan(now=paris(2026, 1, 20, 9))
    client = client_for(first.sender)
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/alerts/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 6


def test_notification_preference_defaults_to_immediate_and_can_be_changed(make_actor, client_for):
    actor = make_actor()
    client = client_for(actor)
    assert client.get("/api/v1/me/notification-preference/").json() == {
        "mode": "immediate",
        "answers_mode": "immediate",
    }
    response = client.put("/api/v1/me/notification-preference/", {"mode": "digest"})
    assert response.status_code == 200
    assert response.json() == {"mode": "digest", "answers_mode": "immediate"}
    assert NotificationPreference.objects.get(user=actor.user).mode == "digest"
    # The answers to the referrals sent (issue 14): their own choice, the alerts' kept.
    response = client.put(
        "/api/v1/me/notification-preference/", {"mode": "digest", "answers_mode": "digest"}
    )
    assert response.json() == {"mode": "digest", "answers_mode": "digest"}
    preference = NotificationPreference.objects.get(user=actor.user)
    assert (preference.mode, preference.answers_mode) == ("digest", "digest")


@pytest.mark.parametrize("payload", [{}, {"mode": "weekly"}, {"mode": ""}, {"mode": ["digest"]}])
def test_a_bad_preference_is_a_400_with_a_french_message(payload, make_actor, client_for):
    actor = make_actor()
    response = client_for(actor).put("/api/v1/me/notification-preference/", payload)
    assert response.status_code == 400
    assert "mode" in response.json()
    assert not NotificationPreference.objects.filter(user=actor.user).exists()
