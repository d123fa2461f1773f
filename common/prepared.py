"""ORM queries whose SQL is built once per process.

In a warmed production process the ORM spends 0.4-0.9 ms of Python building each query's SQL
(``SQLCompiler.as_sql``: the select list, joins, ordering), several times what PostgreSQL
spends answering the hot pages' small queries. A :class:`PreparedQuery` builds its queryset
once with stand-in values, keeps the compiled SQL with the positions of the stand-ins among its
parameters, and for each call runs that SQL with the real values through the ORM's own
iterable: model instances, ``select_related`` objects, annotations and ``values_list`` rows
come out exactly as the queryset would give them (same converters, same columns).

Only for querysets whose SQL depends on nothing but the stand-ins: each stand-in must reach
the parameters unchanged (an ``exact`` or ``in`` lookup, not ``icontains``, which wraps it),
and be a value the field can hold (Django answers a lookup of an integer out of its field's
range without asking the database, so no parameter is left for it), and no
``prefetch_related``. The key of the built SQL includes the database alias and the
current time zone (a date lookup's SQL names it).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone

T = TypeVar("T")


class PreparedQuery(Generic[T]):
    """``build(**stand_ins)`` returns the queryset; ``query.list(**values)`` its rows for the
    real values, under the same names."""

    def __init__(self, build: Callable[..., QuerySet[Any, T]], **stand_ins: Any) -> None:
        if not stand_ins:
            raise ValueError("a prepared query needs at least one stand-in value")
        self._build = build
        self._stand_ins = stand_ins
        self._built: dict[tuple[str, str], tuple[QuerySet[Any, T], Any, str, list[Any]]] = {}
        self._lock = threading.Lock()

    def _prepare(self, alias: str) -> tuple[QuerySet[Any, T], Any, str, list[Any]]:
        key = (alias, timezone.get_current_timezone_name())
        built = self._built.get(key)
        if built is None:
            queryset: Any = self._build(**self._stand_ins).using(alias)
            if queryset._prefetch_related_lookups:
                raise ValueError("a prepared query cannot prefetch")
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            # Each parameter is either a constant of the query or the name of a stand-in.
            slots: list[Any] = []
            found: set[str] = set()
            for value in params:
                slot = self._slot_of(value)
                if slot is not None:
                    found.add(slot.name)
                    slots.append(slot)
                else:
                    slots.append(value)
            missing = set(self._stand_ins) - found
            if missing:
                raise ValueError(f"stand-ins not among the query's parameters: {sorted(missing)}")
            built = (queryset, compiler, sql, slots)
            with self._lock:
                self._built[key] = built
        return built

    def _slot_of(self, value: Any) -> _Slot | None:
        """The stand-in a parameter is, as it is or as the backend adapted it (SQLite sends
        dates as ISO text, psycopg's ``Int2`` marks a small integer), or None for a constant
        of the query."""
        for name, stand_in in self._stand_ins.items():
            if type(value) is type(stand_in) and value == stand_in:
                return _Slot(name, convert=None)
            if isinstance(value, str) and not isinstance(stand_in, str) and value == str(stand_in):
                return _Slot(name, convert=str)
            if isinstance(value, type(stand_in)) and value == stand_in:
                return _Slot(name, convert=type(value))
        return None

    def list(self, *, using: str = "default", **values: Any) -> list[T]:
        if set(values) != set(self._stand_ins):
            raise TypeError(f"expected the values of {sorted(self._stand_ins)}")
        queryset, compiler, sql, slots = self._prepare(using)
        params = tuple(s.value(values) if isinstance(s, _Slot) else s for s in slots)
        # A copy per call: the compiler's connection is this thread's, and its SQL is fixed.
        run = copy.copy(compiler)
        run.connection = connections[using]
        run.as_sql = lambda *args, **kwargs: (sql, params)
        query = copy.copy(queryset.query)
        query.get_compiler = lambda *args, **kwargs: run  # type: ignore[method-assign]
        iterable: Any = queryset._iterable_class
        rows = iterable(_Run(queryset, query, using))
        return [*rows]

    def first(self, *, using: str = "default", **values: Any) -> T | None:
        rows = self.list(using=using, **values)
        return rows[0] if rows else None


class _Run:
    """What the ORM's iterables read of a queryset (copying a QuerySet would run it)."""

    def __init__(self, queryset: Any, query: Any, using: str) -> None:
        self.query = query
        self.db = using
        self.model = queryset.model
        self._fields = queryset._fields
        self._known_related_objects = queryset._known_related_objects


class _Slot:
    __slots__ = ("convert", "name")

    def __init__(self, name: str, *, convert: Callable[[Any], Any] | None) -> None:
        self.name = name
        self.convert = convert

    def value(self, values: dict[str, Any]) -> Any:
        value = values[self.name]
        return value if self.convert is None or value is None else self.convert(value)
