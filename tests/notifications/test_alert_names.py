"""People named in alerts within what the reader may see (issue 14): the alerts page and the
alerts API give the person's name when the reader's organisation — and role — sees the identity
category on that pathway, « Personne (identité non partagée) » otherwise; each list is journaled
as a list of the referrals shown (the inbox's way), each detail as a read. E-mails still name no
one beyond the first name and initial (test_alert_scan.py)."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from notifications.services.alerts import alerts_scan
from parcours.models import AccessEvent, Role

from .conftest import paris

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)
HIDDEN = "Personne (identité non partagée)"


@pytest.fixture
def raised(journey):
    j = journey(paris(2026, 1, 5, 10))
    alerts_scan(now=j.referral.acknowledge_due_at + MINUTE)
    return j


def page_of(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("web:alerts"))
    assert response.status_code == 200
    return response.content.decode()


def listed(user) -> AccessEvent:
    return AccessEvent.objects.filter(user=user, operation="list").latest("id")


@pytest.mark.parametrize("side", ["sender", "receiver"])
def test_a_counsellor_who_sees_the_identity_reads_the_name_journaled(raised, side):
    actor = getattr(raised, side)
    page = page_of(actor.user)
    assert "Léa Martin" in page and HIDDEN not in page
    row = listed(actor.user)
    assert (row.object_type, row.object_ids) == ("referral", [raised.referral.pk])
    assert row.categories == ["identity", "pathway"]
    assert row.detail["action"] == "referral.list"
    assert row.organisation == actor.organisation
    assert row.purpose  # why the organisation looked (sender or receiver of the referral)


def test_a_manager_sees_the_alert_without_the_name(raised, make_actor):
    """A manager steers activity and reads no identity (rules.ROLE_CATEGORIES): the alert, its
    escalations included, reaches them unnamed, and the journal says so."""
    manager = make_actor(organisation=raised.receiver.organisation, role=Role.MANAGER)
    page = page_of(manager.user)
    assert raised.referral.reference in page
    assert HIDDEN in page and "Martin" not in page
    row = listed(manager.user)
    assert (row.object_ids, row.categories) == ([raised.referral.pk], ["pathway"])


def test_an_unrelated_organisation_lists_nothing_and_nothing_of_it_is_journaled(raised, make_actor):
    stranger = make_actor(mission_locale=True)
    page = page_of(stranger.user)
    assert raised.referral.reference not in page and "Martin" not in page
    assert "Aucune alerte." in page
    assert not AccessEvent.objects.filter(
        user=stranger.user, object_ids__contains=[raised.referral.pk]
    ).exists()


def test_the_api_names_the_person_for_who_may_see_and_journals_it(raised, client_for):
    response = client_for(raised.sender).get("/api/v1/alerts/")
    (alert,) = response.json()["results"]
    assert alert["person_name"] == "Léa Martin"
    assert alert["level_label"] == "Alerte aux conseillers"
    row = listed(raised.sender.user)
    assert (row.object_type, row.object_ids) == ("referral", [raised.referral.pk])
    assert row.categories == ["identity", "pathway"]
    assert row.detail["door"] == "api"

    detail = client_for(raised.sender).get(f"/api/v1/alerts/{alert['id']}/")
    assert detail.json()["person_name"] == "Léa Martin"
    read = AccessEvent.objects.filter(user=raised.sender.user, operation="read").latest("id")
    assert (read.object_type, read.object_id) == ("referral", raised.referral.pk)
    assert read.person_id == raised.referral.pathway.person_id
    assert read.categories == ["identity", "pathway"]
    assert read.detail["action"] == "referral.read"


def test_the_api_gives_a_manager_no_name(raised, make_actor, client_for):
    manager = make_actor(organisation=raised.sender.organisation, role=Role.MANAGER)
    response = client_for(manager).get("/api/v1/alerts/")
    (alert,) = response.json()["results"]
    assert alert["person_name"] is None
    assert "Martin" not in response.content.decode()
    assert listed(manager.user).categories == ["pathway"]


def test_the_api_refuses_a_stranger_and_journals_the_probe(raised, make_actor, client_for):
    stranger = make_actor(mission_locale=True)
    alert_id = raised.referral.alerts.get().pk
    response = client_for(stranger).get(f"/api/v1/alerts/{alert_id}/")
    assert response.status_code == 404
    refusal = AccessEvent.objects.filter(user=stranger.user, operation="denied").latest("id")
    assert refusal.detail["refusal"] == "not_found"


def test_acknowledging_answers_without_the_name(raised, client_for):
    alert_id = raised.referral.alerts.get().pk
    response = client_for(raised.receiver).post(f"/api/v1/alerts/{alert_id}/acknowledge/")
    assert response.status_code == 200
    assert response.json()["person_name"] is None
    assert "Martin" not in response.content.decode()
