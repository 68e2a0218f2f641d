"""The web served as production serves it (gunicorn, two workers, persistent connections with
CONN_HEALTH_CHECKS) survives its database connections being terminated between requests:
0 responses with status 500 (issue 16, finding 4). With the database unreachable, API clients
get a JSON 503 and the pages the French 503 page; wrong keys stop gunicorn at start."""

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from django.db import connection
from django.test import Client

from parcours import key_canary
from tests.factories import PathwayFactory, PersonFactory, api_token_for
from tests.processes import free_port, process_env, stop, wait_until

ROOT = Path(__file__).resolve().parents[2]
APP_NAME = "parcours-resilience-web"  # the web's connections, told apart in pg_stat_activity
API_PATHS = ("/api/v1/persons/", "/api/v1/pathways/", "/api/v1/referrals/")
PAGE_PATHS = ("/", "/personnes/", "/orientations/recues/")
ROUNDS = 8


def start_gunicorn(log_path: Path, **extra: str) -> tuple[subprocess.Popen, str]:
    from django.conf import settings

    port = free_port()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "backend.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--timeout", "30", "--access-logfile", "-"],
            cwd=ROOT,
            env=process_env(
                broker_url=settings.CELERY_BROKER_URL,
                # Production's persistent connections (the test settings close them otherwise).
                DATABASE_CONN_MAX_AGE="60",
                PGAPPNAME=APP_NAME,
                **extra,
            ),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def wait_for_liveness(process: subprocess.Popen, base: str, log_path: Path) -> None:
    def alive() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:  # not listening yet, or its workers still booting
            return False

    wait_until(alive, timeout=60, what="gunicorn")


def terminate_web_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            [APP_NAME],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def served_as_in_production(transactional_db, tmp_path, counsellor):
    member = counsellor
    PathwayFactory.create_batch(2, owner_organisation=member.organisation)
    PersonFactory()
    _, secret = api_token_for(member)
    browser = Client()
    browser.force_login(member.user)
    session_cookie = browser.cookies["sessionid"].value
    key_canary.canary_problems()  # written and committed before the server checks it
    log_path = tmp_path / "gunicorn.log"
    process, base = start_gunicorn(log_path)
    try:
        wait_for_liveness(process, base, log_path)
        yield base, secret, session_cookie, log_path
    finally:
        stop(process)


def test_terminated_connections_cost_no_500(served_as_in_production):
    base, secret, session_cookie, log_path = served_as_in_production
    api = requests.Session()
    api.headers["Authorization"] = f"Token {secret}"
    pages = requests.Session()
    pages.cookies.set("sessionid", session_cookie)
    statuses: list[tuple[str, int]] = []
    terminated = 0
    for _ in range(ROUNDS):
        # Enough requests for both workers to hold a connection, then cut them all.
        for path in API_PATHS:
            response = api.get(f"{base}{path}", timeout=30)
            statuses.append((path, response.status_code))
            assert response.headers["Content-Type"].startswith("application/json"), path
        for path in PAGE_PATHS:
            statuses.append((path, pages.get(f"{base}{path}", timeout=30).status_code))
        terminated += terminate_web_connections()
    # The connections really were cut (at least one per round), and no request paid for it.
    assert terminated >= ROUNDS
    assert [s for s in statuses if s[1] >= 500] == [], log_path.read_text()[-3000:]
    assert {status for _, status in statuses} == {200}


def test_an_unreachable_database_answers_503_in_french(tmp_path, transactional_db):
    """The database gone (a closed port): the API answers JSON 503, the pages the 503 page, the
    probes say live but not ready — and the server still started (the key check waits)."""
    log_path = tmp_path / "gunicorn.log"
    closed = free_port()
    process, base = start_gunicorn(
        log_path, DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed}/parcours"
    )
    try:
        wait_for_liveness(process, base, log_path)
        api = requests.get(
            f"{base}/api/v1/persons/", headers={"Authorization": "Token prc_x"}, timeout=30
        )
        assert api.status_code == 503
        assert api.headers["Content-Type"] == "application/json"
        assert api.headers["Retry-After"] == "5"
        assert "base de données injoignable" in api.json()["detail"]
        page = requests.get(f"{base}/", cookies={"sessionid": "x" * 32}, timeout=30)
        assert page.status_code == 503
        assert page.headers["Content-Type"].startswith("text/html")
        assert "Service momentanément indisponible" in page.text
        ready = requests.get(f"{base}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "échec"
    finally:
        stop(process)


@pytest.mark.parametrize("variable", ["FIELD_ENCRYPTION_KEYS", "SEARCH_INDEX_KEY"])
def test_gunicorn_refuses_to_start_with_a_wrong_key(variable, tmp_path, transactional_db):
    key_canary.canary_problems()
    log_path = tmp_path / "gunicorn.log"
    process, _ = start_gunicorn(log_path, **{variable: Fernet.generate_key().decode()})
    try:
        assert process.wait(timeout=60) != 0
    finally:
        stop(process)
    log = log_path.read_text()
    assert f"{variable} ne déchiffre pas" in log or f"{variable} n'est pas la clé" in log
