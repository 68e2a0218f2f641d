"""The territorial coordinator's doors (issue 18): the dashboard across the partners of their
areas (filters in the address, CSV, API), the alerts raised and resolved as figures, and the
overdue referrals of the area (page and API) — without any personal data, journaled, and no
record reachable without a basis."""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications.models import Alert
from parcours.models import AccessEvent, Person, Referral, ReferralMonthlyFigure, Role
from parcours.selectors.territory import reference_of
from parcours.services.referral_figures import referral_figures_refresh
from tests.factories import OrganisationFactory

from .conftest import _actor

pytestmark = pytest.mark.django_db

PAGE = "/tableau-de-bord/"
API = "/api/v1/statistics/referrals/"
OVERDUE_PAGE = "/territoire/orientations-en-retard/"
OVERDUE_API = "/api/v1/territory/overdue-referrals/"
# The web pages and endpoints this file sweeps (allow and deny).
TERRITORY_PAGES = {"territory-overdue"}


def _page_client(actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    return client


def _coordinator(world, *areas):
    """A coordinator of the département (in an area of its own) covering `areas`."""
    departement = OrganisationFactory(name="Département du Pas-de-Calais")
    actor = _actor(departement, Role.COORDINATOR)
    actor.user.memberships.get().employment_areas.set(areas)
    return actor


def _period(world) -> dict[str, str]:
    return {"du": f"{world.month:%Y-%m}", "au": f"{world.month:%Y-%m}"}


def _csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig")), delimiter=";"))


# --- the dashboard, across the partners of the territory ------------------------------------


def test_the_coordinator_sees_the_territory_s_partners_by_organisation_area_and_service(world):
    coordinator = _coordinator(world, world.home.employment_area, world.siae.employment_area)
    response = _page_client(coordinator).get(PAGE, _period(world))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Les orientations des organismes de votre territoire" in page
    assert "Par organisme du territoire" in page and "Par bassin d&#x27;emploi" in page
    assert "Par service demandé" in page
    # Sent by the territory's organisations: France Travail Lens, 80 (nothing by the SIAE).
    assert "France Travail Lens</th><td>80</td>" in page
    assert f"{world.home.employment_area.name}</th><td>80</td>" in page
    assert 'name="bassin"' in page
    # Its menu: the dashboard, the overdue referrals and the committees it runs, no record list.
    assert 'href="/territoire/orientations-en-retard/"' in page
    assert f'href="{reverse("web:committees")}"' in page
    assert 'href="/personnes/"' not in page


def test_the_received_side_and_the_filters_stay_in_the_address(world):
    coordinator = _coordinator(world, world.home.employment_area, world.siae.employment_area)
    area = world.siae.employment_area
    query = {**_period(world), "sens": "recues", "bassin": str(area.pk)}
    page = _page_client(coordinator).get(PAGE, query).content.decode()
    assert "Chantier Les Jardins</th><td>80</td>" in page
    assert f'<option value="{area.pk}" selected>' in page
    assert f"bassin={area.pk}" in page and "export=csv" in page
    partner = {**query, "partenaire": str(world.siae.pk)}
    filtered = _page_client(coordinator).get(PAGE, partner).content.decode()
    assert f'<option value="{world.siae.pk}" selected>' in filtered
    assert "Chantier Les Jardins</th><td>80</td>" in filtered


def test_a_coordinator_of_another_area_sees_nothing_of_these_partners(world):
    from tests.factories import EmploymentAreaFactory

    coordinator = _coordinator(world, EmploymentAreaFactory())
    page = _page_client(coordinator).get(PAGE, _period(world)).content.decode()
    assert "France Travail Lens" not in page and "Chantier Les Jardins" not in page
    # An area they do not cover, in the address: the form again, in French.
    response = _page_client(coordinator).get(PAGE, {"bassin": str(world.siae.employment_area_id)})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()


def test_the_csv_and_the_api_say_the_same_territory(world, client_for):
    coordinator = _coordinator(world, world.home.employment_area, world.siae.employment_area)
    rows = _csv_rows(_page_client(coordinator).get(PAGE, {**_period(world), "export": "csv"}))
    by_label = {row[0]: row for row in rows if row}
    assert by_label["Territoire"][1].count(",") == 1  # the two areas
    assert by_label["France Travail Lens"][1:] == ["80", "40", "25", "20", "10"]
    assert next(r for r in rows if r and r[0] == "Organisme du territoire")[:2] == [
        "Organisme du territoire",
        "Orientations",
    ]
    month = f"{world.month:%Y-%m}"
    api = client_for(coordinator).get(API, {"from": month, "to": month})
    assert api.status_code == 200, api.content
    body = api.json()
    assert body["territorial"] is True
    assert [p["name"] for p in body["partners"]] == ["France Travail Lens"]
    assert [a["name"] for a in body["areas"]] == [world.home.employment_area.name]
    assert body["areas"][0]["cells"]["sent"]["value"] == 80
    assert sum(s["cells"]["sent"]["value"] for s in body["services"]) == 80
    csv_api = client_for(coordinator).get(API, {"from": month, "to": month, "export": "csv"})
    page_csv = _page_client(coordinator).get(PAGE, {**_period(world), "export": "csv"})
    assert _csv_rows(csv_api) == _csv_rows(page_csv)
    bad = client_for(coordinator).get(API, {"area": "999999"})
    assert bad.status_code == 400
    assert bad.json()["area"] == ["Choisissez un bassin d'emploi de la liste."]


def test_a_manager_keeps_seeing_only_their_organisation(world, client_for):
    other = OrganisationFactory(name="Mission locale", employment_area=world.home.employment_area)
    Referral.objects.filter(pk=world.referrals[0].pk).update(sender_organisation=other)
    referral_figures_refresh(full=True)
    body = client_for(world.manager).get(API).json()
    assert body["territorial"] is False and body["areas"] == []
    assert "Mission locale" not in str(body)
    page = _page_client(world.manager).get(PAGE).content.decode()
    assert 'name="bassin"' not in page


def test_small_cells_are_suppressed_for_the_coordinator_too(small_world, client_for):
    world = small_world
    coordinator = _coordinator(world, world.home.employment_area)
    month = f"{world.month:%Y-%m}"
    body = client_for(coordinator).get(API, {"from": month, "to": month}).json()
    indicators = {i["code"]: i for i in body["indicators"]}
    assert indicators["closed"]["total"] == {"value": None, "suppressed": True, "display": "< 5"}
    cells = [c for row in body["partners"] + body["areas"] for c in row["cells"].values()]
    assert not any((c["value"] or 0) in (1, 2, 3, 4) for c in cells)


# --- alerts raised and resolved, as figures -----------------------------------------------------


def _alert(referral, *, resolved: bool, at=None):
    at = at or timezone.now()
    return Alert.objects.create(
        referral=referral,
        kind="unanswered",
        level=1,
        due_at=at,
        created_at=at,
        state="resolved" if resolved else "open",
        resolved_at=at if resolved else None,
    )


def test_alerts_raised_and_resolved_are_figures_of_the_page_the_csv_and_the_api(world, client_for):
    sent = [r for r in world.referrals if r.sent_at is not None]
    for referral in sent[:10]:
        _alert(referral, resolved=False)
    for referral in sent[10:16]:
        _alert(referral, resolved=True)
    # An escalation rung is not an alert of its own.
    Alert.objects.create(
        referral=sent[0],
        kind="unanswered",
        level=2,
        due_at=timezone.now(),
        created_at=timezone.now(),
        audience="managers",
    )
    referral_figures_refresh(full=True)
    month = f"{world.month:%Y-%m}"
    for actor in (world.manager, _coordinator(world, world.home.employment_area)):
        body = client_for(actor).get(API, {"from": month, "to": month}).json()
        indicators = {i["code"]: i for i in body["indicators"]}
        assert indicators["alerts_raised"]["total"]["value"] == 16
        assert indicators["alerts_resolved"]["total"]["value"] == 6
    rows = _csv_rows(_page_client(world.manager).get(PAGE, {**_period(world), "export": "csv"}))
    by_label = {row[0]: row for row in rows if row}
    assert by_label["Alertes levées"][1] == "16" and by_label["Alertes résolues"][1] == "6"
    page = _page_client(world.manager).get(PAGE, _period(world)).content.decode()
    assert "Alertes levées" in page and "Alertes résolues" in page


def test_an_alert_raised_later_is_counted_by_the_next_incremental_refresh(world):
    sent = [r for r in world.referrals if r.sent_at is not None]
    referral_figures_refresh(full=True)
    _alert(sent[0], resolved=False)
    # Only the months touched since the previous run (none of the recent ones by age).
    report = referral_figures_refresh(months_back=0)
    assert world.month in report.months
    figures = ReferralMonthlyFigure.objects.filter(month=world.month)
    assert sum(f.alerts_raised for f in figures) == 1
    Alert.objects.filter(referral=sent[0]).update(state="resolved", resolved_at=timezone.now())
    referral_figures_refresh(months_back=0)
    assert (
        sum(f.alerts_resolved for f in ReferralMonthlyFigure.objects.filter(month=world.month)) == 1
    )


# --- the overdue referrals of the area ----------------------------------------------------------


def _names(world) -> list[str]:
    people = Person.objects.filter(pathways__referrals__in=world.referrals).distinct()
    return [p.first_name for p in people] + [p.last_name for p in people]


def test_the_coordinator_lists_the_overdue_referrals_without_any_person(world):
    coordinator = _coordinator(world, world.siae.employment_area)
    response = _page_client(coordinator).get(OVERDUE_PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    # 5 copies × (2 unanswered + 2 accepted without appointment + 2 no-shows).
    assert "<h2>30 orientations en retard</h2>" in page
    for label in ("Sans réponse", "Rendez-vous non fixé", "Absence non traitée"):
        assert page.count(f"<td>{label}</td>") == 10
    assert "Chantier Les Jardins</th><td>30</td>" in page  # by receiver
    assert "France Travail Lens</th><td>30</td>" in page  # by sender
    assert reference_of(world.referrals[0].pk) in page or "ORI-" in page
    for name in _names(world):
        assert name not in page
    for referral in world.referrals:
        assert f"/orientations/{referral.pk}/" not in page
        assert referral.reference not in page
    journal = AccessEvent.objects.get(user=coordinator.user, object_type="territory")
    assert journal.operation == "report"
    assert len(journal.object_ids) == 30
    assert journal.detail["action"] == "territory.read" and journal.detail["total"] == 30


def test_the_overdue_api_shows_organisations_and_delays_only(world, client_for):
    coordinator = _coordinator(world, world.siae.employment_area, world.home.employment_area)
    response = client_for(coordinator).get(OVERDUE_API)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 30 and len(body["results"]) == 30
    assert set(body["results"][0]) == {
        "reference",
        "kind",
        "kind_label",
        "sender",
        "receiver",
        "service",
        "area",
        "due_at",
        "days_overdue",
    }
    assert all(r["reference"].startswith("ORI-") for r in body["results"])
    assert all(r["days_overdue"] >= 1 for r in body["results"])
    text = response.content.decode()
    for name in _names(world):
        assert name not in text
    # Most overdue first.
    dues = [r["due_at"] for r in body["results"]]
    assert dues == sorted(dues)
    # The sender's area alone: nothing is late there (lateness is counted at the receiver).
    home_area = client_for(coordinator).get(OVERDUE_API, {"area": world.home.employment_area_id})
    assert home_area.json()["total"] == 0
    bad = client_for(coordinator).get(OVERDUE_API, {"area": "abc"})
    assert bad.status_code == 400 and "area" in bad.json()


def test_an_area_the_coordinator_does_not_cover_is_refused_in_french(world, client_for):
    coordinator = _coordinator(world, world.home.employment_area)
    other = world.siae.employment_area_id
    response = client_for(coordinator).get(OVERDUE_API, {"area": other})
    assert response.status_code == 400
    assert response.json()["area"] == ["Choisissez un bassin d'emploi de la liste."]
    page = _page_client(coordinator).get(OVERDUE_PAGE, {"bassin": str(other)})
    assert page.status_code == 200 and "Sélectionnez un choix valide" in page.content.decode()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.COUNSELLOR, Role.DPO, Role.ADMIN])
def test_other_roles_are_refused_the_overdue_list(world, client_for, role):
    actor = _actor(world.siae, role)
    page = _page_client(actor).get(OVERDUE_PAGE)
    assert page.status_code == 403
    assert "réservé aux coordinateurs territoriaux" in page.content.decode()
    api = client_for(actor).get(OVERDUE_API)
    assert api.status_code == 403
    assert "réservé aux coordinateurs territoriaux" in api.json()["detail"]
    assert not AccessEvent.objects.filter(object_type="territory").exists()


def test_anonymous_is_sent_to_sign_in(db):
    assert Client().get(OVERDUE_PAGE).status_code == 302
    from rest_framework.test import APIClient

    assert APIClient().get(OVERDUE_API).status_code == 401


def test_the_coordinator_cannot_reach_a_person_s_record(world, client_for):
    """No basis, no record: the pathway's person, its referral — 404 like missing, on the pages
    and in the API, even for a referral of their area that the overdue list counts."""
    coordinator = _coordinator(world, world.siae.employment_area, world.home.employment_area)
    referral = next(r for r in world.referrals if r.status == "sent")
    person_id = referral.pathway.person_id
    pages = _page_client(coordinator)
    assert pages.get(f"/personnes/{person_id}/").status_code == 404
    assert pages.get(f"/orientations/{referral.pk}/").status_code == 404
    api = client_for(coordinator)
    for url in (
        f"/api/v1/persons/{person_id}/",
        f"/api/v1/pathways/{referral.pathway_id}/",
        f"/api/v1/referrals/{referral.pk}/",
    ):
        assert api.get(url).status_code == 404, url
    assert api.get("/api/v1/persons/").json()["results"] == []
    assert api.get("/api/v1/referrals/").json()["results"] == []


def test_the_coordinator_s_home_is_the_dashboard(world):
    coordinator = _coordinator(world, world.siae.employment_area)
    response = _page_client(coordinator).get("/")
    assert response.status_code == 302 and response.url == "/tableau-de-bord/"
