"""Facts read once per HTTP request.

A page asks the access scopes several times for the same fact (the acting user's personal
grants: one query per scope, five identical ones on the person page). Inside a request — opened
by the door middleware (`parcours.gate.context.DoorMiddleware`) — `remembered` computes a fact
once; outside one (services called by tasks, commands, tests) it always computes afresh, so
nothing outlives the request that read it. A write that changes a remembered fact `forget`s it.
"""

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_memo: ContextVar[dict[tuple[Hashable, ...], Any] | None] = ContextVar(
    "parcours_request_memo", default=None
)


@contextmanager
def request_memo() -> Iterator[None]:
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def remembered(key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
    """`compute()`, once per request for `key` (its first item names the fact)."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def forget(fact: str) -> None:
    """Drop every remembered value of `fact` (the first item of their keys)."""
    memo = _memo.get()
    if memo:
        for key in [key for key in memo if key[0] == fact]:
            del memo[key]
