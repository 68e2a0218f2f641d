"""Start-up refuses to run without its mandatory configuration, with a message that helps."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DATABASE_URL", "FIELD_ENCRYPTION_KEYS", "SEARCH_INDEX_KEY"]
)
def test_missing_mandatory_variable_stops_start_up_with_a_clear_message(missing):
    env = dict(os.environ)
    env |= {
        "DJANGO_SETTINGS_MODULE": "backend.settings.local",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/parcours",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SEARCH_INDEX_KEY": Fernet.generate_key().decode(),
    }
    del env[missing]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert f"La variable d'environnement {missing} est obligatoire" in result.stderr
