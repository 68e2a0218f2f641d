"""The DPO's per-person and per-user reports through the API: exact rows (denials and
break-glass included), staff names only where the DPO answers for them, CSV columns, 404 for
an unrelated DPO, 403 for other roles, and every generation journaled."""

import csv
import io

import pytest

from parcours.models import AccessEvent
from parcours.selectors.access_reports import CSV_COLUMNS, PERSON_VERSION_STAFF
from parcours.selectors.user_activity import CSV_COLUMNS as USER_CSV_COLUMNS

pytestmark = pytest.mark.django_db


def _report(client_for, actor, person, period, **params):
    return client_for(actor).get(
        f"/api/v1/dpo/persons/{person.pk}/access-report/", {**period, **params}
    )


def test_the_owners_dpo_gets_every_access_and_names_only_their_own_staff(
    history, client_for, period
):
    response = _report(client_for, history["owner_dpo"], history["person"], period)
    assert response.status_code == 200, response.content
    body = response.json()
    owner, siae, stranger = (history[k].organisation.name for k in ("owner", "siae", "stranger"))
    assert [(r["organisation"], r["operation"], r["user"]) for r in body["rows"]] == [
        (owner, "Consultation", history["owner"].user.get_full_name()),
        (owner, "Modification", history["owner"].user.get_full_name()),
        (siae, "Liste", PERSON_VERSION_STAFF),
        (siae, "Consultation", PERSON_VERSION_STAFF),
        (stranger, "Accès refusé", PERSON_VERSION_STAFF),
        (siae, "Accès d'urgence", PERSON_VERSION_STAFF),
    ]
    assert body["rows"][-1]["purpose"] == "Adapter le poste dès le premier jour"
    assert body["rows"][-1]["categories"] == "Santé et handicap"
    assert body["totals_by_organisation"] == {siae: 3, owner: 2, stranger: 1}
    event = AccessEvent.objects.filter(operation="report").latest("id")
    assert (event.user_id, event.person_id, event.object_type) == (
        history["owner_dpo"].user.pk,
        history["person"].pk,
        "person",
    )
    assert event.detail["rows"] == 6


def test_the_national_dpo_sees_every_staff_name(history, client_for, period):
    body = _report(client_for, history["national_dpo"], history["person"], period).json()
    names = [r["user"] for r in body["rows"]]
    assert names == [
        history["owner"].user.get_full_name(),
        history["owner"].user.get_full_name(),
        history["siae"].user.get_full_name(),
        history["siae"].user.get_full_name(),
        history["stranger"].user.get_full_name(),
        history["siae"].user.get_full_name(),
    ]


def test_the_person_version_hides_every_staff_name(history, client_for, period):
    body = _report(
        client_for, history["siae_dpo"], history["person"], period, version="person"
    ).json()
    assert {r["user"] for r in body["rows"]} == {PERSON_VERSION_STAFF}
    assert all(":" not in r["basis"] for r in body["rows"])


def test_csv_export_has_the_documented_columns(history, client_for, period):
    response = _report(client_for, history["owner_dpo"], history["person"], period, export="csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == CSV_COLUMNS
    assert len(rows) == 7
    assert rows[6][3] == "Accès d'urgence"


def test_a_dpo_of_an_unrelated_organisation_gets_404(history, client_for, period):
    response = _report(client_for, history["unrelated_dpo"], history["person"], period)
    assert response.status_code == 404
    missing = client_for(history["unrelated_dpo"]).get("/api/v1/dpo/persons/999999/access-report/")
    assert response.json() == missing.json()
    assert not AccessEvent.objects.filter(operation="report").exists()


def test_the_stranger_organisation_dpo_is_not_related_by_its_staff_refusal(
    history, client_for, period, make_actor
):
    """Its staff tried to open the record and was refused: a refusal holds nothing, so the
    person stays outside the stranger's DPO's reach (ADR 0010; finding 1 of issue 12)."""
    from parcours.models import Role

    assert AccessEvent.objects.filter(
        operation="denied", organisation=history["stranger"].organisation
    ).exists()
    dpo = make_actor(organisation=history["stranger"].organisation, role=Role.DPO)
    assert _report(client_for, dpo, history["person"], period).status_code == 404


def test_case_workers_may_not_read_dpo_reports(history, client_for, period):
    response = _report(client_for, history["owner"], history["person"], period)
    assert response.status_code == 403
    assert "délégué à la protection des données" in response.json()["detail"]


def test_bad_period_is_a_400_in_french(history, client_for):
    client = client_for(history["owner_dpo"])
    url = f"/api/v1/dpo/persons/{history['person'].pk}/access-report/"
    response = client.get(url, {"from": "2026-02-01", "to": "2026-01-01"})
    assert response.status_code == 400
    assert response.json()["from"] == ["La date de début doit précéder la date de fin."]
    response = client.get(url, {"from": "hier", "version": "tout"})
    assert response.status_code == 400
    assert set(response.json()) == {"from", "version"}


def test_the_user_report_lists_what_one_user_did(history, client_for, period):
    siae = history["siae"]
    response = client_for(history["siae_dpo"]).get(
        f"/api/v1/dpo/users/{siae.user.pk}/activity-report/", period
    )
    assert response.status_code == 200, response.content
    body = response.json()
    person = f"personne n°{history['person'].pk}"
    assert [(r["operation"], r["person"]) for r in body["rows"]] == [
        ("Liste", ""),
        ("Consultation", person),
        ("Accès d'urgence", person),
    ]
    assert body["rows"][0]["record"] == "liste : 1 orientation"
    assert body["distinct_people"] == 1
    assert body["totals_by_operation"] == {"Liste": 1, "Consultation": 1, "Accès d'urgence": 1}
    event = AccessEvent.objects.filter(operation="report").latest("id")
    assert (event.object_type, event.object_id) == ("user", siae.user.pk)

    csv_response = client_for(history["siae_dpo"]).get(
        f"/api/v1/dpo/users/{siae.user.pk}/activity-report/", {**period, "export": "csv"}
    )
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == USER_CSV_COLUMNS and len(rows) == 4


def test_a_dpo_cannot_investigate_another_organisations_staff(history, client_for, period):
    siae_user = history["siae"].user.pk
    response = client_for(history["owner_dpo"]).get(
        f"/api/v1/dpo/users/{siae_user}/activity-report/", period
    )
    assert response.status_code == 404
    national = client_for(history["national_dpo"]).get(
        f"/api/v1/dpo/users/{siae_user}/activity-report/", period
    )
    assert national.status_code == 200 and len(national.json()["rows"]) == 3


def test_the_dpo_finds_a_person_by_exact_identity_or_nir(history, client_for):
    person = history["person"]
    client = client_for(history["owner_dpo"])
    found = client.post(
        "/api/v1/dpo/person-lookup/",
        {"first_name": "LÉA", "last_name": "martin", "birth_date": person.birth_date.isoformat()},
        format="json",
    )
    assert found.status_code == 200
    assert found.json() == [{"id": person.pk, "reference": f"Personne n°{person.pk}"}]
    unrelated = client_for(history["unrelated_dpo"]).post(
        "/api/v1/dpo/person-lookup/",
        {"first_name": "Léa", "last_name": "Martin", "birth_date": person.birth_date.isoformat()},
        format="json",
    )
    assert unrelated.json() == []
    empty = client.post("/api/v1/dpo/person-lookup/", {"first_name": "Léa"}, format="json")
    assert empty.status_code == 400
    assert "date de naissance" in empty.json()["non_field_errors"][0]


def test_the_users_list_holds_the_dpos_organisation_members(history, client_for):
    body = client_for(history["siae_dpo"]).get("/api/v1/dpo/users/").json()
    ids = {row["id"] for row in body["results"]}
    assert ids == {history["siae"].user.pk, history["siae_dpo"].user.pk}


def test_filters_by_organisation_and_operation(history, client_for, period):
    client = client_for(history["owner_dpo"])
    siae = history["siae"].organisation
    rows = _report(
        client_for, history["owner_dpo"], history["person"], period, organisation=siae.pk
    ).json()["rows"]
    assert [r["operation"] for r in rows] == ["Liste", "Consultation", "Accès d'urgence"]
    denied = _report(
        client_for, history["owner_dpo"], history["person"], period, operation="denied"
    ).json()["rows"]
    assert [(r["organisation"], r["operation"]) for r in denied] == [
        (history["stranger"].organisation.name, "Accès refusé")
    ]
    bad = client.get(
        f"/api/v1/dpo/persons/{history['person'].pk}/access-report/", {"operation": "lecture"}
    )
    assert bad.status_code == 400 and "operation" in bad.json()
