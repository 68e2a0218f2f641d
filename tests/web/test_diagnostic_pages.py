"""The shared diagnostic on the pages (issue 13): the person page shows the domains of the
categories the organisation sees — current version, author, date (Europe/Paris), previous
versions folded — and a button to each domain's form only where the gate's table allows it."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from parcours.actor import Actor
from parcours.models import Role
from parcours.services.diagnostic import diagnostic_write

from .test_page_matrix import World
from .test_pages import client_of

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def world():
    return World()


def _form_url(world, slug: str) -> str:
    return reverse("web:diagnostic-write", args=[world.pathway.pk, slug])


def _write(world, text, level="", when=None):
    actor = Actor(user=world.me, organisation=world.home, role=Role.COUNSELLOR)
    with time_machine.travel(when or dt.datetime(2026, 3, 2, 9, 30, tzinfo=PARIS), tick=False):
        diagnostic_write(
            actor=actor, pathway_id=world.pathway.pk, domain="housing", text=text, level=level
        )


def test_the_person_page_shows_the_current_version_and_folds_the_previous(world):
    _write(world, "Hébergée chez sa sœur.", "blocking")
    _write(
        world,
        "Logement social attribué.",
        "strength",
        dt.datetime(2026, 7, 1, 23, 15, tzinfo=PARIS),
    )
    html = client_of(world.me).get(reverse("web:person-detail", args=[world.person.pk])).text
    section = html[html.index("Diagnostic partagé") :]
    assert "Logement social attribué." in section
    assert "Point d&#x27;appui" in section
    assert "le 01/07/2026 à 23:15" in section  # Paris time, not UTC
    assert "Versions précédentes (1)" in section
    assert "02/03/2026 09:30" in section and "Hébergée chez sa sœur." in section
    assert _form_url(world, "logement") in html
    assert _form_url(world, "sante") not in html  # no health data without the person's consent


def test_a_partner_sees_only_its_categories_and_a_manager_no_button(world):
    _write(world, "Hébergée chez sa sœur.")
    # The SIAE receives Léa's referral and sees her identity and pathway only.
    receiver = client_of(world.receiver).get(reverse("web:person-detail", args=[world.person.pk]))
    assert "Projet professionnel" in receiver.text
    assert "Hébergée" not in receiver.text
    assert _form_url(world, "projet-professionnel") in receiver.text
    assert _form_url(world, "logement") not in receiver.text
    manager = client_of(world.manager).get(reverse("web:person-detail", args=[world.person.pk]))
    assert "/diagnostic/" not in manager.text


def test_the_form_offers_the_current_version_to_amend_and_keeps_what_was_typed(world):
    _write(world, "Hébergée chez sa sœur.", "blocking")
    client = client_of(world.me)
    form = client.get(_form_url(world, "logement"))
    assert form.status_code == 200
    assert "Version actuelle" in form.text
    assert form.text.count("Hébergée chez sa sœur.") == 2  # shown, and in the textarea
    typed = "x" * 2001
    refused = client.post(_form_url(world, "logement"), {"text": typed, "level": "blocking"})
    assert refused.status_code == 400
    assert "au plus 2000 caractères" in refused.text
    assert typed in refused.text
