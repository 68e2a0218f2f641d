"""A record built through the real services at a fixed moment, for the retention tests.

`record` holds one person followed by an owner organisation (France Travail) and referred, with
their consent, to a partner (an SIAE) that accepted and saw them: identity, contact details,
NIR and France Travail id, health and justice flags, a note, a diagnostic, a social and a health
barrier, a referral with a context note, an appointment attended, a consent with a signed form.
Its last contact is `LAST_CONTACT` (the attendance); everything else happened 3 days earlier.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from parcours.actor import Actor
from parcours.models import Appointment, Consent, Pathway, Person, Referral
from parcours.services.action_plan import objective_add, plan_action_add
from parcours.services.consent import consent_record
from parcours.services.pathway import barrier_record, pathway_add_note
from parcours.services.person import person_create
from parcours.services.referral import (
    referral_accept,
    referral_create,
    referral_record_attendance,
    referral_set_appointment,
)
from tests.factories import OrganisationFactory, valid_nir

UTC = dt.UTC
CREATED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LAST_CONTACT = dt.datetime(2026, 3, 5, 10, 0, tzinfo=UTC)


@dataclass
class Record:
    owner: Actor
    partner: Actor
    person: Person
    pathway: Pathway
    referral: Referral
    appointment: Appointment
    consent: Consent


@pytest.fixture
def record(make_actor, settings, tmp_path) -> Record:
    settings.MEDIA_ROOT = tmp_path / "media"
    owner = make_actor(OrganisationFactory(name="France Travail Lens"))
    partner = make_actor(OrganisationFactory(siae=True, name="Les Jardins du Bassin"))
    with time_machine.travel(CREATED, tick=False):
        person = person_create(
            actor=owner,
            first_name="Éloïse",
            last_name="Martin",
            birth_date=dt.date(1990, 5, 17),
            email="eloise.martin@exemple.fr",
            phone="0612345678",
            address="12 rue des Écoles",
            postal_code="62300",
            city="Lens",
            nir=valid_nir(42),
            france_travail_id="1234567A",
            rqth=True,
            court_supervision=True,
            lives_in_qpv=True,
            receives_rsa=True,
        )
        pathway = person.pathways.get()
        consent = consent_record(
            actor=owner,
            person_id=person.pk,
            categories=["identity", "pathway", "social", "health"],
            organisation_ids=[owner.organisation.pk, partner.organisation.pk],
            purpose="Accompagnement vers l'emploi avec Les Jardins du Bassin",
            evidence_kind="signed_form",
            evidence_file=SimpleUploadedFile("accord.pdf", b"%PDF-1.4 accord", "application/pdf"),
        )
        pathway_add_note(
            actor=owner, pathway_id=pathway.pk, kind="note", text="Premier entretien à Lens"
        )
        pathway_add_note(
            actor=owner, pathway_id=pathway.pk, kind="diagnostic", text="Hébergée chez sa sœur"
        )
        barrier_record(
            actor=owner,
            pathway_id=pathway.pk,
            kind="housing",
            status="identified",
            detail="Cherche un logement",
        )
        barrier_record(
            actor=owner,
            pathway_id=pathway.pk,
            kind="addiction",
            status="in_progress",
            detail="Suivi en addictologie",
        )
        objective = objective_add(
            actor=owner, pathway_id=pathway.pk, title="Trouver un logement à Lens"
        )
        plan_action_add(
            actor=owner,
            objective_id=objective.pk,
            label="Visite du logement passerelle",
            owner_organisation_id=owner.organisation.pk,
            due_on=CREATED.date() + dt.timedelta(days=7),
        )
        referral = referral_create(
            actor=owner,
            pathway_id=pathway.pk,
            receiver_organisation_id=partner.organisation.pk,
            kind="substitution",
            reason="Chantier d'insertion espaces verts",
            context_note="Sortie de détention en janvier",
            shared_categories=["identity", "pathway", "social"],
        )
        referral_accept(actor=partner, referral_id=referral.pk)
        appointment = referral_set_appointment(
            actor=partner,
            referral_id=referral.pk,
            starts_at=LAST_CONTACT,
            place="Jardins du Bassin, 3 rue Basly",
        )
    with time_machine.travel(LAST_CONTACT, tick=False):
        referral_record_attendance(actor=partner, referral_id=referral.pk)
    pathway.refresh_from_db()
    assert pathway.last_contact_at == LAST_CONTACT
    return Record(
        owner=owner,
        partner=partner,
        person=Person.objects.get(pk=person.pk),
        pathway=pathway,
        referral=Referral.objects.get(pk=referral.pk),
        appointment=Appointment.objects.get(pk=appointment.pk),
        consent=Consent.objects.get(pk=consent.pk),
    )


@pytest.fixture
def signing_key(settings, tmp_path):
    """A journal signing key on disk, named by JOURNAL_SIGNING_KEY_FILE."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    path = tmp_path / "journal.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings.JOURNAL_SIGNING_KEY_FILE = str(path)
    return key
