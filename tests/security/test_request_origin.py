"""Where a request comes from, as the journal records it (issue 15): the client's X-Request-ID
was stored as sent (markup, spaces, 64 characters of anything); it is now kept only when it is a
plain token, else replaced by a generated id, which the response also carries."""

import re

import pytest

from parcours.models import AccessEvent
from parcours.request_origin import REQUEST_ID_PATTERN, request_id_from

from ..factories import PathwayFactory

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    "sent",
    [
        "<script>alert(1)</script>",
        "id with spaces",
        "req-1; DROP TABLE parcours_accessevent",
        "réf-1",
        "a" * 65,
        "x\ty",
        " req-1",
        "",
    ],
)
def test_a_request_id_that_is_not_a_plain_token_is_replaced(sent):
    assert GENERATED.fullmatch(request_id_from({"HTTP_X_REQUEST_ID": sent}))


@pytest.mark.parametrize("sent", ["req-1", "a" * 64, "3f2c.b_A-9", "0"])
def test_a_plain_request_id_is_kept(sent):
    assert request_id_from({"HTTP_X_REQUEST_ID": sent}) == sent


def test_without_a_request_id_one_is_generated_per_request():
    first, second = request_id_from({}), request_id_from({})
    assert GENERATED.fullmatch(first) and first != second


@pytest.fixture
def read_person(counsellor, client_for):
    """GET the person's record through the API with the given headers: (response, journal row)."""
    pathway = PathwayFactory(owner_organisation=counsellor.organisation)
    client = client_for(counsellor)

    def read(**headers):
        response = client.get(f"/api/v1/persons/{pathway.person_id}/", **headers)
        assert response.status_code == 200, response.content
        return response, AccessEvent.objects.filter(operation="read").latest("id")

    return read


def test_the_journal_row_carries_a_sanitised_request_id(read_person):
    sent = '"><img src=x onerror=alert(1)> ' + "x" * 40
    response, row = read_person(HTTP_X_REQUEST_ID=sent)
    assert row.request_id != sent[:64]
    assert GENERATED.fullmatch(row.request_id)
    assert response["X-Request-ID"] == row.request_id


def test_the_journal_row_keeps_a_plain_request_id(read_person):
    response, row = read_person(HTTP_X_REQUEST_ID="proxy-7f3a.42_b")
    assert row.request_id == "proxy-7f3a.42_b" == response["X-Request-ID"]


def test_without_a_request_id_the_journal_row_and_the_response_share_the_generated_one(
    read_person,
):
    response, row = read_person()
    assert REQUEST_ID_PATTERN.fullmatch(row.request_id)
    assert response["X-Request-ID"] == row.request_id
