"""The alerts page in Debian's chromium (issue 14): the person named for a counsellor who sees
the identity, « Personne (identité non partagée) » for a manager, each a list row in the journal
and axe-clean; the partner's sheet shows the agreement's ladder and reminder."""

import pytest
from django.urls import reverse

from parcours.models import AccessEvent, Role
from tests.factories import AgreementFactory, MembershipFactory
from tests.web.test_pages import World

from .browser import check_accessibility, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_alerts_name_the_person_within_what_the_reader_sees(live_server, new_page):
    world = World()
    manager = MembershipFactory(organisation=world.home, role=Role.MANAGER).user
    AgreementFactory(
        parties=[world.home, world.siae],
        ladder=[(24, "counsellors"), (72, "managers")],
        reminder_hours_before=36,
    )
    url = live_server.url + reverse("web:alerts")

    page = new_page()
    log_in(page, live_server.url, world.me)
    page.goto(url)
    row = page.get_by_role("row").filter(has_text=world.outgoing.reference)
    row.get_by_text("Léa Martin").wait_for()
    check_accessibility(page, "alertes (nommées)")
    assert AccessEvent.objects.filter(
        user=world.me, operation="list", object_ids__contains=[world.outgoing.pk]
    ).exists()

    page.goto(live_server.url + reverse("web:directory-organisation", args=[world.siae.pk]))
    sheet = page.get_by_text("Rappel aux conseillers du destinataire 36 heures")
    sheet.wait_for()
    assert "après 24 heures aux conseillers" in page.content()
    check_accessibility(page, "fiche partenaire (échelle)")

    other = new_page()
    log_in(other, live_server.url, manager)
    other.goto(url)
    row = other.get_by_role("row").filter(has_text=world.outgoing.reference)
    row.get_by_text("Personne (identité non partagée)").wait_for()
    assert "Martin" not in other.content()
    check_accessibility(other, "alertes (responsable)")
