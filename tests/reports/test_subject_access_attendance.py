"""The subject-access pack (GDPR art. 15) tells a corrected attendance or absence: when, by
which organisation, what was recorded first and what it became, in French — in the JSON and the
PDF (tests/reports/test_subject_access_pack.py has the rest)."""

import datetime as dt
import io
import json

import pytest
import time_machine
from pypdf import PdfReader

from parcours.exports.subject_access import subject_access_json, subject_access_pdf
from parcours.selectors.subject_access import subject_access_data
from parcours.services import consent as consent_services
from parcours.services import person as person_services
from parcours.services import referral as referral_services

from .conftest import PARIS

pytestmark = pytest.mark.django_db

OWNER, SIAE = "France Travail Lens", "Les Jardins du Bassin"


def paris(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 2, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def booked(make_actor):
    """Léa oriented by France Travail to a SIAE, which set her appointment on 4 February at
    10:00; the clock stands at 9:00 on the 2nd."""
    owner = make_actor(name=OWNER)
    siae = make_actor(siae=True, name=SIAE)
    traveller = time_machine.travel(paris(2, 9), tick=False)
    clock = traveller.start()
    person = person_services.person_create(
        actor=owner, first_name="Léa", last_name="Dubœuf", birth_date=dt.date(1990, 5, 17)
    )
    pathway = person.pathways.get()
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
        pathway_id=pathway.pk,
        receiver_organisation_id=siae.organisation.pk,
        kind="substitution",
        reason="Accès à un chantier d'insertion",
    )
    referral_services.referral_accept(actor=siae, referral_id=referral.pk)
    referral_services.referral_set_appointment(
        actor=siae, referral_id=referral.pk, starts_at=paris(4, 10)
    )
    yield {"siae": siae, "person": person, "referral": referral, "clock": clock}
    traveller.stop()


def _data(booked) -> dict:
    data = subject_access_data(person_id=booked["person"].pk, now=paris(12, 12))
    return json.loads(subject_access_json(data))  # what the pack's JSON file holds


def _pdf_text(booked) -> str:
    data = subject_access_data(person_id=booked["person"].pk, now=paris(12, 12))
    reader = PdfReader(io.BytesIO(subject_access_pdf(data)))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _absent_then_corrected(booked) -> None:
    siae, referral_id = booked["siae"], booked["referral"].pk
    booked["clock"].move_to(paris(4, 11))
    referral_services.referral_record_no_show(actor=siae, referral_id=referral_id)
    booked["clock"].move_to(paris(5, 9, 30))
    referral_services.referral_correct_attendance(
        actor=siae, referral_id=referral_id, reason="Elle était venue, arrivée en retard"
    )


def test_the_json_names_the_correction_its_organisation_and_both_values(booked):
    _absent_then_corrected(booked)
    (referral,) = _data(booked)["referrals"]
    assert referral["attendance_corrections"] == [
        {
            "at": "2026-02-05T09:30:00+01:00",
            "organisation": SIAE,
            "previous_status": "no_show",
            "previous_status_label": "Personne absente",
            "corrected_status": "attended",
            "corrected_status_label": "Personne venue",
        }
    ]
    assert [(s["status"], s["at"], s["correction"]) for s in referral["status_history"][-3:]] == [
        ("appointment_set", "2026-02-02T09:00:00+01:00", False),
        ("no_show", "2026-02-04T11:00:00+01:00", False),
        ("attended", "2026-02-05T09:30:00+01:00", True),
    ]
    assert (referral["status"], referral["status_label"]) == ("attended", "Personne venue")
    (appointment,) = referral["appointments"]
    assert (appointment["outcome_label"], appointment["outcome_recorded_at"]) == (
        "Personne venue",
        "2026-02-05T09:30:00+01:00",
    )


def test_the_reason_stays_in_the_timeline_and_the_correction_is_counted(booked):
    _absent_then_corrected(booked)
    data = _data(booked)
    (event,) = [e for e in data["timeline"] if e["occurred_at"] == "2026-02-05T09:30:00+01:00"]
    assert (event["organisation"], event["referral_status_label"]) == (SIAE, "Personne venue")
    assert event["text"] == (
        "Correction : « Personne absente » devient « Personne venue ». "
        "Motif : Elle était venue, arrivée en retard"
    )
    assert data["counts"]["attendance_corrections"] == 1


def test_a_correction_corrected_back_is_two_corrections(booked):
    """The author may correct again within the delay: each correction is told with its own
    date, and each finds its own timeline event."""
    siae, referral_id = booked["siae"], booked["referral"].pk
    booked["clock"].move_to(paris(4, 11))
    referral_services.referral_record_attendance(actor=siae, referral_id=referral_id)
    booked["clock"].move_to(paris(4, 16))
    referral_services.referral_correct_attendance(
        actor=siae, referral_id=referral_id, reason="Confusion avec une autre personne"
    )
    booked["clock"].move_to(paris(5, 8))
    referral_services.referral_correct_attendance(
        actor=siae, referral_id=referral_id, reason="Elle était bien venue"
    )
    (referral,) = _data(booked)["referrals"]
    assert [
        (c["at"], c["organisation"], c["previous_status_label"], c["corrected_status_label"])
        for c in referral["attendance_corrections"]
    ] == [
        ("2026-02-04T16:00:00+01:00", SIAE, "Personne venue", "Personne absente"),
        ("2026-02-05T08:00:00+01:00", SIAE, "Personne absente", "Personne venue"),
    ]
    assert [s["correction"] for s in referral["status_history"][-3:]] == [False, True, True]


def test_an_attendance_never_corrected_says_no_correction(booked):
    booked["clock"].move_to(paris(4, 11))
    referral_services.referral_record_attendance(
        actor=booked["siae"], referral_id=booked["referral"].pk
    )
    data = _data(booked)
    (referral,) = data["referrals"]
    assert referral["attendance_corrections"] == []
    assert not any(s["correction"] for s in referral["status_history"])
    assert data["counts"]["attendance_corrections"] == 0
    text = _pdf_text(booked)
    assert "Orientations : corrections de votre venue ou de votre absence" in text
    assert "Aucune correction." in text
    assert "correction de la saisie précédente" not in text


def test_the_pdf_tells_the_correction_in_french(booked):
    _absent_then_corrected(booked)
    text = _pdf_text(booked)
    reference = booked["referral"].reference
    assert "Orientations : corrections de votre venue ou de votre absence" in text
    assert f"{reference} 05/02/2026 09:30 {SIAE} Personne absente Personne venue" in text
    assert f"{reference} 05/02/2026 09:30 Personne venue (correction de la saisie précédente)" in (
        text
    )
    assert "Aucune correction." not in text
    for code in ("no_show", "attended"):
        assert code not in text
