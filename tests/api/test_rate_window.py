"""The API rates' window in Redis (parcours/api/rate_window.py) answers as DRF's own throttle
does over the same requests: the same decisions and the same `Retry-After`."""

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle

from parcours.api.token_auth import _Throttle

# Seconds since the first request: a burst, a pause, requests at the window's edge.
TIMES = [0.0, 0.0, 1.5, 2.0, 2.0, 30.0, 59.9, 60.0, 60.0, 61.5, 62.0, 119.0, 121.0, 121.0, 200.0]


class _Clock:
    def __init__(self, start: float):
        self.start, self.offset = start, 0.0

    def __call__(self) -> float:
        return self.start + self.offset


def _throttle(base, cache, clock, ident):
    class Throttle(base):
        rate = "3/minute"
        timer = clock

        def get_cache_key(self, request, view):
            return f"rate-window-test-{ident}"

    Throttle.cache = cache
    return Throttle()


def _answers(base, cache, ident) -> list[tuple[bool, float | None]]:
    clock = _Clock(1_800_000_000.25)
    answers = []
    for at in TIMES:
        clock.offset = at
        throttle = _throttle(base, cache, clock, ident)
        allowed = throttle.allow_request(None, None)
        wait = None if allowed else throttle.wait()
        answers.append((allowed, None if wait is None else round(wait, 6)))
    return answers


def test_the_redis_window_answers_as_drf_s_throttle():
    redis_cache = caches["throttle"]
    ident = f"{id(redis_cache)}"
    redis = _answers(_Throttle, redis_cache, ident)
    drf = _answers(SimpleRateThrottle, LocMemCache("rate-window-test", {}), ident)
    assert redis == drf
    assert [allowed for allowed, _wait in redis].count(False) == 6  # the window does refuse
    assert all(wait > 0 for allowed, wait in redis if not allowed)
