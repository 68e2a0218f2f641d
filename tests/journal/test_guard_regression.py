"""Regression (issue 12, finding 9): the journal's guard trusted session settings any connection
can set. Before the fix, `SET parcours.journal_purge = on` let any role holding DELETE delete
journal rows, and `SET parcours.journal_allow_truncate = on` let it TRUNCATE the journal. This
file imports nothing the fix added, so that it also runs (and fails) against the code before it.
"""

# Raw SQL on the journal table (a constant name, never input) is the point of this test.
# ruff: noqa: S608

import itertools

import pytest
from django.db import DatabaseError, connection, transaction

from parcours.gate.journal import journal_record
from parcours.journal_trigger import APPEND_ONLY_MESSAGE
from parcours.models import AccessEvent, AccessOperation
from parcours.services.journal import journal_seal

from .conftest import APP_ROLE

TABLE = AccessEvent._meta.db_table
# Every session setting that ever opened the journal, alone and together.
OLD_SWITCHES = ("parcours.journal_purge", "parcours.journal_allow_truncate")
SETTINGS = [
    [f"SET {name} = 'on'" for name in combination]
    for size in range(len(OLD_SWITCHES) + 1)
    for combination in itertools.combinations(OLD_SWITCHES, size)
]


def record(actor):
    return journal_record(
        actor=actor, operation=AccessOperation.READ, object_type="pathway", object_id=1
    )


@pytest.mark.django_db
def test_session_settings_open_nothing_even_to_a_role_granted_too_much(bare_app_role, counsellor):
    """The role here is granted DELETE, TRUNCATE and UPDATE on the journal (more than
    `db_grant_app_role` gives: a mistake a hand-written GRANT could make), so that only the
    trigger stands in the way; whatever the role sets, it refuses."""
    sealed = record(counsellor)
    journal_seal()
    unsealed = record(counsellor)
    before = list(AccessEvent.objects.order_by("id").values_list("id", "purpose", "row_hash"))
    statements = [
        f"DELETE FROM {TABLE} WHERE id = {sealed.pk}",
        f"DELETE FROM {TABLE} WHERE id = {unsealed.pk}",
        f"TRUNCATE {TABLE}",
        f"UPDATE {TABLE} SET purpose = 'autre' WHERE id = {unsealed.pk}",
        f"UPDATE {TABLE} SET row_hash = repeat('0', 64) WHERE id = {sealed.pk}",
    ]
    let_through = []
    for settings_sql, statement in itertools.product(SETTINGS, statements):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE: no pending FK checks
                cursor.execute(f"GRANT SELECT, UPDATE, DELETE, TRUNCATE ON {TABLE} TO {APP_ROLE}")
                cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
                for sql in settings_sql:
                    cursor.execute(sql)
                cursor.execute(statement)
                transaction.set_rollback(True)  # let through: undo it, and say so below
            let_through.append((settings_sql, statement))
        except DatabaseError as error:
            assert APPEND_ONLY_MESSAGE in str(error), (settings_sql, statement, str(error))
    assert let_through == []
    after = list(AccessEvent.objects.order_by("id").values_list("id", "purpose", "row_hash"))
    assert after == before
