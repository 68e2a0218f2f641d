"""Where a request comes from, as the journal records it (issue 15): the client's X-Request-ID
was stored as sent (markup, spaces, 64 characters of anything); it is now kept only when it is a
plain token, else replaced by a generated id, which the response also carries. The journaled
address was the direct peer (the proxy, in production); X-Forwarded-For is now read behind the
proxies PARCOURS_TRUSTED_PROXIES names, and only then."""

import ipaddress
import os
import re
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from parcours.models import AccessEvent
from parcours.request_origin import REQUEST_ID_PATTERN, client_ip_from, request_id_from

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


# --- The client's address behind reverse proxies ------------------------------------------------

PROXY = "10.0.0.2"
INNER_PROXY = "10.0.0.5"
CLIENT = "198.51.100.7"
SPOOFED = "6.6.6.6"


def test_an_untrusted_peer_cannot_choose_the_journaled_address(read_person, settings):
    settings.PARCOURS_TRUSTED_PROXIES = ["10.0.0.0/8"]
    _response, row = read_person(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=SPOOFED)
    assert row.client_ip == "203.0.113.9"


def test_without_trusted_proxies_the_header_is_never_read(read_person):
    _response, row = read_person(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
    assert row.client_ip == PROXY


def test_through_trusted_proxies_the_right_most_untrusted_address_is_the_client(
    read_person, settings
):
    """The client sent a forged X-Forwarded-For (SPOOFED); the outer proxy appended the address
    it saw (CLIENT), the inner one the outer's (INNER_PROXY)."""
    settings.PARCOURS_TRUSTED_PROXIES = ["10.0.0.0/8"]
    _response, row = read_person(
        REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}, {INNER_PROXY}"
    )
    assert row.client_ip == CLIENT


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("", PROXY),  # a trusted peer that forwarded nothing is the client itself
        (CLIENT, CLIENT),
        (f"{SPOOFED},{CLIENT}", CLIENT),
        (f"not-an-ip, {CLIENT}", CLIENT),
        (f"{CLIENT}, not-an-ip", PROXY),  # garbage after the trusted hop: the hop is all we know
        (f"{CLIENT}, {INNER_PROXY}", CLIENT),
        (f"{INNER_PROXY}, {PROXY}", INNER_PROXY),  # every hop trusted: the left-most
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_forwarded_chain_is_walked_from_the_right(forwarded_for, expected):
    networks = [ipaddress.ip_network("10.0.0.0/8")]
    meta = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": forwarded_for}
    assert client_ip_from(meta, networks) == expected


def test_an_unreadable_peer_address_is_none():
    assert client_ip_from({"REMOTE_ADDR": "not-an-ip"}, []) is None


def test_a_trusted_proxy_setting_that_is_not_an_address_stops_start_up():
    env = dict(os.environ) | {
        "DJANGO_SETTINGS_MODULE": "backend.settings.local",
        "DJANGO_SECRET_KEY": "x" * 50,
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SEARCH_INDEX_KEY": Fernet.generate_key().decode(),
        "PARCOURS_TRUSTED_PROXIES": "10.0.0.0/8,proxy.interne",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "PARCOURS_TRUSTED_PROXIES : « proxy.interne » n'est ni une adresse IP" in result.stderr
