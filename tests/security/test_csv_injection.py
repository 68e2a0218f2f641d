"""CSV formula injection (issue 15): a case worker's free text typed as a spreadsheet formula
reaches a DPO's CSV as text — every CSV export, through the API, the pages and the command,
writes through parcours/spreadsheet.py, which puts an apostrophe before a cell that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP, "CSV Injection")."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from parcours.models import Role
from parcours.spreadsheet import FORMULA_TRIGGERS, neutralise_cell

from ..factories import ConsentFactory, PathwayFactory, PersonFactory, ReferralFactory

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://x","clic")'
NEUTRALISED = "'" + FORMULA


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (FORMULA, NEUTRALISED),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Adapter le poste = urgent", "Adapter le poste = urgent"),
        ("", ""),
        (None, ""),
        (12, "12"),
        (-12, "'-12"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe(value, expected):
    assert neutralise_cell(value) == expected


# A Wednesday at 11:00 in Paris: no access outside working hours among the anomalies.
WORKING_HOURS = dt.datetime(2026, 6, 10, 9, tzinfo=dt.UTC)


@pytest.fixture
def formula_world(make_actor, client_for):
    """A SIAE counsellor whose name and break-glass reason are formulas opens a break-glass on
    a person followed by France Travail; the DPOs who will export it."""
    with time_machine.travel(WORKING_HOURS, tick=True):
        yield _formula_world(make_actor, client_for)


def _formula_world(make_actor, client_for):
    owner = make_actor(name="France Travail Lens")
    siae = make_actor(siae=True, name="@Les Jardins du Bassin")
    siae.user.first_name, siae.user.last_name = FORMULA, ""
    siae.user.save()
    person = PersonFactory(first_name="Léa", last_name="Martin")
    pathway = PathwayFactory(person=person, owner_organisation=owner.organisation)
    ReferralFactory(
        pathway=pathway, sender_user=owner.user, receiver_organisation=siae.organisation, sent=True
    )
    ConsentFactory(person=person, organisations=[siae.organisation], categories=["social"])
    assert client_for(siae).get(f"/api/v1/persons/{person.pk}/").status_code == 200
    response = client_for(siae).post(
        f"/api/v1/pathways/{pathway.pk}/break-glass/", {"category": "health", "reason": FORMULA}
    )
    assert response.status_code == 201, response.content
    return {
        "person": person,
        "siae": siae,
        "siae_dpo": make_actor(organisation=siae.organisation, role=Role.DPO),
        "national_dpo": make_actor(name="Opérateur de la plateforme", role=Role.NATIONAL_DPO),
    }


def _cells(content: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) > 1, content  # a header and at least one row
    return rows


def _assert_neutralised(content: bytes, *, expected_cells: int) -> None:
    rows = _cells(content)
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_TRIGGERS)], rows
    assert cells.count(NEUTRALISED) == expected_cells, rows


def _page_client(actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    return client


def test_every_api_csv_export_neutralises_the_formulas(formula_world, client_for):
    w = formula_world
    person_report = client_for(w["national_dpo"]).get(
        f"/api/v1/dpo/persons/{w['person'].pk}/access-report/", {"export": "csv"}
    )
    assert person_report.status_code == 200
    # The SIAE user's name on the read and the break-glass rows, and the break-glass reason.
    _assert_neutralised(person_report.content, expected_cells=3)
    assert "'@Les Jardins du Bassin" in person_report.content.decode("utf-8-sig")

    user_report = client_for(w["siae_dpo"]).get(
        f"/api/v1/dpo/users/{w['siae'].user.pk}/activity-report/", {"export": "csv"}
    )
    assert user_report.status_code == 200
    _assert_neutralised(user_report.content, expected_cells=1)  # the reason

    anomalies = client_for(w["siae_dpo"]).get("/api/v1/dpo/anomalies/", {"export": "csv"})
    assert anomalies.status_code == 200
    _assert_neutralised(anomalies.content, expected_cells=1)  # the user's name


def test_every_page_csv_export_neutralises_the_formulas(formula_world):
    w = formula_world
    national, siae_dpo = _page_client(w["national_dpo"]), _page_client(w["siae_dpo"])
    person_report = national.get(
        reverse("web:dpo-person-report", args=[w["person"].pk]), {"export": "csv"}
    )
    assert person_report["Content-Type"].startswith("text/csv")
    _assert_neutralised(person_report.content, expected_cells=3)

    user_report = siae_dpo.get(
        reverse("web:dpo-user-report", args=[w["siae"].user.pk]), {"export": "csv"}
    )
    assert user_report["Content-Type"].startswith("text/csv")
    _assert_neutralised(user_report.content, expected_cells=1)

    anomalies = siae_dpo.get(reverse("web:dpo-anomalies"), {"export": "csv"})
    assert anomalies["Content-Type"].startswith("text/csv")
    _assert_neutralised(anomalies.content, expected_cells=1)


def test_the_commands_csv_neutralises_the_formulas(formula_world, tmp_path):
    output = tmp_path / "rapport.csv"
    call_command(
        "access_report", "--person", str(formula_world["person"].pk), "--output", str(output)
    )
    # The internal version without a DPO names every user: the read and the break-glass rows.
    _assert_neutralised(output.read_bytes(), expected_cells=3)
