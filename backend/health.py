"""Health endpoints for load balancers and orchestrators (issue 16; docs/operations.md,
« Sondes de santé »).

* `GET /healthz` — liveness: the process answers. Touches neither the database nor the broker,
  so a database outage never gets healthy web processes killed and restarted.
* `GET /readyz` — readiness: the database answers, the broker answers, and the field and search
  keys are the database's own (parcours/key_canary.py). 200 when all hold, else 503 naming the
  checks that failed — never an error's text (it may name hosts or users) nor a key.

Answered by a middleware placed inside the security headers' middlewares (the answers carry
the CSP, nosniff…) and before the session, host validation, authentication, second factor and
journal: a probe has no session, writes no journal row, is not throttled and, from a load
balancer that probes a server by its address, needs no ALLOWED_HOSTS entry. GET and HEAD only.
"""

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import Error as DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse

from backend.broker import is_rabbitmq

logger = logging.getLogger(__name__)

LIVENESS_PATHS = ("/healthz", "/healthz/")
READINESS_PATHS = ("/readyz", "/readyz/")
# Seconds a probe waits for the broker: well below a load balancer's own probe timeout.
BROKER_TIMEOUT = 2

OK = "ok"
FAILED = "échec"
NOT_USED = "non utilisé"

# What each failed check means, for the operator reading the probe's answer.
FAILURES = {
    "database": "la base de données ne répond pas",
    "broker": "le courtier de tâches ({broker}) ne répond pas",
    "keys": "les clés ne sont pas celles de la base",
}


def check_database() -> str:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("readiness: the database does not answer", exc_info=True)
        return FAILED
    return OK


def check_broker() -> str:
    """The Celery broker answers: Redis a PING, RabbitMQ an AMQP connection (its handshake and
    the virtual host opened). In-process tasks (`make run`'s fallback) use none."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return NOT_USED
    url = settings.CELERY_BROKER_URL
    if is_rabbitmq(url):
        return _check_rabbitmq(url)
    if urlsplit(url).scheme not in ("redis", "rediss"):
        return NOT_USED  # parcours runs on Redis or RabbitMQ; another transport is not probed
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT
    )
    try:
        client.ping()
    except (redis.RedisError, OSError):
        logger.warning("readiness: the broker does not answer", exc_info=True)
        return FAILED
    finally:
        client.close()
    return OK


def _check_rabbitmq(url: str) -> str:
    from amqp.exceptions import AMQPError
    from kombu import Connection
    from kombu.exceptions import OperationalError

    probe = Connection(
        url,
        connect_timeout=BROKER_TIMEOUT,
        transport_options={"read_timeout": BROKER_TIMEOUT, "write_timeout": BROKER_TIMEOUT},
    )
    try:
        probe.connect()
    except (AMQPError, OperationalError, OSError):
        logger.warning("readiness: the broker does not answer", exc_info=True)
        return FAILED
    finally:
        probe.release()
    return OK


def broker_name(url: str) -> str:
    return "RabbitMQ" if is_rabbitmq(url) else "Redis"


def check_keys() -> tuple[str, list[str]]:
    """(state, variables at fault). Only meaningful once the database answers."""
    from parcours.key_canary import canary_problems

    try:
        problems = canary_problems(DEFAULT_DB_ALIAS)
    except DatabaseError:
        return FAILED, []
    if problems:
        variables = [problem.variable for problem in problems]
        logger.error("readiness: wrong keys: %s", ", ".join(variables))
        return FAILED, variables
    return OK, []


def readiness() -> tuple[int, dict]:
    checks = {"database": check_database(), "broker": check_broker()}
    wrong_keys: list[str] = []
    if checks["database"] == OK:
        checks["keys"], wrong_keys = check_keys()
    else:
        checks["keys"] = "non vérifié"
    failed = [name for name, state in checks.items() if state == FAILED]
    body: dict = {"status": "ok" if not failed else "indisponible", "checks": checks}
    if failed:
        broker = broker_name(settings.CELERY_BROKER_URL)
        details = [FAILURES[name].format(broker=broker) for name in failed]
        if wrong_keys:
            details[failed.index("keys")] += f" ({', '.join(wrong_keys)})"
        body["detail"] = "Pas prêt : " + " ; ".join(details) + "."
        if wrong_keys:
            body["wrong_keys"] = wrong_keys
    return (200 if not failed else 503), body


def _answer(request: HttpRequest, status: int, body: dict) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        response: HttpResponse = JsonResponse(
            {"detail": "Méthode non autorisée : GET ou HEAD."}, status=405
        )
        response["Allow"] = "GET, HEAD"
    else:
        response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    # A probe's answer is about this instant and this server: never cached by anything between.
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path in LIVENESS_PATHS:
            return _answer(request, 200, {"status": "ok"})
        if path in READINESS_PATHS:
            if request.method not in ("GET", "HEAD"):
                return _answer(request, 405, {})
            status, body = readiness()
            return _answer(request, status, body)
        return self.get_response(request)
