"""Run the benchmarks: ``python -m bench <command>``; see bench/README.md.

``all`` is ``make bench`` (10,000 and 1,000,000 accounts), ``quick`` is ``make bench-quick``
(200 accounts, 1 s runs; what tests/bench runs). Each benchmark writes
bench/results/<name>.json and prints a table. Commands that seed create their scratch database if
it is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .env import bench_env, database_url
from .util import RESULTS, ROOT, write_result


def _django(database: str) -> None:
    """Set Django up in this process on ``database`` with the bench keys."""
    os.environ.update(bench_env(database=database))
    import django

    django.setup()
    # Everything a request or a task would import, imported before anything is timed.
    from django.urls import get_resolver

    import creditbank.celery  # noqa: F401

    get_resolver().url_patterns  # noqa: B018


def _psql(sql: str, database: str = "postgres") -> str:
    url = database_url(database)
    result = subprocess.run(["psql", url, "-tAc", sql], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def database_prepare(database: str, *, fresh: bool, template: str = "") -> None:
    """Create (or, with ``fresh``, recreate) the scratch database and migrate it; with
    ``template`` (a migrated database nobody is connected to: the test suite's pristine copy,
    tests/migrated.py), recreate it as a copy of that instead of migrating one from nothing."""
    # Database names are the benchmark's own constants or the suite's, never input.
    exists = _psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'") == "1"  # noqa: S608
    if exists and (fresh or template):
        _psql(f'DROP DATABASE "{database}" WITH (FORCE)')
        exists = False
    if template:
        _psql(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        return
    if not exists:
        _psql(f'CREATE DATABASE "{database}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=bench_env(database=database),
        check=True,
    )


def seeded_accounts(database: str) -> int:
    try:
        value = _psql(
            "SELECT count(*) FROM accounts_learningaccount WHERE number LIKE 'XF7%'", database
        )
    except subprocess.CalledProcessError:
        return 0
    return int(value or 0)


def seed_step(
    database: str,
    accounts: int,
    results: Path,
    out: Callable[[str], None],
    *,
    fresh: bool,
    template: str = "",
) -> None:
    """Seed ``database`` afresh with ``accounts`` accounts; unless ``fresh``, a database that
    already holds them is used as it is (seeding 1,000,000 takes a while). With ``template``,
    the database is seeded afresh on a copy of that migrated one (:func:`database_prepare`)."""
    if not fresh and not template and seeded_accounts(database) == accounts:
        out(f"{database}: {accounts:,} seeded accounts already there")
        # Migrations added since it was seeded (a new column) apply to the seeded rows too.
        database_prepare(database, fresh=False)
        return
    database_prepare(database, fresh=True, template=template)
    out(f"seeding {database} with {accounts:,} accounts")
    json_path = results / f"seed_{accounts}.json"
    results.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "bench_seed",
            "--accounts",
            str(accounts),
            "--json",
            str(json_path),
        ],
        cwd=ROOT,
        env=bench_env(database=database),
        check=True,
    )
    figures = json.loads(json_path.read_text())
    write_result(f"seed_{accounts}", figures, results=results)


def http_step(
    database: str,
    accounts: int,
    *,
    seconds: int,
    connections: int,
    workers: int,
    results: Path,
    out: Callable[[str], None],
) -> dict[str, Any]:
    from . import web

    out(f"HTTP at {accounts:,} accounts ({seconds} s per endpoint, {connections} connections)")
    figures = web.run(
        database=database,
        accounts=accounts,
        seconds=seconds,
        connections=connections,
        workers=workers,
        out=out,
    )
    write_result(f"http_{accounts}", figures, results=results)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fixtures", help="(internal) sessions, token and serial as JSON")
    p.add_argument("--accounts", type=int, required=True)
    for name in ("quick", "all"):
        p = sub.add_parser(name)
        p.add_argument("--results", type=Path, default=RESULTS)
        p.add_argument("--only", default="", help="comma-separated: seed,http,sweep,...")
        p.add_argument(
            "--template",
            default="",
            help="a migrated database to copy instead of migrating a scratch one (the suite's)",
        )
    p = sub.add_parser("job", help="(internal) one background-work benchmark, JSON out")
    p.add_argument("name", choices=["sweep", "import", "pdf", "transfers", "whatif"])
    p.add_argument("--database", required=True)
    p.add_argument("--options", default="{}")
    p = sub.add_parser("table", help="the latest results as Markdown tables")
    p.add_argument("--results", type=Path, default=RESULTS)
    p = sub.add_parser("http")
    p.add_argument("--accounts", type=int, required=True)
    p.add_argument("--database", required=True)
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    if args.command == "fixtures":
        _django(os.environ["DATABASE_URL"].rsplit("/", 1)[1])
        from django.db import transaction

        from .fixtures import bench_fixtures

        with transaction.atomic():
            print(json.dumps(bench_fixtures(accounts=args.accounts)))
        return 0
    if args.command == "table":
        from .report import table

        print(table(args.results))
        return 0
    if args.command == "job":
        _django(args.database)
        from . import jobs

        runs: dict[str, Callable[..., dict[str, Any]]] = {
            "sweep": jobs.sweep,
            "import": jobs.import_members,
            "pdf": jobs.pdfs,
            "transfers": jobs.transfers,
            "whatif": jobs.whatif,
        }
        print(json.dumps(runs[args.name](**json.loads(args.options))))
        return 0
    if args.command == "http":
        http_step(
            args.database,
            args.accounts,
            seconds=args.seconds,
            connections=args.connections,
            workers=args.workers,
            results=args.results,
            out=print,
        )
        return 0
    from .suite import suite

    return suite(
        quick=args.command == "quick", results=args.results, only=args.only, template=args.template
    )


if __name__ == "__main__":
    sys.exit(main())
