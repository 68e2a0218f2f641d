"""DATABASE_REPLICA_URL: absent, no replica alias (the router then does nothing); present, a
`replica` alias with the primary's connection options; a pinning window shorter than the lag
it must cover stops start-up."""

import json
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

CODE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({alias: {k: db[k] for k in ('HOST', 'PORT', 'NAME', 'CONN_MAX_AGE', "
    "'CONN_HEALTH_CHECKS', 'OPTIONS', 'TEST')} for alias, db in s.DATABASES.items()}))"
)


def _run(**variables: str) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATABASE_REPLICA_")},
        "DJANGO_SETTINGS_MODULE": "backend.settings.local",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://parcours_app@primary.internal:5432/parcours",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SEARCH_INDEX_KEY": Fernet.generate_key().decode(),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=60
    )


def _databases(**variables: str) -> dict:
    result = _run(**variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_replica_url_there_is_no_replica_alias():
    assert list(_databases()) == ["default"]


def test_a_replica_url_adds_a_replica_with_the_primarys_options():
    databases = _databases(
        DATABASE_REPLICA_URL="postgres://parcours_app@replica.internal:5433/parcours"
    )
    primary, replica = databases["default"], databases["replica"]
    assert (replica["HOST"], replica["PORT"]) == ("replica.internal", 5433)
    assert replica["TEST"]["MIRROR"] == "default"
    for key in ("NAME", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "OPTIONS"):
        assert replica[key] == primary[key], key
    assert replica["CONN_HEALTH_CHECKS"] is True
    assert replica["OPTIONS"]["connect_timeout"] == 5


@pytest.mark.parametrize(
    ("pin", "lag", "check"), [("6", "5", "2"), ("1", "0.5", "1")], ids=["below", "barely"]
)
def test_a_pinning_window_shorter_than_the_lag_it_covers_stops_start_up(pin, lag, check):
    result = _run(
        DATABASE_REPLICA_URL="postgres://parcours_app@replica.internal:5433/parcours",
        DATABASE_REPLICA_PIN_SECONDS=pin,
        DATABASE_REPLICA_MAX_LAG_SECONDS=lag,
        DATABASE_REPLICA_CHECK_SECONDS=check,
    )
    assert result.returncode != 0
    assert "DATABASE_REPLICA_PIN_SECONDS doit couvrir" in result.stderr
