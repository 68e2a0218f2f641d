"""Start-up refuses to run without its mandatory configuration, with a message that helps."""

import json
import os
import secrets
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


# --- Production (issue 15) --------------------------------------------------------------------


def _production(
    secret_key: str, *command: str, code: str | None = None, variables: dict | None = None
):
    env = {
        name: value
        for name, value in os.environ.items()
        # (The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE, set in this process, is no production's.)
        if not name.startswith(
            ("DJANGO_SECURE", "DJANGO_DEBUG", "PARCOURS_TRUSTED", "DJANGO_ALLOW_ASYNC_UNSAFE")
        )
    } | {
        "DJANGO_SETTINGS_MODULE": "backend.settings.production",
        "DJANGO_SECRET_KEY": secret_key,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/parcours",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SEARCH_INDEX_KEY": Fernet.generate_key().decode(),
        **(variables or {}),
    }
    argv = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *command]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_passes_with_no_warning_in_production():
    result = _production(secrets.token_urlsafe(50), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_answers_with_hsts_and_redirects_plain_http():
    """A request through the proxy over HTTPS gets HSTS; one over plain HTTP is sent to HTTPS.
    (An API answer: the pages need `collectstatic`'s manifest in production.)"""
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "c = Client(HTTP_HOST='localhost'); "
        "s = c.get('/api/v1/me/', secure=True); p = c.get('/api/v1/me/'); "
        "print(json.dumps([s.status_code, s.get('Strict-Transport-Security'), "
        "p.status_code, p.get('Location')]))"
    )
    result = _production(secrets.token_urlsafe(50), code=code)
    assert result.returncode == 0, result.stderr
    status, hsts, plain_status, location = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 401  # anonymous
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert (plain_status, location) == (301, "https://localhost/api/v1/me/")


@pytest.mark.parametrize(
    ("secret_key", "reason"),
    [
        ("changeme", "un mot d'exemple"),
        ("changeme" * 8, "un mot d'exemple"),
        # Fixed values: pytest-xdist's workers must collect the same test ids.
        (
            "django-insecure-" + "k7Qx2mZp9LwR4tVb8NcJ3hYf6GdS1aE5uKoI0rTyWqXz",
            "une clé de développement",
        ),
        ("Xq3vT8mK1pZ7wR5nB2cL9hJ4fD6gS0aYeUiOtPlMkNjHbV", "moins de 50 caractères"),  # 46
        ("abcd" * 20, "moins de 10 caractères différents"),
        ("test-only-secret-key-not-for-production", "un mot d'exemple"),
    ],
    ids=["changeme", "changeme-repeated", "django-insecure", "short", "few-characters", "test"],
)
def test_a_weak_secret_key_refuses_to_start_in_production(secret_key, reason):
    result = _production(secret_key, "check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY est trop faible pour la production" in result.stderr
    assert reason in result.stderr
    if len(secret_key) > 20:
        assert secret_key not in result.stderr  # the message never quotes the key


# --- The broker: Redis by default, RabbitMQ quorum queues in production (issue 17) -------------

RABBITMQ_URL = "amqp://parcours:secret@rabbitmq.example.fr:5672/parcours"
# The Celery configuration the settings give, and the ids of `check --deploy`'s findings.
CELERY_CONF = (
    "import django, json; django.setup(); from backend.celery import app; c = app.conf; "
    "from django.core.checks import run_checks; "
    "print(json.dumps({'queues': {q.name: [q.exchange.name, q.exchange.type, q.routing_key, "
    "q.queue_arguments] for q in app.amqp.queues.values()}, "
    "'transport': c.broker_transport_options, 'result_backend': c.result_backend, "
    "'backend': type(app.backend).__name__, 'default_queue_type': c.task_default_queue_type, "
    "'missing_queue_type': c.task_create_missing_queue_type, "
    "'delayed_queue_type': c.broker_native_delayed_delivery_queue_type, "
    "'detect_quorum': c.worker_detect_quorum_queues, "
    "'deploy_checks': [m.id for m in run_checks(include_deployment_checks=True)]}))"
)


def _celery_conf(**variables: str) -> dict:
    result = _production(secrets.token_urlsafe(50), code=CELERY_CONF, variables=variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_on_rabbitmq_the_queues_are_quorum_queues_with_confirms_and_no_result_store():
    conf = _celery_conf(CELERY_BROKER_URL=RABBITMQ_URL)
    quorum = {"x-queue-type": "quorum", "x-delivery-limit": 5}
    # One topic exchange (native delayed delivery needs one), a quorum queue per route.
    assert conf["queues"] == {
        name: ["parcours", "topic", name, quorum] for name in ("celery", "prompt", "mail")
    }
    assert conf["default_queue_type"] == conf["missing_queue_type"] == "quorum"
    assert conf["delayed_queue_type"] == "quorum" and conf["detect_quorum"] is True
    # Publisher confirms; none of Redis's options (a visibility timeout means nothing here).
    assert conf["transport"] == {"confirm_publish": True}
    # No code reads a result: none is kept, unless a store is named.
    assert (conf["result_backend"], conf["backend"]) == (None, "DisabledBackend")
    # The API's rate counters have no Redis to default to: `check --deploy` says so.
    assert conf["deploy_checks"] == ["parcours.W101"]

    named = _celery_conf(
        CELERY_BROKER_URL=RABBITMQ_URL,
        CELERY_RESULT_BACKEND="redis://127.0.0.1:6379/9",
        PARCOURS_QUEUE_DELIVERY_LIMIT="3",
        PARCOURS_THROTTLE_CACHE_URL="redis://127.0.0.1:6379/9",
    )
    assert (named["result_backend"], named["backend"]) == (
        "redis://127.0.0.1:6379/9",
        "RedisBackend",
    )
    assert named["queues"]["mail"][3] == {"x-queue-type": "quorum", "x-delivery-limit": 3}
    assert named["deploy_checks"] == []
