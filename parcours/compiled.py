"""A query compiled once per process and run with new values (issue 17).

The ORM builds and compiles a query anew on every call: for the token check every API request
makes (one query: the token, its account, its organisation and the account's role there) that
was 1.4 of its 2.2 ms of CPU, against 0.2 ms to run the SQL. `CompiledQuery` builds the
queryset once with marker values, keeps its SQL, its parameters and what Django's
`ModelIterable` needs to turn rows into model instances (the columns' converters, the
`select_related` populators, the annotations), and then only substitutes the values and runs the
SQL through Django's cursor (same database routing, same query log, same instances).

Only for queries whose SQL never changes with the values: string parameters compared with `=`
(each marker must appear once among the compiled parameters, else ValueError), no `__in` list
of varying length, no time computed at build time. Integers and datetimes may be parameters too
when named in `types` (the scope queries' organisation group, record id and "now"); a name in
`repeated` may appear more than once (the same "now" bounds both ends of a grant's interval),
every occurrence then takes the value; a name in `optional` may not appear at all (a scope that
does not name the organisation's id: given as a marker all the same, so that no scope can hold
the id of the actor it was first compiled for). Tested in tests/test_compiled.py.

`first` gives the first instance, `all` every one (a page's list: its events, its barriers), and
`count` the number `QuerySet.count()` gives — the COUNT statement Django's `count()` sends,
captured from its own compiler once, never sent with the markers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar, cast

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import Count, Model, Prefetch, QuerySet, prefetch_related_objects
from django.db.models.constants import LOOKUP_SEP
from django.db.models.fields.related_descriptors import (
    ForwardManyToOneDescriptor,
    ManyToManyDescriptor,
    ReverseManyToOneDescriptor,
    ReverseOneToOneDescriptor,
)
from django.db.models.query import get_related_populators

from . import prepared_statements

M = TypeVar("M", bound=Model)


class _Marker(str):
    """A parameter value nobody sends: found again among the compiled parameters."""


def _marker(name: str, kind: type, index: int) -> Any:
    """A value of `kind` nobody sends. Integers stay within PostgreSQL's `integer` (Django turns
    a comparison with a value out of the column's range into an empty or full result); no row
    has a negative id, and no grant is valid in the year 1000."""
    if kind is str:
        return _Marker(f"\x00compiled-{name}\x00")
    if kind is int:
        return -2_000_000_000 + index
    if kind is dt.datetime:
        return dt.datetime(1000 + index, 1, 1, tzinfo=dt.UTC)
    raise TypeError(f"{name}: a compiled query takes str, int or datetime values, not {kind}")


def _is(value: object, marker: Any) -> bool:
    return type(value) is type(marker) and value == marker


def _positions(
    params: list[Any],
    markers: dict[str, Any],
    repeated: Collection[str],
    optional: Collection[str] = (),
) -> dict[str, list[int]]:
    positions = {}
    for name, marker in markers.items():
        found = [i for i, value in enumerate(params) if _is(value, marker)]
        if (not found and name not in optional) or (len(found) > 1 and name not in repeated):
            raise ValueError(f"{name}: expected once among the parameters, found {len(found)}")
        positions[name] = found
    return positions


def _with_values(compiled: _Compiled | _CompiledCount, values: Mapping[str, Any]) -> list[Any]:
    params = list(compiled.params)
    for name, positions in compiled.positions.items():
        for position in positions:
            params[position] = values[name]
    return params


class _Captured(Exception):
    """The COUNT statement's SQL, caught before it is sent."""

    def __init__(self, sql: str, params: Any):
        super().__init__()
        self.sql, self.params = sql, params


def _count_sql(queryset: QuerySet, alias: str) -> tuple[str, list[Any]] | None:
    """What `queryset.count()` sends, without sending it: Django's own path
    (`Query.get_count`), its compiler's `execute_sql` answering with the SQL instead. None when
    the query can match no row (Django then sends nothing and answers 0)."""
    query = queryset.query.clone()
    make_compiler = query.get_compiler

    def get_compiler(using=None, connection=None, elide_empty=True):  # type: ignore[no-untyped-def]
        compiler = make_compiler(using, connection, elide_empty)

        def execute_sql(*args: Any, **kwargs: Any) -> Any:
            sql, params = compiler.as_sql()  # EmptyResultSet: Django's execute_sql returns None
            raise _Captured(sql, params)

        compiler.execute_sql = execute_sql  # type: ignore[method-assign]
        return compiler

    # On this clone only (the queryset's query is untouched): a count without DISTINCT, slice
    # or aggregate is compiled from the query itself (`get_aggregation`'s plain branch).
    query.get_compiler = get_compiler  # type: ignore[method-assign]
    try:
        query.get_aggregation(alias, {"__count": Count("*")})
    except _Captured as captured:
        return captured.sql, list(captured.params)
    except EmptyResultSet:
        return None
    raise ValueError("the count's SQL was not captured (DISTINCT, a slice or an aggregate?)")


class _CompiledCount:
    def __init__(
        self,
        queryset: QuerySet,
        markers: dict[str, Any],
        alias: str,
        repeated: Collection[str],
        optional: Collection[str] = (),
    ):
        captured = _count_sql(queryset, alias)
        self.empty = captured is None
        self.sql, self.params = captured if captured is not None else ("", [])
        self.positions = {} if self.empty else _positions(self.params, markers, repeated, optional)


class _Compiled:
    def __init__(
        self,
        queryset: QuerySet,
        markers: dict[str, Any],
        alias: str,
        repeated: Collection[str] = (),
        optional: Collection[str] = (),
    ):
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        self.sql = sql
        self.params = list(params)
        self.positions = _positions(self.params, markers, repeated, optional)
        select, klass_info = compiler.select, compiler.klass_info
        self.converters = list(compiler.get_converters([s[0] for s in select]).items())
        self.width = len(select)
        if klass_info is None:  # `values_list()`: rows, not instances (`CompiledQuery.rows`)
            return
        self.select_fields = klass_info["select_fields"]
        self.model = klass_info["model"]
        start, end = self.select_fields[0], self.select_fields[-1] + 1
        self.start, self.end = start, end
        self.init_list = [f[0].target.attname for f in select[start:end]]
        # Django 5.2's signature; the stubs describe a later one (with `fetch_mode`).
        self.populators = get_related_populators(klass_info, select, alias)  # type: ignore[call-arg]
        self.annotations = dict(compiler.annotation_col_map)


# A query that can match no row (its compiler raised EmptyResultSet): `first` answers None.
_NOTHING = cast(_Compiled, object())


class CompiledQuery(Generic[M]):
    """`build(**markers)` returns a queryset of `model`; `first(**values)` runs it with the
    values and returns its first instance, or None; `all(**values)` every instance, in the
    query's order; `count(**values)` its `count()`."""

    def __init__(
        self,
        model: type[M],
        build: Callable[..., QuerySet[M]],
        *names: str,
        types: Mapping[str, type] | None = None,
        repeated: Collection[str] = (),
        optional: Collection[str] = (),
        prepared: bool = False,
    ):
        self._model = model
        self._build = build
        self._names = names
        # Prepared on the server (parcours/prepared_statements.py): only a query that finds
        # rows by their ids, whose plan does not depend on an organisation's size.
        self._prepared = prepared
        self._types = dict(types or {})
        self._repeated = frozenset(repeated)
        self._optional = frozenset(optional)
        self._compiled: dict[str, _Compiled] = {}
        self._counts: dict[str, _CompiledCount] = {}
        # What the built queryset prefetches, done after the row like the queryset does.
        self.prefetch_lookups: tuple[Any, ...] = ()
        # Those lookups compiled for one row (False: lookups `CompiledPrefetch` does not take).
        self._prefetch: CompiledPrefetch | Literal[False] | None = None

    def _markers(self) -> dict[str, Any]:
        return {
            name: _marker(name, self._types.get(name, str), index)
            for index, name in enumerate(self._names)
        }

    def _for(self, alias: str) -> _Compiled:
        compiled = self._compiled.get(alias)
        if compiled is None:
            markers = self._markers()
            queryset = self._build(**markers)
            try:
                compiled = _Compiled(queryset, markers, alias, self._repeated, self._optional)
            except EmptyResultSet:
                # The scope matches nothing whatever the values (a role that sees no category
                # the query reads: `.none()`): Django never sends such a query, nor do we.
                compiled = _NOTHING
            lookups: Any = queryset._prefetch_related_lookups  # type: ignore[attr-defined]
            self.prefetch_lookups = tuple(lookups)
            self._compiled[alias] = compiled
        return compiled

    def first(self, **values: Any) -> M | None:
        found = self._run(values, one=True)
        return found[0] if found else None

    def all(self, **values: Any) -> list[M]:
        return self._run(values, one=False)

    def count(self, **values: Any) -> int:
        alias = router.db_for_read(self._model)
        compiled = self._counts.get(alias)
        if compiled is None:
            markers = self._markers()
            compiled = _CompiledCount(
                self._build(**markers), markers, alias, self._repeated, self._optional
            )
            self._counts[alias] = compiled
        if compiled.empty:
            return 0
        rows = prepared_statements.fetch(
            connections[alias],
            compiled.sql,
            _with_values(compiled, values),
            prepared=self._prepared,
            one=True,
        )
        return rows[0][0] if rows else 0

    def rows(self, **values: Any) -> list[tuple]:
        """The rows of a `values_list()` queryset, as tuples (its columns converted as the
        ORM converts them)."""
        alias = router.db_for_read(self._model)
        compiled = self._for(alias)
        if compiled is _NOTHING:
            return []
        connection = connections[alias]
        fetched = _fetched(connection, compiled, values, one=False, prepared=self._prepared)
        if not compiled.converters:
            return [tuple(row) for row in fetched]
        return [tuple(self._converted(compiled, connection, row)) for row in fetched]

    @staticmethod
    def _converted(compiled: _Compiled, connection: Any, fetched: Any) -> list[Any]:
        row = list(fetched)
        for position, (converters, expression) in compiled.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        return row

    def _run(self, values: Mapping[str, Any], *, one: bool) -> list[M]:
        alias = router.db_for_read(self._model)
        compiled = self._for(alias)
        if compiled is _NOTHING:
            return []
        connection = connections[alias]
        fetched = _fetched(connection, compiled, values, one=one, prepared=self._prepared)
        found = [self._instance(compiled, alias, connection, row) for row in fetched]
        if found and self.prefetch_lookups:
            if self._prefetch is None:
                self._prefetch = CompiledPrefetch.of(type(found[0]), self.prefetch_lookups)
            if self._prefetch and len(found) <= CompiledPrefetch.MOST:
                self._prefetch.fetch(found)
            else:
                prefetch_related_objects(found, *self.prefetch_lookups)
        return found

    def _instance(self, compiled: _Compiled, alias: str, connection: Any, fetched: Any) -> M:
        """One row as Django's `ModelIterable` makes it an instance."""
        row = self._converted(compiled, connection, fetched)
        fields = row[compiled.start : compiled.end]
        obj: M = compiled.model.from_db(alias, compiled.init_list, fields)
        for populator in compiled.populators:
            populator.populate(row, obj)
        for name, position in compiled.annotations.items():
            setattr(obj, name, row[position])
        return obj


def _fetched(
    connection: Any,
    compiled: _Compiled,
    values: Mapping[str, Any],
    *,
    one: bool,
    prepared: bool,
) -> list:
    """The compiled statement run with the values: its first row (`one`) or every row."""
    params = _with_values(compiled, values)
    return prepared_statements.fetch(connection, compiled.sql, params, prepared=prepared, one=one)


K = TypeVar("K", bound=Hashable)


class CompiledQueries(Generic[K, M]):
    """A `CompiledQuery` per shape: `make(key)` for queries whose SQL also depends on a value of
    few cases, made and compiled once per case (the categories a page shows, which are an `IN`
    list; the number of pathways a prefetch names)."""

    def __init__(self, make: Callable[[K], CompiledQuery[M]]):
        self._make = make
        self._by_key: dict[K, CompiledQuery[M]] = {}

    def __getitem__(self, key: K) -> CompiledQuery[M]:
        compiled = self._by_key.get(key)
        if compiled is None:
            compiled = self._by_key[key] = self._make(key)
        return compiled


class _Unsent(QuerySet):
    """A relation's prefetch queryset as its descriptor makes it, to be compiled: the descriptor
    iterates it to cache the reverse side of a one-to-one, which must send nothing here."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(())


class _Relation:
    """One relation of a model's instances fetched as `prefetch_related_objects` fetches it (a
    forward foreign key or one-to-one, a reverse one-to-one): the descriptor's own prefetch
    queryset, made for stand-in instances whose keys are markers and compiled once per number
    of distinct keys, then the rows cached where Django's `prefetch_one_level` caches them, the
    reverse side of a one-to-one too."""

    def __init__(self, model: type[Model], name: str):
        descriptor = getattr(model, name)
        if isinstance(descriptor, ForwardManyToOneDescriptor):
            field = descriptor.field
            self.related_model = field.remote_field.model
            self._key_attname = field.attname  # a null key: Django sends nothing, caches None
            self._row_key = field.target_field.attname
            # The reverse side of a one-to-one, cached on the row (`remote_field.multiple`).
            self._reverse = None if field.remote_field.multiple else field.remote_field
            self._cache = field
        else:
            self.related_model = descriptor.related.related_model
            self._key_attname = model._meta.pk.attname
            self._row_key = descriptor.related.field.attname
            self._reverse = descriptor.related.field
            self._cache = descriptor.related

        def make(count: int) -> CompiledQuery:
            names = [f"key{n}" for n in range(count)]

            def build(**keys: int) -> QuerySet:
                stand_ins = [model(**{self._key_attname: keys[name]}) for name in names]
                manager = self.related_model._base_manager
                unsent: QuerySet = _Unsent(
                    model=self.related_model, using=manager._db, hints=manager._hints
                )
                made = descriptor.get_prefetch_querysets(stand_ins, [unsent])
                self.cache_name, self._is_descriptor = made[4], made[5]
                return made[0]

            return CompiledQuery(
                self.related_model,
                build,
                *names,
                types=dict.fromkeys(names, int),
                prepared=True,  # rows by their keys
            )

        self._queries = CompiledQueries(make)
        self._queries[1]._for(router.db_for_read(self.related_model))  # its cache name, now

    def fetch(self, instances: Sequence[Model]) -> list[Model]:
        """Fetch the relation of those instances that do not hold it yet (joined by
        `select_related`, or fetched by an earlier lookup: Django sends nothing for them);
        answers each instance's related row, but the missing ones, for the next level."""
        todo = [one for one in instances if not self._cache.is_cached(one)]
        if todo:
            keys = [getattr(one, self._key_attname) for one in todo]
            distinct = list(dict.fromkeys(key for key in keys if key is not None))
            rows = (
                self._queries[len(distinct)].all(**{f"key{n}": k for n, k in enumerate(distinct)})
                if distinct
                else []
            )
            by_key: dict[Any, Model] = {}
            for row in rows:
                by_key.setdefault(getattr(row, self._row_key), row)
            if self._reverse is not None:
                owners = dict(zip(keys, todo, strict=True))
                for row in rows:
                    self._reverse.set_cached_value(row, owners[getattr(row, self._row_key)])
            for key, one in zip(keys, todo, strict=True):
                found = by_key.get(key)
                if self._is_descriptor:
                    setattr(one, self.cache_name, found)
                else:
                    one._state.fields_cache[self.cache_name] = found
        related = (self._cache.get_cached_value(one) for one in instances)
        return [row for row in related if row is not None]


class _ToMany:
    """A reverse foreign key (a pathway's modality periods) or a many-to-many (a consent's
    organisations) of a model's instances, fetched as `prefetch_related_objects` fetches it: the
    related manager's own prefetch queryset (or a `Prefetch`'s), made for stand-in instances
    whose keys are markers and compiled once per number of distinct keys. The manager's answer
    also says how a row and an instance read their keys and where the rows are cached; each
    instance's rows are cached there (or, for a `Prefetch` with `to_attr`, listed in that
    attribute), and a reverse foreign key's rows know their instance, as Django leaves them."""

    def __init__(
        self,
        model: type[Model],
        name: str,
        queryset: QuerySet | None = None,
        to_attr: str | None = None,
    ):
        self._name = name
        self._to_attr = to_attr
        stand_in = getattr(model(pk=0), name)
        self.related_model = stand_in.model
        # The foreign key on the related model, for a reverse foreign key (None: many-to-many).
        many_to_many = isinstance(getattr(model, name), ManyToManyDescriptor)
        self._field = None if many_to_many else stand_in.field

        def make(count: int) -> CompiledQuery:
            names = [f"key{n}" for n in range(count)]

            def build(**keys: int) -> QuerySet:
                stand_ins = [model(pk=keys[name]) for name in names]
                manager = getattr(stand_ins[0], name)
                # The default manager's queryset, as the related manager starts from (or the
                # Prefetch's), unsent.
                start: Any = (
                    manager.model._default_manager.get_queryset() if queryset is None else queryset
                )
                unsent: QuerySet = _Unsent(
                    model=manager.model, query=start.query.chain(), using=start._db, hints={}
                )
                made = manager.get_prefetch_querysets(stand_ins, [unsent])
                self._row_key, self._instance_key, self.cache_name = made[1], made[2], made[4]
                return made[0]

            return CompiledQuery(
                self.related_model,
                build,
                *names,
                types=dict.fromkeys(names, int),
                prepared=True,  # rows by their keys
            )

        self._queries = CompiledQueries(make)
        self._queries[1]._for(router.db_for_read(self.related_model))  # its keys and cache, now

    def _held(self, one: Model) -> bool:
        if self._to_attr is not None:
            return hasattr(one, self._to_attr)
        return self.cache_name in one._prefetched_objects_cache  # type: ignore[attr-defined]

    def _rows_of(self, one: Model) -> list[Model]:
        if self._to_attr is not None:
            return getattr(one, self._to_attr)
        return list(one._prefetched_objects_cache[self.cache_name])  # type: ignore[attr-defined]

    def fetch(self, instances: Sequence[Model]) -> list[Model]:
        """Fetch the rows of those instances that do not hold them yet; answers every row of
        every instance, for the next level."""
        todo = [one for one in instances if not self._held(one)]
        if todo:
            keys = [self._instance_key(one) for one in todo]
            distinct = list(dict.fromkeys(key[0] for key in keys if None not in key))
            rows = (
                self._queries[len(distinct)].all(**{f"key{n}": k for n, k in enumerate(distinct)})
                if distinct
                else []
            )
            by_key: dict[Any, list[Model]] = {}
            for row in rows:
                by_key.setdefault(self._row_key(row), []).append(row)
            for key, one in zip(keys, todo, strict=True):
                found = by_key.get(key, [])
                if self._field is not None:
                    for row in found:
                        if not self._field.is_cached(row):
                            self._field.set_cached_value(row, one)
                if self._to_attr is not None:
                    setattr(one, self._to_attr, found)
                    continue
                held = getattr(one, self._name).get_queryset()
                held._result_cache = found
                held._prefetch_done = True
                one._prefetched_objects_cache[self.cache_name] = held  # type: ignore[attr-defined]
        return [row for one in instances for row in self._rows_of(one)]


class CompiledPrefetch:
    """`prefetch_related_objects(instances, *lookups)`, each relation's statement compiled once
    per number of distinct keys (issue 17: a referral's five parties and the two ends of a
    transfer, an inbox page's parties, were looked up through querysets built and compiled on
    every request): the same statements in the same order, the same instances cached in the
    same places (tests/test_compiled.py). Lookups are strings of forward foreign keys,
    one-to-ones, reverse one-to-ones and reverse foreign keys, and a `Prefetch` of one reverse
    foreign key with its own queryset and `to_attr` (a person's pathways, their id and state
    only: the API's persons); `of` answers False for others (many-to-many, a `Prefetch` through
    several relations), and for more than `MOST` instances the ORM's prefetch runs."""

    MOST = 100  # compiled statements per relation, at most

    _relations: dict[tuple[type[Model], str], _Relation | _ToMany] = {}

    def __init__(
        self,
        lookups: tuple[tuple[str, ...], ...],
        prefetches: Mapping[tuple[str, ...], _ToMany] | None = None,
    ):
        self._lookups = lookups
        # The `Prefetch` lookups' relations, by their path (their queryset is theirs: not shared
        # between compiled queries as the plain relations are).
        self._prefetches = dict(prefetches or {})

    @classmethod
    def of(cls, model: type[Model], lookups: Collection[Any]) -> CompiledPrefetch | Literal[False]:
        paths: list[tuple[str, ...]] = []
        prefetches: dict[tuple[str, ...], _ToMany] = {}
        for lookup in lookups:
            if isinstance(lookup, Prefetch):
                name = lookup.prefetch_through
                descriptor = getattr(model, name, None)
                if LOOKUP_SEP in name or not (
                    isinstance(descriptor, ReverseManyToOneDescriptor)
                    and not isinstance(descriptor, ManyToManyDescriptor)
                ):
                    return False
                path: tuple[str, ...] = (lookup.prefetch_to,)
                prefetches[path] = _ToMany(model, name, lookup.queryset, lookup.to_attr)
                paths.append(path)
                continue
            if not isinstance(lookup, str):
                return False
            path = tuple(lookup.split(LOOKUP_SEP))
            step: Any = model
            for name in path:
                relation = cls._relation(step, name)
                if relation is None:
                    return False
                step = relation.related_model
            paths.append(path)
        return cls(tuple(paths), prefetches)

    @classmethod
    def _relation(cls, model: type[Model], name: str) -> _Relation | _ToMany | None:
        key = (model, name)
        relation = cls._relations.get(key)
        if relation is None:
            descriptor = getattr(model, name, None)
            if isinstance(descriptor, ForwardManyToOneDescriptor | ReverseOneToOneDescriptor):
                relation = cls._relations[key] = _Relation(model, name)
            elif isinstance(descriptor, ReverseManyToOneDescriptor):  # many-to-many too
                relation = cls._relations[key] = _ToMany(model, name)
            else:
                return None
        return relation

    def fetch(self, instances: Sequence[Model]) -> None:
        done: dict[tuple[str, ...], Sequence[Model]] = {}
        for path in self._lookups:
            level, model = instances, type(instances[0])
            for depth in range(len(path)):
                relation = self._prefetches.get(path) or self._relations[(model, path[depth])]
                prefix = path[: depth + 1]
                if prefix not in done:
                    for one in level:  # as Django prepares a level's instances
                        if not hasattr(one, "_prefetched_objects_cache"):
                            one._prefetched_objects_cache = {}  # type: ignore[attr-defined]
                    done[prefix] = relation.fetch(level)
                level, model = done[prefix], relation.related_model
                if not level:
                    break
