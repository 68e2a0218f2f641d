"""The territorial coordinator in a real browser (Debian chromium through Playwright, issue 18):
they sign in and land on the territory's dashboard, narrow it to one organisation of their
area, download its CSV, then open « Orientations en retard » — axe clean on every page, no
person named anywhere."""

import csv
import io

import pytest

from parcours.models import Person, Role
from tests.factories import MembershipFactory, OrganisationFactory
from tests.statistics.conftest import make_world

from .browser import check_accessibility, log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_coordinator_reads_the_territory_and_its_overdue_referrals(live_server, new_page):
    world = make_world(5)
    departement = OrganisationFactory(name="Département du Pas-de-Calais")
    coordination = MembershipFactory(organisation=departement, role=Role.COORDINATOR)
    coordination.employment_areas.set([world.home.employment_area, world.siae.employment_area])
    base = live_server.url
    page = new_page()
    log_in(page, base, coordination.user, landing="/tableau-de-bord/")

    # Their home is the dashboard of their territory.
    page.get_by_role("heading", name="Tableau de bord", level=1).wait_for()
    page.get_by_text("Les orientations des organismes de votre territoire").wait_for()
    shot(page, "territoire-tableau-de-bord", height=1500)
    check_accessibility(page, "tableau de bord du territoire")

    month = f"{world.month:%Y-%m}"
    page.get_by_label("Du mois").fill(month)
    page.get_by_label("Au mois (inclus)").fill(month)
    page.get_by_label("Organisme du territoire").select_option(label="France Travail Lens")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(f"**partenaire={world.home.pk}**")
    assert f"du={month}" in page.url  # the filters stay in the address
    table = page.get_by_role("table", name="Orientations envoyées, par organisme du territoire")
    table.get_by_role("row").filter(has_text="France Travail Lens").get_by_text("80").wait_for()
    check_accessibility(page, "tableau de bord du territoire filtré")

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger ces chiffres (CSV)").click()
    with open(download.value.path(), encoding="utf-8-sig") as file:
        rows: dict[str, list[str]] = {}
        for row in csv.reader(io.StringIO(file.read()), delimiter=";"):
            if row:
                rows.setdefault(row[0], row)
    assert rows["Partenaire"][1] == "France Travail Lens"
    assert rows["Orientations envoyées"][1] == "80"

    page.locator("#navigation").get_by_role("link", name="Orientations en retard").click()
    page.get_by_role("heading", name="Orientations en retard", level=1).wait_for()
    page.get_by_role("heading", name="30 orientations en retard").wait_for()
    shot(page, "territoire-orientations-en-retard")
    check_accessibility(page, "orientations en retard")
    text = page.content()
    for person in Person.objects.all():
        assert person.first_name not in text and person.last_name not in text
