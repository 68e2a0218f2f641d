"""Field encryption at rest, blind indexes and key rotation (docs/security.md).

The database (main and django-simple-history tables) must hold no plaintext of an encrypted
field; exact search on identifiers goes through the blind indexes; rotation re-encrypts
everything under the newest key so that the old one can be removed; a tampered value is refused.
"""

import io
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from parcours import fields
from parcours.fields import FieldIntegrityError, blind_index, encrypted_fields
from parcours.management.commands.rotate_field_keys import Command, rotation_targets
from parcours.models import Barrier, Pathway, PathwayEvent, Person, Referral
from parcours.services.access_request import access_request_create
from parcours.services.consent import consent_record
from parcours.services.diagnostic import diagnostic_write
from parcours.services.history import save_with_history
from parcours.services.pathway import barrier_record, pathway_add_note
from parcours.services.person import person_create, person_update
from parcours.services.referral import referral_create

from ..factories import valid_nir

TEST_KEY_A = os.environ["FIELD_ENCRYPTION_KEYS"].split(",")[0]
KEY_B = Fernet.generate_key().decode()

NIR = valid_nir(321)
FT_ID = "7654321B"
# Free-text markers with characters a Fernet token (base64url) never holds: spaces, @, accents.
PERSON = {
    "first_name": "Éloïse",
    "last_name": "Dupont-Martin",
    "email": "eloise.marqueur@exemple.fr",
    "phone": "06 11 22 33 44",
    "address": "12 rue du Marqueur Secret",
    "postal_code": "62300",
    "city": "Lens Marqueur",
    "nir": NIR,
    "france_travail_id": FT_ID,
    "rqth": True,
    "court_supervision": True,
}
TEXTS = {
    "diagnostic_summary": "Synthèse marqueur : dettes et logement précaire",
    "barrier_detail": "Détail marqueur : hébergé chez un tiers",
    "note": "Note marqueur : entretien du mardi",
    "diagnostic": "Diagnostic marqueur : suivi addictologie",
    "context_note": "Contexte marqueur : sortie de détention",
    "diagnostic_entry": "Situation marqueur : hébergée chez sa sœur",
}
# Names stay in clear (search by name prefix, duplicate messages): every other value is secret.
PLAINTEXTS = [
    v for k, v in PERSON.items() if isinstance(v, str) and not k.endswith("_name")
] + list(TEXTS.values())


@pytest.fixture
def record(counsellor, make_actor):
    """A full record: person (created then rectified), pathway, barrier, notes, referral."""
    import datetime as dt

    person = person_create(
        actor=counsellor,
        birth_date=dt.date(1998, 2, 11),
        **{k: v for k, v in PERSON.items()},
    )
    # A rectification: the history table now holds two versions of every person field.
    person = person_update(
        actor=counsellor, person_id=person.pk, changes={"city": PERSON["city"] + " Ouest"}
    )
    pathway = person.pathways.get()
    pathway.diagnostic_summary = TEXTS["diagnostic_summary"]
    save_with_history(pathway, actor=counsellor, reason="Diagnostic")
    barrier_record(
        actor=counsellor,
        pathway_id=pathway.pk,
        kind="housing",
        status="identified",
        detail=TEXTS["barrier_detail"],
    )
    pathway_add_note(actor=counsellor, pathway_id=pathway.pk, kind="note", text=TEXTS["note"])
    pathway_add_note(
        actor=counsellor, pathway_id=pathway.pk, kind="diagnostic", text=TEXTS["diagnostic"]
    )
    diagnostic_write(
        actor=counsellor,
        pathway_id=pathway.pk,
        domain="housing",
        text=TEXTS["diagnostic_entry"],
        level="blocking",
    )
    receiver = make_actor(siae=True)
    consent_record(
        actor=counsellor,
        person_id=person.pk,
        organisation_ids=[receiver.organisation.pk],
        categories=["identity", "pathway", "social"],
        purpose="Orientation vers un partenaire",
        evidence_kind="oral",
    )
    referral_create(
        actor=counsellor,
        pathway_id=pathway.pk,
        receiver_organisation_id=receiver.organisation.pk,
        kind="substitution",
        reason="Chantier d'insertion",
        context_note=TEXTS["context_note"],
        shared_categories=["identity", "pathway", "social"],
    )
    return person


def _raw(table: str, columns: list[str]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")  # noqa: S608
        return cursor.fetchall()


def _raw_rows_as_text(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT row_to_json(t)::text FROM {table} t")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def _decrypted_snapshot() -> dict[str, list[tuple]]:
    """Every encrypted value, read through the ORM (decrypted), per model, by primary key."""
    snapshot = {}
    for target in rotation_targets():
        from django.apps import apps

        model = apps.get_model(target.label)
        snapshot[target.label] = list(
            model._default_manager.order_by("pk").values_list("pk", *target.fields)
        )
    return snapshot


# --- At rest ------------------------------------------------------------------------------------


def test_every_sensitive_field_is_encrypted():
    """The list of docs/security.md, main and history models alike."""
    expected = {
        "parcours.Person": {
            "email",
            "phone",
            "address",
            "postal_code",
            "city",
            "france_travail_id",
            "nir",
            "rqth",
            "court_supervision",
        },
        "parcours.Pathway": {"diagnostic_summary"},
        "parcours.Barrier": {"detail"},
        "parcours.PathwayEvent": {"text"},
        "parcours.Referral": {"context_note"},
        "parcours.DiagnosticEntry": {"text"},
    }
    found = {t.label: set(t.fields) for t in rotation_targets()}
    for label, names in expected.items():
        assert found[label] == names
    for label in ("Person", "Pathway", "Barrier", "Referral"):
        assert found[f"parcours.Historical{label}"] == expected[f"parcours.{label}"]
    # Birth date stays in clear on purpose (docs/decisions/0005-birth-date-in-clear.md).
    assert "birth_date" not in found["parcours.Person"]


@pytest.mark.django_db
def test_raw_rows_hold_no_plaintext_main_and_history_tables(record):
    targets = rotation_targets()
    history_rows = 0
    for target in targets:
        rows = _raw(target.table, target.columns)
        if target.label.startswith("parcours.Historical"):
            history_rows += len(rows)
        for row in rows:
            for column, value in zip(target.columns, row, strict=True):
                assert value is not None
                # A Fernet token (version byte 0x80), never a plaintext or a bare boolean.
                assert value.startswith("gAAAAA"), (target.table, column)
                assert value not in PLAINTEXTS
        for text in _raw_rows_as_text(target.table):
            for plaintext in PLAINTEXTS:
                if " " in plaintext or "@" in plaintext or not plaintext.isalnum():
                    assert plaintext not in text, (target.table, plaintext)
    # Person ×2, pathway ×2, barrier ×1, referral ≥1: the history tables were really checked.
    assert history_rows >= 6
    # The identifiers are in no column in clear either, not even in the blind indexes.
    for text in _raw_rows_as_text("parcours_person") + _raw_rows_as_text(
        "parcours_historicalperson"
    ):
        assert NIR not in text
        assert FT_ID not in text


@pytest.mark.django_db
def test_values_read_back_decrypted(record):
    person = Person.objects.get(pk=record.pk)
    for field, value in PERSON.items():
        if field != "city":
            assert getattr(person, field) == value
    assert person.city == PERSON["city"] + " Ouest"
    assert person.history.earliest().city == PERSON["city"]
    assert person.history.earliest().rqth is True
    pathway = Pathway.objects.get(person=person)
    assert pathway.diagnostic_summary == TEXTS["diagnostic_summary"]
    assert Barrier.objects.get(pathway=pathway).detail == TEXTS["barrier_detail"]
    texts = set(PathwayEvent.objects.filter(pathway=pathway).values_list("text", flat=True))
    assert {TEXTS["note"], TEXTS["diagnostic"]} <= texts
    assert Referral.objects.get(pathway=pathway).context_note == TEXTS["context_note"]


@pytest.mark.django_db
def test_repr_and_str_never_show_an_encrypted_value(record):
    pathway = record.pathways.get()
    shown = [repr(record), str(record), repr(pathway), str(pathway)]
    shown += [repr(b) for b in Barrier.objects.filter(pathway=pathway)]
    shown += [repr(e) for e in PathwayEvent.objects.filter(pathway=pathway)]
    shown += [repr(r) for r in Referral.objects.filter(pathway=pathway)]
    shown += [repr(h) for h in record.history.all()]
    for text in shown:
        for plaintext in PLAINTEXTS:
            assert plaintext not in text


@pytest.mark.django_db
def test_sql_lookups_on_encrypted_fields_are_refused(record):
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError):
        Person.objects.filter(nir=NIR).exists()


# --- Blind indexes ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_search_by_nir_and_france_travail_id_goes_through_the_blind_index(
    record, counsellor, client_for
):
    client = client_for(counsellor)
    for query in (
        {"nir": NIR},
        {"nir": f" {NIR[:5]} {NIR[5:]} "},  # spaces are not part of the identifier
        {"france_travail_id": FT_ID},
        {"france_travail_id": FT_ID.lower()},
    ):
        response = client.get("/api/v1/persons/", query)
        assert response.status_code == 200, response.content
        ids = [row["id"] for row in response.json()["results"]]
        assert ids == [record.pk], query
    for query in ({"nir": valid_nir(322)}, {"france_travail_id": "1111111A"}):
        assert client.get("/api/v1/persons/", query).json()["results"] == []
    detail = client.get(f"/api/v1/persons/{record.pk}/").json()
    assert detail["nir"] == NIR  # decrypted transparently: the API is unchanged
    assert not any(key.endswith("_index") for key in detail)


@pytest.mark.django_db
def test_blind_indexes_are_keyed_hmacs_under_the_search_key(record):
    row = Person.objects.values("nir_index", "france_travail_id_index", "identity_index").get(
        pk=record.pk
    )
    assert row["nir_index"] == blind_index("nir", NIR)
    assert row["france_travail_id_index"] == blind_index("france_travail_id", FT_ID)
    assert len(row["identity_index"]) == 64
    other_key = Fernet.generate_key().decode()
    with override_settings(SEARCH_INDEX_KEY=other_key):
        assert blind_index("nir", NIR) != row["nir_index"]
    # Domain separation: the same string is indexed differently as NIR and as FT id.
    assert blind_index("nir", "X") != blind_index("france_travail_id", "X")


@pytest.mark.django_db
def test_access_request_finds_the_person_through_the_blind_index(record, make_actor):
    outsider = make_actor()
    request = access_request_create(actor=outsider, reason="Nouvelle inscription", nir=NIR)
    assert request.pathway.person_id == record.pk


# --- Rotation -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotation_lets_the_old_key_be_removed(record):
    before = _decrypted_snapshot()
    raw_before = _raw("parcours_person", ["nir"])
    assert sum(len(rows) for rows in before.values()) > 10

    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B, TEST_KEY_A]):
        assert _decrypted_snapshot() == before  # both keys read
        out = io.StringIO()
        call_command("rotate_field_keys", batch_size=2, stdout=out)
        report = out.getvalue()
        assert "parcours.HistoricalPerson : 2/2 (100 %)" in report
        assert "Rotation terminée" in report
        assert " 0 valeurs re-chiffrées" not in report
        for plaintext in PLAINTEXTS:
            assert plaintext not in report
        # Idempotent and resumable: a second run finds everything already rotated.
        again = io.StringIO()
        call_command("rotate_field_keys", stdout=again)
        assert "Rotation terminée : 0 valeurs re-chiffrées" in again.getvalue()

    assert _raw("parcours_person", ["nir"]) != raw_before
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B]):  # key A removed
        assert _decrypted_snapshot() == before
        assert Person.objects.get(pk=record.pk).history.earliest().nir == NIR
    # Key A alone no longer reads.
    with override_settings(FIELD_ENCRYPTION_KEYS=[TEST_KEY_A]), pytest.raises(FieldIntegrityError):
        Person.objects.get(pk=record.pk)


@pytest.mark.django_db
def test_rotation_never_overwrites_a_value_the_app_rewrote_meanwhile(record):
    """Online safety: the UPDATE is a compare-and-set on the token that was read."""
    (target,) = [t for t in rotation_targets() if t.label == "parcours.Person"]
    (stale,) = _raw(f"parcours_person WHERE id = {record.pk}", ["city"])[0]
    # Meanwhile, the app rectifies the city (a new token under the newest key).
    Person.objects.filter(pk=record.pk).update(city="Liévin Marqueur")
    (current,) = _raw(f"parcours_person WHERE id = {record.pk}", ["city"])[0]
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B, TEST_KEY_A]):
        rotated = fields.encrypt("Lens Marqueur Ouest")
        updates = {column: [] for column in target.columns}
        updates["city"] = [(rotated, record.pk, stale)]
        with connection.cursor() as cursor:
            Command._write(cursor, target, updates)
        assert _raw(f"parcours_person WHERE id = {record.pk}", ["city"])[0][0] == current
        assert Person.objects.get(pk=record.pk).city == "Liévin Marqueur"
        # With the token really read, the same write goes through.
        updates["city"] = [(rotated, record.pk, current)]
        with connection.cursor() as cursor:
            Command._write(cursor, target, updates)
        assert Person.objects.get(pk=record.pk).city == "Lens Marqueur Ouest"


@pytest.mark.django_db
def test_rotation_refuses_a_value_no_key_decrypts(record):
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B]), pytest.raises(Exception) as excinfo:
        call_command("rotate_field_keys", stdout=io.StringIO())
    assert "Intégrité compromise" in str(excinfo.value)


# --- Integrity ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_tampered_value_raises_a_clear_integrity_error(record):
    (token,) = _raw(f"parcours_person WHERE id = {record.pk}", ["nir"])[0]
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE parcours_person SET nir = %s WHERE id = %s", [tampered, record.pk])

    with pytest.raises(FieldIntegrityError) as excinfo:
        Person.objects.get(pk=record.pk)
    message = str(excinfo.value)
    assert "Intégrité compromise" in message
    assert "parcours.Person.nir" in message
    for plaintext in PLAINTEXTS:
        assert plaintext not in message
    assert tampered not in message


def test_encrypted_fields_helper_lists_only_encrypted_columns():
    names = {f.name for f in encrypted_fields(Person)}
    assert "first_name" not in names
    assert "nir_index" not in names


# --- Start-up -----------------------------------------------------------------------------------


def _manage_check(**overrides: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env |= {
        "DJANGO_SETTINGS_MODULE": "backend.settings.local",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/parcours",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SEARCH_INDEX_KEY": Fernet.generate_key().decode(),
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, timeout=60
    )


SAME = Fernet.generate_key().decode()
BAD_START_UP = {
    "encryption-key-malformed": (
        {"FIELD_ENCRYPTION_KEYS": "pas-une-cle"},
        "FIELD_ENCRYPTION_KEYS : la clé n°1 est malformée",
    ),
    "second-encryption-key-malformed": (
        {"FIELD_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},abc"},
        "FIELD_ENCRYPTION_KEYS : la clé n°2 est malformée",
    ),
    "search-key-malformed": (
        {"SEARCH_INDEX_KEY": "trop-courte"},
        "SEARCH_INDEX_KEY est malformée",
    ),
    "search-key-equals-encryption-key": (
        {"SEARCH_INDEX_KEY": SAME, "FIELD_ENCRYPTION_KEYS": SAME},
        "SEARCH_INDEX_KEY doit être distincte",
    ),
}


@pytest.mark.parametrize("overrides,message", BAD_START_UP.values(), ids=BAD_START_UP.keys())
def test_malformed_keys_stop_start_up_with_a_clear_message(overrides, message):
    result = _manage_check(**overrides)
    assert result.returncode != 0
    assert message in result.stderr
    assert "ImproperlyConfigured" in result.stderr
    for value in overrides.values():
        if len(value) > 20:
            assert value not in result.stderr  # a key is never printed


def test_well_formed_keys_start():
    result = _manage_check()
    assert result.returncode == 0, result.stderr
