"""A list page's count and rows through statements compiled once (issue 17).

Building and compiling a paginated list's querysets — its COUNT, then its page's slice — was
a large share of a list page's CPU (the inbox's, « Personnes suivies »'). `CompiledPages`
keeps, per set of filters and per window of rows, an `access.ScopedRows` compiled once per
role; `Paginator` reads them through `paginated(...)` as it reads a queryset. A last page's
slice ends at the count (Paginator's), so windows are many: the most recently used shapes are
kept, `limit` of them. An actor whose scope has another SQL shape (personal grants: a
break-glass; a receiver's link) gets None from `paginated` and the caller paginates the ORM's
queryset — `shape` itself, one definition of the list (tests/test_compiled.py)."""

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet

from parcours import access
from parcours.actor import Actor

M = TypeVar("M", bound=Model)


class CompiledPages(Generic[M]):
    """`shape(actor, now, *filters, **values)`: the list's ordered queryset; `filters` change
    its SQL's shape (a status, a choice of the page), `values` only its parameters (ids, a
    date), `names_for(filters)` naming those the filters use (integers unless `types` says
    otherwise; those in `repeated` may appear more than once in the SQL)."""

    def __init__(
        self,
        model: type[M],
        shape: Callable[..., QuerySet[M]],
        names_for: Callable[[tuple], Sequence[str]] = lambda filters: (),
        *,
        types: Mapping[str, type] | None = None,
        repeated: Sequence[str] = (),
        limit: int = 512,
    ):
        self.model = model
        self.shape = shape
        self._names_for = names_for
        self._types = dict(types or {})
        self._repeated = tuple(repeated)
        self.limit = limit
        self._shapes: dict[tuple, access.ScopedRows[M]] = {}
        # A threaded server (runserver, gthread workers) updates the shapes from several
        # requests.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many shapes are kept."""
        return len(self._shapes)

    def forget(self) -> None:
        with self._lock:
            self._shapes.clear()

    def rows(self, filters: tuple, window: tuple[int, int] | None) -> access.ScopedRows[M]:
        key = (filters, window)
        with self._lock:
            rows = self._shapes.pop(key, None)
            if rows is None:

                def sliced(actor: Actor, now: dt.datetime, **values: Any) -> QuerySet[M]:
                    queryset = self.shape(actor, now, *filters, **values)
                    return queryset if window is None else queryset[window[0] : window[1]]

                names = self._names_for(filters)
                rows = access.ScopedRows(
                    self.model, sliced, *names, types=self._types, repeated=self._repeated
                )
            self._shapes[key] = rows  # the most recently used last
            while len(self._shapes) > self.limit:
                del self._shapes[next(iter(self._shapes))]
        return rows

    def paginated(
        self, actor: Actor, now: dt.datetime, filters: tuple, values: Mapping[str, object]
    ) -> "PaginatedRows[M] | None":
        """The rows as `Paginator` reads them, or None for an actor whose scope does not
        compile (the caller paginates `shape`'s queryset)."""
        if not self.rows(filters, None).compiles(actor):
            return None
        return PaginatedRows(self, actor, now, filters, values)

    def queryset(
        self, actor: Actor, now: dt.datetime, filters: tuple, values: Mapping[str, object]
    ) -> "PaginatedRows[M] | QuerySet[M]":
        """What a list page paginates: the compiled rows, or the ORM's queryset."""
        compiled = self.paginated(actor, now, filters, values)
        return compiled if compiled is not None else self.shape(actor, now, *filters, **values)


class PaginatedRows(Generic[M]):
    """A list's rows as `Paginator` reads them — their count, then a page's slice."""

    ordered = True  # the shape's queryset is ordered, as Paginator wants

    def __init__(
        self,
        pages: CompiledPages[M],
        actor: Actor,
        now: dt.datetime,
        filters: tuple,
        values: Mapping[str, object],
    ):
        self._pages, self._actor, self._now = pages, actor, now
        self._filters, self._values = filters, dict(values)

    def count(self) -> int:
        rows = self._pages.rows(self._filters, None)
        return rows.count(self._actor, now=self._now, **self._values)

    def __getitem__(self, window: slice) -> list[M]:
        rows = self._pages.rows(self._filters, (window.start, window.stop))
        return rows.all(self._actor, now=self._now, **self._values)
