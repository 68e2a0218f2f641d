"""Start-up refuses to run without its mandatory configuration, with a message that helps."""

import json
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


def _email_settings(**variables: str) -> dict:
    env = dict(os.environ)
    for name in ("EMAIL_URL", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS"):
        env.pop(name, None)
    env |= {
        "DJANGO_SETTINGS_MODULE": "backend.settings.local",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/parcours",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SEARCH_INDEX_KEY": Fernet.generate_key().decode(),
        **variables,
    }
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    backend, host, port, tls = json.loads(result.stdout.strip().splitlines()[-1])
    return {"backend": backend, "host": host, "port": port, "tls": tls}


SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {"EMAIL_URL": "smtp://relais.example.fr:2525"},
            {"backend": SMTP, "host": "relais.example.fr", "port": 2525, "tls": False},
        ),
        (
            {"EMAIL_HOST": "smtp.example.fr", "EMAIL_PORT": "587", "EMAIL_USE_TLS": "true"},
            {"backend": SMTP, "host": "smtp.example.fr", "port": 587, "tls": True},
        ),
    ],
)
def test_smtp_is_configured_by_email_url_or_the_classic_variables(variables, expected):
    assert _email_settings(**variables) == expected


def test_without_smtp_configuration_mail_goes_to_the_console():
    assert _email_settings()["backend"] == "django.core.mail.backends.console.EmailBackend"


def test_the_fallback_modes_mail_lands_in_var_mail_whatever_the_working_directory(tmp_path):
    """`make run` without PostgreSQL or Redis writes e-mails as files under the checkout's
    var/mail/ (README), built by bin/_lib.sh's fallback_email_url; sent from another working
    directory, the file must still land there (three slashes made it relative to the cwd)."""
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = tmp_path / "checkout"
    elsewhere = tmp_path / "elsewhere"
    (root / "var" / "mail").mkdir(parents=True)
    elsewhere.mkdir()
    url = subprocess.run(
        ["bash", "-c", f'source "{repository}/bin/_lib.sh" && fallback_email_url "{root}"'],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    env = dict(os.environ) | {
        "DJANGO_SETTINGS_MODULE": "backend.settings.local",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DATABASE_URL": "sqlite:///:memory:",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SEARCH_INDEX_KEY": Fernet.generate_key().decode(),
        "EMAIL_URL": url,
        "PYTHONPATH": repository,
    }
    env.pop("EMAIL_HOST", None)
    code = (
        "import django; django.setup(); from django.core.mail import send_mail; "
        "send_mail('Essai', 'Corps', 'parcours@example.fr', ['conseiller@example.fr'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (written,) = (root / "var" / "mail").iterdir()
    assert "Subject: Essai" in written.read_text()
    assert not list(elsewhere.rglob("*.log")) and not list(elsewhere.iterdir())
