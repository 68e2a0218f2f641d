"""A consent recorded in the pages has its dates (issue 13): it may start later and end; left
empty it starts today with no end. Dates in the wrong order come back in French, nothing
written, what was typed kept."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.models import Consent

from .test_pages import World, client_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def _post(world, **dates):
    data = {
        "organisations": [world.siae.pk],
        "categories": ["contact"],
        "purpose": "Coordination de l'accompagnement",
        "evidence_kind": "oral",
        **dates,
    }
    return client_of(world.me).post(reverse("web:consent-create", args=[world.person.pk]), data)


def test_a_consent_that_starts_later_and_ends(world):
    today = timezone.localdate()
    start, end = today + dt.timedelta(days=10), today + dt.timedelta(days=200)
    response = _post(world, starts_on=start.isoformat(), ends_on=end.isoformat())
    assert response.status_code == 302
    consent = Consent.objects.filter(person=world.person).latest("pk")
    assert (consent.starts_on, consent.ends_on) == (start, end)
    page = client_of(world.me).get(reverse("web:person-detail", args=[world.person.pk]))
    assert (
        f"à partir du {start:%d/%m/%Y} jusqu&#x27;au {end:%d/%m/%Y}" in page.content.decode()
        or (f"à partir du {start:%d/%m/%Y} jusqu'au {end:%d/%m/%Y}" in page.content.decode())
    )


def test_without_dates_it_starts_today_with_no_end(world):
    assert _post(world).status_code == 302
    consent = Consent.objects.filter(person=world.person).latest("pk")
    assert (consent.starts_on, consent.ends_on) == (timezone.localdate(), None)


@pytest.mark.parametrize(
    "dates",
    [
        {"starts_on": "2027-03-01", "ends_on": "2027-02-01"},
        {"starts_on": "2027-02-30"},
        {"ends_on": "demain"},
    ],
)
def test_wrong_dates_come_back_in_french(world, dates):
    before = Consent.objects.count()
    response = _post(world, **dates)
    assert response.status_code == 400
    html = response.content.decode()
    assert "fr-error-text" in html or "fr-alert--error" in html
    if "ends_on" in dates and "starts_on" in dates:
        assert "La fin de l&#x27;accord ne peut précéder son début." in html
    assert not any(english in html for english in ("Enter a valid date", "This field"))
    for value in dates.values():
        assert f'value="{value}"' in html  # what was typed is kept
    assert Consent.objects.count() == before


def test_the_api_answers_the_same_french_field_error(world):
    """The pages and the API say the same (the page answered a 500 from the database's
    constraint before)."""
    response = client_of(world.me).post(
        "/api/v1/consents/",
        {
            "person": world.person.pk,
            "organisations": [world.siae.pk],
            "categories": ["contact"],
            "purpose": "Coordination",
            "evidence_kind": "oral",
            "starts_on": "2027-03-01",
            "ends_on": "2027-02-01",
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["ends_on"] == ["La fin de l'accord ne peut précéder son début."]
