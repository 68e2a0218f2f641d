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


# --- The rows as the list's writer wrote them before issue 17's pass on its CPU ----------------


def _former_seen_of(grants, pathway_ids, *, shown=None, because=None) -> Seen:
    """`Seen.of` as it was written first (a set per category, a pass per row): the reference."""
    visible, codes, relations = set(), {}, set()
    for pathway_id in pathway_ids:
        held = grants.get(pathway_id)
        if held is None:
            continue
        visible |= held.categories
        relations |= held.relations
        for category, found in held.bases.items():
            codes.setdefault(category, set()).update(found)
    categories = visible if shown is None else visible & set(shown)
    over = categories if because is None else visible & set(because)
    return Seen(
        categories=frozenset(categories),
        basis=frozenset(code for c in over for code in codes[c]),
        relations=frozenset(relations),
    )


def _former_groups(items, shared_detail) -> list[dict]:
    """The rows' varying columns as `record_list` first wrote them: the reference."""
    groups = {}
    for object_id, seen in items:
        groups.setdefault((seen.categories, seen.purpose), []).append((object_id, seen))
    rows = []
    for (categories, purpose), members in groups.items():
        bases = {object_id: " ".join(sorted(set(seen.basis))) for object_id, seen in members}
        detail = dict(shared_detail)
        if len(set(bases.values())) > 1:
            detail["bases"] = {str(object_id): codes for object_id, codes in bases.items()}
        rows.append(
            {
                "object_ids": list(bases),
                "categories": categories,
                "basis": {code for _id, seen in members for code in seen.basis},
                "purpose": purpose,
                "detail": detail,
            }
        )
    return rows


CATEGORIES = ["identity", "pathway", "health", "employment", "housing"]
RELATIONS = ["owner", "referent", "care_team", "sender", "receiver", "break_glass"]


def _random_grants(rng):
    """Pathway id → grants: some pathways without any, categories with one or several codes
    (shared ones, each pathway's own), relations in every combination."""
    from parcours.access import NO_GRANTS, PathwayGrants

    grants = {}
    for pathway_id in range(1, 13):
        if rng.random() < 0.15:
            grants[pathway_id] = NO_GRANTS
            continue
        grants[pathway_id] = PathwayGrants(
            bases={
                category: frozenset(
                    rng.sample(
                        ["legal:owner", f"consent:{pathway_id}", "agreement:3", 'odd:"q\\'], 2
                    )[: rng.randint(0, 2)]
                )
                for category in rng.sample(CATEGORIES, rng.randint(0, 4))
            },
            relations=frozenset(rng.sample(RELATIONS, rng.randint(0, 2))),
        )
    return grants


def test_seen_is_the_former_union_over_the_pathways():
    import random

    rng = random.Random(17)
    for _ in range(400):
        grants = _random_grants(rng)
        ids = rng.sample(range(1, 15), rng.randint(0, 3))  # 13 and 14: no grants known
        shown = rng.choice([None, frozenset(rng.sample(CATEGORIES, 2)), ["pathway"]])
        because = rng.choice([None, None, {"identity"}, frozenset(rng.sample(CATEGORIES, 3))])
        assert Seen.of(grants, ids, shown=shown, because=because) == _former_seen_of(
            grants, ids, shown=shown, because=because
        )
        items = [(n, rng.sample(range(1, 15), rng.randint(0, 2))) for n in range(8)]
        items += items[:3]  # the same pathways again, as a page of referrals has them
        assert Seen.each(grants, items, shown=shown, because=because) == [
            (n, _former_seen_of(grants, ids, shown=shown, because=because)) for n, ids in items
        ]


def _written(ids: list[int]) -> list[tuple]:
    """The rows' columns as PostgreSQL holds them (JSON as jsonb's text), but the id and time."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id, organisation_id, operation, object_type, object_id, "
            "object_ids::text, person_id, categories::text, purpose, basis, request_id, "
            "host(client_ip), detail::text, chain_seq, prev_hash, row_hash "
            "FROM parcours_accessevent WHERE id = ANY(%s) ORDER BY id",
            [ids],
        )
        return cursor.fetchall()


@pytest.mark.django_db
@pytest.mark.parametrize("through", ["user", "receiver link"])
def test_the_rows_are_the_former_rows_column_for_column(counsellor, through):
    """Groups whose objects' bases differ (`detail["bases"]`), one object twice, a partner's
    token on the request, a receiver's link acting, purposes with quotes and accents, codes with
    a quote and a backslash: each row equals, column for column and JSON for JSON, the row the
    one-row INSERT writes for what the former code put in it."""
    from parcours.actor import Actor, LinkScope
    from parcours.gate.journal import _insert_row

    actor = (
        counsellor
        if through == "user"
        else Actor(
            user=None,
            organisation=counsellor.organisation,
            role=counsellor.role,
            link=LinkScope(link_id=5, referral_id=9, pathway_id=3),
        )
    )
    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="req-list", REMOTE_ADDR="203.0.113.7")
    request.api_token_id = 77
    shown, named = frozenset({"identity", "pathway"}), frozenset({"identity"})
    seen = [
        Seen(shown, frozenset({"consent:1", 'odd:"q\\'}), frozenset({"receiver"})),
        Seen(shown, frozenset({"consent:2"}), frozenset({"receiver"})),
        Seen(named, frozenset({"legal:owner"}), frozenset({"owner", "sender"})),
        Seen(named, frozenset({"legal:owner"}), frozenset({"owner"})),
        Seen(frozenset({"pathway"}), frozenset(), frozenset({"break_glass"})),
        Seen(),
    ]
    items = [(4, seen[0]), (9, seen[1]), (2, seen[2]), (4, seen[1]), (7, seen[3])]
    items += [(11, seen[4]), (3, seen[5]), (12, seen[0])]
    # Listed twice with other bases, then as the rest of its group: the last bases count.
    items += [(13, Seen(frozenset({"pathway"}), frozenset({"x"}), frozenset({"break_glass"})))]
    items += [(13, seen[4])]
    with context.door(context.Door.API, request=request):
        before = AccessEvent.objects.count()
        assert record_list(actor, Action.REFERRAL_LIST, object_type="referral", items=items) == 4
        listed = list(AccessEvent.objects.order_by("id").values_list("id", flat=True))[before:]
        shared = _row(
            actor=actor,
            operation=AccessOperation.LIST,
            object_type="referral",
            detail={"action": str(Action.REFERRAL_LIST)},
        )
        alone = []
        for row in _former_groups(items, shared.detail):
            one = _row(actor=actor, operation=AccessOperation.LIST, object_type="referral", **row)
            _insert_row(one)
            alone.append(one.pk)
    assert _written(listed) == _written(alone)
    rows = list(AccessEvent.objects.filter(id__in=listed).order_by("id"))
    assert rows[0].object_ids == [4, 9, 12]
    assert rows[0].detail == {
        "door": "api",
        "api_token": 77,
        **({"receiver_link": 5} if through == "receiver link" else {}),
        "action": str(Action.REFERRAL_LIST),
        "bases": {"4": "consent:2", "9": "consent:2", "12": 'consent:1 odd:"q\\'},
    }
    assert rows[0].purpose == "Traitement d'une orientation reçue"
    assert "bases" not in rows[1].detail  # one object's bases: the row's basis says them
    assert (rows[2].object_ids, rows[2].basis) == ([11, 13], "x")
    assert "bases" not in rows[2].detail
