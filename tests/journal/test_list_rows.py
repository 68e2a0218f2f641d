"""A list's journal rows (`gate.journal.record_list`): one row per group of objects shown alike,
written in one INSERT that sends the list's shared columns once. Each row must be exactly the
row `_row` describes for its group, and seal and verify like any other."""

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from parcours.gate import Action, context
from parcours.gate.journal import Seen, _row, record_list
from parcours.models import AccessEvent, AccessOperation
from parcours.services.journal import CANONICAL_FIELDS, journal_seal, journal_verify

SEEN = {
    "owner": Seen(
        categories=frozenset({"identity", "pathway", "health"}),
        basis=frozenset({"legal:owner", "consent:12"}),
        relations=frozenset({"owner"}),
    ),
    "receiver": Seen(
        categories=frozenset({"identity", "pathway"}),
        basis=frozenset({"referral:7"}),
        relations=frozenset({"receiver"}),
    ),
    "nothing": Seen(),
}
ITEMS = [(31, "owner"), (8, "receiver"), (12, "owner"), (5, "nothing"), (40, "receiver")]
COMPARED = [f for f in CANONICAL_FIELDS if f not in ("id", "occurred_at")]


@pytest.mark.django_db
def test_one_row_per_group_each_the_row_that_describes_it(counsellor):
    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="req-list", REMOTE_ADDR="203.0.113.7")
    items = [(object_id, SEEN[name]) for object_id, name in ITEMS]
    with context.door(context.Door.API, request=request):
        with CaptureQueriesContext(connection) as captured:
            written = record_list(
                counsellor, Action.PATHWAY_LIST, object_type="pathway", items=items
            )
        expected = [
            _row(
                actor=counsellor,
                operation=AccessOperation.LIST,
                object_type="pathway",
                object_ids=ids,
                categories=SEEN[name].categories,
                basis=SEEN[name].basis,
                purpose=SEEN[name].purpose,
                detail={"action": str(Action.PATHWAY_LIST)},
            )
            for name, ids in [("owner", [31, 12]), ("receiver", [8, 40]), ("nothing", [5])]
        ]
    assert written == 3
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["INSERT"]
    rows = list(AccessEvent.objects.order_by("id"))
    assert len({row.occurred_at for row in rows}) == 1  # one access, one moment
    for row, want in zip(rows, expected, strict=True):
        assert {f: getattr(row, f) for f in COMPARED} == {f: getattr(want, f) for f in COMPARED}
    assert rows[0].basis == "consent:12 legal:owner"
    assert rows[0].categories == ["health", "identity", "pathway"]
    assert rows[0].detail == {"door": "api", "action": str(Action.PATHWAY_LIST)}
    assert (rows[0].request_id, rows[0].client_ip) == ("req-list", "203.0.113.7")
    assert rows[0].chain_seq is None and rows[0].row_hash == "" and rows[0].person_id is None

    assert journal_seal() == 3
    assert journal_verify().checked == 3


@pytest.mark.django_db
def test_an_empty_list_writes_nothing(counsellor):
    with CaptureQueriesContext(connection) as captured:
        assert record_list(counsellor, Action.PATHWAY_LIST, object_type="pathway", items=[]) == 0
    assert captured.captured_queries == []
    assert not AccessEvent.objects.exists()
