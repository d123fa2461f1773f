"""What the read-replica router costs (common/replicas.py), in this process's CPU time: the same
small query run many times

- ``no router``: as without ``DATABASE_REPLICA_URLS`` (no router installed);
- ``router, primary``: the router installed, the read outside ``replica_reads`` (every write and
  every read that did not opt in pays this);
- ``router, replica``: inside ``replica_reads``, routed to the replica (the decision, the cached
  lag sample, the connection check), sampling the lag at the default period;

and, per request, what ``ReplicaPinMiddleware`` adds (reading and checking the signed cookie,
setting it after a write). The "replica" is a second connection to the same database (its lag
query answers 0 on a primary), so the figures are the router's and not a standby's.

    python -m bench.replicas --database-url postgres://postgres@127.0.0.1:5432/cb_bench
        [--queries 2000]

The database needs the portal's tables (a migrated one: the test database, a bench seed).
Process CPU time, so a busy machine inflates it less than wall time; compare the rows of one
run, not runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DATABASE_REPLICA_URLS"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditbank.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _cpu_per_call(function: Any, count: int) -> float:
    """Microseconds of process CPU per call (best of three runs)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(count):
            function()
        best = min(best, time.process_time() - started)
    return best / count * 1e6


def measure(queries: int) -> dict[str, float]:
    from django.db import connections, router
    from django.http import HttpRequest, HttpResponse
    from django.test import override_settings

    from accounts.models import Centre
    from common.replicas import ReplicaPinMiddleware, replica_reads

    def read() -> None:
        list(Centre.objects.filter(pk=0))

    for alias in ("default", "replica_1"):
        connections[alias].ensure_connection()
    figures: dict[str, float] = {}

    def no_router() -> float:
        with override_settings(DATABASE_ROUTERS=[]):
            return _cpu_per_call(read, queries // 5)

    def replica() -> float:
        with replica_reads():
            assert Centre.objects.all().db == "replica_1"
            return _cpu_per_call(read, queries // 5)

    # Interleaved, best of five rounds: the machine's drift hits the three alike.
    rounds = [(no_router(), _cpu_per_call(read, queries // 5), replica()) for _ in range(5)]
    for index, name in enumerate(("no router", "router, primary", "router, replica")):
        figures[f"query, {name} (µs CPU)"] = min(row[index] for row in rounds)
    figures["decision alone, primary (µs CPU)"] = _cpu_per_call(
        lambda: router.db_for_read(Centre), queries * 25
    )
    with replica_reads():
        figures["decision alone, replica (µs CPU)"] = _cpu_per_call(
            lambda: router.db_for_read(Centre), queries * 25
        )

    middleware = ReplicaPinMiddleware(lambda request: HttpResponse())
    signed = HttpResponse()
    signed.set_signed_cookie("cb_read_primary", "1")

    def request(method: str, cookie: bool) -> None:
        incoming = HttpRequest()
        incoming.method = method
        if cookie:
            incoming.COOKIES["cb_read_primary"] = signed.cookies["cb_read_primary"].value
        middleware(incoming)

    def bare(method: str) -> None:
        incoming = HttpRequest()
        incoming.method = method
        HttpResponse()

    floor = _cpu_per_call(lambda: bare("GET"), queries)
    figures["middleware, GET without cookie (µs CPU)"] = (
        _cpu_per_call(lambda: request("GET", False), queries) - floor
    )
    figures["middleware, GET pinned (µs CPU)"] = (
        _cpu_per_call(lambda: request("GET", True), queries) - floor
    )
    figures["middleware, POST setting the cookie (µs CPU)"] = (
        _cpu_per_call(lambda: request("POST", False), queries) - floor
    )
    return {name: round(value, 2) for name, value in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("needs a migrated PostgreSQL database: --database-url postgres://...")
    _setup(args.database_url)
    figures = measure(args.queries)
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:8.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
