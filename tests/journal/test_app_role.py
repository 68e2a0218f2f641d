"""The journal holds against the application's own database role (docs/journal.md, "The guard").

As the role web, worker and beat connect with (granted by `manage.py db_grant_app_role`):
UPDATE, DELETE and TRUNCATE of the journal fail whatever session settings it sets, whether it
logged in as that role or a superuser's session switched to it with SET ROLE; it appends and
seals; it purges only through the database's purge function, under that function's rules. And
the trigger holds on its own, for a role granted too much by mistake. Real PostgreSQL, real
roles, real logins: nothing here is mocked.
"""

# Raw SQL on the journal table (constant names, never input) is the point of these tests.
# ruff: noqa: S608

import datetime as dt
import io
import itertools

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from parcours.gate.journal import journal_record
from parcours.journal_trigger import (
    APPEND_ONLY_MESSAGE,
    PURGE_FUNCTION,
    PURGE_FUNCTION_ARGS,
    PURGE_WINDOW_TABLE,
    trigger_sql,
)
from parcours.models import AccessEvent, AccessOperation, JournalCheckpoint
from parcours.selectors.journal_integrity import journal_integrity_status
from parcours.services.journal import (
    JournalBroken,
    journal_checkpoint_create,
    journal_purge,
    journal_seal,
    journal_seal_all,
    journal_verify,
)

from .conftest import as_owner, attempt
from .test_guard_regression import SETTINGS

TABLE = AccessEvent._meta.db_table
PURGE_SIGNATURE = f"{PURGE_FUNCTION}({PURGE_FUNCTION_ARGS})"
CHECKPOINTS = JournalCheckpoint._meta.db_table
UTC = dt.UTC


def record(actor=None, **kwargs):
    defaults = {"operation": AccessOperation.READ, "object_type": "pathway", "object_id": 1}
    return journal_record(actor=actor, **{**defaults, **kwargs})


def fingerprint():
    """Everything about the journal's rows, to compare before and after an attempt."""
    return list(AccessEvent.objects.order_by("id").values_list("id", "purpose", "row_hash"))


def refusals(conn, statements):
    """Each statement, after each combination of settings: the ones that were NOT refused."""
    let_through = []
    for settings_sql, statement in itertools.product(SETTINGS, statements):
        if attempt(conn, *settings_sql, statement) is None:
            let_through.append((settings_sql, statement))
    return let_through


# --- Logged in as the application's role -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_as_the_app_role_update_delete_and_truncate_fail_whatever_it_sets(app_login, counsellor):
    """The acceptance line, first half: through a real login as the role, and through a
    superuser's session switched to it with SET ROLE."""
    sealed = record(counsellor)
    journal_seal()
    unsealed = record(counsellor)
    before = fingerprint()
    statements = [
        f"DELETE FROM {TABLE} WHERE id = {sealed.pk}",
        f"DELETE FROM {TABLE} WHERE id = {unsealed.pk}",
        f"DELETE FROM {TABLE}",
        f"TRUNCATE {TABLE}",
        f"TRUNCATE {TABLE} CASCADE",
        f"UPDATE {TABLE} SET purpose = 'autre' WHERE id = {sealed.pk}",
        f"UPDATE {TABLE} SET purpose = 'autre' WHERE id = {unsealed.pk}",
        f"UPDATE {TABLE} SET row_hash = repeat('0', 64) WHERE id = {sealed.pk}",
        f"UPDATE {TABLE} SET chain_seq = chain_seq + 100 WHERE id = {sealed.pk}",
        f"UPDATE {TABLE} SET chain_seq = 7, prev_hash = 'x', row_hash = 'y', basis = 'legal:x' "
        f"WHERE id = {unsealed.pk}",
        # Half a seal (the hashes stay empty) would leave the row neither queued nor chained.
        f"UPDATE {TABLE} SET chain_seq = 7 WHERE id = {unsealed.pk}",
    ]
    for how in ({"set_role": False}, {"set_role": True}):
        conn = app_login(**how)
        assert refusals(conn, statements) == [], how
    assert fingerprint() == before
    assert journal_verify().ok


@pytest.mark.django_db(transaction=True)
def test_the_app_role_cannot_switch_the_guard_off(app_login, counsellor):
    record(counsellor)
    journal_seal()
    conn = app_login()
    forbidden = {
        "SET ROLE postgres": "permission denied",
        "SET SESSION AUTHORIZATION postgres": "permission denied",
        # A replica session runs no trigger: only a superuser may ask for it.
        "SET session_replication_role = replica": "permission denied",
        f"ALTER TABLE {TABLE} DISABLE TRIGGER USER": "must be owner",
        f"DROP TRIGGER parcours_journal_guard_row ON {TABLE}": "must be owner",
        "CREATE OR REPLACE FUNCTION parcours_journal_guard() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NULL; END $$": "",
        # The purge window, which opens DELETE for one transaction, is the owner's alone.
        f"INSERT INTO {PURGE_WINDOW_TABLE} (xact) VALUES (pg_current_xact_id())": "permission",
        f"UPDATE {CHECKPOINTS} SET row_hash = 'x'": "permission denied",
        f"DELETE FROM {CHECKPOINTS}": "permission denied",
        f"TRUNCATE {CHECKPOINTS}": "permission denied",
    }
    for statement, message in forbidden.items():
        error = attempt(conn, statement)
        assert error is not None, statement
        assert message in str(error), (statement, str(error))


@pytest.mark.django_db(transaction=True)
def test_the_app_role_appends_and_seals(app_login, counsellor):
    conn = app_login()
    with conn.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (occurred_at, operation, object_type, object_ids, categories, "
            "purpose, basis, request_id, detail, prev_hash, row_hash) VALUES (now(), 'read', "
            "'pathway', '[]', '[]', '', '', '', '{}', '', '') RETURNING id"
        )
        (inserted,) = cursor.fetchone()
        cursor.execute(
            f"UPDATE {TABLE} SET chain_seq = 1, prev_hash = repeat('0', 64), "
            f"row_hash = repeat('a', 64) WHERE id = %s",
            [inserted],
        )
        assert cursor.rowcount == 1
    # Sealed once, never again.
    assert attempt(conn, f"UPDATE {TABLE} SET row_hash = repeat('b', 64) WHERE id = {inserted}")
    assert AccessEvent.objects.get(pk=inserted).row_hash == "a" * 64


# --- The real services, as the application's role --------------------------------------------


@pytest.mark.django_db
def test_the_services_run_as_the_app_role(as_app_role, counsellor):
    """Record, seal, sign, verify and purge with exactly the role's privileges."""
    with time_machine.travel(dt.datetime(2025, 1, 10, tzinfo=UTC), tick=False):
        old = [record(counsellor) for _ in range(4)]
    recent = [record(counsellor) for _ in range(2)]
    assert journal_seal() == 6
    cutoff = dt.datetime(2025, 6, 1, tzinfo=UTC)
    assert journal_purge(before=cutoff, actor=counsellor) == 0  # no checkpoint, no purge

    checkpoint = journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())
    assert checkpoint.chain_seq == 6
    assert journal_purge(before=cutoff, actor=counsellor) == 4
    assert not AccessEvent.objects.filter(pk__in=[e.pk for e in old]).exists()
    marker = AccessEvent.objects.get(operation=AccessOperation.PURGE_MARKER)
    assert (marker.user, marker.organisation) == (counsellor.user, counsellor.organisation)
    assert marker.detail == {
        "purged_before": "2025-06-01T00:00:00.000000Z",
        "purged_count": 4,
        "first_purged_chain_seq": 1,
        "last_purged_chain_seq": 4,
        "last_purged_row_hash": marker.detail["last_purged_row_hash"],
        "dropped_partitions": 0,
    }
    assert journal_seal() == 1  # the marker joins the chain like any row
    report = journal_verify()
    assert report.ok and report.checked == 3 and report.checkpoint_seq == 6
    assert {e.pk for e in recent} <= set(AccessEvent.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_the_purge_function_refuses_what_its_rules_forbid(as_app_role, counsellor):
    with time_machine.travel(dt.datetime(2025, 1, 10, tzinfo=UTC), tick=False):
        [record(counsellor) for _ in range(3)]
    record(counsellor)  # today: younger than any cut-off below
    journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())  # signs sequence 4
    hashes = dict(AccessEvent.objects.values_list("chain_seq", "row_hash"))
    cutoff = dt.datetime(2025, 6, 1, tzinfo=UTC)

    def purge(last_seq, last_hash, before=cutoff):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {PURGE_FUNCTION}(%s, %s, %s, NULL, NULL, 'essai')",
                [before, last_seq, last_hash],
            )
            return cursor.fetchone()[0]

    with pytest.raises(DatabaseError, match="Purge refusée"):
        purge(4, hashes[4], before=timezone.now())  # the head, never
    with pytest.raises(DatabaseError, match="Purge refusée"):
        purge(2, hashes[2], before=dt.datetime(2024, 12, 1, tzinfo=UTC))  # after the cut-off
    with pytest.raises(DatabaseError, match="ne correspond pas à l'empreinte vérifiée"):
        purge(3, "0" * 64)  # not the hash the caller verified
    with as_owner():  # a checkpoint whose row no longer matches stops every purge
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {CHECKPOINTS} SET row_hash = repeat('f', 64)")
        with pytest.raises(DatabaseError, match="ne correspond plus au dernier point"):
            purge(3, hashes[3])
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {CHECKPOINTS} SET row_hash = %s", [hashes[4]])
    assert AccessEvent.objects.count() == 4

    assert purge(2, hashes[2]) == 2  # less than allowed is allowed
    # The window closed with the function: in the same transaction, the owner cannot DELETE.
    with (
        as_owner(),
        pytest.raises(DatabaseError, match=APPEND_ONLY_MESSAGE),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {TABLE}")
    assert AccessEvent.objects.filter(chain_seq__isnull=False).count() == 2
    journal_seal_all()
    assert journal_verify().ok


@pytest.mark.django_db
def test_the_database_keeps_rows_younger_than_the_minimum_age(as_app_role, counsellor):
    """JOURNAL_PURGE_MIN_AGE_DAYS is built into the function by the owner's migrate (0 in the
    test settings): whatever cut-off the application passes, younger rows stay."""
    with as_owner(), connection.cursor() as cursor:
        for statement in trigger_sql(
            connection.ops.quote_name(TABLE),
            checkpoint_table=connection.ops.quote_name(CHECKPOINTS),
            min_age_days=30,
        ):
            cursor.execute(statement)  # rolled back with the test
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(days=40), tick=False):
        old = [record(counsellor) for _ in range(2)]
    with time_machine.travel(now - dt.timedelta(days=10), tick=False):
        young = [record(counsellor) for _ in range(2)]
    record(counsellor)
    journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())

    assert journal_purge(before=now, actor=None) == 2
    kept = set(AccessEvent.objects.values_list("pk", flat=True))
    assert not kept & {e.pk for e in old} and {e.pk for e in young} <= kept
    marker = AccessEvent.objects.get(operation=AccessOperation.PURGE_MARKER)
    purged_before = dt.datetime.fromisoformat(marker.detail["purged_before"])
    assert purged_before < now - dt.timedelta(days=29)  # the database's cut-off, not `before`


@pytest.mark.django_db
def test_a_purge_refuses_a_checkpoint_whose_signature_fails(as_app_role, counsellor):
    with time_machine.travel(dt.datetime(2025, 1, 10, tzinfo=UTC), tick=False):
        [record(counsellor) for _ in range(3)]
    journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())
    # The role may insert checkpoints (the scheduled task does): a forged one is refused.
    forged = JournalCheckpoint.objects.get()
    forged.pk = None
    forged.signature = forged.signature[::-1]
    forged.save()
    with pytest.raises(JournalBroken, match="signature du dernier point de contrôle"):
        journal_purge(before=dt.datetime(2025, 6, 1, tzinfo=UTC), actor=None)
    assert AccessEvent.objects.count() == 3


# --- The grant command -----------------------------------------------------------------------


def privileges(role, table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p, has_table_privilege(%s, %s, p) FROM unnest(ARRAY['SELECT', 'INSERT', "
            "'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p",
            [role, table],
        )
        return {name for name, granted in cursor.fetchall() if granted}


@pytest.mark.django_db
def test_grant_command_grants_exactly_and_is_idempotent(app_role):
    journal_columns = {"chain_seq", "prev_hash", "row_hash", "purpose", "id"}
    with connection.cursor() as cursor:
        # Too much granted by hand: the command takes it back.
        cursor.execute(f"GRANT ALL ON {TABLE}, parcours_person, {PURGE_WINDOW_TABLE} TO {app_role}")
    out = io.StringIO()
    call_command("db_grant_app_role", role=app_role, stdout=out)
    call_command("db_grant_app_role", role=app_role, stdout=out)
    assert "journal des accès en ajout seul" in out.getvalue()
    assert privileges(app_role, TABLE) == {"SELECT", "INSERT"}
    assert privileges(app_role, CHECKPOINTS) == {"SELECT", "INSERT"}
    assert privileges(app_role, PURGE_WINDOW_TABLE) == set()
    assert privileges(app_role, "parcours_person") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c, has_column_privilege(%s, %s, c, 'UPDATE') FROM unnest(%s::text[]) AS c",
            [app_role, TABLE, sorted(journal_columns)],
        )
        updatable = {column for column, granted in cursor.fetchall() if granted}
        cursor.execute(
            "SELECT has_function_privilege(%s, %s, 'EXECUTE'), "
            "has_function_privilege('public', %s, 'EXECUTE')",
            [app_role, PURGE_SIGNATURE, PURGE_SIGNATURE],
        )
        app_may_purge, anyone_may_purge = cursor.fetchone()
    assert updatable == {"chain_seq", "prev_hash", "row_hash"}
    assert app_may_purge and not anyone_may_purge


@pytest.mark.django_db
def test_grant_command_refuses_a_role_that_could_act_as_the_owner(app_role):
    with pytest.raises(CommandError, match="peut agir en propriétaire"):
        call_command("db_grant_app_role", role="postgres", stdout=io.StringIO())
    with pytest.raises(CommandError, match="n'existe pas"):
        call_command("db_grant_app_role", role="parcours_no_such_role", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Nom de rôle refusé"):
        call_command("db_grant_app_role", role='x"; DROP TABLE y; --', stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {app_role}")
    with pytest.raises(CommandError, match="rôle propriétaire"):
        call_command("db_grant_app_role", role=app_role, stdout=io.StringIO())


# --- After a checkpoint, the owner's deletions show ------------------------------------------


@pytest.mark.django_db
def test_newest_rows_deleted_by_a_dba_after_a_checkpoint_are_reported(as_app_role, counsellor):
    """The acceptance line, second half: the owner can switch the trigger off (a database
    administrator, or whoever stole the owner's password); the checkpoint catches it."""
    events = [record(counsellor) for _ in range(5)]
    journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())  # signs sequence 5
    record(counsellor)
    journal_seal()
    assert journal_verify().ok
    with as_owner(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        cursor.execute(f"DELETE FROM {TABLE} WHERE chain_seq >= 4")
        cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")

    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("journal_verify", stdout=out)
    assert out.getvalue().startswith("Journal altéré : la chaîne s'arrête à la séquence 3 ")
    assert "les lignes les plus récentes (séquences 4 à 5) ont été supprimées" in out.getvalue()
    status = journal_integrity_status(
        start=events[0].occurred_at - dt.timedelta(days=1), end=timezone.now()
    )
    assert status.state == "broken"
    assert status.verification is not None and status.verification.broken_seq == 4
    assert "ALTÉRATION DÉTECTÉE" in status.statement
    assert "les lignes les plus récentes" in status.statement
    with pytest.raises(JournalBroken, match="ont été supprimées"):
        journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())

    # Sealing new rows into the freed sequence numbers does not hide it.
    for _ in range(3):
        record(counsellor)
    journal_seal()
    report = journal_verify()
    assert not report.ok and report.broken_seq == 5
    assert "la chaîne a été réécrite" in report.reason


@pytest.mark.django_db
def test_truncation_after_a_checkpoint_is_reported(as_app_role, counsellor):
    for _ in range(3):
        record(counsellor)
    journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())
    with as_owner(), connection.cursor() as cursor:  # the superuser: the trigger lets it
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {TABLE}")
    report = journal_verify()
    assert not report.ok and report.broken_id is None
    assert "le journal a été vidé (TRUNCATE)" in report.reason

    # A new chain from the genesis hash verifies on its own, not against the checkpoint.
    for _ in range(4):
        record(counsellor)
    journal_seal()
    report = journal_verify()
    assert not report.ok and "réécrite" in report.reason


@pytest.mark.django_db
def test_a_forged_or_edited_checkpoint_is_reported(as_app_role, counsellor):
    record(counsellor)
    journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())
    checkpoint = JournalCheckpoint.objects.get()
    with transaction.atomic():
        JournalCheckpoint.objects.create(
            chain_seq=1,
            row_hash=checkpoint.row_hash,
            signed_payload=checkpoint.signed_payload,
            signature=checkpoint.signature[:-8] + "AAAAAAA=",
            public_key=checkpoint.public_key,
        )
        report = journal_verify()
        assert not report.ok and "n'est pas valide" in report.reason
        transaction.set_rollback(True)
    with as_owner():
        JournalCheckpoint.objects.filter(pk=checkpoint.pk).update(row_hash="e" * 64)
    report = journal_verify()
    assert not report.ok and "modifié après sa signature" in report.reason
