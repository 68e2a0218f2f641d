"""The alert-acknowledge page sends the user back to `next` only when it is a path of this site
(issue 15): never to another host, a scheme, a protocol-relative or backslashed address, nor a
path with spaces, control or non-ASCII characters that browsers do not all read alike."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from web.redirects import same_site_path

from ..web.test_pages import World, client_of

pytestmark = pytest.mark.django_db

OFF_SITE = [
    "//evil.example",
    "https://evil.example",
    "http://evil.example/alertes/",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "///evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "https:evil.example",
    "evil.example",
    "",
]
# Same host for Python, but not made of a path's characters.
ODD_PATHS = [
    "/ /evil.example",
    "/\x0b/evil.example",
    "/\x0c/evil.example",
    "/\x00/evil.example",
    "/\u3000/evil.example",
    "/\uff0f/evil.example",
    "/\u200b/evil.example",
    "/\xa0/evil.example",
    "/./\\evil.example",
    "/" + "a" * 3000,
]
SAME_SITE = ["/", "/alertes/?etat=toutes", "/#alertes", "/personnes/12/?onglet=plan"]


@pytest.mark.parametrize("target", OFF_SITE + ODD_PATHS)
def test_anything_but_a_path_of_this_site_falls_back(target):
    request = RequestFactory().post("/")
    assert same_site_path(target, request, fallback="/alertes/") == "/alertes/"


@pytest.mark.parametrize("target", SAME_SITE)
def test_a_path_of_this_site_is_kept(target):
    request = RequestFactory().post("/")
    assert same_site_path(target, request, fallback="/alertes/") == target


def test_the_acknowledge_page_never_sends_the_user_elsewhere():
    world = World()
    client = client_of(world.me)
    url = reverse("web:alert-ack", args=[world.alert.pk])
    for target in OFF_SITE + ODD_PATHS:
        response = client.post(url, {"next": target})
        answer = (response.status_code, response["Location"])
        assert answer == (302, reverse("web:alerts")), repr(target)[:40]
    response = client.post(url, {"next": reverse("web:home") + "#alertes"})
    assert response["Location"] == reverse("web:home") + "#alertes"
