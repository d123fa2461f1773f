"""Read replicas (docs/decisions/0026-read-replicas.md).

With ``DATABASE_REPLICA_URLS`` set, the settings add one alias per replica (``replica_1``, ...)
and :class:`ReplicaRouter`. A read goes to a replica only when all of these hold:

(a) the code asked for reads that may be slightly stale: a view (or block) under
    :func:`replica_reads`; everything else reads the primary, as before;
(b) no transaction is open on the primary's connection (what is read inside ``atomic()`` is
    read where it is written);
(c) the visitor did not write in the last ``REPLICA_PIN_SECONDS``: :class:`ReplicaPinMiddleware`
    sets a signed cookie after every request that may have written (POST, PUT, PATCH, DELETE
    answered below 400), and a request carrying it reads the primary, so people see what they
    just did;
(d) the replica is healthy: its WAL receiver is streaming, and its staleness (the age of the
    last message from its primary, or of the last replayed commit while WAL waits for replay),
    measured on the replica itself and sampled at most every ``REPLICA_LAG_SAMPLE_SECONDS`` per
    process, is within ``REPLICA_MAX_LAG_SECONDS``, and it answered when last asked. A replica
    that cannot be reached is left alone for ``REPLICA_RETRY_SECONDS``; a view under
    :func:`replica_reads` whose replica fails mid-way is run again on the primary, so the
    visitor sees no error.

Writes, ``select_for_update()`` (Django asks the router for the write database) and anything
read inside ``atomic()`` always go to the primary. Without replicas none of this is installed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.template.response import SimpleTemplateResponse
from rest_framework.response import Response as ApiResponse

logger = logging.getLogger(__name__)

PIN_COOKIE = "cb_read_primary"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# What the replica knows of its own freshness, in one round trip (clock_timestamp(): the
# standby's own clock for both ages, so no skew between servers enters): whether it is a standby
# at all, whether everything it received has been replayed, the age of the last replayed commit,
# its WAL receiver's status and how long ago it last heard from the primary. The receiver's
# columns are NULL for a role without pg_read_all_stats (only its pid shows): "hidden".
LAG_SQL = (
    "SELECT pg_is_in_recovery(), "
    "COALESCE(pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), false), "
    "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8, "
    "r.status, "
    "EXTRACT(EPOCH FROM clock_timestamp() - r.last_msg_receipt_time)::float8, "
    "r.pid IS NOT NULL AND r.status IS NULL "
    "FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS r ON true"
)


@dataclass(frozen=True)
class ReplicaSample:
    """One reading of :data:`LAG_SQL`."""

    in_recovery: bool
    replayed_all_received: bool
    replay_age: float | None  # seconds since the last replayed commit was made; None: none yet
    receiver_status: str | None  # pg_stat_wal_receiver.status; None: no WAL receiver running
    receipt_age: float | None  # seconds since the last message (WAL or keepalive) from the primary
    receiver_hidden: bool = False


def replica_lag_of(sample: ReplicaSample) -> float:
    """How stale reads from the standby may be, in seconds (``inf``: unknown, so too stale).

    A standby is only as fresh as the last thing it heard from its primary: one whose WAL
    receiver is not streaming (disconnected, retrying, primary unreachable) has replayed all it
    received and would otherwise look caught up forever. So the bound is the larger of the age
    of the last message received (WAL or the primary's keepalive answers, which come at least
    every ``wal_receiver_timeout``/2 while the link is up) and, while received WAL waits for
    replay, the age of the last replayed commit. Nothing waiting is no replay lag: an idle
    primary does not make a caught-up standby look late.
    """
    if not sample.in_recovery:  # not a standby: as fresh as the primary it is
        return 0.0
    if sample.receiver_status != "streaming" or sample.receipt_age is None:
        return float("inf")
    if sample.replayed_all_received:
        replay = 0.0
    elif sample.replay_age is None:  # WAL received but no commit replayed yet: unknown
        replay = float("inf")
    else:
        replay = sample.replay_age
    return max(replay, sample.receipt_age, 0.0)


_stale_reads: ContextVar[bool] = ContextVar("replica_stale_reads", default=False)
_pinned: ContextVar[bool] = ContextVar("replica_pinned", default=False)
_routed: ContextVar[tuple[str, ...]] = ContextVar("replica_routed", default=())


def replica_aliases() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", []))


# --- Health, per process --------------------------------------------------------------------------


@dataclass
class _Health:
    sampled_at: float = float("-inf")
    lag: float | None = None
    down_until: float = float("-inf")


_health: dict[str, _Health] = {}
_sampling = threading.Lock()


def _state(alias: str) -> _Health:
    return _health.setdefault(alias, _Health())


def replica_mark_down(alias: str, error: BaseException | None = None) -> None:
    """Leave ``alias`` alone for ``REPLICA_RETRY_SECONDS`` (this process)."""
    _state(alias).down_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
    logger.warning("replica %s is unavailable, reading the primary: %r", alias, error)
    with contextlib.suppress(DatabaseError):  # closing what is already broken
        connections[alias].close()


def replica_sample(alias: str) -> ReplicaSample:
    """What ``alias`` says of its own freshness (see :data:`LAG_SQL`)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(LAG_SQL)
        row = cursor.fetchone()
    return ReplicaSample(*row)


_hidden_warned: set[str] = set()


def replica_lag_measure(alias: str) -> float:
    """Seconds ``alias`` may be behind its primary, as the replica sees it."""
    if connections[alias].vendor != "postgresql":  # a test mirror is the primary itself
        return 0.0
    sample = replica_sample(alias)
    if sample.receiver_hidden and alias not in _hidden_warned:
        _hidden_warned.add(alias)
        logger.warning(
            "replica %s hides its WAL receiver from this role: it is never read; "
            "GRANT pg_read_all_stats (or pg_monitor) to it",
            alias,
        )
    return replica_lag_of(sample)


def _lag(alias: str, state: _Health, now: float) -> float | None:
    """The cached sample, renewed by one thread at a time when older than the sample period."""
    if now - state.sampled_at < settings.REPLICA_LAG_SAMPLE_SECONDS or not _sampling.acquire(
        blocking=False
    ):
        return state.lag
    try:
        state.lag = replica_lag_measure(alias)
        state.sampled_at = now
    finally:
        _sampling.release()
    return state.lag


def replica_usable(alias: str) -> bool:
    """Whether reads may go to ``alias`` now: not marked down, lag within the bound, and this
    thread's connection to it open (connecting now if need be, after Django's once-per-request
    health check of a kept connection)."""
    state = _state(alias)
    now = time.monotonic()
    if now < state.down_until:
        return False
    try:
        connection = connections[alias]
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        lag = _lag(alias, state, now)
    except DatabaseError as error:
        replica_mark_down(alias, error)
        return False
    return lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS


def replica_health_forget() -> None:
    """Forget every sample and mark (tests)."""
    _health.clear()
    _hidden_warned.clear()


# --- Routing -------------------------------------------------------------------------------------


def replica_for_read() -> str | None:
    """The replica this read may go to, or None for the primary."""
    if not _stale_reads.get() or _pinned.get():
        return None
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return None
    routed = _routed.get()
    aliases = replica_aliases()
    if len(aliases) > 1:
        aliases = random.sample(aliases, len(aliases))  # spreading load, not secrets
    # One replica per block while it serves: two standbys at different points would otherwise
    # let one block's reads mix two moments (a revision from one, the rows from the other).
    for alias in (*routed, *aliases):
        if replica_usable(alias):
            if alias not in routed:
                _routed.set((*routed, alias))
            return alias
    return None


class ReplicaRouter:
    """Django's database router for the replicas (installed only when there are some)."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return replica_for_read() or DEFAULT_DB_ALIAS

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # Every alias is the same database, some of it a little behind.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


# --- Opting in -----------------------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


class _ReplicaReads:
    """``with replica_reads():`` or ``@replica_reads`` (see :func:`replica_reads`)."""

    def __init__(self) -> None:
        self._tokens: list[Any] = []

    def __enter__(self) -> None:
        self._tokens.append((_stale_reads.set(True), _routed.set(())))

    def __exit__(self, *exc: object) -> None:
        stale, routed = self._tokens.pop()
        _routed.reset(routed)
        _stale_reads.reset(stale)

    def __call__(self, view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not replica_aliases():
                return view(*args, **kwargs)
            stale, routed = _stale_reads.set(True), _routed.set(())
            try:
                return _rendered(view(*args, **kwargs))
            except (OperationalError, InterfaceError) as error:
                failed = [alias for alias in _routed.get() if not _answers(alias)]
                if not failed:
                    raise
                for alias in failed:
                    replica_mark_down(alias, error)
            finally:
                _routed.reset(routed)
                _stale_reads.reset(stale)
            # The replica went away mid-way: the same reads again, on the primary.
            return view(*args, **kwargs)

        return cast(F, wrapped)


def replica_reads(view: F | None = None) -> Any:
    """Reads that may be a little stale may go to a replica: as a decorator of a view (or a
    view's ``get``), which is run again on the primary if its replica fails mid-way, or as a
    context manager around a block. Only for code that reads: what it writes goes to the
    primary anyway, but a write must not be decided on something read from a replica."""
    reads = _ReplicaReads()
    return reads(view) if view is not None else reads


def _rendered(response: Any) -> Any:
    # A Django template response is rendered by the handler after the view returns, and its
    # lazy querysets would then read the primary: render it while the replica may serve it.
    # DRF's responses are rendered later on purpose (content negotiation), and their data has
    # been read by then.
    if isinstance(response, SimpleTemplateResponse) and not isinstance(response, ApiResponse):
        return response.render()
    return response


def _answers(alias: str) -> bool:
    connection = connections[alias]
    try:
        return connection.connection is not None and connection.is_usable()
    except DatabaseError:
        return False


# --- Pinning a visitor who wrote to the primary ---------------------------------------------------


class ReplicaPinMiddleware:
    """Reads the "read the primary" cookie into the request's context, and sets it after a
    request that may have written. Signed and timestamped: it pins for
    ``REPLICA_PIN_SECONDS`` and cannot be forged to last longer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not replica_aliases():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seconds = settings.REPLICA_PIN_SECONDS
        pinned = request.get_signed_cookie(PIN_COOKIE, default=None, max_age=seconds)
        token = _pinned.set(pinned is not None)
        try:
            response = self.get_response(request)
        finally:
            _pinned.reset(token)
        if request.method in UNSAFE_METHODS and response.status_code < 400:
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                max_age=seconds,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
