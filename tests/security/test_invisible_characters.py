"""Control characters and bidirectional overrides (issue 16, finding 7): « Léa\u202eMartin »
would show as another name than the one stored, a bell or an escape sequence would reach a
DPO's terminal or CSV. Refused in every string of the API's bodies (a 400 naming the field) and
in every text field of the pages' forms (the form again, values kept); tabs and line breaks stay
allowed in free text."""

import pytest
from django.test import Client
from django.urls import reverse

from parcours.models import Person
from parcours.text import MESSAGE
from tests.factories import PathwayFactory

pytestmark = pytest.mark.django_db

FORBIDDEN = ["Léa\u202eMartin", "Léa\u2066", "Léa\x07", "Léa\x1b[31m", "Léa\x85", "Léa\x7f"]


@pytest.mark.parametrize("name", FORBIDDEN, ids=["rlo", "lri", "bell", "escape", "nel", "del"])
def test_the_api_refuses_them_in_any_field(name, make_actor, client_for):
    client = client_for(make_actor())
    response = client.post(
        "/api/v1/persons/",
        {"first_name": name, "last_name": "Martin", "birth_date": "2001-03-04"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"first_name": [MESSAGE]}
    assert not Person.objects.exists()


def test_the_api_names_the_field_of_a_nested_string(make_actor, client_for):
    client = client_for(make_actor())
    response = client.post(
        "/api/v1/agreements/",
        {"name": "Convention", "level": "local", "parties": [], "rungs": [{"audience": "x\u202e"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"rungs": [MESSAGE]}


def test_line_breaks_and_tabs_stay_allowed_in_free_text(make_actor, client_for):
    actor = make_actor()
    pathway = PathwayFactory(owner_organisation=actor.organisation)
    response = client_for(actor).post(
        f"/api/v1/pathways/{pathway.pk}/notes/",
        {"text": "Premier entretien :\n\t- CV à reprendre\r\n- permis B"},
        format="json",
    )
    assert response.status_code == 201, response.content


def test_a_form_encoded_api_body_is_checked_too(make_actor, client_for):
    client = client_for(make_actor())
    response = client.post(
        "/api/v1/persons/",
        {"first_name": "Léa\u202eMartin", "last_name": "Martin", "birth_date": "2001-03-04"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"first_name": [MESSAGE]}


def test_the_pages_refuse_them_on_the_field_keeping_what_was_typed(make_actor):
    actor = make_actor()
    client = Client()
    client.force_login(actor.user)
    response = client.post(
        reverse("web:person-create"),
        {"first_name": "Léa", "last_name": "Mar\u202etin", "birth_date": "2001-03-04"},
    )
    assert response.status_code in (200, 400)
    html = response.content.decode()
    assert "caractère invisible interdit" in html
    assert 'value="Léa"' in html  # the other values typed are kept
    assert not Person.objects.exists()
