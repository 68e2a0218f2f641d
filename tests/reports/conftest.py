"""A person's history across three organisations, built through the real services and API, day
by day under a frozen clock: the material of the PDF and subject-access pack tests.

Like tests/reports/test_person_access_report.py (same three organisations and API accesses: a
read, a write, a list, a denial, a break-glass), extended with everything the pack reports:
modality change, barriers, notes, two referrals (one attended after an appointment, one
refused), a consent narrowed, a consent revoked, an access request refused, an objection.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from parcours.services import access_request as access_request_services
from parcours.services import consent as consent_services
from parcours.services import pathway as pathway_services
from parcours.services import person as person_services
from parcours.services import referral as referral_services
from tests.factories import valid_nir

PARIS = ZoneInfo("Europe/Paris")
STAFF = {
    "owner": ("Sophie", "Durandeau"),
    "siae": ("Marc", "Lefebvrier"),
    "mission": ("Nadia", "Benhamouda"),
}
PACK_NOW = dt.datetime(2026, 1, 20, 12, 0, tzinfo=PARIS)


def paris(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def pack_history(make_actor, client_for):
    owner = make_actor(name="France Travail Lens")
    siae = make_actor(siae=True, name="Les Jardins du Bassin")
    mission = make_actor(mission_locale=True, name="Mission locale d'Arras")
    actors = {"owner": owner, "siae": siae, "mission": mission}
    for key, (first, last) in STAFF.items():
        user = actors[key].user
        user.first_name, user.last_name = first, last
        user.save()

    with time_machine.travel(paris(5, 9), tick=False) as clock:
        person = person_services.person_create(
            actor=owner,
            first_name="Léa",
            last_name="Dubœuf",
            birth_date=dt.date(1990, 5, 17),
            nir=valid_nir(7),
            email="lea.duboeuf@example.test",
            phone="0601020304",
            postal_code="62800",
            city="Liévin",
            receives_rsa=True,
            rqth=True,
        )
        pathway = person.pathways.get()
        broad = consent_services.consent_record(
            actor=owner,
            person_id=person.pk,
            categories=["identity", "pathway", "social"],
            organisation_ids=[siae.organisation.pk, mission.organisation.pk],
            purpose="Coordination de l'accompagnement vers l'emploi",
            evidence_kind="signed_form",
        )

        clock.move_to(paris(6, 10))
        pathway_services.pathway_set_modality(
            actor=owner, pathway_id=pathway.pk, modality="renforce"
        )
        pathway_services.barrier_record(
            actor=owner,
            pathway_id=pathway.pk,
            kind="housing",
            status="identified",
            detail="Hébergée chez un tiers",
        )
        pathway_services.barrier_record(
            actor=owner, pathway_id=pathway.pk, kind="mobility", status="in_progress"
        )
        pathway_services.pathway_add_note(
            actor=owner,
            pathway_id=pathway.pk,
            kind="note",
            text="Entretien <b>&</b> : projet « cariste » l’été",
        )
        pathway_services.pathway_add_note(
            actor=owner, pathway_id=pathway.pk, kind="diagnostic", text="Besoin d'un logement"
        )

        clock.move_to(paris(7, 14))
        to_siae = referral_services.referral_create(
            actor=owner,
            pathway_id=pathway.pk,
            receiver_organisation_id=siae.organisation.pk,
            kind="substitution",
            reason="Accès à un chantier d'insertion",
            context_note="Disponible le matin",
            shared_categories=["social"],
        )
        to_mission = referral_services.referral_create(
            actor=owner,
            pathway_id=pathway.pk,
            receiver_organisation_id=mission.organisation.pk,
            kind="simultaneous",
            reason="Aide à la mobilité",
        )

        clock.move_to(paris(8, 11))
        referral_services.referral_accept(actor=siae, referral_id=to_siae.pk)
        referral_services.referral_refuse(
            actor=mission,
            referral_id=to_mission.pk,
            refusal_reason="no_capacity",
            comment="Liste d'attente complète",
        )

        clock.move_to(paris(9, 9, 30))
        referral_services.referral_set_appointment(
            actor=siae,
            referral_id=to_siae.pk,
            starts_at=paris(12, 10),
            place="12 rue des Jardins, Lens",
        )

        clock.move_to(paris(12, 10, 30))
        referral_services.referral_record_attendance(actor=siae, referral_id=to_siae.pk)

        clock.move_to(paris(13, 9))
        consent_services.consent_narrow(
            actor=owner,
            consent_id=broad.pk,
            categories=["identity", "pathway"],
            organisation_ids=[siae.organisation.pk],
        )

        clock.move_to(paris(14, 9))
        health = consent_services.consent_record(
            actor=owner,
            person_id=person.pk,
            categories=["health"],
            organisation_ids=[siae.organisation.pk],
            purpose="Adaptation du poste de travail",
            evidence_kind="oral",
        )

        clock.move_to(paris(15, 9))
        consent_services.consent_revoke(actor=owner, consent_id=health.pk)

        clock.move_to(paris(16, 10))
        url = f"/api/v1/persons/{person.pk}/"
        assert client_for(owner).get(url).status_code == 200
        assert client_for(owner).patch(url, {"city": "Lens"}).status_code == 200
        assert client_for(siae).get("/api/v1/referrals/").status_code == 200
        assert client_for(siae).get(url).status_code == 200
        assert client_for(mission).get(url).status_code == 404
        response = client_for(siae).post(
            f"/api/v1/pathways/{pathway.pk}/break-glass/",
            {"category": "health", "reason": "Adapter le poste dès le premier jour"},
        )
        assert response.status_code == 201

        clock.move_to(paris(17, 9))
        request = access_request_services.access_request_create(
            actor=mission, reason="Reprise de l'accompagnement", nir=person.nir
        )
        access_request_services.access_request_refuse(
            actor=owner, request_id=request.pk, comment="Suivi déjà assuré"
        )

        clock.move_to(paris(19, 9))
        consent_services.objection_record(
            actor=owner, person_id=person.pk, reason="Ne souhaite plus de partage par accord"
        )

    return {
        **actors,
        "person": person,
        "pathway": pathway,
        "to_siae": to_siae,
        "to_mission": to_mission,
        "staff_names": [last for _first, last in STAFF.values()]
        + [f"{first} {last}" for first, last in STAFF.values()],
        "now": PACK_NOW,
    }
