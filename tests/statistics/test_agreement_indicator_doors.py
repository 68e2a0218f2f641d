"""The agreement indicators' doors (issue 18): the page « Indicateurs de la convention » (its CSV
and PDF), the form its signatories choose them with, the dashboard's block, and the API
(`/api/v1/statistics/indicators/`, `/api/v1/agreements/{id}/indicators/` and its `report/`) —
allow and deny (a non-party's manager: 404; a counsellor of a party: 403, as the statistics),
bad input answered in French with the values kept, never a 500."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.test import Client

from parcours.models import AgreementIndicator, Role
from tests.factories import OrganisationFactory

from .conftest import _actor
from .test_agreement_indicators import _agreement

pytestmark = pytest.mark.django_db

# The web pages this file sweeps (tests/web/test_pages.py's table names them).
INDICATOR_PAGES = {"agreement-indicators", "agreement-indicators-edit"}
READERS_ONLY = "réservés aux responsables et administrateurs des signataires"
SIGNATORIES_ONLY = "Seuls les responsables et administrateurs des signataires"


def _client(actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    return client


def _page(agreement) -> str:
    return f"/conventions/{agreement.pk}/indicateurs/"


def _api(agreement, tail: str = "") -> str:
    return f"/api/v1/agreements/{agreement.pk}/indicators/{tail}"


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


@pytest.fixture
def agreement(world):
    made = _agreement(world, codes=["answer_rate", "placed"], target="90")
    AgreementIndicator.objects.filter(agreement=made, code="placed").update(target=Decimal(5))
    return made


# --- the page, its files -----------------------------------------------------------------------


def test_a_partys_manager_reads_the_report_value_against_target(world, agreement):
    response = _client(world.manager).get(_page(agreement))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Indicateurs de la convention</h1>" in page
    assert "Taux de réponse aux orientations" in page and "81,2 %" in page
    assert "Formule : Orientations ayant reçu une réponse ÷ orientations envoyées" in page
    assert "fr-badge--error" in page and "Écart à la cible" in page  # 81,2 % < 90 %
    assert "−8,8 pt" in page
    assert "fr-badge--success" in page  # 10 placed ≥ 5
    assert "Choisir les indicateurs et leurs cibles" in page


def test_the_other_partys_admin_reads_it_too(world, agreement):
    admin = _actor(world.siae, Role.ADMIN)
    assert _client(admin).get(_page(agreement)).status_code == 200


def test_csv_and_pdf_hold_the_pages_cells(world, agreement):
    client = _client(world.manager)
    response = client.get(_page(agreement), {"export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv_rows(response)
    assert rows[0] == ["Convention", "Convention SPE – SIAE"]
    month = [
        r
        for r in rows
        if len(r) == 8 and r[0] == "Taux de réponse aux orientations" and r[4] == "81,2 %"
    ]
    assert month and month[0][5:] == ["90,0 %", "−8,8 pt", "Écart à la cible"]
    pdf = client.get(_page(agreement), {"export": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf["Content-Disposition"] == (
        f'attachment; filename="indicateurs-convention-{agreement.pk}.pdf"'
    )


def test_a_non_partys_manager_finds_nothing_and_a_counsellor_is_refused(world, agreement):
    stranger = _actor(OrganisationFactory(), Role.MANAGER)
    for url in (_page(agreement), _page(agreement) + "modifier/"):
        assert _client(stranger).get(url).status_code == 404
        refused = _client(world.counsellor).get(url)
        assert refused.status_code == 403
    assert READERS_ONLY in _client(world.counsellor).get(_page(agreement)).content.decode()
    assert _client(world.manager).get("/conventions/999999/indicateurs/").status_code == 404


def test_the_small_world_says_non_diffuse(small_world):
    made = _agreement(small_world, codes=["placed", "show_rate"])
    page = _client(small_world.manager).get(_page(made)).content.decode()
    assert "non diffusé (moins de 5 personnes)" in page
    assert "&lt; 5" not in page


# --- the form ----------------------------------------------------------------------------------


def test_the_signatory_chooses_indicators_and_targets(world, agreement):
    client = _client(world.manager)
    assert client.get(_page(agreement) + "modifier/").status_code == 200
    response = client.post(
        _page(agreement) + "modifier/",
        {
            "annexe_show_rate": "on",
            "cible_show_rate": "72,5",
            "periode_show_rate": "yearly",
            "annexe_placed": "on",
            "cible_placed": "12",
            "periode_placed": "monthly",
        },
    )
    assert response.status_code == 302 and response["Location"] == _page(agreement)
    annexed = {i.code: (i.target, i.period) for i in agreement.indicators.all()}
    assert annexed == {
        "show_rate": (Decimal("72.50"), "yearly"),
        "placed": (Decimal("12.00"), "monthly"),
    }


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"annexe_show_rate": "on", "cible_show_rate": "", "periode_show_rate": "yearly"},
            "Indiquez la cible de « Taux de venue aux rendez-vous ».",
        ),
        (
            {"annexe_show_rate": "on", "cible_show_rate": "abc", "periode_show_rate": "yearly"},
            "Indiquez un nombre",
        ),
        (
            {"annexe_show_rate": "on", "cible_show_rate": "150", "periode_show_rate": "yearly"},
            "La cible est au plus 100",
        ),
        (
            {"annexe_show_rate": "on", "cible_show_rate": "50", "periode_show_rate": "weekly"},
            "Choisissez une périodicité de la liste.",
        ),
    ],
)
def test_bad_input_shows_the_form_again_with_the_values(world, agreement, data, message):
    response = _client(world.manager).post(_page(agreement) + "modifier/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert f'value="{data["cible_show_rate"]}"' in page
    assert set(agreement.indicators.values_list("code", flat=True)) == {"answer_rate", "placed"}


def test_the_counsellor_cannot_post_the_form(world, agreement):
    response = _client(world.counsellor).post(
        _page(agreement) + "modifier/", {"annexe_placed": "on", "cible_placed": "1"}
    )
    assert response.status_code == 403
    assert AgreementIndicator.objects.get(agreement=agreement, code="placed").target == 5


# --- the dashboard's block ---------------------------------------------------------------------


def test_the_dashboard_shows_the_indicators_off_target(world, agreement):
    # The months after the set count nobody placed: a target of 0 is met by every month.
    AgreementIndicator.objects.filter(agreement=agreement, code="placed").update(target=0)
    page = _client(world.manager).get("/tableau-de-bord/").content.decode()
    assert "Indicateurs de vos conventions" in page
    assert f'href="/conventions/{agreement.pk}/indicateurs/"' in page
    assert "1 indicateur en écart à la cible" in page
    assert "<strong>Taux de réponse aux orientations</strong>" in page


# --- the API -----------------------------------------------------------------------------------


def test_the_catalogue_in_the_api(world):
    response = _client(world.counsellor).get("/api/v1/statistics/indicators/")
    assert response.status_code == 200
    entries = {e["code"]: e for e in response.json()}
    assert entries["committees_held"]["available"] is False
    assert entries["show_rate"]["formula"].startswith("Rendez-vous honorés ÷")
    assert Client().get("/api/v1/statistics/indicators/").status_code in (401, 403)


def test_the_api_reads_and_replaces_the_annexed_indicators(world, agreement):
    client = _client(world.manager)
    listed = client.get(_api(agreement)).json()
    assert {i["code"] for i in listed["indicators"]} == {"answer_rate", "placed"}
    response = client.put(
        _api(agreement),
        json.dumps({"indicators": [{"code": "show_rate", "target": "70", "period": "quarterly"}]}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert [(i["code"], i["target"], i["period_label"]) for i in response.json()["indicators"]] == [
        ("show_rate", "70.00", "Trimestrielle")
    ]


@pytest.mark.parametrize(
    "payload, field_message",
    [
        ({"indicators": [{"code": "nope", "target": "1", "period": "yearly"}]}, "du catalogue"),
        ({"indicators": [{"code": "show_rate", "target": "x", "period": "yearly"}]}, "nombre"),
        ({"indicators": [{"code": "show_rate", "target": "101", "period": "yearly"}]}, "entre 0"),
        ({"indicators": [{"code": "show_rate", "target": "1", "period": "weekly"}]}, "périodicité"),
        ({}, "obligatoire"),
    ],
)
def test_the_api_answers_bad_input_in_french(world, agreement, payload, field_message):
    response = _client(world.manager).put(
        _api(agreement), json.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 400
    assert field_message in json.dumps(response.json(), ensure_ascii=False)


def test_the_api_report_and_its_files(world, agreement):
    client = _client(world.manager)
    report = client.get(_api(agreement, "report/")).json()
    rate = next(i for i in report["indicators"] if i["code"] == "answer_rate")
    month = next(p for p in rate["periods"] if p["value"]["display"] == "81,2 %")
    assert (month["on_target"], month["deviation"], month["status"]) == (
        False,
        "-8.80",
        "Écart à la cible",
    )
    assert client.get(_api(agreement, "report/"), {"export": "csv"})["Content-Type"].startswith(
        "text/csv"
    )
    assert client.get(_api(agreement, "report/"), {"export": "pdf"}).content.startswith(b"%PDF")
    assert client.get(_api(agreement, "report/"), {"export": "xls"}).status_code == 400


def test_the_api_denies_a_non_party_and_a_counsellor(world, agreement):
    stranger = _client(_actor(OrganisationFactory(), Role.MANAGER))
    counsellor = _client(world.counsellor)
    for url in (_api(agreement), _api(agreement, "report/")):
        assert stranger.get(url).status_code == 404
        assert counsellor.get(url).status_code == 403
    put = json.dumps({"indicators": []})
    assert stranger.put(_api(agreement), put, content_type="application/json").status_code == 404
    assert counsellor.put(_api(agreement), put, content_type="application/json").status_code == 403
    assert agreement.indicators.count() == 2
    assert _client(world.manager).get("/api/v1/agreements/abc/indicators/").status_code == 404
