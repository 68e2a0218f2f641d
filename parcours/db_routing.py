"""Reads that may come from the read replica, and the router that sends them there (issue 17;
docs/architecture.md, « Read replica »; docs/operations.md, « Read replica »).

Without a `replica` database alias (no `DATABASE_REPLICA_URL`: development, the SQLite fallback,
the test suite) nothing here has any effect: the router answers None and Django routes as usual.

With one, **every read goes to the primary** except inside an explicit replica-eligible block —
`reads_from_replica()`, or a function decorated `@replica_eligible` (the DPO's reports, the
access report, the subject-access pack, their CSV/PDF files) — and even there the primary
answers when:

* the block, or the POST (PUT, PATCH, DELETE) request it belongs to, has written through the
  ORM: what follows reads the primary, so a report's own journal row, or any write before it, is
  never missing (a GET writes only bookkeeping outside the block: journal rows of what it
  showed, the session's and the API token's activity stamps);
* the user wrote in a recent request — a request with an unsafe method (POST, PUT, PATCH,
  DELETE) stamps the user in the shared "pins" cache (Redis) for `DATABASE_REPLICA_PIN_SECONDS`,
  whatever door (page session or API token) it came through;
* the replica does not answer, or lags behind more than `DATABASE_REPLICA_MAX_LAG_SECONDS`
  (measured at most every `DATABASE_REPLICA_CHECK_SECONDS` per process; a WARNING says so);
* the replica fails in the middle of a `@replica_eligible` call: the call runs again on the
  primary (a report is a read and one journal row, rolled back with the failed attempt).

Writes always go to the primary, and relations between objects read from either alias are
allowed (they are the same database).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db import Error as DatabaseError
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = DEFAULT_DB_ALIAS
PIN_CACHE = "pins"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

P = ParamSpec("P")
T = TypeVar("T")

# How far behind the primary the replica is, in seconds: 0 when it has replayed all it received
# while streaming (an idle primary sends nothing, yet nothing is missing), else the age of the
# last transaction it replayed; not a standby (a promoted replica) is never behind.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
         AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0
    ELSE COALESCE(
        EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8,
        'Infinity'::float8
    )
END
"""


def replica_configured() -> bool:
    return REPLICA in connections.settings


# --- Where a read may go -----------------------------------------------------------------------


@dataclass
class _Scope:
    """One HTTP request (ReplicaPinningMiddleware) or, outside one, the outermost replica block."""

    request: HttpRequest | None = None
    wrote: bool = False  # a write went through the router: the rest reads the primary
    user_pinned: bool | None = None  # looked up once, when a read first may use the replica
    used_replica: bool = False  # a read was sent to the replica (a failure may be its)


_scope: ContextVar[_Scope | None] = ContextVar("parcours_replica_scope", default=None)
_eligible: ContextVar[bool] = ContextVar("parcours_replica_eligible", default=False)
_primary_only: ContextVar[bool] = ContextVar("parcours_replica_primary_only", default=False)


@contextmanager
def reads_from_replica() -> Iterator[None]:
    """Reads in this block may come from the replica (see the module's rules)."""
    scope_token = _scope.set(_Scope()) if _scope.get() is None else None
    token = _eligible.set(True)
    try:
        yield
    finally:
        _eligible.reset(token)
        if scope_token is not None:
            _scope.reset(scope_token)


@contextmanager
def reads_from_primary() -> Iterator[None]:
    """Every read in this block from the primary, replica-eligible blocks inside it included."""
    token = _primary_only.set(True)
    try:
        yield
    finally:
        _primary_only.reset(token)


def replica_eligible(function: Callable[P, T]) -> Callable[P, T]:
    """`function`'s reads may come from the replica; if the replica fails during the call (it
    stopped, a replay conflict cancelled a query), the call is made again on the primary. Put
    it outside `@transaction.atomic`, so that the failed attempt's writes are rolled back."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        if not replica_configured() or _eligible.get():
            with reads_from_replica():
                return function(*args, **kwargs)  # nested: the outer call retries
        with reads_from_replica():
            scope = _scope.get()
            assert scope is not None
            scope.used_replica = False
            try:
                return function(*args, **kwargs)
            except (OperationalError, InterfaceError):
                if not scope.used_replica:
                    raise  # the primary's failure: nothing to fall back to
                _health.mark_down(f"failed during {function.__qualname__}")
        with reads_from_primary():
            return function(*args, **kwargs)

    return wrapper


def _unsafe(request: HttpRequest | None) -> bool:
    """A request that may change data (a GET writes only bookkeeping: the journal's rows of what
    it showed, the session's and the API token's activity stamps)."""
    return request is None or request.method not in SAFE_METHODS


def _user_pinned(request: HttpRequest | None) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    try:
        until = caches[PIN_CACHE].get(_pin_key(user.pk))
    except Exception:  # the cache does not answer: the primary, which is never stale
        logger.warning("read replica: the pins cache does not answer; reading the primary")
        return True
    return until is not None and until > time.time()


def _replica_allowed() -> bool:
    if not _eligible.get() or _primary_only.get():
        return False
    scope = _scope.get()
    if scope is None or scope.wrote:
        return False
    if scope.user_pinned is None:
        scope.user_pinned = True  # while we look: the user's own lookup reads the primary
        scope.user_pinned = _user_pinned(scope.request)
    if scope.user_pinned or not _health.usable():
        return False
    scope.used_replica = True
    return True


class ReplicaRouter:
    """Reads to the replica inside a replica-eligible block only; writes to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if not replica_configured():
            return None
        return REPLICA if _replica_allowed() else PRIMARY

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        if not replica_configured():
            return None
        scope = _scope.get()
        if scope is not None and (_eligible.get() or _unsafe(scope.request)):
            scope.wrote = True
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        if not replica_configured():
            return None
        return {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA, None}

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if not replica_configured():
            return None
        return db == PRIMARY  # the replica replays the primary's schema; never migrated itself


# --- Is the replica usable? --------------------------------------------------------------------


class _Health:
    """The replica's state, measured at most every DATABASE_REPLICA_CHECK_SECONDS per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.forget()

    def forget(self) -> None:
        self.checked_at: float | None = None
        self.usable_now = False

    def usable(self) -> bool:
        with self._lock:
            now = time.monotonic()
            due = self.checked_at is None or (
                now - self.checked_at >= settings.DATABASE_REPLICA_CHECK_SECONDS
            )
            if due:
                self.checked_at = now
                self.usable_now = self._measure()
            return self.usable_now

    def mark_down(self, why: str) -> None:
        """The replica failed a query: the primary until the next check."""
        logger.warning("read replica: %s; reading the primary", why, exc_info=True)
        with self._lock:
            self.checked_at = time.monotonic()
            self.usable_now = False
        _close_quietly()

    def _measure(self) -> bool:
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute(LAG_SQL)
                lag = cursor.fetchone()[0]
        except DatabaseError:
            logger.warning("read replica: does not answer; reading the primary", exc_info=True)
            _close_quietly()
            return False
        if lag > settings.DATABASE_REPLICA_MAX_LAG_SECONDS:
            logger.warning(
                "read replica: %.1f s behind the primary (more than %s s); reading the primary",
                lag,
                settings.DATABASE_REPLICA_MAX_LAG_SECONDS,
            )
            return False
        return True


def _close_quietly() -> None:
    with suppress(DatabaseError):  # a broken connection is dropped all the same
        connections[REPLICA].close()


_health = _Health()


def _forget_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("DATABASE_REPLICA_") or setting == "DATABASES":
        _health.forget()


setting_changed.connect(_forget_on_change, dispatch_uid="parcours_replica_settings")


# --- Pinning a user to the primary after a write -----------------------------------------------


def _pin_key(user_id: int) -> str:
    return f"user:{user_id}"


def pin_user(user_id: int) -> None:
    """The user's reads stay on the primary for DATABASE_REPLICA_PIN_SECONDS (stored as the
    deadline, so that a test's clock can pass it; the cache forgets it a second later)."""
    seconds = settings.DATABASE_REPLICA_PIN_SECONDS
    try:
        caches[PIN_CACHE].set(_pin_key(user_id), time.time() + seconds, timeout=seconds + 1)
    except Exception:
        logger.warning("read replica: the pins cache does not answer; user %s not pinned", user_id)


class ReplicaPinningMiddleware:
    """Opens the request's scope (a write in it sends its later reads to the primary) and, after
    a request with an unsafe method, pins its user — the page's session or the API token's
    account — to the primary. Does nothing without a replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_configured():
            return self.get_response(request)
        token = _scope.set(_Scope(request=request))
        try:
            response = self.get_response(request)
        finally:
            _scope.reset(token)
        if _unsafe(request):
            user = getattr(request, "user", None)  # an API token's account once DRF set it
            if user is not None and user.is_authenticated:
                pin_user(user.pk)
        return response
