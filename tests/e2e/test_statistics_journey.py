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
    shot(page, "tableau-de-bord-12-mois", height=1500)
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
    shot(page, "tableau-de-bord", height=1500)
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


def test_the_manager_reads_an_agreements_indicators_and_downloads_the_report(live_server, new_page):
    """From the dashboard's « Indicateurs de vos conventions » to the agreement's report: value
    against target, the deviation highlighted; the signatory changes a target; the CSV holds
    the page's cells — axe clean on every page."""
    from tests.statistics.test_agreement_indicators import _agreement

    world = make_world(5)
    agreement = _agreement(world, codes=["answer_rate", "placed"], target="90")
    base = live_server.url
    page = new_page()
    log_in(page, base, world.manager.user)

    page.goto(base + reverse("web:statistics"))
    block = page.locator(
        "section", has=page.get_by_role("heading", name="Indicateurs de vos conventions")
    )
    block.get_by_text("Taux de réponse aux orientations").first.wait_for()
    check_accessibility(page, "tableau de bord avec les indicateurs des conventions")
    block.get_by_role("link", name=agreement.name).click()
    page.get_by_role("heading", name="Indicateurs de la convention", level=1).wait_for()
    table = page.get_by_role("table", name="Taux de réponse aux orientations : valeur et cible")
    row = table.get_by_role("row").filter(has_text="81,2 %")
    row.get_by_text("Écart à la cible").wait_for()
    row.get_by_text("−8,8 pt").wait_for()
    shot(page, "indicateurs-convention")
    check_accessibility(page, "indicateurs de la convention")

    page.get_by_role("link", name="Choisir les indicateurs et leurs cibles").click()
    page.get_by_role("heading", name="Choisir les indicateurs de la convention").wait_for()
    check_accessibility(page, "choix des indicateurs")
    target = page.locator("#id_cible_answer_rate")
    target.fill("soixante")
    page.get_by_role("button", name="Enregistrer les indicateurs").click()
    page.get_by_text("Indiquez un nombre (par exemple 75 ou 3,5).").wait_for()
    assert page.locator("#id_cible_answer_rate").input_value() == "soixante"  # kept
    check_accessibility(page, "choix des indicateurs (erreur)")
    page.locator("#id_cible_answer_rate").fill("80")
    page.get_by_role("button", name="Enregistrer les indicateurs").click()
    page.get_by_text("Les indicateurs de la convention sont enregistrés.").wait_for()
    row = page.get_by_role("table", name="Taux de réponse aux orientations : valeur et cible")
    row.get_by_role("row").filter(has_text="81,2 %").get_by_text("Cible atteinte").wait_for()

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le rapport (CSV)").click()
    assert download.value.suggested_filename == f"indicateurs-convention-{agreement.pk}.csv"
    with open(download.value.path(), encoding="utf-8-sig") as file:
        rows = [r for r in csv.reader(io.StringIO(file.read()), delimiter=";") if r]
    month = [
        r
        for r in rows
        if len(r) == 8 and r[0] == "Taux de réponse aux orientations" and r[4] == "81,2 %"
    ]
    # « + » starts a formula in a spreadsheet: the CSV writer quotes it (parcours/spreadsheet.py).
    assert month and month[0][5:] == ["80,0 %", "'+1,2 pt", "Cible atteinte"]
