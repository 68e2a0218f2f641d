"""The access journal partitioned by month (parcours/journal_partitions.py, docs/journal.md
"Partitions"): rows land in their month, the hash chain runs across partitions, the purge
detaches and drops whole months, the DPO's queries read only the months they cover, and the
application's role can touch no partition directly. Real PostgreSQL: the partitions are the
point. DDL runs inside each test's transaction and is rolled back with it."""

# Raw SQL on the journal's tables (constant names, never input).
# ruff: noqa: S608

import datetime as dt

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import DatabaseError, connection, transaction

from parcours.gate.journal import journal_record
from parcours.journal_partitions import (
    DEFAULT_PARTITION_SUFFIX,
    journal_partitions,
    journal_partitions_ensure,
    partition_name,
)
from parcours.models import AccessEvent, AccessOperation
from parcours.selectors.access_reports import _events_about
from parcours.services.journal import (
    journal_checkpoint_create,
    journal_purge,
    journal_seal_all,
    journal_verify,
)

TABLE = AccessEvent._meta.db_table
DEFAULT = TABLE + DEFAULT_PARTITION_SUFFIX
UTC = dt.UTC
pytestmark = pytest.mark.django_db


def month(year: int, number: int) -> dt.datetime:
    return dt.datetime(year, number, 1, tzinfo=UTC)


def record_at(moment: dt.datetime, actor=None, **kwargs) -> AccessEvent:
    defaults = {"operation": AccessOperation.READ, "object_type": "pathway", "object_id": 1}
    with time_machine.travel(moment, tick=False):
        return journal_record(actor=actor, **{**defaults, **kwargs})


def partition_of(event: AccessEvent) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {TABLE} WHERE id = %s", [event.pk])
        return cursor.fetchone()[0]


def as_if_committed() -> None:
    """The rows were written in this test's transaction; a purge runs long after they committed
    (a month cannot be dropped with its rows' foreign-key checks still pending)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def exists(relation: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [relation])
        return bool(cursor.fetchone()[0])


def test_the_journal_is_partitioned_by_month_with_a_default():
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        assert cursor.fetchone()[0] == "p"
    names = [p.name for p in journal_partitions(table=TABLE)]
    this_month = partition_name(TABLE, month(*dt.datetime.now(UTC).timetuple()[:2]))
    assert this_month in names  # created after migrate, with the months ahead
    assert names[-1] == DEFAULT

    now = record_at(dt.datetime.now(UTC))
    far = record_at(dt.datetime(2041, 5, 3, tzinfo=UTC))  # no month made for it: DEFAULT
    assert partition_of(now) == this_month
    assert partition_of(far) == DEFAULT


def test_ensure_creates_months_once_and_moves_what_the_default_caught(counsellor):
    caught = record_at(dt.datetime(2024, 5, 17, 12, tzinfo=UTC), counsellor)
    assert partition_of(caught) == DEFAULT
    journal_seal_all()

    assert journal_partitions_ensure(start=month(2024, 4), months=3) == 3
    assert journal_partitions_ensure(start=month(2024, 4), months=3) == 0  # idempotent
    assert partition_of(caught) == partition_name(TABLE, month(2024, 5))
    # The move changed nothing the hash covers: the chain still verifies.
    report = journal_verify()
    assert report.ok and report.checked == AccessEvent.objects.count()
    # The new month has the guard's triggers: rows inherit, TRUNCATE is the partition's own.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s) "
            "AND NOT tgisinternal ORDER BY tgname",
            [partition_name(TABLE, month(2024, 5))],
        )
        assert [row[0] for row in cursor.fetchall()] == [
            "parcours_journal_guard_row",
            "parcours_journal_guard_truncate",
        ]
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        AccessEvent.objects.filter(pk=caught.pk).delete()


def test_the_chain_runs_across_partitions_and_a_break_in_one_is_named(counsellor):
    journal_partitions_ensure(start=month(2025, 1), months=3)
    events = [
        record_at(month(2025, number) + dt.timedelta(days=3, hours=hour), counsellor)
        for number in (1, 2, 3)
        for hour in (1, 2)
    ]
    assert len({partition_of(event) for event in events}) == 3
    journal_seal_all()
    report = journal_verify()
    assert report.ok and report.checked == len(events)

    # Tampering inside the middle month, guard switched off as an attacker would.
    middle = events[3]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        cursor.execute(f"UPDATE {TABLE} SET purpose = 'x' WHERE id = %s", [middle.pk])
        cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
    report = journal_verify()
    assert not report.ok and report.broken_id == middle.pk


def test_a_rank_repeated_in_another_month_breaks_the_chain(counsellor):
    """Unique per (rank, month) only, as PostgreSQL allows: the verifier refuses a repeat."""
    journal_partitions_ensure(start=month(2025, 1), months=2)
    first = record_at(month(2025, 1) + dt.timedelta(days=1), counsellor)
    record_at(month(2025, 1) + dt.timedelta(days=2), counsellor)
    journal_seal_all()
    copy = record_at(month(2025, 2) + dt.timedelta(days=1), counsellor)
    first.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        cursor.execute(
            f"UPDATE {TABLE} SET chain_seq = %s, prev_hash = %s, row_hash = %s WHERE id = %s",
            [first.chain_seq, first.prev_hash, first.row_hash, copy.pk],
        )
        cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
    assert not journal_verify().ok


def test_the_purge_drops_whole_months_and_deletes_the_rest(counsellor):
    journal_partitions_ensure(start=month(2025, 1), months=4)
    january = [record_at(month(2025, 1) + dt.timedelta(days=d), counsellor) for d in (1, 2)]
    february = [record_at(month(2025, 2) + dt.timedelta(days=d), counsellor) for d in (1, 2, 3)]
    journal_seal_all()
    # A March row, then a February row that committed late: sealed after March's, so the
    # prefix the purge may take stops before it and February cannot go as a whole.
    march = record_at(month(2025, 3) + dt.timedelta(days=1), counsellor)
    journal_seal_all()
    late = record_at(month(2025, 2) + dt.timedelta(days=20), counsellor)
    april = record_at(month(2025, 4) + dt.timedelta(days=1), counsellor)
    journal_seal_all()
    journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())
    as_if_committed()

    purged = journal_purge(before=month(2025, 3), actor=counsellor)

    # January: detached and dropped. February: its three prefix rows deleted, the late one kept.
    assert purged == 5
    assert not exists(partition_name(TABLE, month(2025, 1)))
    assert exists(partition_name(TABLE, month(2025, 2)))
    remaining = set(AccessEvent.objects.values_list("pk", flat=True))
    assert not remaining & {event.pk for event in january + february}
    assert {late.pk, march.pk, april.pk} <= remaining
    marker = AccessEvent.objects.get(operation=AccessOperation.PURGE_MARKER)
    assert marker.detail["dropped_partitions"] == 1
    assert marker.detail["purged_count"] == 5
    journal_seal_all()
    report = journal_verify()
    assert report.ok and report.checked == len(remaining)


def test_a_purge_never_drops_a_month_after_its_cut_off(counsellor):
    journal_partitions_ensure(start=month(2025, 1), months=3)
    for number in (1, 2, 3):
        record_at(month(2025, number) + dt.timedelta(days=2), counsellor)
    journal_seal_all()
    record_at(month(2025, 3) + dt.timedelta(days=9), counsellor)  # the head stays
    journal_seal_all()
    journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())
    as_if_committed()
    # Mid-February: January goes whole; February's row is before the cut-off but its month
    # ends after it — deleted by row, the (now empty) month kept for later rows.
    assert journal_purge(before=month(2025, 2) + dt.timedelta(days=14), actor=counsellor) == 2
    assert not exists(partition_name(TABLE, month(2025, 1)))
    assert exists(partition_name(TABLE, month(2025, 2)))
    assert exists(partition_name(TABLE, month(2025, 3)))


def test_the_dpo_access_report_reads_only_the_months_it_covers():
    journal_partitions_ensure(start=month(2025, 1), months=6)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    plan = _events_about(42, month(2025, 3), month(2025, 4)).explain()
    assert partition_name(TABLE, month(2025, 3)) in plan
    for other in (1, 2, 4, 5, 6):
        assert partition_name(TABLE, month(2025, other)) not in plan
    assert DEFAULT not in plan


def test_the_app_role_reaches_no_partition_directly(as_app_role, counsellor):
    """Through the parent, as always: insert, read, seal. A partition by name: nothing."""
    event = record_at(dt.datetime.now(UTC), counsellor)
    assert AccessEvent.objects.filter(pk=event.pk).exists()
    # Creating the months to come is allowed (a SECURITY DEFINER function beat calls).
    assert journal_partitions_ensure(start=month(2024, 1), months=1) == 1
    for statement in (
        f"SELECT count(*) FROM {partition_of(event)}",
        f"DELETE FROM {partition_of(event)}",
        f"TRUNCATE {partition_name(TABLE, month(2024, 1))}",
        f"UPDATE {DEFAULT} SET purpose = 'x'",
    ):
        with (
            pytest.raises(DatabaseError, match=r"permission denied|droit refusé"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
