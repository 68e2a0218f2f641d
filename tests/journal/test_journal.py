"""The access journal: insert-only recording, hash-chain sealing, verification, trigger,
purge and signed checkpoints (docs/journal.md). Real PostgreSQL: the trigger is the point.

These tests connect as the owner (the postgres superuser); what the application's own role may
and may not do is in test_app_role.py."""

# Raw SQL on the journal table (a constant name, never input) is how tampering is simulated.
# ruff: noqa: S608

import datetime as dt
import hashlib
import io
import json
import os
import stat
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test import RequestFactory

from parcours.gate.journal import _row, journal_record
from parcours.journal_trigger import APPEND_ONLY_MESSAGE
from parcours.models import AccessEvent, AccessOperation, JournalCheckpoint
from parcours.services.journal import (
    CANONICAL_FIELDS,
    GENESIS_HASH,
    SEAL_LOCK_KEY,
    SEALING_FIELDS,
    canonical_row,
    journal_checkpoint_create,
    journal_purge,
    journal_seal,
    journal_seal_all,
    journal_verify,
    row_hash,
)

TABLE = AccessEvent._meta.db_table
UTC = dt.UTC


def record(actor=None, **kwargs):
    defaults = {"operation": AccessOperation.READ, "object_type": "pathway", "object_id": 1}
    return journal_record(actor=actor, **{**defaults, **kwargs})


def run_verify(*args):
    out = io.StringIO()
    call_command("journal_verify", *args, stdout=out)
    return out.getvalue()


def run_verify_broken(*args):
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("journal_verify", *args, stdout=out)
    assert exit_info.value.code == 1
    return out.getvalue()


def tamper(sql, params=()):
    """What an attacker with table-owner rights would do: disable the guard, write, re-enable."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending FK checks
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")


def rehash_whole_chain():
    """A cleverer attacker: after editing a row, recompute every hash so the chain verifies."""
    rows = AccessEvent.objects.order_by("chain_seq").filter(chain_seq__isnull=False)
    prev = GENESIS_HASH
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending FK checks
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        for row in rows.values(*CANONICAL_FIELDS, *SEALING_FIELDS):
            digest = row_hash(prev, row)
            cursor.execute(
                f"UPDATE {TABLE} SET prev_hash = %s, row_hash = %s WHERE id = %s",
                [prev, digest, row["id"]],
            )
            prev = digest
        cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")


# --- Canonical form ----------------------------------------------------------------------------

SAMPLE_ROW = {
    "id": 42,
    "occurred_at": dt.datetime(2026, 1, 31, 9, 5, 0, tzinfo=ZoneInfo("Europe/Paris")),
    "user_id": 7,
    "organisation_id": 3,
    "operation": "read",
    "object_type": "pathway",
    "object_id": 12,
    "object_ids": [],
    "person_id": 5,
    "categories": ["identity", "santé"],
    "purpose": "Suivi",
    "basis": "consent:12",
    "request_id": "abc",
    "client_ip": "192.0.2.1",
    "detail": {"b": 1, "a": [1, 2]},
}


def test_canonical_row_is_stable():
    assert canonical_row(SAMPLE_ROW) == (
        '{"basis":"consent:12","categories":["identity","santé"],"client_ip":"192.0.2.1",'
        '"detail":{"a":[1,2],"b":1},"id":42,"object_id":12,"object_ids":[],'
        '"object_type":"pathway","occurred_at":"2026-01-31T08:05:00.000000Z",'
        '"operation":"read","organisation_id":3,"person_id":5,"purpose":"Suivi",'
        '"request_id":"abc","user_id":7}'
    )
    # Pinned: a change here breaks every chain already sealed (docs/journal.md).
    expected = hashlib.sha256(("0" * 64 + canonical_row(SAMPLE_ROW)).encode("utf-8")).hexdigest()
    assert row_hash(GENESIS_HASH, SAMPLE_ROW) == expected
    assert expected == "b9f5ab2357702220674e173aa5dae6fa69379878ad49817d46a36ab96b304507"


def test_canonical_row_ignores_key_order_time_zone_and_extra_fields():
    same_instant_utc = {**SAMPLE_ROW, "occurred_at": dt.datetime(2026, 1, 31, 8, 5, tzinfo=UTC)}
    shuffled = dict(reversed(list(same_instant_utc.items())))
    with_sealing = {**shuffled, "chain_seq": 9, "prev_hash": "x", "row_hash": "y"}
    assert canonical_row(SAMPLE_ROW) == canonical_row(shuffled) == canonical_row(with_sealing)
    naive = {**SAMPLE_ROW, "occurred_at": dt.datetime(2026, 1, 31, 8, 5)}
    with pytest.raises(ValueError):
        canonical_row(naive)


def test_canonical_fields_cover_every_column_but_the_sealing_ones():
    columns = {field.attname for field in AccessEvent._meta.concrete_fields}
    assert columns - set(SEALING_FIELDS) == set(CANONICAL_FIELDS)


# --- Record, seal, verify ----------------------------------------------------------------------


@pytest.mark.django_db
def test_record_seal_verify(counsellor):
    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="req-1", REMOTE_ADDR="203.0.113.9")
    read = record(
        counsellor,
        person_id=5,
        categories=["sante", "identite", "sante"],
        purpose="Accompagnement",
        basis="consent:12",
        request=request,
    )
    listed = record(
        counsellor,
        operation=AccessOperation.LIST,
        object_id=None,
        object_ids=[3, 1],
        request=request,
    )
    system = record(None, operation=AccessOperation.REPORT, object_type="person")
    assert read.chain_seq is None and read.row_hash == ""
    assert (read.user, read.organisation) == (counsellor.user, counsellor.organisation)
    assert read.categories == ["identite", "sante"]
    assert (read.request_id, listed.request_id, read.client_ip) == ("req-1", "req-1", "203.0.113.9")
    assert listed.object_ids == [3, 1]
    assert system.user is None and system.request_id == ""

    assert "3 ligne(s) pas encore scellée(s)" in run_verify()
    out = io.StringIO()
    call_command("journal_seal", stdout=out)
    assert out.getvalue().startswith("3 ligne(s) scellée(s)")

    rows = list(AccessEvent.objects.order_by("chain_seq"))
    assert [r.chain_seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS_HASH
    assert rows[1].prev_hash == rows[0].row_hash and rows[2].prev_hash == rows[1].row_hash
    assert (
        f"Journal intègre : 3 lignes vérifiées jusqu'à la ligne n°{system.pk} (séquence 3"
        in run_verify()
    )
    assert journal_seal() == 0  # nothing pending: sealed rows are never touched again

    record(counsellor)
    journal_seal()
    assert journal_verify().checked == 4
    assert "1 lignes vérifiées" in run_verify("--from-seq", "4")


@pytest.mark.django_db
def test_one_insert_writes_the_row_model_save_would(counsellor):
    """`journal_record` writes its row in one prepared INSERT, not through `Model.save`: every
    column as save wrote it (JSON, address, time, nulls), the database's id on the instance."""
    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="req-2", REMOTE_ADDR="2001:db8::7")
    fields = {
        "actor": counsellor,
        "operation": AccessOperation.READ,
        "object_type": "pathway",
        "object_id": 9,
        "person_id": 4,
        "categories": ["sante", "identite"],
        "purpose": "Accompagnement « renforcé »",
        "basis": ["legal:rsa", "consent:3"],
        "request": request,
        "detail": {"action": "pathway.view", "note": "é", "n": [1, 2]},
    }
    written = journal_record(**fields)
    saved = _row(**fields)
    saved.save(force_insert=True)
    assert not written._state.adding and written._state.db == "default"
    assert written.pk is not None and saved.pk == written.pk + 1
    columns = [f.attname for f in AccessEvent._meta.concrete_fields if not f.primary_key]
    one, other = (
        AccessEvent.objects.filter(pk=pk).values(*columns).get() for pk in (written.pk, saved.pk)
    )
    assert one["occurred_at"] == written.occurred_at
    assert {**one, "occurred_at": None} == {**other, "occurred_at": None}
    assert one["client_ip"] == "2001:db8::7" and one["categories"] == ["identite", "sante"]
    assert one["detail"] == {"door": "command", "action": "pathway.view", "note": "é", "n": [1, 2]}
    assert one["object_ids"] == [] and one["chain_seq"] is None and one["row_hash"] == ""
    with connection.cursor() as cursor:  # the same text in the database, not only equal JSON
        cursor.execute(
            f"SELECT a.detail::text = b.detail::text, a.categories::text = b.categories::text "
            f"FROM {TABLE} a, {TABLE} b WHERE a.id = %s AND b.id = %s",
            [written.pk, saved.pk],
        )
        assert cursor.fetchone() == (True, True)


@pytest.mark.django_db
def test_request_id_is_generated_once_per_request(counsellor):
    request = RequestFactory().get("/", REMOTE_ADDR="not-an-ip")
    first, second = record(counsellor, request=request), record(counsellor, request=request)
    assert len(first.request_id) == 32 and first.request_id == second.request_id
    assert first.client_ip is None
    other = record(counsellor, request=RequestFactory().get("/"))
    assert other.request_id != first.request_id


@pytest.mark.django_db
def test_unknown_operation_is_refused(counsellor):
    with pytest.raises(ValueError):
        record(counsellor, operation="peek")


@pytest.mark.django_db
def test_seal_continues_the_chain_across_batches(counsellor):
    for _ in range(7):
        record(counsellor)
    assert journal_seal(batch_size=3) == 3
    assert journal_seal_all(batch_size=3) == 4
    report = journal_verify()
    assert report.ok and report.checked == 7 and report.last_seq == 7


# --- The trigger -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_update_of_a_sealed_row_is_refused(counsellor):
    event = record(counsellor)
    journal_seal()
    with (
        pytest.raises(DatabaseError, match=APPEND_ONLY_MESSAGE),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE {TABLE} SET purpose = 'autre' WHERE id = %s", [event.pk])
    # Re-sealing (changing only the sealing fields of a sealed row) is refused too.
    with (
        pytest.raises(DatabaseError, match="ajout seul"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE {TABLE} SET row_hash = repeat('0', 64) WHERE id = %s", [event.pk])


@pytest.mark.django_db
def test_update_of_an_unsealed_row_is_refused_except_sealing(counsellor):
    event = record(counsellor)
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        AccessEvent.objects.filter(pk=event.pk).update(purpose="autre")
    with (
        pytest.raises(DatabaseError, match="ajout seul"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"UPDATE {TABLE} SET chain_seq = 1, row_hash = 'x', basis = 'legal:rsa' WHERE id = %s",
            [event.pk],
        )
    assert journal_seal() == 1


@pytest.mark.django_db
def test_delete_is_refused(counsellor):
    event = record(counsellor)
    journal_seal()
    with (
        pytest.raises(DatabaseError, match=APPEND_ONLY_MESSAGE),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [event.pk])
    unsealed = record(counsellor)
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        unsealed.delete()
    assert AccessEvent.objects.count() == 2


@pytest.mark.django_db
def test_truncate_is_left_to_superusers(counsellor):
    """Django's `flush` empties the tables with TRUNCATE, as the postgres superuser: the trigger
    lets a superuser through (one can switch any trigger off anyway) and no one else, whatever
    their privileges or settings (test_app_role.py); `journal_verify` then reports the journal
    emptied if a checkpoint had been signed (test_truncation_after_a_checkpoint_is_reported)."""
    record(counsellor)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks (Django defers)
        cursor.execute(f"TRUNCATE {TABLE}")
    assert AccessEvent.objects.count() == 0


@pytest.mark.django_db
def test_trigger_installation_is_idempotent(counsellor):
    from parcours.journal_trigger import install_journal_trigger

    install_journal_trigger(using="default")
    install_journal_trigger(using="default")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [TABLE],
        )
        assert cursor.fetchone()[0] == 2


# --- Tampering ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tampered_row_is_named_by_journal_verify(counsellor):
    events = [record(counsellor, purpose="Accompagnement") for _ in range(5)]
    journal_seal()
    victim = events[2]
    tamper(f"UPDATE {TABLE} SET purpose = 'Contrôle' WHERE id = %s", [victim.pk])
    output = run_verify_broken()
    assert f"Rupture de la chaîne à la ligne n°{victim.pk} (séquence 3)" in output
    assert "ligne modifiée" in output
    assert "2 ligne(s) vérifiée(s) avant elle" in output


@pytest.mark.django_db
def test_deleted_row_is_detected(counsellor):
    events = [record(counsellor) for _ in range(4)]
    journal_seal()
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [events[1].pk])
    output = run_verify_broken()
    assert f"ligne n°{events[2].pk} (séquence 3)" in output
    assert "supprimées" in output


@pytest.mark.django_db
def test_rewritten_chain_is_detected_by_link_check(counsellor):
    events = [record(counsellor) for _ in range(3)]
    journal_seal()
    tamper(f"UPDATE {TABLE} SET row_hash = repeat('a', 64) WHERE id = %s", [events[0].pk])
    output = run_verify_broken()
    assert f"ligne n°{events[0].pk} (séquence 1)" in output


# --- Purge -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_purge_deletes_old_sealed_rows_and_verify_resumes(counsellor):
    with time_machine.travel(dt.datetime(2025, 1, 10, tzinfo=UTC), tick=False):
        old = [record(counsellor) for _ in range(4)]
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=UTC), tick=False):
        recent = [record(counsellor) for _ in range(2)]
    journal_seal()
    cutoff = dt.datetime(2025, 6, 1, tzinfo=UTC)

    # No signed checkpoint yet: nothing is purged.
    assert journal_purge(before=cutoff, actor=counsellor) == 0
    journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())

    assert journal_purge(before=cutoff, actor=counsellor) == 4
    assert not AccessEvent.objects.filter(pk__in=[e.pk for e in old]).exists()
    marker = AccessEvent.objects.get(operation=AccessOperation.PURGE_MARKER)
    assert marker.detail["last_purged_chain_seq"] == 4
    assert marker.detail["purged_count"] == 4
    assert marker.user == counsellor.user

    output = run_verify()  # marker not sealed yet: the chain starts from its recorded hash
    assert "Journal intègre : 2 lignes vérifiées" in output
    assert "1 ligne(s) pas encore scellée(s)" in output
    journal_seal()
    assert f"3 lignes vérifiées jusqu'à la ligne n°{marker.pk} (séquence 7" in run_verify()

    # Outside the purge, DELETE is refused again.
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        AccessEvent.objects.filter(pk=recent[0].pk).delete()

    # Tampering with the first remaining row is still caught.
    tamper(f"UPDATE {TABLE} SET purpose = 'x' WHERE id = %s", [recent[0].pk])
    assert f"ligne n°{recent[0].pk} (séquence 5)" in run_verify_broken()


@pytest.mark.django_db
def test_purge_never_removes_the_head_nor_unsealed_rows(counsellor):
    key = Ed25519PrivateKey.generate()
    with time_machine.travel(dt.datetime(2025, 1, 10, tzinfo=UTC), tick=False):
        sealed = [record(counsellor) for _ in range(3)]
        journal_checkpoint_create(private_key=key)  # signs the head, sequence 3
        pending = record(counsellor)
    cutoff = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert journal_purge(before=cutoff, actor=None) == 2
    assert set(AccessEvent.objects.values_list("pk", flat=True)) >= {sealed[2].pk, pending.pk}
    journal_seal()
    report = journal_verify()
    assert report.ok and report.checked == 3  # head, the pending row, the marker
    assert report.checkpoint_seq == 3

    # A second purge resumes from the first one's marker, up to the new checkpoint.
    journal_checkpoint_create(private_key=key)
    assert journal_purge(before=cutoff, actor=None) == 2
    journal_seal()
    assert journal_verify().ok


@pytest.mark.django_db
def test_a_purge_ending_at_the_checkpoint_still_verifies_against_it(counsellor):
    """The checkpoint's own row purged: its purge marker carries the hash it signed."""
    with time_machine.travel(dt.datetime(2025, 1, 10, tzinfo=UTC), tick=False):
        [record(counsellor) for _ in range(3)]
        journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())  # sequence 3
    record(counsellor)  # today
    journal_seal()
    assert journal_purge(before=dt.datetime(2025, 6, 1, tzinfo=UTC), actor=None) == 3
    assert not AccessEvent.objects.filter(chain_seq=3).exists()
    journal_seal()
    report = journal_verify()
    assert report.ok and report.checkpoint_seq == 3 and report.checked == 2


@pytest.mark.django_db
def test_missing_start_without_marker_is_detected(counsellor):
    events = [record(counsellor) for _ in range(3)]
    journal_seal()
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [events[0].pk])
    output = run_verify_broken()
    assert f"ligne n°{events[1].pk} (séquence 2)" in output
    assert "sans marqueur de purge" in output


@pytest.mark.django_db
def test_purge_refuses_a_broken_chain(counsellor):
    from parcours.services.journal import JournalBroken

    with time_machine.travel(dt.datetime(2025, 1, 10, tzinfo=UTC), tick=False):
        events = [record(counsellor) for _ in range(3)]
    journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())
    tamper(f"UPDATE {TABLE} SET purpose = 'x' WHERE id = %s", [events[0].pk])
    with pytest.raises(JournalBroken, match=f"ligne n°{events[0].pk}"):
        journal_purge(before=dt.datetime(2026, 1, 1, tzinfo=UTC), actor=None)
    assert AccessEvent.objects.count() == 3


# --- Concurrency -------------------------------------------------------------------------------


def _in_thread(target, errors):
    def run():
        try:
            target()
        except Exception as error:  # reported to the test
            errors.append(error)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


@pytest.mark.django_db(transaction=True)
def test_concurrent_sealers_and_writers_keep_one_chain(counsellor):
    for _ in range(150):
        record(counsellor)
    errors: list[Exception] = []
    writing_done = threading.Event()

    def writer():
        for _ in range(150):
            record(counsellor)
        writing_done.set()

    def sealer():
        while True:
            journal_seal(batch_size=17)
            if (
                writing_done.is_set()
                and not AccessEvent.objects.filter(chain_seq__isnull=True).exists()
            ):
                return

    threads = [_in_thread(writer, errors), _in_thread(sealer, errors), _in_thread(sealer, errors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    seqs = list(AccessEvent.objects.values_list("chain_seq", flat=True))
    assert len(seqs) == 300 and None not in seqs
    assert sorted(seqs) == list(range(1, 301))
    report = journal_verify()
    assert report.ok and report.checked == 300


@pytest.mark.django_db(transaction=True)
def test_seal_returns_zero_while_another_sealer_holds_the_lock(counsellor):
    record(counsellor)
    locked, release = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def holder():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
            locked.set()
            release.wait(10)

    thread = _in_thread(holder, errors)
    thread.start()
    assert locked.wait(10)
    try:
        assert journal_seal() == 0
    finally:
        release.set()
        thread.join(10)
    assert not errors
    assert journal_seal() == 1


@pytest.mark.django_db(transaction=True)
def test_a_row_committed_late_is_sealed_by_a_later_batch(counsellor):
    inserted, commit = threading.Event(), threading.Event()
    errors: list[Exception] = []
    late_ids: list[int] = []

    def slow_writer():
        with transaction.atomic():
            late_ids.append(record(counsellor).pk)
            inserted.set()
            commit.wait(10)

    thread = _in_thread(slow_writer, errors)
    thread.start()
    assert inserted.wait(10)
    after = [record(counsellor) for _ in range(3)]
    assert journal_seal() == 3  # the uncommitted row is invisible, not waited for
    commit.set()
    thread.join(10)
    assert not errors
    assert journal_seal() == 1
    late = AccessEvent.objects.get(pk=late_ids[0])
    assert late.pk < after[0].pk and late.chain_seq == 4  # chain order is chain_seq, not id
    assert journal_verify().ok


# --- Checkpoints -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_checkpoint_sign_and_verify_round_trip(counsellor, tmp_path):
    key_path = tmp_path / "journal.pem"
    out = io.StringIO()
    call_command("journal_checkpoint", "--generate-key", str(key_path), stdout=out)
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert "SHA256:" in out.getvalue()

    events = [record(counsellor) for _ in range(3)]  # sealed by the checkpoint command
    checkpoint_file = tmp_path / "checkpoint.json"
    out = io.StringIO()
    call_command(
        "journal_checkpoint", "--key", str(key_path), "--out", str(checkpoint_file), stdout=out
    )
    document = json.loads(out.getvalue())
    assert json.loads(checkpoint_file.read_text()) == document
    payload = json.loads(document["payload"])
    assert payload["chain_seq"] == 3
    assert document["fingerprint"].startswith("SHA256:")
    saved = JournalCheckpoint.objects.get()
    assert (saved.chain_seq, saved.row_hash) == (3, payload["row_hash"])

    def verify(*extra):
        out = io.StringIO()
        call_command("journal_checkpoint", "--verify", str(checkpoint_file), *extra, stdout=out)
        return out.getvalue()

    assert "conforme" in verify("--public-key", str(key_path) + ".pub")
    record(counsellor)  # the chain grows: the checkpoint still holds
    journal_seal()
    assert "conforme" in verify()

    # A forged signature or a stranger's key is refused.
    forged = {**document, "payload": document["payload"].replace('"chain_seq":3', '"chain_seq":2')}
    forged_file = tmp_path / "forged.json"
    forged_file.write_text(json.dumps(forged))
    with pytest.raises(SystemExit):
        call_command("journal_checkpoint", "--verify", str(forged_file), stdout=io.StringIO())
    other_key = tmp_path / "other.pem"
    call_command("journal_checkpoint", "--generate-key", str(other_key), stdout=io.StringIO())
    with pytest.raises(SystemExit):
        verify("--public-key", str(other_key) + ".pub")

    # Rewriting history and recomputing every hash makes a chain that verifies on its own; the
    # checkpoint's row no longer has the hash it signed, which journal_verify and --verify see.
    tamper(f"UPDATE {TABLE} SET purpose = 'réécrit' WHERE id = %s", [events[1].pk])
    rehash_whole_chain()
    assert journal_verify(to_seq=4).ok  # the chain alone
    output = run_verify_broken()
    assert f"à la ligne n°{events[2].pk} (séquence 3)" in output
    assert "la chaîne a été réécrite" in output
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("journal_checkpoint", "--verify", str(checkpoint_file), stdout=out)
    assert "ne correspond plus au point de contrôle signé" in out.getvalue()


@pytest.mark.django_db
def test_checkpoint_verify_fails_after_simple_tampering(counsellor, tmp_path):
    key = Ed25519PrivateKey.generate()
    events = [record(counsellor) for _ in range(3)]
    from parcours.services.journal import checkpoint_document, journal_checkpoint_verify

    document = checkpoint_document(journal_checkpoint_create(private_key=key))
    assert journal_checkpoint_verify(document, trusted_public_key=key.public_key()).ok
    tamper(f"UPDATE {TABLE} SET basis = 'legal:autre' WHERE id = %s", [events[0].pk])
    result = journal_checkpoint_verify(document, trusted_public_key=key.public_key())
    assert not result.ok and f"ligne n°{events[0].pk}" in result.message


@pytest.mark.django_db
def test_checkpoint_refuses_to_sign_a_broken_chain(counsellor, tmp_path):
    from parcours.services.journal import JournalBroken

    events = [record(counsellor) for _ in range(2)]
    journal_seal()
    tamper(f"UPDATE {TABLE} SET purpose = 'x' WHERE id = %s", [events[0].pk])
    with pytest.raises(JournalBroken):
        journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())
    assert not JournalCheckpoint.objects.exists()


@pytest.mark.django_db
def test_checkpoint_without_key_says_what_to_do(settings):
    from django.core.management.base import CommandError

    settings.JOURNAL_SIGNING_KEY_FILE = ""
    with pytest.raises(CommandError, match="JOURNAL_SIGNING_KEY_FILE"):
        call_command("journal_checkpoint")


# --- Celery ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seal_task_is_discovered_scheduled_and_seals(counsellor, settings):
    from backend.celery import app
    from parcours.journal_tasks import journal_seal_pending

    app.loader.import_default_modules()
    assert "parcours.journal_seal_pending" in app.tasks
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "parcours.journal_seal_pending" in schedule
    record(counsellor)
    record(counsellor)
    assert journal_seal_pending() == 2
    assert journal_seal_pending() == 0
