"""axe-core on every page, in Debian's chromium: labels, landmarks, heading order, contrast…
(the journey test checks the pages it walks through; this one checks them all, including the
pages a form error re-renders)."""

import pytest
from django.urls import reverse

from tests.web.test_pages import PAGES, World

from .browser import check_accessibility, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_page_passes_axe(live_server, new_page):
    world = World()
    page = new_page()
    log_in(page, live_server.url, world.me)
    visited = 0
    for name, (method, own, _foreign, _data) in PAGES.items():
        if method != "GET" or name == "login":
            continue
        page.goto(live_server.url + reverse(f"web:{name}", kwargs=own(world)))
        check_accessibility(page, name)
        visited += 1
    # A form shown again with its errors is a page too.
    page.goto(live_server.url + reverse("web:person-create"))
    page.evaluate(
        "document.querySelectorAll('[required]').forEach(e => e.removeAttribute('required'))"
    )
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Ce champ est obligatoire.").first.wait_for()
    check_accessibility(page, "person-create (erreurs)")
    assert visited == 14


def test_narrow_screen_keeps_the_menu_reachable(live_server, new_page):
    world = World()
    page = new_page(width=390, height=844)  # a phone
    log_in(page, live_server.url, world.me)
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Orientations reçues").click()
    page.get_by_role("heading", name="Orientations reçues").wait_for()
    check_accessibility(page, "inbox (mobile)")


def test_every_dpo_page_passes_axe(live_server, new_page):
    from tests.web.test_dpo_pages import DPO_PAGES, DpoWorld

    world = DpoWorld()
    page = new_page()
    log_in(page, live_server.url, world.dpo, landing="/protection-des-donnees/")
    visited = 0
    for name, (method, own, _foreign, _data) in DPO_PAGES.items():
        if method != "GET":
            continue
        page.goto(live_server.url + reverse(f"web:{name}", kwargs=own(world)))
        check_accessibility(page, name)
        visited += 1
    assert visited == 10
