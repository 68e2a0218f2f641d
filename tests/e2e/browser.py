"""Helpers shared by the browser tests: log in, check accessibility with axe-core, tick DSFR
checkboxes, save screenshots."""

import os
import tempfile
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

# The committed screenshots (README) are rewritten only on request, so that an ordinary test run
# leaves the working tree clean: PARCOURS_UPDATE_SCREENSHOTS=1 bin/test tests/e2e
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("PARCOURS_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "parcours-screenshots"
)
PASSWORD = "secret-pass-123"
AXE = Axe()
# Impacts that fail the test; "minor" findings are reported in the failure message only.
BLOCKING = {"critical", "serious", "moderate"}


def follow_link(page, name: str) -> None:
    """Click a link and wait for the page it opens: axe run while the navigation is in flight
    would read the old page, or a document that is already gone (« Cannot read properties of
    null (reading 'documentElement') »)."""
    with page.expect_navigation():
        page.get_by_role("link", name=name).click()


def check_accessibility(page, where: str) -> None:
    page.wait_for_load_state("load")
    results = AXE.run(page)
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} élément(s) "
        f"{[node.get('target') for node in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING
    ]
    assert not violations, f"{where}: " + "; ".join(violations)


def log_in(page, base: str, user, landing: str = "/") -> None:
    """Log in through the form; `landing` is where the user arrives (a DPO: their reports).

    An account that must give a second factor (DPOs, administrators) is given an authenticator
    app if it has none (tests/second_factor.py) and types the app's code on « Vérification en
    deux étapes », as its owner would."""
    from parcours.services.account_security import has_second_factor, second_factor_required
    from tests.second_factor import enrol, next_code

    device = enrol(user) if second_factor_required(user) or has_second_factor(user) else None
    page.goto(f"{base}/connexion/")
    check_accessibility(page, "connexion")
    page.get_by_label("Nom d’utilisateur").fill(user.username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    if device is not None:
        page.wait_for_url(f"{base}/connexion/verification/**")
        page.get_by_label("Code de vérification").fill(next_code(device))
        page.get_by_role("button", name="Vérifier").click()
    page.wait_for_url(f"{base}{landing}")


def tick(page, label: str) -> None:
    """DSFR draws its own checkbox over the input: the label takes the click, as for a user."""
    page.get_by_label(label, exact=True).check(force=True)


def shot(page, name: str, *, height: int | None = None) -> None:
    """The whole page, or its top `height` pixels (a dashboard's charts run for metres: the
    README shows its head)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": height}
    page.screenshot(
        path=str(SCREENSHOTS / f"{name}.png"), full_page=True, clip=clip if height else None
    )


def tick_for_all(page, label: str) -> None:
    """A category of the consent form shared with every organisation ticked (the same labels
    stand under each organisation, for the categories shared with it only)."""
    boxes = page.locator("form[action$='/accords/'] input[name=categories]")
    boxes.and_(page.get_by_label(label, exact=True)).check(force=True)


def modal_opened(page, modal_id: str) -> None:
    """Wait until the DSFR modal has finished opening: it fades in, and axe measuring contrast
    halfway through the fade would see grey text."""
    page.wait_for_function(
        """id => {
            const modal = document.getElementById(id);
            return modal && modal.classList.contains("fr-modal--opened")
                && getComputedStyle(modal).opacity === "1";
        }""",
        arg=modal_id,
    )
