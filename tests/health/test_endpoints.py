"""/healthz and /readyz (backend/health.py): allowed for anyone, answered without a session, a
journal row, a throttle or the database (liveness); readiness names the failed check."""

from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.db import OperationalError
from django.test import Client, override_settings

from parcours.models import AccessEvent
from tests.processes import PrivateRedis, free_port

pytestmark = pytest.mark.django_db


def test_liveness_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_liveness_answers_while_the_database_is_down(client):
    with mock.patch(
        "django.db.backends.base.base.BaseDatabaseWrapper.ensure_connection",
        side_effect=OperationalError("down"),
    ):
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "échec"
    assert "base de données" in response.json()["detail"]


def test_probes_refuse_writes(client):
    for path in ("/healthz", "/readyz"):
        response = client.post(path)
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD"


def test_readiness_with_everything_up():
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "keys": "ok"},
    }


def test_probes_open_no_session_write_no_journal_and_carry_the_headers():
    journal_rows = AccessEvent.objects.count()
    client = Client()
    for path in ("/healthz", "/readyz", "/healthz/", "/readyz/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers and not response.cookies
        assert "default-src 'self'" in response["Content-Security-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Request-ID"]
    assert AccessEvent.objects.count() == journal_rows


@override_settings(PARCOURS_API_ANONYMOUS_RATE="2/minute")
def test_probes_are_not_throttled():
    client = Client()
    statuses = {client.get("/readyz").status_code for _ in range(10)}
    assert statuses == {200}


@override_settings(ALLOWED_HOSTS=["parcours.example.fr"], SECURE_SSL_REDIRECT=True)
def test_a_load_balancer_probes_a_server_by_its_address_over_plain_http():
    # Another path from that host: refused (400) — the probes need no ALLOWED_HOSTS entry and no
    # HTTPS, the pages still do.
    client = Client(HTTP_HOST="10.0.3.7:8000", raise_request_exception=False)
    assert client.get("/connexion/").status_code == 400
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    https_only = Client(HTTP_HOST="parcours.example.fr")
    assert https_only.get("/connexion/").status_code == 301


def test_readiness_reports_the_broker_down():
    redis = PrivateRedis().start()
    try:
        with override_settings(CELERY_BROKER_URL=redis.url):
            assert Client().get("/readyz").status_code == 200
            redis.stop()
            response = Client().get("/readyz")
    finally:
        redis.stop()
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "échec", "keys": "ok"}
    assert body["detail"] == "Pas prêt : le courtier de tâches (Redis) ne répond pas."
    assert redis.url not in response.content.decode()


def test_readiness_names_a_wrong_field_key_and_never_a_key():
    wrong = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[wrong]):
        response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["keys"] == "échec"
    assert body["wrong_keys"] == ["FIELD_ENCRYPTION_KEYS"]
    assert "FIELD_ENCRYPTION_KEYS" in body["detail"]
    assert wrong not in response.content.decode()


def test_readiness_names_a_wrong_search_key():
    with override_settings(SEARCH_INDEX_KEY=Fernet.generate_key().decode()):
        response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["wrong_keys"] == ["SEARCH_INDEX_KEY"]


def test_readiness_probes_a_rabbitmq_broker(rabbitmq):
    """Production's broker (issue 17): an AMQP connection to the virtual host, within the
    probe's time; a RabbitMQ that does not answer is named."""
    with override_settings(CELERY_BROKER_URL=rabbitmq.url):
        response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == "ok"

    nobody = f"amqp://guest:guest@127.0.0.1:{free_port()}/{rabbitmq.name}"
    with override_settings(CELERY_BROKER_URL=nobody):
        response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "échec", "keys": "ok"}
    assert body["detail"] == "Pas prêt : le courtier de tâches (RabbitMQ) ne répond pas."
    assert "guest" not in response.content.decode()
