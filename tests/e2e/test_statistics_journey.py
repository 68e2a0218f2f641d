"""« Tableau de bord » in a real browser (Debian chromium through Playwright, issue 18): France
Travail's manager opens the dashboard from the menu, narrows it to one partner and one month,
downloads the CSV of the same figures — axe clean on every page, a wrong month answered in
French."""

import csv
import io

import pytest
from django.urls import reverse

from tests.statistics.conftest import make_world

from .browser import check_accessibility, log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_manager_filters_the_dashboard_and_downloads_its_figures(live_server, new_page):
    world = make_world(5)
    base = live_server.url
    page = new_page()
    log_in(page, base, world.manager.user)

    page.locator("#navigation").get_by_role("link", name="Tableau de bord").click()
    page.get_by_role("heading", name="Tableau de bord", level=1).wait_for()
    shot(page, "tableau-de-bord-12-mois")
    check_accessibility(page, "tableau de bord")

    month = f"{world.month:%Y-%m}"
    page.get_by_label("Du mois").fill(month)
    page.get_by_label("Au mois (inclus)").fill(month)
    page.get_by_label("Partenaire").select_option(label="Chantier Les Jardins")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(f"**partenaire={world.siae.pk}**")
    assert f"du={month}" in page.url  # the filters stay in the address
    page.get_by_role("heading", name="Orientations envoyées — Chantier Les Jardins").wait_for()
    chart = page.get_by_role("img", name="Orientations envoyées, par mois")
    chart.wait_for()
    summary = page.get_by_role("table", name="Synthèse")
    row = summary.get_by_role("row").filter(has_text="Taux de réponse")
    row.get_by_text("81,2 %").wait_for()
    shot(page, "tableau-de-bord")
    check_accessibility(page, "tableau de bord filtré")

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger ces chiffres (CSV)").click()
    assert download.value.suggested_filename == f"tableau-de-bord-{month}-{month}.csv"
    with open(download.value.path(), encoding="utf-8-sig") as file:
        rows: dict[str, list[str]] = {}
        for row in csv.reader(io.StringIO(file.read()), delimiter=";"):
            if row:
                rows.setdefault(row[0], row)  # the first « Partenaire »: the filter's
    assert rows["Partenaire"][1] == "Chantier Les Jardins"
    assert rows["Orientations envoyées"][1] == "80"
    assert rows["Taux de réponse"][1] == "81,2 %"

    # A month typed into the address that does not exist: the form again, in French.
    page.goto(base + reverse("web:statistics") + "?du=2026-13")
    page.get_by_text("Ce mois n'existe pas.").wait_for()
    check_accessibility(page, "tableau de bord (erreur)")
