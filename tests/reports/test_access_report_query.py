"""The journal query behind the person's access report: which list pages count as an access to
the person (exactly), and that PostgreSQL can answer it from the report indexes
(docs/performance.md, "Rapports DPO sur un journal de 10 M de lignes")."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from parcours.gate.journal import journal_record
from parcours.models import AccessOperation
from parcours.selectors.access_reports import _events_about, person_access_report
from tests.factories import PathwayFactory, PersonFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db

# Far above what the sequences reach in a test run: the same number is a person, a pathway and
# a referral of different people, as it is in production where each table counts on its own.
PERSON, PATHWAY, REFERRAL = 900_001, 900_002, 900_003


@pytest.fixture
def subject():
    person = PersonFactory(pk=PERSON)
    pathway = PathwayFactory(pk=PATHWAY, person=person)
    ReferralFactory(pk=REFERRAL, pathway=pathway)
    return person


def _list(object_type: str, ids: list[int], user) -> int:
    return journal_record(
        actor=None,
        user=user,
        operation=AccessOperation.LIST,
        object_type=object_type,
        object_ids=ids,
    ).pk


def test_a_list_page_counts_only_for_records_of_its_own_type(subject):
    user = UserFactory()
    included = [
        _list("person", [PERSON], user),
        _list("pathway", [PATHWAY], user),
        _list("referral", [REFERRAL], user),
        _list("person", [7, PERSON, 11], user),  # somewhere in the page
    ]
    # The person's numbers, but as records of another type: someone else's pathway n°900001,
    # someone else's referral n°900002 …
    excluded = [
        _list("person", [PATHWAY, REFERRAL], user),
        _list("pathway", [PERSON, REFERRAL], user),
        _list("referral", [PERSON, PATHWAY], user),
        _list("appointment", [PERSON, PATHWAY, REFERRAL], user),
        # Only list events are searched by their ids (other events name the person).
        journal_record(
            actor=None,
            user=user,
            operation=AccessOperation.EXPORT,
            object_type="person",
            object_ids=[PERSON],
        ).pk,
    ]
    start = timezone.now() - dt.timedelta(days=1)
    end = timezone.now() + dt.timedelta(days=1)

    found = [event.pk for event in _events_about(PERSON, start, end)]

    assert found == included
    assert not set(found) & set(excluded)
    report = person_access_report(person_id=PERSON, start=start, end=end)
    assert [row.operation for row in report.rows] == ["Liste"] * len(included)


def test_the_report_query_can_be_answered_from_the_report_indexes(subject):
    """Each OR arm must name `operation = 'list'` and its object type, the predicates of the
    partial indexes, or PostgreSQL cannot use them and reads the whole journal (4.5 s at 10 M
    rows). On a journal of other people's events (with statistics, as autovacuum keeps them)
    and with sequential scans disabled, the plan must be a BitmapOr of the person's index and
    the three partial GIN indexes."""
    with connection.cursor() as cursor:
        # 30,000 events about other people over a year, two thirds detail reads, a third
        # list pages of each type (INSERT only: the journal's trigger allows nothing else).
        cursor.execute(
            """
            INSERT INTO parcours_accessevent
                (occurred_at, operation, object_type, object_id, object_ids, person_id,
                 categories, purpose, basis, request_id, detail, prev_hash, row_hash)
            SELECT now() - g * interval '17 minutes',
                   CASE WHEN g % 3 = 0 THEN 'list' ELSE 'read' END,
                   (ARRAY['person', 'pathway', 'referral'])[1 + (g / 3) % 3],
                   CASE WHEN g % 3 = 0 THEN NULL ELSE g END,
                   CASE WHEN g % 3 = 0 THEN jsonb_build_array(g, g + 1, g + 2)
                        ELSE '[]'::jsonb END,
                   CASE WHEN g % 3 = 0 THEN NULL ELSE g END,
                   '[]', '', '', '', '{}', '', ''
            FROM generate_series(1, 30000) AS g
            """
        )
        cursor.execute("ANALYZE parcours_accessevent")
        cursor.execute("SET LOCAL enable_seqscan = off")
    end = timezone.now()

    plan = _events_about(PERSON, end - dt.timedelta(days=365), end).explain()

    assert "Seq Scan on parcours_accessevent" not in plan, plan
    assert "BitmapOr" in plan, plan
    for index in (
        "journal_person_idx",
        "journal_listed_persons_idx",
        "journal_listed_pathways_idx",
        "journal_listed_referrals_idx",
    ):
        # The journal is partitioned by month: each partition scans its own copy of the index.
        copies = partition_indexes(index)
        assert copies and any(copy in plan for copy in copies), (index, plan)


def partition_indexes(index: str) -> list[str]:
    """The partitions' own indexes made from one of the journal's (named by PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [index],
        )
        return [row[0] for row in cursor.fetchall()]
