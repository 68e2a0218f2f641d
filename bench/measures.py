"""Helpers shared by the benchmark scripts (run as `python bench/<script>.py`, this folder is on
sys.path): the percentile they report, raw SQL on the bench database, the floor that replays a
request's SQL through psycopg, and the organisations and counsellors the benches pick."""

import os
import re
import time

import psycopg
from django.db import connection


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def sql(statement: str, params: dict | list | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def scalar(statement: str, params: dict | list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def rows(statement: str, params: dict | list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


# --- The floor: a request's SQL, replayed --------------------------------------------------------


def floor_connection() -> psycopg.Connection:
    """A plain psycopg connection to Django's database, with the same session options (e.g. no
    parallel plans: backend/settings/base.py), so the floor runs the plans the app gets."""
    settings_dict = connection.settings_dict
    return psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None,
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        options=settings_dict.get("OPTIONS", {}).get("options"),
    )


# Django iterates a form field's choices (`queryset.iterator()`) through a server-side cursor:
# the capture holds its DECLARE, not the FETCHes. The floor runs the query and fetches its rows.
SERVER_SIDE_CURSOR = re.compile(r'^DECLARE "[^"]+" NO SCROLL CURSOR WITH(OUT)? HOLD FOR ', re.I)


def replay_rows(database: psycopg.Connection, statements: list[str]) -> list[list[tuple]]:
    """The statements one after the other, every row fetched, in a transaction rolled back (the
    journal's INSERT and the session's UPDATE included: nothing is kept)."""
    fetched = []
    try:
        with database.cursor() as cursor:
            for statement in statements:
                # Bound already (no placeholders left): sent as bytes, nothing is interpolated.
                cursor.execute(SERVER_SIDE_CURSOR.sub("", statement).encode())
                fetched.append(cursor.fetchall() if cursor.description is not None else [])
    finally:
        database.rollback()
    return fetched


def replay_each(database: psycopg.Connection, statements: list[str]) -> list[float]:
    """`replay_rows`, each statement timed on its own (ms, its rows fetched)."""
    times = []
    try:
        with database.cursor() as cursor:
            for statement in statements:
                t0 = time.perf_counter()
                cursor.execute(SERVER_SIDE_CURSOR.sub("", statement).encode())
                if cursor.description is not None:
                    cursor.fetchall()
                times.append((time.perf_counter() - t0) * 1000)
    finally:
        database.rollback()
    return times


def replay(database: psycopg.Connection, statements: list[str]) -> float:
    """`replay_rows`, timed (ms)."""
    t0 = time.perf_counter()
    replay_rows(database, statements)
    return (time.perf_counter() - t0) * 1000


# --- Who the benches act as ----------------------------------------------------------------------


def visible_counts() -> list[tuple[int, int]]:
    """(group id, pathways it may see) for every group with grants, largest first."""
    from parcours.models import PathwayGroupObjectPermission
    from parcours.models.grant import permission_ids

    view_pathway = permission_ids()["view_pathway_pathway"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT group_id, count(*) FROM {PathwayGroupObjectPermission._meta.db_table} "
            "WHERE permission_id = %s AND (valid_from IS NULL OR valid_from <= now()) "
            "AND (valid_until IS NULL OR valid_until > now()) "
            "GROUP BY group_id ORDER BY 2 DESC",
            [view_pathway],
        )
        return cursor.fetchall()


def large_and_small(small_target: int = 700):
    """The organisation that sees the most pathways and the one seeing closest to
    `small_target`, with how many each sees: [(label, organisation, visible), …]."""
    from parcours.models import Organisation

    counts = visible_counts()
    if not counts:
        raise SystemExit("No grants: seed with `manage.py seed_scale` (without --no-grants).")
    by_group = {o.group_id: o for o in Organisation.objects.all()}
    large_group, large_n = counts[0]
    small_group, small_n = min(counts, key=lambda c: (abs(c[1] - small_target), c[0]))
    return [("large", by_group[large_group], large_n), ("small", by_group[small_group], small_n)]


def counsellor_membership(organisation):
    """The first active counsellor or social worker of `organisation` (its Membership)."""
    from parcours.models import Membership, Role

    membership = (
        Membership.objects.filter(
            organisation=organisation,
            is_active=True,
            role__in=[Role.COUNSELLOR, Role.SOCIAL_WORKER],
        )
        .select_related("user", "organisation")
        .order_by("id")
        .first()
    )
    if membership is None:
        raise SystemExit(f"No counsellor in {organisation}")
    return membership


def counsellor_of(organisation):
    return counsellor_membership(organisation).user
