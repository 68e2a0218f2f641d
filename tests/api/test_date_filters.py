"""Every date and date-time filter of the API's lists, fuzzed: odd UTC offsets, the first and the
last years of the calendar, impossible days, foreign digits — an answer, never a 500 (issue 15:
`?sent_after=2026-01-01T00:00:00+16:00` was a 500, PostgreSQL refusing offsets beyond ±15:59).

The filters are found from the URL resolver and each list's filterset, so that a date filter
added later is fuzzed too."""

import django_filters
import pytest
from django.urls import get_resolver
from django_filters.rest_framework import DjangoFilterBackend

from parcours.dates import UTC_OFFSET_INVALID

from .test_endpoint_matrix import API_PREFIX, _walk

pytestmark = pytest.mark.django_db

DATE_FILTERS = (django_filters.DateFilter, django_filters.DateTimeFilter)
ENGLISH = ("Enter a valid", "This field", "Select a valid")


def date_filters() -> list[tuple[str, str, str]]:
    """(list path, query parameter, "date" or "datetime") for every date filter of a list."""
    found = set()
    for template, callback in _walk(get_resolver().url_patterns, "/"):
        view_class = getattr(callback, "cls", None)
        actions = getattr(callback, "actions", None) or {}
        if not template.startswith(API_PREFIX) or "{" in template or actions.get("get") != "list":
            continue
        filterset = DjangoFilterBackend().get_filterset_class(view_class, view_class.queryset)
        if filterset is None:
            continue
        for name, declared in filterset.base_filters.items():
            if isinstance(declared, DATE_FILTERS):
                kind = "datetime" if isinstance(declared, django_filters.DateTimeFilter) else "date"
                found.add((template, name, kind))
    return sorted(found)


FILTERS = date_filters()

# Offsets PostgreSQL refuses (Python reads up to ±23:59): a 400 naming the field.
OFFSETS_BEYOND = [
    "2026-01-01T00:00:00+16:00",
    "2026-01-01T00:00:00-16:00",
    "2026-01-01T00:00:00+23:59",
    "2026-01-01T00:00:00-23:59",
    "2026-01-01T00:00:00+1600",
    "0001-01-01T00:00:00+20:00",
    "9999-12-31T23:59:59-18:00",
]
# Anything else: an answer (200 or 400 with a French message), never a 500.
ODD_VALUES = [
    "2026-01-01T00:00:00+99:00",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00+00:60",
    "2026-01-01T00:00:00+15:59",
    "2026-01-01T00:00:00-15:59",
    "2026-01-01T00:00:00+01:00:30",
    "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00.1234567+01:00",
    "2026-01-01 00:00",
    "2026-01-01T24:00:00",
    "0001-01-01",
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+15:59",
    "0001-01-01T00:00:00-15:59",
    "9999-12-31",
    "9999-12-31T23:59:59.999999",
    "9999-12-31T23:59:59+15:59",
    "9999-12-31T23:59:59-15:59",
    "0000-01-01",
    "10000-01-01",
    "2026-02-30",
    "2026-W01",
    "-1",
    "1e10",
    "\x00",
    "٢٠٢٦-٠١-٠١",  # Arabic-Indic digits: `\d` matches them
    "2026-01-01T00:00:00+١٥:٠٠",
    "2026-01-01T00:00:00+" + "9" * 50,
]


def test_the_date_filters_are_found():
    assert {(path, name) for path, name, _kind in FILTERS} >= {
        ("/api/v1/pathways/", "opened_after"),
        ("/api/v1/pathways/", "opened_before"),
        ("/api/v1/referrals/", "sent_after"),
        ("/api/v1/referrals/", "created_before"),
        ("/api/v1/appointments/", "starts_after"),
        ("/api/v1/persons/", "birth_date"),
    }


def _client(world, client_for, path):
    return client_for(world.dpo if "/dpo/" in path else world.me)


@pytest.mark.parametrize(("path", "name", "kind"), FILTERS)
def test_a_date_filter_never_answers_a_server_error(world, client_for, path, name, kind):
    client = _client(world, client_for, path)
    client.raise_request_exception = False  # a crash must show as the 500 it is
    assert client.get(path, {name: "2026-01-01"}).status_code == 200
    for value in ODD_VALUES + OFFSETS_BEYOND:
        response = client.get(path, {name: value})
        assert response.status_code in (200, 400), (value, response.status_code)
        if response.status_code == 400:
            messages = response.json()[name]
            assert messages and not any(m.startswith(ENGLISH) for m in messages), messages


@pytest.mark.parametrize(
    ("path", "name"), [(path, name) for path, name, kind in FILTERS if kind == "datetime"]
)
def test_an_offset_postgresql_refuses_is_a_400_in_french(world, client_for, path, name):
    client = _client(world, client_for, path)
    client.raise_request_exception = False
    for value in OFFSETS_BEYOND:
        response = client.get(path, {name: value})
        assert response.status_code == 400, (value, response.status_code)
        assert response.json() == {name: [UTC_OFFSET_INVALID]}, value
    assert client.get(path, {name: "2026-01-01T00:00:00+14:00"}).status_code == 200
