"""The API's door for partner systems' tokens: authentication, the scope check and the rates.

`Authorization: Token prc_…` (or `Bearer prc_…`) is looked up by `services.api_token`; the
request then acts as the token's account **for the token's organisation only**
(`parcours.api.actor.request_actor`), within the token's scopes (`token_scope_refusal`, read by
`HasMembership`), at the token's own rate (`ApiTokenThrottle`, counted in Redis). What the
account may do with a record is still the gate's decision.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.throttling import SimpleRateThrottle

from .. import api_scopes
from ..models import ApiToken
from ..request_origin import client_ip_for
from ..services.api_token import TokenRefused, api_token_authenticate
from .rate_window import sliding_window

logger = logging.getLogger(__name__)

KEYWORDS = ("token", "bearer")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower().decode(errors="replace") not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "En-tête Authorization invalide : « Token » suivi du jeton, sans espace."
            )
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Jeton d'accès inconnu.") from None
        try:
            token = api_token_authenticate(secret, client_ip=client_ip_for(request))
        except TokenRefused as refused:
            RefusedTokenThrottle().count_refusal(request)
            raise exceptions.AuthenticationFailed(refused.message) from None
        # The journal names the token each row of this request was written through.
        request._request.api_token_id = token.pk
        return token.account, token

    def authenticate_header(self, request) -> str:
        # Anonymous requests answer 401 (not 403) with this challenge.
        return "Token"


def request_token(request) -> ApiToken | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def token_scope_refusal(request, view) -> str | None:
    """Why the request's token may not call `view` with its method (None: it may, or no token)."""
    token = request_token(request)
    if token is None:
        return None
    if request.method.upper() not in getattr(view, "allowed_methods", ()):
        return None  # an undeclared verb answers 405 to everyone
    family = getattr(view, "token_family", None)
    if api_scopes.allows(frozenset(token.scopes), family, request.method):
        return None
    if family is None:
        return "Cette adresse de l'API n'est pas ouverte aux jetons d'accès des systèmes."
    wanted = api_scopes.scope(family, api_scopes.access_for_method(request.method))
    return (
        f"Ce jeton d'accès ne couvre pas « {api_scopes.scope_label(wanted)} » : demandez à "
        "l'administrateur de votre organisation d'élargir sa portée."
    )


# Django's RedisCache makes a new `redis.Redis` over its pool on every `get_client` (≈ 170
# response callbacks registered: ~0.1 ms of an API request's CPU, issue 17); a client is
# thread-safe and holds nothing but its pool, so one per cache client is kept.
_REDIS_CLIENTS: dict[object, Any] = {}


def _redis_client(cache: RedisCache, key: str):  # -> redis.Redis
    client = _REDIS_CLIENTS.get(cache._cache)
    if client is None:
        client = _REDIS_CLIENTS[cache._cache] = cache._cache.get_client(key, write=True)
    return client


class _Throttle(SimpleRateThrottle):
    """Counted in the "throttle" cache (Redis); a cache that does not answer lets the request
    through (logged): the rate protects the service, it must not stop it.

    With Redis, DRF's sliding window in one round trip (`rate_window`: a sorted set and a
    script) instead of its GET of the pickled history then SET; with another cache (`make run`
    without Redis: memory), DRF's own."""

    cache = caches["throttle"]
    num_requests: int | None  # SimpleRateThrottle's, from the rate (None without one)
    duration: int | None

    def allow_request(self, request, view) -> bool:
        try:
            if isinstance(self.cache, RedisCache):
                return self._allow_in_redis(request, view)
            return super().allow_request(request, view)
        except Exception:  # a Redis outage: serve, and say so in the logs
            logger.warning("API throttle cache unavailable; request not counted", exc_info=True)
            return True

    def _allow_in_redis(self, request, view) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        # Its own name: a key of the pickled-list format (before) is not a sorted set.
        cache = cast(RedisCache, self.cache)
        key = cache.make_and_validate_key(f"{self.key}:window")
        window = sliding_window.hit(
            _redis_client(cache, key),
            key,
            now=self.now,
            duration=self.duration,
            limit=self.num_requests,
        )
        self._window = window
        return window.allowed

    def wait(self) -> float | None:
        window = getattr(self, "_window", None)
        if window is None or self.num_requests is None or self.duration is None:
            return super().wait()
        # SimpleRateThrottle.wait over the window the script saw (this request not counted).
        if window.count and window.oldest is not None:
            remaining = self.duration - (self.now - window.oldest)
        else:
            remaining = self.duration
        available = self.num_requests - window.count + 1
        if available <= 0:
            return None
        return remaining / float(available)


class ApiTokenThrottle(_Throttle):
    """Each token at its own rate (`ApiToken.requests_per_minute`)."""

    scope = "api_token"

    def get_rate(self) -> str | None:
        return None  # set per request, from the token (allow_request)

    def allow_request(self, request, view) -> bool:
        token = request_token(request)
        if token is None:
            return True
        self.rate = f"{token.requests_per_minute}/minute"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        token = request_token(request)
        return (
            None if token is None else self.cache_format % {"scope": self.scope, "ident": token.pk}
        )


class AnonymousThrottle(_Throttle):
    """Requests without credentials, per client address (behind trusted proxies, the
    forwarded one: parcours/request_origin.py). DRF throttles after the permission check, so
    this counts on the public views (the OpenAPI document); elsewhere an anonymous request is a
    401 at once, and tokens refused are counted by `RefusedTokenThrottle`."""

    scope = "anonymous"

    def get_rate(self) -> str | None:
        from django.conf import settings

        return settings.PARCOURS_API_ANONYMOUS_RATE

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": client_ip_for(request) or "?"}


class RefusedTokenThrottle(_Throttle):
    """Refused tokens, per client address: past the rate, the next ones answer 429 before any
    lookup (a 256-bit secret cannot be guessed, but a client looping on a revoked token must
    not cost a query each time)."""

    scope = "refused_token"

    def get_rate(self) -> str | None:
        from django.conf import settings

        return settings.PARCOURS_API_REFUSED_TOKEN_RATE

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_ip_for(request) or "?"}

    def count_refusal(self, request) -> None:
        if not self.allow_request(request, None):
            raise exceptions.Throttled(self.wait())


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI document describes the token (drf-spectacular finds it by its class)."""

    target_class = "parcours.api.token_auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "« Token prc_… » : jeton d'accès d'un système partenaire, créé par un "
            "administrateur de l'organisation (docs/security.md, « Jetons d'accès »).",
        }
