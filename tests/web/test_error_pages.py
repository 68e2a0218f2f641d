"""The error pages are French, on the DSFR (issue 13): 500 (handler500) without the request's
context or the database, 403 for PermissionDenied and for a form posted without its CSRF
token, 404 (its own template). The API's 500 is JSON, in French too."""

import pytest
from django.test import Client
from django.urls import reverse

from parcours.models import Referral, ReferralStatus
from web.views.errors import server_error

from .test_pages import World, client_of

pytestmark = pytest.mark.django_db

ENGLISH = ("Server Error", "Forbidden", "CSRF verification failed", "Not Found", "Traceback")


@pytest.fixture
def world():
    return World()


def _assert_french_page(response, status: int, *says: str) -> str:
    assert response.status_code == status
    html = response.content.decode()
    assert '<html lang="fr"' in html
    assert "dsfr" in html and "fr-header" in html  # the DSFR's stylesheet and header
    for sentence in says:
        assert sentence in html, sentence
    for english in ENGLISH:
        assert english not in html, english
    return html


@pytest.mark.urls("tests.web.error_urls")
def test_a_bug_in_a_page_answers_the_french_500_page(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.me)
    response = client.get("/panne/")
    html = _assert_french_page(response, 500, "Erreur du serveur", "rien n&#x27;a été enregistré")
    assert "a bug in a page" not in html  # nothing of the error itself is shown


@pytest.mark.urls("tests.web.error_urls")
def test_a_bug_in_the_api_answers_french_json():
    response = Client(raise_request_exception=False).get("/api/v1/panne/")
    assert response.status_code == 500
    assert response.json() == {
        "detail": (
            "Une erreur inattendue s'est produite : rien n'a été enregistré. L'équipe technique "
            "est prévenue ; réessayez dans quelques instants."
        ),
        "code": "server_error",
    }


def test_the_500_page_needs_no_request_context_nor_database(rf, django_assert_num_queries):
    """Whatever broke (the database, the session) must not break the error page too."""
    with django_assert_num_queries(0):
        response = server_error(rf.get("/"))
    _assert_french_page(response, 500, "Erreur du serveur")


def test_the_500_page_survives_its_own_template_failing(rf, settings):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [], "APP_DIRS": False}  # no 500.html to be found
    ]
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Erreur du serveur" in response.content.decode()


@pytest.mark.urls("tests.web.error_urls")
def test_permission_denied_answers_the_french_403_page(world):
    response = client_of(world.me).get("/interdit/")
    html = _assert_french_page(response, 403, "Accès refusé", "Vous n&#x27;avez pas accès")
    assert "English code" not in html


def test_a_form_posted_without_its_token_answers_a_french_page(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.me)
    response = client.post(
        reverse("web:referral-move", kwargs={"pk": world.incoming.pk, "action": "accept"})
    )
    _assert_french_page(response, 403, "Formulaire expiré", "rien n&#x27;a été enregistré")
    assert Referral.objects.get(pk=world.incoming.pk).status == ReferralStatus.SENT


def test_the_login_form_posted_without_its_token_answers_a_french_page():
    response = Client(enforce_csrf_checks=True).post(
        reverse("web:login"), {"username": "x", "password": "y"}
    )
    _assert_french_page(response, 403, "Formulaire expiré")


def test_an_unknown_page_answers_the_french_404_page(world):
    response = client_of(world.me).get("/nulle-part/")
    _assert_french_page(response, 404, "Page introuvable")
