"""The dashboard's two doors — the page « Tableau de bord » (and its CSV) and
`/api/v1/statistics/referrals/` — allow and deny, small-cell suppression on each, bad filters
answered in French (never a 500), and their query counts."""

import csv
import io
import re

import pytest
from django.test import Client

from parcours.models import ReferralMonthlyFigure, Role

from .conftest import _actor

pytestmark = pytest.mark.django_db

PAGE = "/tableau-de-bord/"
# The web pages this file sweeps (tests/web/test_pages.py's table names them).
STATISTICS_PAGES = {"statistics"}
API = "/api/v1/statistics/referrals/"


def _page_client(actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    return client


def _period(world) -> dict[str, str]:
    return {"du": f"{world.month:%Y-%m}", "au": f"{world.month:%Y-%m}"}


def _csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig")), delimiter=";"))


# --- the page ---------------------------------------------------------------------------------


def test_the_manager_sees_the_dashboard_with_its_charts_and_tables(world):
    response = _page_client(world.manager).get(PAGE, _period(world))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Tableau de bord</h1>" in page
    assert 'href="/tableau-de-bord/" aria-current="page">Tableau de bord</a>' in page
    assert page.count('role="img"') == 18  # one chart per indicator
    assert "Chantier Les Jardins" in page and "<td>80</td>" in page
    assert "81,2 %" in page  # the answer rate, 65 ÷ 80
    assert "<td>&lt; 5</td>" not in page  # nothing suppressed at these sizes
    # SVG coordinates in numbers, never French decimals (« 101,6 » is two coordinates in SVG).
    coordinates = re.findall(r'<(?:rect|text) x="([^"]*)" y="([^"]*)"', page)
    assert coordinates and all(re.fullmatch(r"[\d.]+", v) for pair in coordinates for v in pair)


def test_the_menu_shows_the_dashboard_to_managers_only(world):
    assert "Tableau de bord</a>" not in _page_client(world.counsellor).get("/").content.decode()
    assert "Tableau de bord</a>" in _page_client(world.manager).get("/").content.decode()


def test_a_counsellor_gets_the_403_page(world):
    response = _page_client(world.counsellor).get(PAGE)
    assert response.status_code == 403
    assert "réservé aux responsables de structure" in response.content.decode()


def test_anonymous_goes_to_the_login_page(db):
    response = Client().get(PAGE)
    assert response.status_code == 302 and response.url.startswith("/connexion/?next=")


def test_a_user_without_membership_gets_the_403_page(world):
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory())
    assert client.get(PAGE).status_code == 403


def test_the_csv_has_the_pages_figures(world):
    response = _page_client(world.manager).get(PAGE, {**_period(world), "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv_rows(response)
    by_label = {row[0]: row for row in rows if row}
    assert by_label["Orientations envoyées"][1] == "80"
    assert by_label["Taux de réponse"][1] == "81,2 %"
    assert by_label["Chantier Les Jardins"][1:] == ["80", "40", "25", "20", "10"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"du": "2026-13"}, "du", "Ce mois n'existe pas."),
        ({"du": "mars"}, "du", "Indiquez un mois au format AAAA-MM"),
        ({"au": "2999-01"}, "au", "Le dernier mois ne peut pas être dans le futur."),
        ({"du": "2020-01", "au": "2024-12"}, "du", "La période couvre au plus 36 mois."),
        ({"du": "1999-01", "au": "1999-02"}, "du", "ne peut pas précéder janvier 2000"),
        ({"sens": "partout"}, "sens", "Sélectionnez un choix valide"),
        ({"partenaire": "999999"}, "partenaire", "Sélectionnez un choix valide"),
        ({"partenaire": "x" * 300}, "partenaire", "Sélectionnez un choix valide"),
    ],
)
def test_wrong_filters_show_the_form_again_in_french(world, query, field, message):
    response = _page_client(world.manager).get(PAGE, query)
    assert response.status_code == 200  # a GET form's errors: the page is the form
    page = response.content.decode()
    assert message in page.replace("&#x27;", "'")
    assert f'id="erreur-id_{field}"' in page
    assert "Corrigez les filtres" in page


def test_the_filters_stay_in_the_address(world):
    response = _page_client(world.manager).get(
        PAGE, {**_period(world), "sens": "envoyees", "partenaire": str(world.siae.pk)}
    )
    page = response.content.decode()
    assert f'value="{world.month:%Y-%m}"' in page
    assert f'<option value="{world.siae.pk}" selected>' in page
    assert f"partenaire={world.siae.pk}" in page and "export=csv" in page  # the CSV link


def test_the_page_queries_do_not_grow_with_the_figures(world, django_assert_max_num_queries):
    client = _page_client(world.manager)
    client.get(PAGE)  # the session's first reads
    with django_assert_max_num_queries(14):
        assert client.get(PAGE, {"partenaire": str(world.siae.pk)}).status_code == 200


# --- the API ----------------------------------------------------------------------------------


def test_the_api_answers_the_same_figures(world, client_for):
    response = client_for(world.manager).get(
        API, {"from": f"{world.month:%Y-%m}", "to": f"{world.month:%Y-%m}"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    indicators = {i["code"]: i for i in body["indicators"]}
    assert indicators["sent"]["total"] == {"value": 80.0, "suppressed": False, "display": "80"}
    assert indicators["answer_rate"]["total"]["display"] == "81,2 %"
    assert body["partners"][0]["cells"]["sent"]["value"] == 80
    assert (body["organisation"], body["direction"]) == (world.home.pk, "sent")


def test_the_api_refuses_a_counsellor(world, client_for):
    response = client_for(world.counsellor).get(API)
    assert response.status_code == 403
    assert "réservé aux responsables de structure" in response.json()["detail"]


def test_the_api_asks_for_authentication(world):
    from rest_framework.test import APIClient

    assert APIClient().get(API).status_code == 401


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"from": "2026-3"}, "from", "Indiquez un mois au format AAAA-MM"),
        ({"to": "2999-01"}, "to", "Le dernier mois ne peut pas être dans le futur."),
        ({"from": "2026-01", "to": "2025-01"}, "from", "Le premier mois doit précéder le dernier."),
        ({"direction": "both"}, "direction", "n'est pas un choix valide"),
        ({"partner": "abc"}, "partner", "Un nombre entier valide est requis."),
        ({"partner": "999999"}, "partner", "Choisissez un partenaire de la liste."),
        ({"from": "0001-01"}, "from", "ne peut pas précéder janvier 2000"),
        ({"to": "9999-12"}, "to", "Le dernier mois ne peut pas être dans le futur."),
        ({"from": "2026-00"}, "from", "Indiquez un mois au format AAAA-MM"),
        ({"export": "pdf"}, "export", "n'est pas un choix valide"),
    ],
)
def test_the_api_answers_bad_filters_400_in_french(world, client_for, query, field, message):
    response = client_for(world.manager).get(API, query)
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()[field])


def test_the_api_csv_is_the_pages_csv(world, client_for):
    period = {"from": f"{world.month:%Y-%m}", "to": f"{world.month:%Y-%m}", "export": "csv"}
    api = client_for(world.manager).get(API, period)
    page = _page_client(world.manager).get(PAGE, {**_period(world), "export": "csv"})
    assert api.status_code == 200
    assert _csv_rows(api) == _csv_rows(page)


# --- small cells, through every door ------------------------------------------------------------


def test_small_cells_are_suppressed_on_the_page_the_csv_and_the_api(small_world, client_for):
    world = small_world
    period = _period(world)
    page = _page_client(world.manager).get(PAGE, period).content.decode()
    rows = {
        r[0]: r
        for r in _csv_rows(_page_client(world.manager).get(PAGE, {**period, "export": "csv"}))
        if r
    }
    api = client_for(world.manager).get(API, {"from": period["du"], "to": period["au"]}).json()
    indicators = {i["code"]: i for i in api["indicators"]}
    reasons = {r["code"]: r for r in api["refusal_reasons"]}

    # 16 sent, 13 answered, 5 refused: shown (5 is not a small cell). 4 appointments attended,
    # 2 missed, 3 closed, 1 expired: not.
    assert indicators["sent"]["total"]["value"] == 16
    assert indicators["refused"]["total"] == {"value": 5.0, "suppressed": False, "display": "5"}
    for code in ("appointments_attended", "appointments_no_show", "closed", "expired"):
        assert indicators[code]["total"] == {"value": None, "suppressed": True, "display": "< 5"}
        assert rows[indicators[code]["label"]][1] == "< 5"
    # Rates and means resting on a small count are hidden too.
    for code in ("show_rate", "no_show_rate", "positive_exit_rate"):
        assert indicators[code]["total"]["suppressed"] is True
    # Refusal reasons 3 and 2: both hidden; zeros are shown.
    assert reasons["no_capacity"]["suppressed"] and reasons["not_eligible"]["suppressed"]
    assert reasons["other"] == {
        "code": "other",
        "label": "Autre motif",
        "value": 0.0,
        "suppressed": False,
        "display": "0",
    }
    assert rows["Plus de place disponible"][1] == "< 5"
    # The page says « < 5 », never the number, for these cells.
    assert "<td>&lt; 5</td>" in page
    for hidden in ("<td>4</td>", "<td>3</td>", "<td>2</td>", "<td>1</td>"):
        assert hidden not in page
    assert not any(cell in ("1", "2", "3", "4") for row in rows.values() for cell in row[1:])
    assert not any(
        (i["total"]["value"] or 0) in (1, 2, 3, 4)
        for i in api["indicators"]
        if i["unit"] == "count"
    )


def test_one_small_partner_hides_a_second_one(db, client_for):
    """Complementary suppression: with the total shown, one hidden partner would be the total
    minus the others."""
    from .conftest import build_pattern, make_world

    world = make_world(1, refresh=False)  # 16 sent to the SIAE
    other = _actor(world.siae, Role.MANAGER).organisation  # noqa: F841 (the SIAE's manager)
    from tests.factories import OrganisationFactory

    third = OrganisationFactory(name="Mission locale")
    fourth = OrganisationFactory(name="Cap emploi")
    build_pattern(world.home, third, world.sent_at(), 1)  # 16 more
    # Four referrals to a fourth partner: a small cell.
    from parcours.services.referral_figures import referral_figures_refresh

    from .conftest import _one

    for _ in range(4):
        _one(world.home, fourth, 1, status="sent", sent_at=world.sent_at())
    referral_figures_refresh(full=True)
    assert ReferralMonthlyFigure.objects.count() == 3

    api = (
        client_for(world.manager)
        .get(API, {"from": f"{world.month:%Y-%m}", "to": f"{world.month:%Y-%m}"})
        .json()
    )
    sent = {p["name"]: p["cells"]["sent"] for p in api["partners"]}
    assert sent["Cap emploi"]["suppressed"] is True
    # 16 and 16: the smaller (the first by order) is hidden as well, the total (36) is shown.
    assert [sent[n]["suppressed"] for n in ("Chantier Les Jardins", "Mission locale")].count(
        True
    ) == 1
    assert api["partner_totals"]["sent"]["value"] == 36


def test_the_api_queries_do_not_grow_with_the_period(
    world, client_for, django_assert_max_num_queries
):
    client = client_for(world.manager)
    with django_assert_max_num_queries(12):
        assert client.get(API, {"from": "2024-01", "to": f"{world.month:%Y-%m}"}).status_code == 200


def _tables_as_the_serializer_would_write(world, direction):
    """The tables by partner, area and service are written without the serializer (thousands
    of rows for a national organisation): the same JSON, value types included (a count is a
    float as `CellSerializer` writes it), suppressed cells and all."""
    from rest_framework.renderers import JSONRenderer

    from parcours.api import statistics_serializers
    from parcours.api.statistics_views import _answer, served
    from parcours.selectors.referral_statistics import statistics_filters
    from parcours.services.referral_statistics import referral_statistics_read

    # The received side's figures are the SIAE's (the home organisation only sends).
    manager = world.manager if direction == "sent" else _actor(world.siae, Role.MANAGER)
    figures = referral_statistics_read(
        actor=manager, filters=statistics_filters(direction=direction)
    )
    assert figures.partners and figures.services
    by_serializer = statistics_serializers.StatisticsSerializer(_answer(figures)).data
    assert JSONRenderer().render(served(figures)) == JSONRenderer().render(by_serializer)


@pytest.mark.parametrize("direction", ["sent", "received"])
def test_the_api_writes_its_tables_as_the_serializer_would(world, direction):
    _tables_as_the_serializer_would_write(world, direction)


@pytest.mark.parametrize("direction", ["sent", "received"])
def test_the_api_writes_its_small_tables_as_the_serializer_would(small_world, direction):
    """The same with most cells suppressed (the small world: one copy of the pattern)."""
    _tables_as_the_serializer_would_write(small_world, direction)


@pytest.mark.parametrize("direction", ["sent", "received"])
def test_the_api_writes_a_coordinator_s_tables_as_the_serializer_would(world, direction):
    """The same for a coordinator's answer, whose tables also hold the areas."""
    from rest_framework.renderers import JSONRenderer

    from parcours.api import statistics_serializers
    from parcours.api.statistics_views import _answer, served
    from parcours.selectors.referral_statistics import statistics_filters
    from parcours.services.referral_statistics import referral_statistics_read
    from tests.factories import OrganisationFactory

    coordinator = _actor(OrganisationFactory(name="Département"), Role.COORDINATOR)
    coordinator.user.memberships.get().employment_areas.set(
        [world.home.employment_area, world.siae.employment_area]
    )
    figures = referral_statistics_read(
        actor=coordinator, filters=statistics_filters(direction=direction)
    )
    assert figures.partners and figures.areas and figures.services
    by_serializer = statistics_serializers.StatisticsSerializer(_answer(figures)).data
    assert JSONRenderer().render(served(figures)) == JSONRenderer().render(by_serializer)


def test_the_page_shows_the_largest_partners_and_the_csv_has_them_all(world, monkeypatch):
    """A national organisation's hundreds of partners: the page's table keeps the largest
    volumes and says where the others are; the CSV keeps every one."""
    from tests.factories import OrganisationFactory
    from web.views import statistics as statistics_view

    monkeypatch.setattr(statistics_view, "TABLE_ROWS", 1)
    other = OrganisationFactory(name="Association Petit Volume")
    ReferralMonthlyFigure.objects.bulk_create(
        [
            ReferralMonthlyFigure(
                **{
                    **{
                        f.attname: getattr(cell, f.attname)
                        for f in ReferralMonthlyFigure._meta.concrete_fields
                        if not f.primary_key
                    },
                    "receiver_organisation_id": other.pk,
                    "sent": 5,
                }
            )
            for cell in ReferralMonthlyFigure.objects.filter(
                sender_organisation=world.home, month=world.month
            )[:1]
        ]
    )
    client = _page_client(world.manager)
    page = client.get(PAGE, _period(world)).content.decode()
    partners_table = page.split("<h2>Par partenaire</h2>", 1)[1].split("</table>", 1)[0]
    assert "Chantier Les Jardins" in partners_table  # 80 referrals: the largest
    assert "Association Petit Volume" not in partners_table
    assert "la dernière figure dans le" in page
    csv_rows = _csv_rows(client.get(PAGE, {**_period(world), "export": "csv"}))
    assert any("Association Petit Volume" in cell for row in csv_rows for cell in row)
