"""The subject-access pack (GDPR art. 15) holds the messages the organisations exchanged about
each referral: their texts decrypted, the organisation that wrote each — never its member —, in
the JSON and the PDF, counted in the pathway category (tests/reports/test_subject_access_pack.py
has the rest)."""

import datetime as dt
import io

import pytest
import time_machine
from pypdf import PdfReader

from parcours.exports.subject_access import subject_access_pdf
from parcours.selectors.subject_access import subject_access_data
from parcours.services import consent as consent_services
from parcours.services import person as person_services
from parcours.services import referral as referral_services
from parcours.services.referral_message import referral_message_post

from .conftest import PARIS

pytestmark = pytest.mark.django_db

OWNER, SIAE = "France Travail Lens", "Les Jardins du Bassin"
QUESTION = "Léa a-t-elle un moyen de transport ?"
ANSWER = "Oui, un vélo : elle commence lundi."


def paris(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=PARIS)


@pytest.fixture
def history(make_actor):
    """France Travail oriented Léa to an SIAE (with her consent); the two counsellors wrote to
    each other about it."""
    owner = make_actor(name=OWNER)
    siae = make_actor(siae=True, name=SIAE)
    with time_machine.travel(paris(2, 9), tick=False) as clock:
        person = person_services.person_create(
            actor=owner, first_name="Léa", last_name="Dubœuf", birth_date=dt.date(1990, 5, 17)
        )
        consent_services.consent_record(
            actor=owner,
            person_id=person.pk,
            categories=["identity", "pathway"],
            organisation_ids=[siae.organisation.pk],
            purpose="Coordination de l'accompagnement",
            evidence_kind="oral",
        )
        referral = referral_services.referral_create(
            actor=owner,
            pathway_id=person.pathways.get().pk,
            receiver_organisation_id=siae.organisation.pk,
            kind="substitution",
            reason="Accès à un chantier d'insertion",
        )
        clock.move_to(paris(3, 10))
        referral_message_post(actor=owner, referral_id=referral.pk, text=QUESTION)
        clock.move_to(paris(3, 14))
        referral_message_post(actor=siae, referral_id=referral.pk, text=ANSWER)
    return {
        "person": person,
        "referral": referral,
        "now": paris(10, 9),
        "staff": [
            name
            for actor in (owner, siae)
            for name in (actor.user.get_full_name(), actor.user.username)
        ],
    }


def test_the_json_holds_the_messages_by_organisation(history):
    data = subject_access_data(person_id=history["person"].pk, now=history["now"])
    (referral,) = data["referrals"]
    assert referral["messages"] == [
        {"at": "2026-03-03T10:00:00+01:00", "organisation": OWNER, "text": QUESTION},
        {"at": "2026-03-03T14:00:00+01:00", "organisation": SIAE, "text": ANSWER},
    ]
    assert data["counts"]["referral_messages"] == 2
    others = {c["code"]: c["other_records"]["referral_messages"] for c in data["categories"]}
    assert others == {
        "identity": 0,
        "contact": 0,
        "pathway": 2,
        "social": 0,
        "health": 0,
        "justice": 0,
    }
    text = str(data)
    for name in history["staff"]:
        assert name not in text, name


def test_the_pdf_shows_the_messages_in_french(history):
    data = subject_access_data(person_id=history["person"].pk, now=history["now"])
    reader = PdfReader(io.BytesIO(subject_access_pdf(data)))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Orientations : messages échangés entre les organisations" in text
    reference = history["referral"].reference
    assert f"{reference} 03/03/2026 10:00 {OWNER} {QUESTION}" in text
    assert f"{reference} 03/03/2026 14:00 {SIAE} {ANSWER}" in text
