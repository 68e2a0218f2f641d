"""« Orientations envoyées » in a real browser (Debian chromium through Playwright, issue 14):
the SIAE refuses the referral France Travail's counsellor sent; she finds it from her home
page's counter and from the header, filters « à regarder » and reads the SIAE's answer — axe
clean on every page, the header's alert badge read out in words."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from notifications.models import Alert
from parcours.actor import actor_for
from parcours.services.referral import referral_refuse
from tests.factories import MembershipFactory, PathwayFactory, ReferralFactory
from tests.web.test_pages import World

from .browser import check_accessibility, log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sender_finds_the_refusal_among_the_referrals_she_sent(live_server, new_page):
    world = World()
    siae = actor_for(MembershipFactory(organisation=world.siae).user, world.siae.pk)
    referral_refuse(actor=siae, referral_id=world.outgoing.pk, refusal_reason="no_capacity")
    now = timezone.now()
    Alert.objects.create(
        referral=world.incoming, kind="unanswered", level=1, due_at=now, created_at=now
    )
    # Another referral she sent, still waiting for its answer: not « à regarder ».
    waiting = ReferralFactory(
        pathway=PathwayFactory(owner_organisation=world.home),
        sender_user=world.me,
        receiver_organisation=world.elsewhere,
        sent=True,
    )
    base = live_server.url
    page = new_page()
    log_in(page, base, world.me)

    # The home page counts it, and the header's badge says the open alert in words (the
    # refusal resolved the outgoing referral's alert; the received one still waits).
    page.get_by_text("Orientations envoyées à regarder : 1").wait_for()
    alerts_link = page.locator("#navigation").get_by_role("link", name=re.compile("^Alertes"))
    assert alerts_link.evaluate("e => e.innerText.replace(/\\s+/g, ' ').trim()") == (
        "Alertes 1 : 1 alerte non traitée"
    )
    expect(alerts_link).to_have_accessible_name("Alertes : 1 alerte non traitée")
    check_accessibility(page, "accueil")

    # From the header: every referral she sent, the refused one and the waiting one.
    page.locator("#navigation").get_by_role("link", name="Orientations envoyées").click()
    page.get_by_role("heading", name="Orientations envoyées").wait_for()
    page.get_by_text("2 orientations envoyées par vous").wait_for()
    page.get_by_role("link", name=waiting.reference).wait_for()
    check_accessibility(page, "orientations envoyées")

    # « À regarder »: the refusal only, with the SIAE's answer, its date and its reason.
    page.get_by_label("À regarder seulement").check(force=True)  # its hint is in the label
    page.get_by_role("button", name="Filtrer").click()
    page.get_by_text("1 orientation envoyée par vous, à regarder").wait_for()
    row = page.get_by_role("row").filter(
        has=page.get_by_role("link", name=world.outgoing.reference)
    )
    today = timezone.localdate().strftime("%d/%m/%Y")
    row.get_by_text(f"Refusée le {today}").wait_for()
    row.get_by_text("Motif : Plus de place disponible").wait_for()
    assert row.get_by_text("Léa Martin").count() == 1
    assert row.get_by_text("Chantier Les Jardins").count() == 1
    assert page.get_by_role("link", name=waiting.reference).count() == 0
    shot(page, "orientations-envoyees-a-regarder")
    check_accessibility(page, "orientations envoyées à regarder")

    # A filter typed into the address that the form does not offer: a French error.
    page.goto(base + reverse("web:sent-referrals") + "?depuis=12")
    page.get_by_text("Sélectionnez un choix valide").wait_for()
    check_accessibility(page, "orientations envoyées (erreur)")


def test_another_organisation_never_sees_them(live_server, new_page):
    world = World()
    base = live_server.url
    page = new_page()
    log_in(page, base, world.stranger)
    page.goto(base + reverse("web:sent-referrals") + "?par=organisation")
    page.get_by_role("link", name=world.foreign_referral.reference).wait_for()
    assert page.get_by_role("link", name=world.outgoing.reference).count() == 0
    assert page.get_by_text("Léa Martin").count() == 0
    check_accessibility(page, "orientations envoyées (autre organisation)")
