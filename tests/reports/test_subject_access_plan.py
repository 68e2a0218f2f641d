"""The subject-access pack (GDPR art. 15) holds the action plan: each objective and each action
with its status in French, its texts decrypted, the organisations that added and hold them, in
the JSON and the PDF, counted (tests/reports/test_subject_access_pack.py has the rest)."""

import datetime as dt
import io
import json

import pytest
import time_machine
from django.db import connection
from pypdf import PdfReader

from parcours.exports.subject_access import subject_access_json, subject_access_pdf
from parcours.selectors.subject_access import subject_access_data
from parcours.services import action_plan as plan_services
from parcours.services import consent as consent_services
from parcours.services import person as person_services
from parcours.services import referral as referral_services

from .conftest import PARIS

pytestmark = pytest.mark.django_db

OWNER, SIAE = "France Travail Lens", "Les Jardins du Bassin"


def paris(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 2, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def history(make_actor):
    """France Travail holds Léa's pathway, has oriented her to a SIAE, whose counsellor's
    acceptance put it in her care team (with her consent): the plan's two objectives, three
    actions, their moves."""
    owner = make_actor(name=OWNER)
    siae = make_actor(siae=True, name=SIAE)
    with time_machine.travel(paris(2, 9), tick=False) as clock:
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
        # The receiving team (issue 14): the counsellor who accepts is in charge of the
        # referral, and the SIAE joins Léa's care team.
        referral_services.referral_accept(actor=siae, referral_id=referral.pk)
        assert pathway.care_team.filter(organisation=siae.organisation).exists()

        clock.move_to(paris(3, 10))
        housing = plan_services.objective_add(
            actor=owner, pathway_id=pathway.pk, title="Trouver un logement « stable »"
        )
        licence = plan_services.objective_add(
            actor=owner, pathway_id=pathway.pk, title="Passer le permis B"
        )
        file = plan_services.plan_action_add(
            actor=owner,
            objective_id=housing.pk,
            label="Déposer la demande de logement social",
            owner_organisation_id=owner.organisation.pk,
            due_on=dt.date(2026, 3, 2),
        )
        visit = plan_services.plan_action_add(
            actor=siae,
            objective_id=housing.pk,
            label="Visite du foyer de jeunes travailleurs",
            owner_organisation_id=siae.organisation.pk,
            due_on=dt.date(2026, 2, 20),
        )
        plan_services.plan_action_add(
            actor=owner,
            objective_id=licence.pk,
            label="Inscription à l'auto-école sociale",
            owner_organisation_id=siae.organisation.pk,
            due_on=dt.date(2026, 4, 1),
        )

        clock.move_to(paris(10, 15))
        plan_services.plan_action_set_status(actor=siae, plan_action_id=visit.pk, status="done")
        plan_services.plan_action_set_status(
            actor=owner, plan_action_id=file.pk, status="in_progress"
        )
        plan_services.objective_set_status(actor=owner, objective_id=licence.pk, status="abandoned")
    return {"person": person, "housing": housing, "now": paris(12, 12)}


def _data(history) -> dict:
    data = subject_access_data(person_id=history["person"].pk, now=history["now"])
    # What the pack's JSON file holds (the dict, serialised and read back).
    return json.loads(subject_access_json(data))


def test_the_json_holds_the_plan_with_french_statuses_and_organisations(history):
    (pathway,) = _data(history)["pathways"]
    assert pathway["action_plan"] == [
        {
            "number": 1,
            "title": "Trouver un logement « stable »",
            "status": "open",
            "status_label": "En cours",
            "created_at": "2026-02-03T10:00:00+01:00",
            "created_by_organisation": OWNER,
            "closed_at": None,
            "actions": [  # by due date
                {
                    "label": "Visite du foyer de jeunes travailleurs",
                    "owner_organisation": SIAE,
                    "due_on": "2026-02-20",
                    "status": "done",
                    "status_label": "Faite",
                    "done_at": "2026-02-10T15:00:00+01:00",
                    "created_at": "2026-02-03T10:00:00+01:00",
                    "created_by_organisation": SIAE,
                },
                {
                    "label": "Déposer la demande de logement social",
                    "owner_organisation": OWNER,
                    "due_on": "2026-03-02",
                    "status": "in_progress",
                    "status_label": "En cours",
                    "done_at": None,
                    "created_at": "2026-02-03T10:00:00+01:00",
                    "created_by_organisation": OWNER,
                },
            ],
        },
        {
            "number": 2,
            "title": "Passer le permis B",
            "status": "abandoned",
            "status_label": "Abandonné",
            "created_at": "2026-02-03T10:00:00+01:00",
            "created_by_organisation": OWNER,
            "closed_at": "2026-02-10T15:00:00+01:00",
            "actions": [
                {
                    "label": "Inscription à l'auto-école sociale",
                    "owner_organisation": SIAE,
                    "due_on": "2026-04-01",
                    "status": "todo",
                    "status_label": "À faire",
                    "done_at": None,
                    "created_at": "2026-02-03T10:00:00+01:00",
                    "created_by_organisation": OWNER,
                }
            ],
        },
    ]


def test_the_plans_texts_are_decrypted_in_the_pack(history):
    """Stored encrypted (the column holds no plain text): the pack gives the person the text."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT title FROM parcours_objective WHERE id = %s", [history["housing"].pk]
        )
        (stored,) = cursor.fetchone()
    assert "logement" not in stored
    (pathway,) = _data(history)["pathways"]
    assert pathway["action_plan"][0]["title"] == "Trouver un logement « stable »"


def test_the_plan_is_counted_in_the_pathway_category(history):
    data = _data(history)
    assert (data["counts"]["plan_objectives"], data["counts"]["plan_actions"]) == (2, 3)
    others = {c["code"]: c["other_records"] for c in data["categories"]}
    assert (others["pathway"]["plan_objectives"], others["pathway"]["plan_actions"]) == (2, 3)
    for code, other in others.items():
        if code != "pathway":
            assert (other["plan_objectives"], other["plan_actions"]) == (0, 0), code


def test_the_pdf_shows_the_plan_in_french(history):
    data = subject_access_data(person_id=history["person"].pk, now=history["now"])
    reader = PdfReader(io.BytesIO(subject_access_pdf(data)))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Parcours n°1 : plan d'action" in text
    assert "Parcours n°1 : actions du plan d'action" in text
    # The rows, as the table lays them out (one cell after the other when they fit a line).
    assert f"1 Trouver un logement « stable » En cours 03/02/2026 10:00 {OWNER}" in text
    assert f"2 Passer le permis B Abandonné 03/02/2026 10:00 {OWNER} 10/02/2026 15:00" in text
    for row in (
        f"Visite du foyer de jeunes travailleurs {SIAE} 20/02/2026 Faite 10/02/2026 15:00",
        f"Déposer la demande de logement social {OWNER} 02/03/2026 En cours",
        f"Inscription à l'auto-école sociale {SIAE} 01/04/2026 À faire",
    ):
        assert row in text, row
    assert "2 objectifs du plan d'action, 3 actions du plan d'action" in text
    for code in ("in_progress", "abandoned", "todo"):
        assert code not in text


def test_a_pathway_without_a_plan_says_so(make_actor):
    owner = make_actor(name=OWNER)
    person = person_services.person_create(
        actor=owner, first_name="Inès", last_name="Durand", birth_date=dt.date(1991, 2, 3)
    )
    data = subject_access_data(person_id=person.pk, now=person.created_at)
    assert data["pathways"][0]["action_plan"] == []
    assert (data["counts"]["plan_objectives"], data["counts"]["plan_actions"]) == (0, 0)
    reader = PdfReader(io.BytesIO(subject_access_pdf(data)))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Parcours n°1 : plan d'action" in text and "Aucun objectif." in text
    assert "actions du plan d'action" not in text
