"""Limits per network address for the doors that open without an account: a receiver's link
(refused tokens) and the person's space (codes asked for, wrong codes typed).

Those doors have no user to lock: what a guesser controls is how many tries they make from one
address. Each limit counts, in the "throttle" cache (Redis), the tries of one address in a fixed
window that starts with its first try; past the limit, the door answers 429 in French until the
window ends. A cache that does not answer lets the request through (logged): the limit protects
the service, it must not stop it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest

from parcours.request_origin import client_ip_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AddressLimit:
    """`limit_setting` tries from one address within `window_seconds`, counted under `name`."""

    name: str
    limit_setting: str
    window_seconds: int

    def _key(self, request: HttpRequest) -> str:
        return f"{self.name}:{client_ip_for(request) or 'unknown'}"

    @property
    def limit(self) -> int:
        return int(getattr(settings, self.limit_setting))

    def exceeded(self, request: HttpRequest) -> bool:
        try:
            return (caches["throttle"].get(self._key(request)) or 0) >= self.limit
        except Exception:  # the cache is down: let the request through
            logger.warning("%s: throttle cache unavailable", self.name, exc_info=True)
            return False

    def count(self, request: HttpRequest) -> None:
        cache = caches["throttle"]
        key = self._key(request)
        try:
            cache.add(key, 0, self.window_seconds)
            cache.incr(key)
        except Exception:
            logger.warning("%s: throttle cache unavailable", self.name, exc_info=True)


# A receiver's link: refused tokens (forged, or another referral's URL), issue 19.
RECEIVER_LINK_REFUSALS = AddressLimit(
    "receiver-link-refusals", "PARCOURS_RECEIVER_LINK_REFUSALS", 600
)
# The person's space: codes asked for and wrong codes typed, together (issue 19). Each person's
# own limits (three codes in fifteen minutes, five tries a code) hold whatever the address; this
# one stops one address from trying many people's addresses and birth dates, or many codes.
PERSON_SPACE_TRIES = AddressLimit("person-space-tries", "PARCOURS_PERSON_SPACE_TRIES", 900)
