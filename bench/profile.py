"""Where a request's time goes, in process: each HTTP endpoint of ``bench/web.py`` called through
Django's WSGI handler with the production settings on a seeded database, one request at a
time, its time split into

- ``auth``: loading the session and the user (``auth.get_user``), knox's token check and the
  second factor's device (everything a signed-in request pays before its view),
- ``queries``: building and running SQL (``SQLCompiler.execute_sql``, the connection's health
  check), wherever it is called from (a lazy query run by a template counts here),
- ``templates``: rendering templates, less the queries they run,
- ``view``: everything else (middleware, URL resolution, the view's Python, serializers).

The split is exclusive: a stack of categories charges each moment to the innermost one. The
categories are the Python process's own CPU time in milliseconds per request (``cpu_ms`` is
their sum, the whole process); ``sql_wall_ms`` is the wall-clock time spent waiting for the
database's answers (PostgreSQL's share, and on a loaded machine its waiting too). A busy
machine inflates all of it: compare endpoints with the floor of the same run.

    python -m bench.profile --database cb_bench_10k --accounts 10000 [--requests 200]
        [--cprofile dashboard]
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import os
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .env import bench_env

CATEGORIES = ("auth", "queries", "templates", "view")


class Clock:
    """Charges elapsed time to the innermost open category."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.stack: list[str] = []
        self.last = time.thread_time()

    def _charge(self) -> None:
        now = time.thread_time()
        self.totals[self.stack[-1] if self.stack else "view"] += now - self.last
        self.last = now

    def wrap(self, category: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._charge()
            # What signing in costs includes its queries (the session row, the user).
            self.stack.append("auth" if "auth" in self.stack else category)
            try:
                return function(*args, **kwargs)
            finally:
                self._charge()
                self.stack.pop()

        return timed

    def reset(self) -> None:
        self.totals.clear()
        self.stack.clear()
        self.last = time.thread_time()


def _instrument(clock: Clock) -> None:
    import django.contrib.auth
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler
    from django.template.base import Template
    from django_otp.middleware import OTPMiddleware
    from knox.auth import TokenAuthentication

    django.contrib.auth.get_user = clock.wrap("auth", django.contrib.auth.get_user)
    TokenAuthentication.authenticate = clock.wrap("auth", TokenAuthentication.authenticate)
    OTPMiddleware._verify_user_sync = clock.wrap("auth", OTPMiddleware._verify_user_sync)
    SQLCompiler.execute_sql = clock.wrap("queries", SQLCompiler.execute_sql)  # type: ignore[method-assign]
    BaseDatabaseWrapper.close_if_health_check_failed = clock.wrap(  # type: ignore[method-assign]
        "queries", BaseDatabaseWrapper.close_if_health_check_failed
    )
    Template.render = clock.wrap("templates", Template.render)  # type: ignore[method-assign]


def _environ(path: str, headers: list[str]) -> dict[str, Any]:
    from django.test import RequestFactory

    extra = {"X-Forwarded-Proto": "https"}
    for header in headers:
        name, value = header.split(": ", 1)
        extra[name] = value
    return dict(RequestFactory().get(path, headers=extra, SERVER_NAME="127.0.0.1").environ)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--database", required=True)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--only", default="", help="comma-separated endpoint names")
    parser.add_argument("--sql", action="store_true", help="print each endpoint's statements")
    parser.add_argument("--cprofile", default="", help="print cProfile's top of this endpoint")
    args = parser.parse_args(argv)

    from .web import UNTHROTTLED, endpoints, fixtures

    f = fixtures(database=args.database, accounts=args.accounts)
    os.environ.update(
        bench_env(
            database=args.database, production=True, CREDITBANK_BENCH_FLOOR="1", **UNTHROTTLED
        )
    )
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    handler = WSGIHandler()
    clock = Clock()
    _instrument(clock)
    wanted = set(args.only.split(",")) if args.only else None
    rows: dict[str, dict[str, Any]] = {}
    statements: list[str] = []

    sql_wall = [0.0]

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_wall[0] += time.perf_counter() - started

    connection.execute_wrappers.append(count)

    def call(environ: dict[str, Any]) -> None:
        statuses: list[str] = []

        def start_response(status: str, headers: Any, *exc_info: Any) -> Any:
            statuses.append(status)

        body: Any = handler(dict(environ), start_response)
        b"".join(body)
        body.close()
        if not statuses[0].startswith("2"):
            raise RuntimeError(f"{environ['PATH_INFO']}: {statuses[0]}")

    for name, path, headers in endpoints(f):
        if wanted is not None and name not in wanted and name != "floor":
            continue
        environ = _environ(path, headers)
        for _ in range(3):  # warm-up: imports, templates, caches
            call(environ)
        statements.clear()
        call(environ)
        counted = len(statements)
        if args.sql:
            print(f"--- {name}", *(f"  {sql[:300]}" for sql in statements), sep="\n")
        clock.reset()
        sql_wall[0] = 0.0
        cpu, wall = time.process_time(), time.perf_counter()
        # CPU time, not the wall clock: on a shared machine the wall clock counts the waits too.
        profile = cProfile.Profile(time.thread_time) if name == args.cprofile else None
        if profile is not None:
            profile.enable()
        for _ in range(args.requests):
            call(environ)
        if profile is not None:
            profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        n = args.requests
        row = {c: round(clock.totals.get(c, 0.0) * 1000 / n, 3) for c in CATEGORIES}
        row["total_ms"] = round(wall * 1000 / n, 3)
        row["sql_wall_ms"] = round(sql_wall[0] * 1000 / n, 3)
        row["cpu_ms"] = round(cpu * 1000 / n, 3)
        row["n_queries"] = counted
        rows[name] = row
        print(
            f"{name:<12} total {row['total_ms']:7.2f} ms  cpu {row['cpu_ms']:7.2f}"
            f"  auth {row['auth']:6.2f}  queries {row['queries']:6.2f} ({row['n_queries']:>2})"
            f"  templates {row['templates']:6.2f}  view {row['view']:6.2f}"
            f"  (sql wall {row['sql_wall_ms']:6.2f})",
            flush=True,
        )
        if profile is not None:
            stream = io.StringIO()
            stats = pstats.Stats(profile, stream=stream)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(30)
            print(stream.getvalue())
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
