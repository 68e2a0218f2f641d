"""The subject-access pack (GDPR art. 15): a history across three organisations (conftest), then
the ZIP's files, the JSON's exact content, the PDF read back, the journal row, the query count
and the command."""

import datetime as dt
import io
import json
import zipfile

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from parcours.gate.journal import journal_record
from parcours.models import AccessEvent, PathwayEvent, Person, Role
from parcours.selectors.access_reports import PERSON_VERSION_STAFF, person_access_report
from parcours.selectors.retention_dates import retention_dates_of
from parcours.selectors.subject_access import ALL_TIME_BEFORE, FORMAT, subject_access_data
from parcours.services.subject_access import PURPOSE, subject_access_pack_generate
from tests.factories import (
    AppointmentFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
)

from .conftest import PACK_NOW, PARIS

pytestmark = pytest.mark.django_db

TOP_LEVEL_KEYS = {
    "format",
    "generated_at",
    "reference",
    "record",
    "category_labels",
    "categories",
    "pathways",
    "referrals",
    "timeline",
    "consents",
    "objections",
    "access_requests",
    "break_glass",
    "access_report",
    "retention",
    "counts",
}
SIAE, OWNER, MISSION = "Les Jardins du Bassin", "France Travail Lens", "Mission locale d'Arras"


def _pack(history, **kwargs):
    kwargs.setdefault("user", history["owner"].user)
    return subject_access_pack_generate(
        person_id=history["person"].pk, now=history["now"], **kwargs
    )


def _files(pack) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        assert archive.testzip() is None
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}
        return {name: archive.read(name) for name in archive.namelist()}


def _json(pack) -> dict:
    files = _files(pack)
    name = next(n for n in files if n.endswith(".json"))
    return json.loads(files[name].decode("utf-8"))


def _flat(text: str) -> str:
    return " ".join(text.split())


def _keys(value, path=""):
    """Every key of a JSON document, with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", key
            yield from _keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item, f"{path}[]")


def test_the_zip_holds_exactly_the_pdf_the_json_and_the_readme(pack_history):
    pack = _pack(pack_history)
    reference = pack_history["person"].reference
    assert reference == f"P-{pack_history['person'].pk:07d}"
    assert pack.filename == f"acces-donnees-{reference}-2026-01-20.zip"
    files = _files(pack)
    assert set(files) == {
        f"acces-donnees-{reference}.pdf",
        f"donnees-{reference}.json",
        "LISEZMOI.txt",
    }
    readme = files["LISEZMOI.txt"].decode("utf-8")
    assert f"Dossier {reference}, document établi le 20/01/2026 12:00." in readme
    assert f"donnees-{reference}.json" in readme and FORMAT in readme
    assert "www.cnil.fr/plaintes" in readme


def test_the_json_holds_the_record_by_category(pack_history):
    data = _json(_pack(pack_history))
    assert set(data) == TOP_LEVEL_KEYS
    assert data["format"] == "parcours-subject-access/1"
    assert data["generated_at"] == "2026-01-20T12:00:00+01:00"
    assert data["record"] == {
        "reference": pack_history["person"].reference,
        "created_at": "2026-01-05T09:00:00+01:00",
        "updated_at": "2026-01-16T10:00:00+01:00",
    }
    fields = {c["code"]: {f["name"]: f["value"] for f in c["fields"]} for c in data["categories"]}
    assert fields == {
        "identity": {
            "first_name": "Léa",
            "last_name": "Dubœuf",
            "birth_date": "1990-05-17",
            "france_travail_id": "",
            "nir": pack_history["person"].nir,
        },
        "contact": {
            "email": "lea.duboeuf@example.test",
            "phone": "0601020304",
            "address": "",
            "postal_code": "62800",
            "city": "Lens",  # the rectification through the API on the 16th
        },
        "pathway": {
            "receives_rsa": True,
            "receives_ass": False,
            "rights_ending": False,
            "rights_end_date": None,
        },
        "social": {"lives_in_qpv": False},
        "health": {"rqth": True},
        "justice": {"court_supervision": False},
    }
    labels = {f["name"]: f["label"] for c in data["categories"] for f in c["fields"]}
    assert labels["france_travail_id"] == "Identifiant France Travail"
    assert labels["rqth"] == "RQTH (travailleur handicapé)"
    social = next(c for c in data["categories"] if c["code"] == "social")
    assert social["label"] == "Diagnostic social et freins périphériques"
    assert social["other_records"] == {
        "diagnostic_summaries": 0,
        "barriers": 2,
        "diagnostic_versions": 0,
        "plan_objectives": 0,
        "plan_actions": 0,
        "referral_context_notes": 1,
        "referral_messages": 0,  # pathway data
        "timeline_events": 3,  # two barriers and the diagnostic note
    }


def test_the_json_holds_the_pathway_referrals_and_timeline(pack_history):
    data = _json(_pack(pack_history))
    (pathway,) = data["pathways"]
    assert pathway["number"] == 1
    assert (pathway["status"], pathway["owner_organisation"]) == ("open", OWNER)
    assert pathway["opened_at"] == "2026-01-05T09:00:00+01:00"
    assert [
        (m["modality"], m["started_at"], m["ended_at"]) for m in pathway["modality_history"]
    ] == [
        ("suivi", "2026-01-05T09:00:00+01:00", "2026-01-06T10:00:00+01:00"),
        ("renforce", "2026-01-06T10:00:00+01:00", None),
    ]
    assert [(b["kind"], b["category"], b["status"], b["detail"]) for b in pathway["barriers"]] == [
        ("housing", "social", "identified", "Hébergée chez un tiers"),
        ("mobility", "social", "in_progress", ""),
    ]

    to_siae, to_mission = data["referrals"]
    assert to_siae["reference"] == pack_history["to_siae"].reference
    assert (to_siae["sender_organisation"], to_siae["receiver_organisation"]) == (OWNER, SIAE)
    assert to_siae["shared_categories"] == ["identity", "pathway", "social"]
    assert to_siae["context_note"] == "Disponible le matin"
    assert [(s["status"], s["at"]) for s in to_siae["status_history"]] == [
        ("draft", "2026-01-07T14:00:00+01:00"),
        ("sent", "2026-01-07T14:00:00+01:00"),
        ("accepted", "2026-01-08T11:00:00+01:00"),
        ("appointment_set", "2026-01-09T09:30:00+01:00"),
        ("attended", "2026-01-12T10:30:00+01:00"),
    ]
    # Recorded once, never corrected.
    assert not any(s["correction"] for s in to_siae["status_history"])
    assert to_siae["attendance_corrections"] == []
    assert to_siae["appointments"] == [
        {
            "starts_at": "2026-01-12T10:00:00+01:00",
            "channel": "in_person",
            "channel_label": "Sur place",
            "place": "12 rue des Jardins, Lens",
            "outcome": "attended",
            "outcome_label": "Personne venue",
            "outcome_recorded_at": "2026-01-12T10:30:00+01:00",
        }
    ]
    assert to_mission["receiver_organisation"] == MISSION
    assert (to_mission["status"], to_mission["status_label"]) == ("refused", "Refusée")
    assert to_mission["refusal_reason_label"] == "Plus de place disponible"
    assert to_mission["refusal_comment"] == "Liste d'attente complète"
    assert [s["status"] for s in to_mission["status_history"]] == ["draft", "sent", "refused"]

    assert len(data["timeline"]) == 12
    note = next(e for e in data["timeline"] if e["kind"] == "note")
    assert note["text"] == "Entretien <b>&</b> : projet « cariste » l’été"
    assert (note["organisation"], note["category"]) == (OWNER, "pathway")
    moves = [(e["referral"], e["referral_status"]) for e in data["timeline"] if e["referral"]]
    assert (to_mission["reference"], "refused") in moves


def test_the_json_holds_consents_and_their_history(pack_history):
    data = _json(_pack(pack_history))
    broad, health = data["consents"]
    assert (broad["number"], broad["state"], broad["revoked_at"]) == (1, "in_force", None)
    assert broad["categories"] == ["identity", "pathway"]
    assert broad["organisations"] == [SIAE]
    assert broad["evidence_kind_label"] == "Formulaire signé"
    assert broad["collected_by_organisation"] == OWNER
    assert broad["history"] == [
        {
            "at": "2026-01-05T09:00:00+01:00",
            "change": "created",
            "change_label": "Recueil de l'accord",
            "categories": ["identity", "pathway", "social"],
            "organisations": [SIAE, MISSION],
            "organisation_kinds": [],
            "ends_on": None,
        },
        {
            "at": "2026-01-13T09:00:00+01:00",
            "change": "narrowed",
            "change_label": "Restriction de l'accord",
            "categories": ["identity", "pathway"],
            "organisations": [SIAE],
            "organisation_kinds": [],
            "ends_on": None,
        },
    ]
    assert (health["state"], health["revoked_at"]) == ("revoked", "2026-01-15T09:00:00+01:00")
    assert [(h["change"], h["at"], h["categories"]) for h in health["history"]] == [
        ("created", "2026-01-14T09:00:00+01:00", ["health"]),
        ("revoked", "2026-01-15T09:00:00+01:00", ["health"]),
    ]
    assert data["objections"] == [
        {
            "recorded_at": "2026-01-19T09:00:00+01:00",
            "reason": "Ne souhaite plus de partage par accord",
            "withdrawn_at": None,
            "active": True,
        }
    ]
    assert data["access_requests"] == [
        {
            "created_at": "2026-01-17T09:00:00+01:00",
            "requesting_organisation": MISSION,
            "reason": "Reprise de l'accompagnement",
            "status": "refused",
            "status_label": "Refusée",
            "decided_at": "2026-01-17T09:00:00+01:00",
            "decision_comment": "Suivi déjà assuré",
        }
    ]
    assert data["break_glass"] == [
        {
            "organisation": SIAE,
            "category": "health",
            "reason": "Adapter le poste dès le premier jour",
            "starts_at": "2026-01-16T10:00:00+01:00",
            "ends_at": "2026-01-17T10:00:00+01:00",
        }
    ]


def test_the_json_holds_the_person_access_report_and_retention(pack_history):
    data = _json(_pack(pack_history))
    expected = person_access_report(
        person_id=pack_history["person"].pk,
        start=ALL_TIME_BEFORE,
        end=PACK_NOW,
        version="person",
    )
    report = data["access_report"]
    assert report["version"] == "person"
    assert report["period"] == {"from": None, "to": "2026-01-20T12:00:00+01:00"}
    # Every access, whichever door: the services' writes (the history was built through them),
    # then the API's reads, list, refusal and break-glass, the access request and its answer.
    assert len(report["rows"]) == len(expected.rows) == 25
    assert [(r["organisation"], r["operation"]) for r in report["rows"]] == [
        *[(OWNER, "Modification")] * 2,  # 5 Jan: the person created, the broad consent
        *[(OWNER, "Modification")] * 5,  # 6 Jan: modality, two barriers, note, diagnostic
        *[(OWNER, "Modification")] * 2,  # 7 Jan: two referrals sent
        (SIAE, "Modification"),  # 8 Jan: accepted
        (MISSION, "Modification"),  # 8 Jan: refused
        (SIAE, "Modification"),  # 9 Jan: appointment set
        (SIAE, "Modification"),  # 12 Jan: attendance
        *[(OWNER, "Modification")] * 3,  # 13–15 Jan: consents narrowed, recorded, revoked
        (OWNER, "Consultation"),  # 16 Jan, through the API
        (OWNER, "Modification"),
        (SIAE, "Liste"),
        (SIAE, "Consultation"),
        (MISSION, "Accès refusé"),
        (SIAE, "Accès d'urgence"),
        (MISSION, "Demande d'accès"),  # 17 Jan
        (OWNER, "Demande d'accès"),  # its refusal
        (OWNER, "Modification"),  # 19 Jan: the objection
    ]
    assert {r["by"] for r in report["rows"]} == {PERSON_VERSION_STAFF}
    assert report["totals_by_organisation"] == [
        {"organisation": OWNER, "count": 16},
        {"organisation": SIAE, "count": 6},
        {"organisation": MISSION, "count": 3},
    ]
    assert data["retention"] == {
        # The retention job's clock: the rectification of the person's city (16 January).
        "last_contact_at": "2026-01-16T10:00:00+01:00",
        "archive_on": "2028-01-16",
        "anonymise_on": "2030-01-16",
        "journal_kept_months": 12,
        "references": ["CASF art. R.263-8", "CNIL délibération n° 2021-122"],
    }
    assert data["counts"] == {
        "pathways": 1,
        "referrals": 2,
        "appointments": 1,
        "attendance_corrections": 0,
        "referral_messages": 0,
        "plan_objectives": 0,
        "plan_actions": 0,
        "timeline_events": 12,
        "consents": 2,
        "consent_changes": 4,
        "objections": 1,
        "access_requests": 1,
        "break_glass": 1,
        "access_rows": 25,
    }


def test_no_staff_name_and_no_internal_id_leave_in_the_pack(pack_history):
    files = _files(_pack(pack_history))
    data_text = next(v for k, v in files.items() if k.endswith(".json")).decode("utf-8")
    for name in pack_history["staff_names"]:
        assert name not in data_text
    data = json.loads(data_text)
    assert [path for path, key in _keys(data) if key == "id" or key.endswith("_id")] == []
    # The access rows name records in words ("parcours"), not "pathway n°12".
    records = {row["record"] for row in data["access_report"]["rows"]}
    assert records == {"dossier de la personne", "orientation", "parcours", "accord", "opposition"}


def test_the_pdf_of_the_pack_reads_back_in_french(pack_history):
    files = _files(_pack(pack_history))
    pdf = next(v for k, v in files.items() if k.endswith(".pdf"))
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata.title == "Vos données personnelles"
    assert reader.metadata.author == "parcours"
    text = _flat("\n".join(page.extract_text() for page in reader.pages))
    total = len(reader.pages)
    assert f"Page {total} / {total}" in text
    for heading in (
        "Vos données personnelles",
        "Droit d'accès — RGPD, article 15",
        "Vos droits",
        "Identité",
        "Coordonnées",
        "Santé et handicap",
        "Votre parcours d'accompagnement",
        "Vos orientations",
        "Journal de suivi de votre parcours",
        "Vos accords (consentements)",
        "Historique de vos accords",
        "Vos oppositions",
        "Demandes d'accès à votre dossier",
        "Accès exceptionnels",
        "Qui a consulté ou modifié vos données",
        "Combien de temps vos données sont conservées",
    ):
        assert heading in text, heading
    assert f"Dossier {pack_history['person'].reference} : Léa Dubœuf, né(e) le 17/05/1990" in text
    for value in (
        OWNER,
        SIAE,
        MISSION,
        pack_history["to_siae"].reference,
        "Restriction de l'accord",
        "Retrait de l'accord",
        "Plus de place disponible",
        "Entretien <b>&</b> : projet « cariste » l’été",
        "Accès refusé",
        "16/01/2028",  # archiving
        "16/01/2030",  # anonymisation
        "www.cnil.fr/plaintes",
        "Rectification",
        "Opposition",
        "Effacement",
    ):
        assert value in text, value
    for name in pack_history["staff_names"]:
        assert name not in text


def test_a_consent_to_kinds_of_organisation_reads_in_french(db):
    from parcours.exports.subject_access import subject_access_pdf
    from tests.factories import ConsentFactory

    pathway = PathwayFactory()
    ConsentFactory(
        person=pathway.person,
        organisations=[OrganisationFactory(name="CCAS de Lens")],
        organisation_kinds=["mission_locale", "plie"],
    )
    data = subject_access_data(person_id=pathway.person_id, now=timezone.now())
    assert data["consents"][0]["organisation_kinds"] == ["mission_locale", "plie"]
    text = _flat(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(subject_access_pdf(data))).pages)
    )
    assert (
        "CCAS de Lens, tout organisme de type « Mission locale », tout organisme de type « PLIE »"
        in text
    )
    assert "mission_locale" not in text


def test_the_export_is_journaled_once(pack_history, make_actor):
    dpo = make_actor(organisation=pack_history["owner"].organisation, role=Role.DPO)
    before = AccessEvent.objects.count()
    pack = _pack(pack_history, actor=dpo, user=None)
    assert AccessEvent.objects.count() == before + 1
    event = AccessEvent.objects.latest("id")
    assert event.operation == "export"
    assert (event.object_type, event.object_id) == ("person", pack_history["person"].pk)
    assert event.person_id == pack_history["person"].pk
    assert (event.user, event.organisation) == (dpo.user, dpo.organisation)
    assert event.purpose == PURPOSE == "Droit d'accès (RGPD art. 15)"
    assert event.categories == ["contact", "health", "identity", "justice", "pathway", "social"]
    assert event.detail["format"] == FORMAT
    assert event.detail["bytes"] == len(pack.content)
    assert event.detail["counts"] == pack.counts
    assert set(event.detail["files"]) == set(_files(pack))
    assert all(size > 0 for size in event.detail["files"].values())


def test_a_later_pack_lists_the_earlier_export_among_the_accesses(pack_history):
    _pack(pack_history)
    later = {**pack_history, "now": timezone.now() + dt.timedelta(minutes=1)}
    rows = _json(_pack(later))["access_report"]["rows"]
    assert rows[-1]["operation"] == "Export"
    assert rows[-1]["purpose"] == PURPOSE
    assert len(rows) == 26  # the 25 of the history, and the first pack


def test_an_unknown_person_is_not_found_and_not_journaled(db):
    before = AccessEvent.objects.count()
    with pytest.raises(Person.DoesNotExist):
        subject_access_pack_generate(person_id=999_999)
    assert AccessEvent.objects.count() == before


# --- Bounded queries ---------------------------------------------------------------------------


def _person_with(n: int) -> int:
    """A person with n referrals (each with its consent and appointment), n notes and n
    journal rows."""
    pathway = PathwayFactory()
    for _ in range(n):
        referral = ReferralFactory(
            pathway=pathway, appointment_set=True, receiver_organisation=OrganisationFactory()
        )
        AppointmentFactory(referral=referral)
        PathwayEvent.objects.create(
            pathway=pathway, kind="note", occurred_at=timezone.now(), text="Note"
        )
        journal_record(
            actor=None, operation="read", object_type="person", person_id=pathway.person_id
        )
    return pathway.person_id


def _queries(person_id: int) -> int:
    with CaptureQueriesContext(connection) as context:
        subject_access_pack_generate(person_id=person_id)
    return len(context.captured_queries)


def test_the_number_of_queries_is_bounded_and_does_not_grow(db, django_assert_max_num_queries):
    few, many = _person_with(2), _person_with(10)
    with django_assert_max_num_queries(30):
        subject_access_pack_generate(person_id=many)
    assert _queries(few) == _queries(many)
    data = subject_access_data(person_id=many, now=timezone.now())
    assert data["counts"]["referrals"] == 10 and data["counts"]["consents"] == 10


# --- Retention dates ---------------------------------------------------------------------------


def test_retention_dates_without_any_contact_start_from_the_record(db):
    with time_machine.travel(dt.datetime(2028, 2, 29, 9, 0, tzinfo=PARIS), tick=False):
        person = PersonFactory()
        dates = retention_dates_of(person_id=person.pk, now=timezone.now())
    assert dates["last_contact_at"] == person.created_at
    assert dates["archive_on"] == dt.date(2030, 2, 28)  # no 29 February in 2030
    assert dates["anonymise_on"] == dt.date(2032, 2, 28)
    assert dates["journal_kept_months"] == 12


def test_an_appointment_still_to_come_is_not_a_contact(db):
    now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)
    with time_machine.travel(now, tick=False):
        appointment = AppointmentFactory(starts_at=now + dt.timedelta(days=30))
        person_id = appointment.referral.pathway.person_id
        dates = retention_dates_of(person_id=person_id, now=now)
    assert dates["last_contact_at"] == now  # the referral's last update, not the appointment
    assert dates["archive_on"] == dt.date(2028, 3, 2)


# --- The command -------------------------------------------------------------------------------


def test_the_command_writes_the_pack(pack_history, tmp_path, capsys):
    output = tmp_path / "dossier.zip"
    call_command(
        "subject_access_pack",
        "--person",
        str(pack_history["person"].pk),
        "--output",
        str(output),
        "--by",
        pack_history["owner"].user.username,
    )
    with zipfile.ZipFile(output) as archive:
        assert len(archive.namelist()) == 3
    out = capsys.readouterr().out
    assert f"Dossier d'accès écrit dans {output}" in out
    assert "2 orientation(s)" in out
    event = AccessEvent.objects.latest("id")
    assert (event.operation, event.user) == ("export", pack_history["owner"].user)


def test_the_command_names_its_file_itself_and_refuses_bad_input(
    pack_history, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    call_command("subject_access_pack", "--person", str(pack_history["person"].pk))
    (written,) = tmp_path.glob("acces-donnees-P-*.zip")
    assert zipfile.is_zipfile(written)
    with pytest.raises(CommandError, match="introuvable"):
        call_command("subject_access_pack", "--person", "999999")
    with pytest.raises(CommandError, match="Utilisateur « personne » introuvable"):
        call_command(
            "subject_access_pack", "--person", str(pack_history["person"].pk), "--by", "personne"
        )


def test_beyond_the_limit_the_pdf_counts_accesses_per_month_and_the_json_keeps_them_all(
    pack_history, monkeypatch
):
    """A record read thousands of times: the PDF groups the accesses (readable, and the pack
    stays fast); the JSON still lists every one."""
    from parcours.exports import subject_access as pack_exports
    from parcours.exports.subject_access import subject_access_pdf

    data = subject_access_data(person_id=pack_history["person"].pk, now=pack_history["now"])
    rows = data["access_report"]["rows"]
    monkeypatch.setattr(pack_exports, "PDF_DETAIL_LIMIT", len(rows) - 1)
    text = " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(subject_access_pdf(data))).pages
    )
    text = " ".join(text.split())
    assert "Accès par mois, organisation et opération" in text
    assert f"Vos données ont fait l'objet de {len(rows)} accès" in text
    assert "01/2026 Les Jardins du Bassin Accès d'urgence 1" in text
    assert "Détail des accès" not in text
    assert len(json.loads(pack_exports.subject_access_json(data))["access_report"]["rows"]) == len(
        rows
    )
