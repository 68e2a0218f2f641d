"""Response headers (issue 15): a Content-Security-Policy with a nonce on every response, and no
page holding an inline script, an inline style or an event attribute the policy would block;
Permissions-Policy and Referrer-Policy everywhere; the Swagger page served from our own static
files (drf-spectacular-sidecar), never a CDN. HSTS in production: tests/test_settings.py.
tests/e2e/test_csp.py loads the pages in chromium and listens for violations."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from ..web.test_dpo_pages import DPO_PAGES, DpoWorld
from ..web.test_pages import DOWNLOADS, PAGES, client_of

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NONCE = re.compile(r"'nonce-([A-Za-z0-9+/=]+)'")
OTHER_SITE = ("http:", "https:", "//")


class _Inline(HTMLParser):
    """What a CSP without 'unsafe-inline' blocks: inline scripts and styles without the nonce,
    style attributes, event handler attributes, javascript: URLs."""

    def __init__(self, nonce: str):
        super().__init__()
        self.nonce = nonce
        self.blocked: list[str] = []
        self.nonces: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "nonce" in attributes:
            self.nonces.add(attributes["nonce"] or "")
        inline_script = tag == "script" and "src" not in attributes
        executable = attributes.get("type", "text/javascript") not in ("application/json",)
        inline = (inline_script and executable) or tag == "style"
        if inline and attributes.get("nonce") != self.nonce:
            self.blocked.append(f"<{tag}> without the nonce")
        if tag == "script" and (attributes.get("src") or "/").startswith(OTHER_SITE):
            self.blocked.append(f"script from another site: {attributes['src']}")
        for name, value in attrs:
            if name == "style":
                self.blocked.append(f"<{tag} style={value!r}>")
            if name.startswith("on"):
                self.blocked.append(f"<{tag} {name}=…>")
            url = (value or "").lower() if name in ("href", "src", "action") else ""
            if url.startswith("javascript:"):
                self.blocked.append(f"<{tag} {name}={value!r}>")


def assert_page_obeys_its_policy(response, where: str) -> None:
    assert response.status_code == 200, (where, response.status_code)
    policy = response["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
        assert directive in policy, (where, policy)
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, policy
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    nonce = NONCE.search(script_src)
    assert nonce, (where, policy)  # every page runs the DSFR's script with the nonce
    parser = _Inline(nonce.group(1))
    parser.feed(response.content.decode())
    assert parser.blocked == [], (where, parser.blocked)
    assert parser.nonces == {nonce.group(1)}, (where, parser.nonces)


def assert_common_headers(response, where: str) -> None:
    assert "camera=()" in response["Permissions-Policy"], where
    assert "geolocation=()" in response["Permissions-Policy"], where
    assert response["Referrer-Policy"] == "same-origin", where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert "Content-Security-Policy" in response, where


def test_every_page_carries_a_nonce_and_no_inline_code_without_it():
    from ..web.test_pages import World

    world = World()
    client = client_of(world.me)
    checked = 0
    for name, (method, own, _foreign, _data) in PAGES.items():
        if method != "GET":
            continue
        response = client.get(reverse(f"web:{name}", kwargs=own(world)))
        if response.status_code == 302:  # a page that sends the counsellor elsewhere
            continue
        if name in DOWNLOADS:  # a file, never a page: nothing of it runs, not even our scripts
            assert response["Content-Security-Policy"] == "default-src 'none'; sandbox", name
            assert_common_headers(response, name)
            continue
        assert_page_obeys_its_policy(response, name)
        assert_common_headers(response, name)
        checked += 1
    assert checked >= 20


def test_the_dpo_pages_obey_the_policy():
    world = DpoWorld()
    client = client_of(world.dpo)
    for name, (method, own, _foreign, _data) in DPO_PAGES.items():
        if method == "GET":
            response = client.get(reverse(f"web:{name}", kwargs=own(world)))
            assert_page_obeys_its_policy(response, name)


def test_anonymous_and_error_pages_obey_the_policy():
    client = Client()
    assert_page_obeys_its_policy(client.get(reverse("web:login")), "login")
    for path in ("/page-qui-n-existe-pas/", "/admin/login/"):
        response = client.get(path)
        assert "Content-Security-Policy" in response, path
        assert "camera=()" in response["Permissions-Policy"], path


def test_the_api_answers_carry_the_headers(counsellor, client_for):
    response = client_for(counsellor).get("/api/v1/me/")
    assert response.status_code == 200
    assert_common_headers(response, "api")


def test_the_templates_hold_no_inline_code_without_the_nonce():
    """The templates themselves, pages not rendered by the test above included."""
    offenders = []
    for path in sorted((ROOT / "web" / "templates").rglob("*.html")):
        text = path.read_text()
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{number}"
            if re.search(r"""\sstyle=["']""", line):
                offenders.append(f"{where}: style attribute")
            if re.search(r"""\son[a-z]+=["']""", line):
                offenders.append(f"{where}: event handler attribute")
            for tag in re.findall(r"<(?:script|style)\b[^>]*>", line):
                if "src=" not in tag and 'nonce="{{ csp_nonce }}"' not in tag:
                    offenders.append(f"{where}: {tag}")
    assert offenders == []


def test_swagger_ui_is_served_from_our_static_files():
    client = Client()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "cdn" not in page and "@latest" not in page and "https://" not in page
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        url = re.search(rf'"(/static/[^"]*/{asset})"', page)
        assert url, asset
        assert finders.find(url.group(1).removeprefix("/static/")), url.group(1)
    assert_page_obeys_its_policy(response, "swagger")
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def _form_action(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    (directive,) = [d.strip() for d in policy.split(";") if d.strip().startswith("form-action")]
    return directive


@pytest.mark.django_db
def test_forms_may_post_to_the_proconnect_provider_only_when_it_is_configured(settings):
    """The sign-in and logout buttons post forms answered by a redirect to ProConnect, which
    `form-action` governs (chromium blocks it otherwise: tests/e2e/test_proconnect_journey.py)."""
    login = reverse("web:login")
    settings.PROCONNECT_CLIENT_ID = ""
    assert _form_action(Client().get(login)) == "form-action 'self'"
    settings.PROCONNECT_CLIENT_ID = "parcours"
    settings.PROCONNECT_CLIENT_SECRET = "secret"
    settings.PROCONNECT_ISSUER = "https://fca.integ01.dev-agentconnect.fr/api/v2"
    assert _form_action(Client().get(login)) == (
        "form-action 'self' https://fca.integ01.dev-agentconnect.fr"
    )
