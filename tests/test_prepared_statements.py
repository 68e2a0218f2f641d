"""Compiled statements that read by id are prepared on the server (parcours/prepared_statements.py,
issue 17): the same rows as Django's path, PostgreSQL holding the statement; Django's path
whenever the statements are watched; lists never prepared."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from parcours import access, prepared_statements
from parcours.actor import actor_for
from parcours.api.views import _pathway_detail_scope, _pathway_list_scope
from parcours.models import Pathway

from .factories import MembershipFactory, PathwayFactory

pytestmark = pytest.mark.django_db


def _prepared() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def _fields(pathway: Pathway) -> dict:
    return {
        f.attname: getattr(pathway, f.attname)
        for f in Pathway._meta.concrete_fields
        if f.attname in pathway.__dict__
    }


def test_a_record_by_id_is_prepared_and_read_as_django_reads_it():
    membership = MembershipFactory(role="counsellor")
    actor = actor_for(membership.user, membership.organisation_id)
    pathway = PathwayFactory(owner_organisation=membership.organisation)
    record = access.ScopedRecord(Pathway, _pathway_detail_scope)
    found = [record.find(actor, pathway.pk) for _ in range(3)]
    # The scope's statement (and its prefetches by keys), held by PostgreSQL, values as $n.
    held = _prepared()
    assert any(s.startswith('SELECT "parcours_pathway"."id"') and "$1" in s for s in held)
    with CaptureQueriesContext(connection) as watched:  # watched: Django's path, literals
        through_django = record.find(actor, pathway.pk)
    sent = [query["sql"] for query in watched.captured_queries]
    assert sent and not any("$1" in sql for sql in sent)
    assert any(f'"parcours_pathway"."id" = {pathway.pk}' in sql for sql in sent)
    assert _prepared() == held  # nothing prepared while watched
    for one in found:
        assert _fields(one) == _fields(through_django)
        assert one.opened_at.tzinfo is not None and one.opened_at == through_django.opened_at
        assert list(one.modality_periods.all()) == list(through_django.modality_periods.all())
    assert record.find(actor, 0) is None  # missing: no row either way


def test_a_list_over_the_scope_is_never_prepared():
    membership = MembershipFactory(role="counsellor")
    actor = actor_for(membership.user, membership.organisation_id)
    PathwayFactory(owner_organisation=membership.organisation)
    page = access.ScopedPage(Pathway, _pathway_list_scope, dt.datetime)
    for _ in range(3):
        rows = page.page(actor, ("-opened_at", "-id"), None, None, 0, 10)
    assert len(rows) == 1
    ordered = '"parcours_pathway"."opened_at" DESC'
    assert not any(ordered in statement for statement in _prepared())


def test_a_broken_transaction_refuses_as_django_s_cursor_does():
    pathway = PathwayFactory()
    sql = 'SELECT "id" FROM "parcours_pathway" WHERE "id" = %s'
    assert prepared_statements.fetch(connection, sql, [pathway.pk], prepared=True) == [
        (pathway.pk,)
    ]
    with transaction.atomic():
        with pytest.raises(Exception), transaction.atomic(), connection.cursor() as cursor:  # noqa: B017
            cursor.execute("SELECT 1 / 0")
        connection.needs_rollback = True
        with pytest.raises(TransactionManagementError):
            prepared_statements.fetch(connection, sql, [pathway.pk], prepared=True)
        connection.needs_rollback = False


def test_values_bound_on_the_server_compare_as_literals_do():
    """Integers of every size, a text, a time: the rows Django's literal SQL gives."""
    pathway = PathwayFactory()
    sql = (
        'SELECT "id" FROM "parcours_pathway" WHERE "id" IN (%s, %s, %s) '
        'AND "status" = %s AND "opened_at" <= %s ORDER BY "id"'
    )
    params = [pathway.pk, 2**40, 7, "open", pathway.opened_at + dt.timedelta(seconds=1)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        literal = cursor.fetchall()
    assert prepared_statements.fetch(connection, sql, params, prepared=True) == literal
    assert literal == [(pathway.pk,)]
