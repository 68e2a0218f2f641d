"""The application's database role, for the journal tests (docs/operations.md, "Database roles").

Roles belong to the whole PostgreSQL cluster, not to a database: `parcours_test_app` is created
once if missing (never dropped: other test sessions on the machine may be using it) and each
test session grants it what the application gets, on its own test database, with the real
command. The suite itself connects as the postgres superuser, like the owner of the tables.
"""

# Constants, never input, in the role's SQL.
# ruff: noqa: S608

import io
from contextlib import contextmanager

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

APP_ROLE = "parcours_test_app"
# Test-only, so that the role can log in whatever the local authentication method is.
APP_PASSWORD = "parcours-test-app-role-only"
# Idempotent, and safe when two pytest-xdist workers create it at the same moment.
CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{APP_PASSWORD}'
            NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$"""


@pytest.fixture(scope="session")
def bare_app_role(django_db_setup, django_db_blocker) -> str:
    """The role, with no privileges on the test database yet."""
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(CREATE_ROLE)
    return APP_ROLE


@pytest.fixture(scope="session")
def app_role(bare_app_role, django_db_blocker) -> str:
    """The role, granted by `manage.py db_grant_app_role` (committed: it outlives the tests'
    transactions, and the flush after a transactional test does not touch privileges)."""
    with django_db_blocker.unblock():
        call_command("db_grant_app_role", role=bare_app_role, stdout=io.StringIO())
    return bare_app_role


@pytest.fixture
def as_app_role(app_role, db):
    """The rest of the test runs as the application's role: `SET LOCAL ROLE` inside the test's
    transaction (rolled back with it). Privileges and the trigger look at the current role, the
    one SET ROLE changes; nothing checks the session's user."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {app_role}")
    return app_role


@contextmanager
def as_owner():
    """Inside an `as_app_role` test: act as the owner for a while (the suite's superuser), e.g.
    as a database administrator would."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE NONE")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")


def app_database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{APP_ROLE}:{APP_PASSWORD}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture
def app_login(app_role, transactional_db):
    """Open real connections that log in as the application's role (or, with `set_role=True`,
    as the suite's superuser followed by SET ROLE). Autocommit: each attempt is its own
    transaction (`attempt`)."""
    opened: list[psycopg.Connection] = []

    def connect(*, set_role: bool = False) -> psycopg.Connection:
        db = connection.settings_dict
        conn = psycopg.connect(
            dbname=db["NAME"],
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            user=db["USER"] if set_role else APP_ROLE,
            password=(db["PASSWORD"] or None) if set_role else APP_PASSWORD,
            autocommit=True,
        )
        if set_role:
            conn.execute(f"SET ROLE {APP_ROLE}")
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:  # before the flush after the test, which could wait for them
        conn.close()


def attempt(conn: psycopg.Connection, *statements: str, params=None) -> psycopg.Error | None:
    """Run the statements in one transaction, always rolled back; the error, or None. `params`
    go to the last statement."""
    try:
        with conn.transaction(), conn.cursor() as cursor:
            for statement in statements[:-1]:
                cursor.execute(statement)
            cursor.execute(statements[-1], params)
            raise psycopg.Rollback()
    except psycopg.Error as error:
        return error
    return None
