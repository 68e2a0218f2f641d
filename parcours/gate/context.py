"""Which door an access comes through (API, page, admin, task, command) and the request it
belongs to, held for the duration of the request or task.

Doors do not journal: they open a `door(...)` (the middleware for HTTP, a Celery signal for
tasks) and the gate reads it when it writes a journal row — the door's name, the request id and
client address. A refusal decided inside a service's transaction is kept here and written when
the door closes, after that transaction rolled back (it would be lost with it otherwise).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.http import HttpRequest

from ..request_memo import request_memo


class Door(StrEnum):
    API = "api"
    PAGE = "page"
    ADMIN = "admin"
    TASK = "task"
    COMMAND = "command"
    # The person's own space (/mon-parcours/, issue 19): the person, not a staff member.
    PERSON_SPACE = "person_space"


PERSON_SPACE_PREFIX = "/mon-parcours/"


@dataclass
class Passage:
    door: Door
    request: HttpRequest | None = None
    # Journal rows to write when the door closes (refusals inside a rolled-back transaction).
    pending: list[Callable[[], Any]] = field(default_factory=list)


_current: contextvars.ContextVar[Passage | None] = contextvars.ContextVar(
    "parcours_gate_passage", default=None
)


def current() -> Passage | None:
    return _current.get()


def current_door() -> Door:
    passage = _current.get()
    return passage.door if passage is not None else Door.COMMAND


def current_request() -> HttpRequest | None:
    passage = _current.get()
    return passage.request if passage is not None else None


@contextlib.contextmanager
def door(kind: Door, request: HttpRequest | None = None) -> Iterator[Passage]:
    """Open a door for the block; on the way out, write what was kept for after it."""
    passage = Passage(door=kind, request=request)
    token = _current.set(passage)
    try:
        yield passage
    finally:
        _current.reset(token)
        flush(passage)


def flush(passage: Passage) -> None:
    pending, passage.pending = passage.pending, []
    for write in pending:
        write()


def door_for_path(path: str) -> Door:
    if path.startswith("/api/"):
        return Door.API
    if path.startswith("/admin/"):
        return Door.ADMIN
    if path.startswith(PERSON_SPACE_PREFIX):
        return Door.PERSON_SPACE
    return Door.PAGE


class DoorMiddleware:
    """Every HTTP request passes through one door, named from its path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        # The request memo lives for this request only (parcours/request_memo.py).
        with door(door_for_path(request.path_info), request), request_memo():
            return self.get_response(request)


# Celery: each task runs behind the task door (connected in ParcoursConfig.ready).
_task_passages: dict[str, tuple[Passage, contextvars.Token]] = {}


def enter_task(task_id: str | None = None, **kwargs: Any) -> None:
    passage = Passage(door=Door.TASK)
    _task_passages[task_id or ""] = (passage, _current.set(passage))


def leave_task(task_id: str | None = None, **kwargs: Any) -> None:
    entry = _task_passages.pop(task_id or "", None)
    if entry is None:
        return
    passage, token = entry
    with contextlib.suppress(ValueError):  # a token from another context: nothing to reset
        _current.reset(token)
    flush(passage)
