"""The DPO's pages: each one for the DPO (allow), a French 403 for case workers (deny by role),
404 for a person, user or request outside the DPO's reach; the reports' rows and the rights
request flow through the pages."""

import copy
import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parcours.models import AccessEvent, RightsRequest, Role
from tests.factories import MembershipFactory, PathwayFactory, PersonFactory
from tests.worlds import built_once

from .test_pages import World, client_of

pytestmark = pytest.mark.django_db


class DpoWorld(World):
    def __init__(self):
        super().__init__()
        self.dpo = MembershipFactory(organisation=self.home, role=Role.DPO).user
        self.stranger_person = PathwayFactory(
            person=PersonFactory(), owner_organisation=self.elsewhere
        ).person
        self.request = RightsRequest.objects.create(
            person=self.person,
            organisation=self.home,
            kind="access",
            received_on=timezone.localdate(),
            due_on=timezone.localdate() + dt.timedelta(days=30),
            recorded_by=self.dpo,
        )
        self.foreign_request = RightsRequest.objects.create(
            person=self.stranger_person,
            organisation=self.elsewhere,
            kind="access",
            received_on=timezone.localdate(),
            due_on=timezone.localdate() + dt.timedelta(days=30),
            recorded_by=self.stranger,
        )


@pytest.fixture(scope="module")
def world_template(django_db_setup, django_db_blocker):
    """Built once for the module, each test on a copy (tests/worlds.py)."""
    with built_once(django_db_blocker):
        yield DpoWorld()


@pytest.fixture
def world(world_template, db):
    return copy.deepcopy(world_template)


# name → (method, own kwargs, foreign kwargs or None, POST data)
DPO_PAGES = {
    "dpo-home": ("GET", lambda w: {}, None, None),
    "dpo-person-report": (
        "GET",
        lambda w: {"pk": w.person.pk},
        lambda w: {"pk": w.stranger_person.pk},
        None,
    ),
    "dpo-rights-request-create": (
        "GET",
        lambda w: {"pk": w.person.pk},
        lambda w: {"pk": w.stranger_person.pk},
        None,
    ),
    "dpo-subject-access-pack": (
        "POST",
        lambda w: {"pk": w.person.pk},
        lambda w: {"pk": w.stranger_person.pk},
        {},
    ),
    "dpo-users": ("GET", lambda w: {}, None, None),
    "dpo-user-report": (
        "GET",
        lambda w: {"pk": w.me.pk},
        lambda w: {"pk": w.stranger.pk},
        None,
    ),
    "dpo-anomalies": ("GET", lambda w: {}, None, None),
    "dpo-integrity": ("GET", lambda w: {}, None, None),
    "dpo-integrity-verify": ("POST", lambda w: {}, None, {}),
    "dpo-register": ("GET", lambda w: {}, None, None),
    "dpo-rights-requests": ("GET", lambda w: {}, None, None),
    "dpo-rights-request": (
        "GET",
        lambda w: {"pk": w.request.pk},
        lambda w: {"pk": w.foreign_request.pk},
        None,
    ),
}


def _call(client, name, kwargs, method, data=None):
    url = reverse(f"web:{name}", kwargs=kwargs)
    return client.post(url, data or {}) if method == "POST" else client.get(url)


@pytest.mark.parametrize("name", sorted(DPO_PAGES))
def test_anonymous_goes_to_the_login_page(name, world):
    method, own, _foreign, data = DPO_PAGES[name]
    response = _call(Client(), name, own(world), method, data)
    assert response.status_code == 302 and response.url.startswith("/connexion/?next=")


@pytest.mark.parametrize("name", sorted(n for n, p in DPO_PAGES.items() if p[0] == "GET"))
def test_the_dpo_sees_the_page(name, world):
    _method, own, _foreign, _data = DPO_PAGES[name]
    response = _call(client_of(world.dpo), name, own(world), "GET")
    assert response.status_code == 200
    assert b'lang="fr"' in response.content and b"Protection des donn" in response.content


@pytest.mark.parametrize("name", sorted(DPO_PAGES))
def test_case_workers_get_a_french_403(name, world):
    method, own, _foreign, data = DPO_PAGES[name]
    response = _call(client_of(world.me), name, own(world), method, data)
    assert response.status_code == 403
    assert "réservées au délégué à la protection des données" in response.content.decode()


@pytest.mark.parametrize("name", sorted(n for n, p in DPO_PAGES.items() if p[2] is not None))
def test_out_of_reach_is_not_found(name, world):
    method, _own, foreign, data = DPO_PAGES[name]
    response = _call(client_of(world.dpo), name, foreign(world), method, data)
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_the_dpo_lands_on_the_reports_and_finds_a_person(world):
    client = client_of(world.dpo)
    assert client.get(reverse("web:home")).url == reverse("web:dpo-home")
    response = client.post(
        reverse("web:dpo-home"),
        {"first_name": "Léa", "last_name": "MARTIN", "birth_date": "1990-05-17"},
    )
    assert response.status_code == 302
    assert response.url == reverse("web:dpo-person-report", args=[world.person.pk])
    missing = client.post(reverse("web:dpo-home"), {"last_name": "Martin"})
    expected = "Indiquez le nom, le prénom et la date de naissance, ou le NIR."
    assert expected in missing.content.decode()


def test_the_person_report_page_shows_the_rows_and_exports_csv(world):
    client_of(world.me).get(reverse("web:person-detail", args=[world.person.pk]))
    client = client_of(world.dpo)
    url = reverse("web:dpo-person-report", args=[world.person.pk])
    page = client.get(url).content.decode()
    assert "Consultation" in page and world.me.get_full_name() in page
    person_version = client.get(url, {"version": "person"}).content.decode()
    assert world.me.get_full_name() not in person_version
    csv = client.get(url, {"version": "internal", "export": "csv"})
    assert csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode("utf-8-sig").splitlines()[0].startswith("date;organisation;")
    bad = client.get(url, {"du": "2026-02-01", "au": "2026-01-01"}).content.decode()
    assert "La date de début doit précéder la date de fin." in bad
    assert AccessEvent.objects.filter(operation="report", person_id=world.person.pk).count() == 3


def test_recording_and_answering_a_request_from_the_pages(world):
    client = client_of(world.dpo)
    response = client.post(
        reverse("web:dpo-rights-request-create", args=[world.person.pk]),
        {"kind": "objection", "channel": "desk", "received_on": timezone.localdate().isoformat()},
    )
    created = RightsRequest.objects.filter(kind="objection").get()
    assert response.url == reverse("web:dpo-rights-request", args=[created.pk])
    url = reverse("web:dpo-rights-request", args=[created.pk])
    empty = client.post(url, {"action": "decider", "decision-status": "granted"})
    assert "Ce champ est obligatoire." in empty.content.decode()
    client.post(
        url,
        {"action": "decider", "decision-status": "granted", "decision-decision": "Fait."},
    )
    created.refresh_from_db()
    assert created.status == "granted"
    assert world.person.objections.filter(withdrawn_at__isnull=True).exists()
    listing = client.get(reverse("web:dpo-rights-requests"), {"etat": "toutes"}).content.decode()
    assert f"n°{created.pk}" in listing


def test_the_verify_button_queues_a_verification(world):
    response = client_of(world.dpo).post(reverse("web:dpo-integrity-verify"))
    assert response.status_code == 302
    assert AccessEvent.objects.filter(purpose="Vérification du journal demandée").exists()
