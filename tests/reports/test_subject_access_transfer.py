"""The subject-access pack (GDPR art. 15) tells a réorientation: the partner proposed, why, when
it was done and the referral that followed (and, on that one, the referral it follows) — in the
JSON and the PDF, in French."""

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

REASON = "Un chantier plus proche de son domicile"


def paris(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 2, day, hour, tzinfo=PARIS)


@pytest.fixture
def transferred(make_actor):
    owner = make_actor(name="France Travail Lens")
    siae = make_actor(siae=True, name="Les Jardins du Bassin")
    partner = make_actor(siae=True, name="Régie de quartier Liévin")
    with time_machine.travel(paris(2, 9), tick=False):
        person = person_services.person_create(
            actor=owner, first_name="Léa", last_name="Dubœuf", birth_date=dt.date(1990, 5, 17)
        )
        consent_services.consent_record(
            actor=owner,
            person_id=person.pk,
            categories=["identity", "pathway"],
            organisation_ids=[siae.organisation.pk, partner.organisation.pk],
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
    with time_machine.travel(paris(3, 10), tick=False):
        referral_services.referral_propose_transfer(
            actor=siae,
            referral_id=referral.pk,
            receiver_organisation_id=partner.organisation.pk,
            reason=REASON,
        )
    with time_machine.travel(paris(4, 11), tick=False):
        original = referral_services.referral_confirm_transfer(actor=owner, referral_id=referral.pk)
    data = subject_access_data(person_id=person.pk, now=paris(12, 12))
    return data, original


def test_the_json_tells_both_referrals(transferred):
    data, original = transferred
    referrals = {r["reference"]: r for r in json.loads(subject_access_json(data))["referrals"]}
    first = referrals[original.reference]
    assert (first["status"], first["status_label"]) == ("transferred", "Réorientée")
    assert first["transfer_organisation"] == "Régie de quartier Liévin"
    assert first["transfer_reason"] == REASON
    assert first["transfer_proposed_at"] == "2026-02-03T10:00:00+01:00"
    assert first["transferred_at"] == "2026-02-04T11:00:00+01:00"
    assert first["transferred_to"] == original.transferred_to.reference
    assert first["transferred_from"] is None
    assert [s["status_label"] for s in first["status_history"]][-2:] == [
        "Réorientation proposée",
        "Réorientée",
    ]
    follows = referrals[original.transferred_to.reference]
    assert follows["transferred_from"] == original.reference
    assert (follows["receiver_organisation"], follows["status_label"]) == (
        "Régie de quartier Liévin",
        "Envoyée",
    )


def test_the_pdf_tells_it_in_french(transferred):
    data, original = transferred
    reader = PdfReader(io.BytesIO(subject_access_pdf(data)))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Réorientée vers Régie de quartier Liévin le 04/02/2026 11:00" in text
    assert f"Suite de la réorientation de {original.reference}" in text
    assert "transferred" not in text and "transfer_proposed" not in text
