"""axe-core on every page, in Debian's chromium: labels, landmarks, heading order, contrast…
(the journey test checks the pages it walks through; this one checks them all, including the
pages a form error re-renders)."""

import pytest
from django.urls import reverse

from tests.web.test_pages import DOWNLOADS, PAGES, World

from .browser import check_accessibility, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_page_passes_axe(live_server, new_page):
    world = World()
    page = new_page()
    log_in(page, live_server.url, world.me)
    visited = 0
    for name, (method, own, _foreign, _data) in PAGES.items():
        if method != "GET" or name == "login" or name in DOWNLOADS:  # a file is no page
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
    assert visited == 32  # the footer's three public pages, a pathway write, a diagnostic
    # domain's form, access requests, the directory's two pages, the action plan's two forms,
    # the care team's two, the proposal of a réorientation, the sent referrals and « À
    # traiter »'s two full lists, and the second factor's three (issue 15: the code page sends
    # an agent without one on to « À traiter »)


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


@pytest.mark.parametrize("width", [1280, 390])
def test_a_long_organisation_name_leaves_the_marianne_block_intact(live_server, new_page, width):
    """The header's organisation button keeps one line (ellipsis, the whole name in its title):
    the « République française » block is not squeezed (without it, a 160-character name cut it
    to « RÉPU FRAN » and ran off the screen), on a desktop and a phone."""
    world = World()
    world.home.name = (
        "Conseil départemental du Pas-de-Calais — Direction de l'insertion et de l'emploi, "
        "Maison départementale des solidarités de l'Artois, antenne de Lens-Liévin-Hénin"
    )
    world.home.save()
    page = new_page(width=width, height=900)
    log_in(page, live_server.url, world.me)
    clipped = page.locator(".fr-header__logo .fr-logo").first.evaluate(
        "e => e.scrollWidth > e.clientWidth + 1"
    )
    assert not clipped, "the Marianne block is cut"
    if width >= 992:  # the tools are shown beside the brand on a desktop (a menu on a phone)
        button = page.locator(".fr-header__tools-links a.fr-icon-building-line").first
        box = button.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= width, "the name runs off the screen"
        assert box["height"] < 60, "the name wraps onto several lines"
        assert world.home.name in (button.get_attribute("title") or "")
    check_accessibility(page, f"en-tête, nom long ({width} px)")
