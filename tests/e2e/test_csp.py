"""The pages under their Content-Security-Policy in a real browser (Debian chromium through
Playwright): the DSFR's scripts run (they mark the root `data-fr-js`), htmx searches as the user
types, a DSFR modal opens, Swagger UI draws the API from our own static files — and chromium
reports no violation of the policy on any of them (issue 15)."""

import pytest
from django.urls import reverse

from tests.web.test_pages import World

from .browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)

# Runs before the page's own scripts (outside the policy): keeps every violation the page meets.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", event => {
    window.__cspViolations.push(
        `${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`
    );
});
"""


def _watched(new_page):
    page = new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    console = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page, console


def _assert_no_violation(page, console, where: str) -> None:
    assert page.evaluate("window.__cspViolations") == [], where
    assert console == [], where


def test_the_pages_work_under_their_policy(live_server, new_page):
    world = World()
    base = live_server.url
    page, console = _watched(new_page)

    log_in(page, base, world.me)
    assert page.evaluate("document.documentElement.hasAttribute('data-fr-js')")  # DSFR ran
    assert page.evaluate("typeof window.htmx") == "object"
    _assert_no_violation(page, console, "accueil")

    page.goto(base + reverse("web:person-search"))
    page.get_by_label("Nom (début)").fill("Mar")  # htmx posts as the user types
    page.locator("#resultats").get_by_text("Martin").first.wait_for()
    _assert_no_violation(page, console, "recherche")

    page.goto(base + reverse("web:person-detail", args=[world.person.pk]))
    _assert_no_violation(page, console, "fiche personne")

    page.goto(base + reverse("web:referral-detail", args=[world.incoming.pk]))
    page.get_by_label("Motif de refus").select_option(label="Plus de place disponible")
    page.get_by_role("button", name="Refuser l'orientation").click()
    page.get_by_role("dialog", name="Refuser l'orientation ?").wait_for()  # the DSFR modal
    _assert_no_violation(page, console, "orientation reçue")


def test_swagger_ui_draws_the_api_from_our_static_files(live_server, new_page):
    page, console = _watched(new_page)
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url + "/api/docs/")
    page.locator(".opblock-tag").first.wait_for()  # the API's sections drawn from the schema
    assert page.get_by_text("parcours — API").first.is_visible()
    assert requested and all(url.startswith(live_server.url) for url in requested), requested
    _assert_no_violation(page, console, "swagger")
