"""The API rates' sliding window in one Redis round trip (issue 17).

DRF's `SimpleRateThrottle` keeps each key's history (the timestamps of the requests counted in
the last `duration` seconds) as a pickled list in the cache: a GET, then a SET of the whole list
— two round trips per request, and two requests of the same token in two workers could both
read the list before either wrote it back. Here the history is a sorted set (score: the
request's time) and one Lua script, atomic in Redis, drops what left the window, counts what
remains and, under the limit, adds this request: the same sliding window, the same answers
(`allowed`, the count before this request, the oldest time still in the window — what
`SimpleRateThrottle.wait` reads), in one `EVALSHA`.

The time is the caller's (`time.time()` in the throttle, which the tests move with
time-machine), never Redis's own clock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from redis.exceptions import NoScriptError

# KEYS[1]: the window; ARGV: now, the cutoff (now - duration: a time at or before it has left the
# window, as in SimpleRateThrottle), the limit, the key's lifetime in seconds, a unique member.
SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or false
if count < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
    redis.call('EXPIRE', KEYS[1], ARGV[4])
    if not oldest then oldest = ARGV[1] end
    return {1, count, oldest}
end
return {0, count, oldest}
"""


@dataclass(frozen=True)
class Window:
    allowed: bool
    count: int  # requests in the window before this one
    oldest: float | None  # the oldest request still in the window (this one if it is alone)


class SlidingWindow:
    """One script per process, loaded into Redis on first use (and again after a flush)."""

    def __init__(self) -> None:
        self._sha: str | None = None

    def hit(
        self, client, key: str, *, now: float, duration: int, limit: int
    ) -> Window:  # client: redis.Redis
        arguments = (repr(now), repr(now - duration), limit, max(int(duration), 1))
        member = f"{now!r}:{secrets.token_hex(4)}"  # two requests in the same microsecond
        if self._sha is None:
            self._sha = client.script_load(SCRIPT)
        try:
            reply = client.evalsha(self._sha, 1, key, *arguments, member)
        except NoScriptError:
            self._sha = client.script_load(SCRIPT)
            reply = client.evalsha(self._sha, 1, key, *arguments, member)
        allowed, count, oldest = reply
        return Window(
            allowed=bool(allowed),
            count=int(count),
            oldest=float(oldest) if oldest is not None else None,
        )


sliding_window = SlidingWindow()
