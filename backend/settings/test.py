"""Tests: always real PostgreSQL and Redis (never SQLite, never eager tasks).

Each pytest-xdist worker gets its own Redis database so that workers' queues never mix.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parcours")
# Deterministic test-only keys (never used outside tests): two encryption keys, newest first.
TEST_FIELD_ENCRYPTION_KEY = "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTE="
TEST_SEARCH_INDEX_KEY = "dGVzdC1vbmx5LXNlYXJjaC1pbmRleC1obWFjLWtleS0x"
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", TEST_FIELD_ENCRYPTION_KEY)
os.environ.setdefault("SEARCH_INDEX_KEY", TEST_SEARCH_INDEX_KEY)

_xdist = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
# PARCOURS_TEST_REDIS_DB_BASE lets two checkouts run their suites at once on one Redis server
# (each with its own databases); default 1, so databases 1 to 3 with the usual three workers.
_redis_base = int(os.environ.get("PARCOURS_TEST_REDIS_DB_BASE", "1"))
_redis_db = _redis_base + int(_xdist.removeprefix("gw") or 0) % (16 - _redis_base)
# Assigned, not defaulted: pytest-xdist's workers inherit the controller's environment, where
# this module already ran (as "gw0"); a default would put every worker's queue in Redis DB 1.
# The processes a test starts (Celery workers, beats) name their broker in
# PARCOURS_TEST_BROKER_URL (tests/processes.py), e.g. the fault tests' private Redis.
os.environ["CELERY_BROKER_URL"] = os.environ.get(
    "PARCOURS_TEST_BROKER_URL", f"redis://127.0.0.1:6379/{_redis_db}"
)

from .base import *  # noqa: E402, F403

if not DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    raise ImproperlyConfigured("Les tests exigent PostgreSQL (DATABASE_URL=postgres://…).")  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
# In-process tests read django.core.mail.outbox; a worker process started by the tests is given
# EMAIL_URL=smtp://… pointing at the test's own SMTP server (tests/notifications/smtp_sink.py).
if not os.environ.get("EMAIL_URL"):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Connections closed after each request, except in a server a test starts to serve as
# production does (persistent connections: tests/health/test_database_resilience.py).
if "DATABASE_CONN_MAX_AGE" not in os.environ:
    for _database in DATABASES.values():  # noqa: F405
        _database["CONN_MAX_AGE"] = 0
# The tests write journal rows dated by time-machine, which the database's clock does not see:
# no minimum age in the test database's purge function (tests/journal/test_app_role.py installs
# one to test it). Emptying the tables between transactional tests needs nothing either: the
# tests connect as the postgres superuser, who may switch the journal's trigger off for the
# flush's transaction (tests/flush.py) and is the one role it lets truncate.
JOURNAL_PURGE_MIN_AGE_DAYS = 0

# The API's rate counters: a key prefix of this process's own, so that a count left in Redis by
# an earlier run (same token ids: the test database is new each run) never throttles this one;
# anonymous requests and refused tokens are not throttled except where a test sets a rate
# (tests/api/test_tokens.py).
CACHES["throttle"]["KEY_PREFIX"] = f"parcours-throttle-test-{os.getpid()}-{_xdist}"  # noqa: F405
PARCOURS_API_ANONYMOUS_RATE = "1000000/minute"
PARCOURS_API_REFUSED_TOKEN_RATE = "1000000/minute"  # noqa: S105 (a rate)
# Likewise the receiver link's refusals (tests/receiver_link/test_pages.py sets its own).
PARCOURS_RECEIVER_LINK_REFUSALS = 1_000_000
PARCOURS_PERSON_SPACE_TRIES = 1_000_000  # tests/person_space/ set their own
# The read replica's pins: a prefix of this run's own, as above; a server a test starts with
# several workers (tests/replica/) names one for all of them in PARCOURS_TEST_PIN_PREFIX.
CACHES["pins"]["KEY_PREFIX"] = os.environ.get(  # noqa: F405
    "PARCOURS_TEST_PIN_PREFIX", f"parcours-pins-test-{os.getpid()}-{_xdist}"
)
# The tests' webhook receiver listens on loopback over plain HTTP (tests/webhooks/receiver.py).
PARCOURS_WEBHOOK_ALLOW_HTTP_LOOPBACK = True
