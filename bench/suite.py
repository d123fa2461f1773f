"""``make bench`` and ``make bench-quick``: every benchmark in order, one results file each, and
a table at the end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .env import (
    bench_env,
    database_url,
    pdf_signing_env,
    production_prepare,
    production_prepare_start,
)
from .util import ROOT, write_result


@dataclass(frozen=True)
class Plan:
    scales: dict[int, str]  # accounts -> database
    jobs_database: str
    jobs_accounts: int
    http_seconds: int
    http_connections: int
    import_rows: int
    import_rows_large: int  # 0: not run
    pdfs: int
    transfer_clients: int
    transfers_per_client: int
    pgbench_seconds: int
    pgbench_scale: int
    whatif_learners: int


# What tests/bench runs so that the benchmarks do not rot: every step, small. It proves the
# pipeline runs end to end (seed, HTTP, sweep, PDFs, transfers, import), not figures, so its sizes
# need only give every step something to do (it had 1,000 accounts, 2 s per endpoint and 500
# import rows: ~30 s more of the suite for nothing more proved).
QUICK = Plan(
    scales={200: "cb_bench_quick"},
    jobs_database="cb_bench_quick",
    jobs_accounts=200,
    http_seconds=1,
    http_connections=2,
    import_rows=100,
    import_rows_large=0,
    pdfs=2,
    transfer_clients=2,  # each client is a process that starts Django: two still race
    transfers_per_client=4,
    pgbench_seconds=1,
    pgbench_scale=1,
    whatif_learners=5,
)
FULL = Plan(
    scales={10_000: "cb_bench_10k", 1_000_000: "cb_bench_1m"},
    jobs_database="cb_bench_jobs",
    jobs_accounts=3_000,
    http_seconds=15,
    http_connections=8,
    import_rows=100_000,
    import_rows_large=1_000_000,
    pdfs=50,
    transfer_clients=8,
    transfers_per_client=50,
    pgbench_seconds=15,
    pgbench_scale=10,
    whatif_learners=200,
)


def out(text: str) -> None:
    print(text, flush=True)


def job(database: str, name: str, *, production: bool = True, **options: Any) -> dict[str, Any]:
    """Run bench.jobs.<name> in a process of its own (peak memory is that process's); with
    ``production``, under production settings (DEBUG off) as a deployed worker runs."""
    args = [sys.executable, "-m", "bench", "job", name, "--database", database]
    args += ["--options", json.dumps(options)]
    # Production settings, as the Celery workers run: DEBUG off (with it on, Django keeps the
    # text of every query, bulk INSERTs included).
    env = bench_env(database=database)
    if production:
        env = bench_env(database=database, production=True, **pdf_signing_env())
        production_prepare(env)
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"job {name} failed:\n{result.stderr[-4000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def pgbench(*, seconds: int, clients: int, scale: int, database: str) -> dict[str, Any]:
    """pgbench's built-in TPC-B-like script against the same server, in the same run."""
    url = urlparse(database_url(database))
    connect = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432)]
    connect += ["-U", url.username or "postgres"]
    env = bench_env(database=database)
    if url.password:
        env["PGPASSWORD"] = url.password
    subprocess.run(
        [
            "psql",
            *connect,
            "-d",
            "postgres",
            "-qc",
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["psql", *connect, "-d", "postgres", "-qc", f'CREATE DATABASE "{database}"'],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["pgbench", *connect, "-i", "-q", "-s", str(scale), database],
        env=env,
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        ["pgbench", *connect, "-c", str(clients), "-j", "2", "-T", str(seconds), database],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps:\n{result.stdout}")
    return {"clients": clients, "scale": scale, "seconds": seconds, "tps": float(match[1])}


def suite(*, quick: bool, results: Path, only: str = "", template: str = "") -> int:
    from .__main__ import http_step, seed_step

    plan = QUICK if quick else FULL
    steps = set(only.split(",")) if only else None

    def wanted(step: str) -> bool:
        return steps is None or step in steps

    summary: dict[str, Any] = {}
    started = time.perf_counter()
    # The static files and catalogues of the production settings are made while the first
    # database is seeded (the HTTP step and the jobs wait for them where they need them).
    first = next(iter(plan.scales.values()))
    if any(wanted(s) for s in ("http", "pdf", "sweep", "whatif", "transfers", "import")):
        production_prepare_start(bench_env(database=first, production=True))
    for accounts, database in plan.scales.items():
        if wanted("seed"):
            seed_step(database, accounts, results, out, fresh=quick, template=template)
        if wanted("http"):
            summary[f"http_{accounts}"] = http_step(
                database,
                accounts,
                seconds=plan.http_seconds,
                connections=plan.http_connections,
                workers=2,
                results=results,
                out=out,
            )
        if wanted("sweep"):
            figures = job(database, "sweep")
            figures["accounts"] = accounts
            write_result(f"sweep_{accounts}", figures, results=results)
            summary[f"sweep_{accounts}"] = figures
            out(
                f"sweep at {accounts:,} accounts: {figures['open_applications']:,} open, "
                f"{figures['reminded'] + figures['escalated']:,} notified in "
                f"{figures['first_sweep_seconds']} s; second sweep: "
                f"{figures['second_sweep_reminded'] + figures['second_sweep_escalated']}"
            )
        if wanted("whatif"):
            figures = job(database, "whatif", programmes=200, learners=plan.whatif_learners)
            figures["accounts"] = accounts
            write_result(f"whatif_{accounts}", figures, results=results)
            summary[f"whatif_{accounts}"] = figures
            out(
                f"what-if at {accounts:,} accounts over {figures['programmes']} programmes: "
                f"{figures['queries_max']} queries, {figures['cpu_ms_median']} ms CPU "
                f"(median of {figures['learners']} learners)"
            )
    jobs_db = plan.jobs_database
    if any(wanted(s) for s in ("pdf", "transfers", "import")) and jobs_db not in (
        plan.scales.values()
    ):
        from .__main__ import database_prepare

        database_prepare(jobs_db, fresh=True, template=template)
        subprocess.run(
            [sys.executable, "manage.py", "bench_seed", "--accounts", str(plan.jobs_accounts)],
            cwd=ROOT,
            env=bench_env(database=jobs_db),
            check=True,
            capture_output=True,
        )
    if wanted("pdf"):
        figures = job(jobs_db, "pdf", production=True, count=plan.pdfs)
        write_result("certificate_pdfs", figures, results=results)
        summary["certificate_pdfs"] = figures
        out(
            f"certificate PDFs: {figures['pdfs_per_second']}/s in one process, "
            f"mean {figures['mean_pdf_bytes']:,} bytes"
        )
    if wanted("transfers"):
        figures = job(
            jobs_db,
            "transfers",
            clients=plan.transfer_clients,
            per_client=plan.transfers_per_client,
        )
        floor = pgbench(
            seconds=plan.pgbench_seconds,
            clients=plan.transfer_clients,
            scale=plan.pgbench_scale,
            database=jobs_db + "_pgbench",
        )
        figures["pgbench"] = floor
        figures["ratio_to_pgbench"] = round(figures["transfers_per_second"] / floor["tps"], 3)
        figures["target_ratio"] = 0.25
        figures["target_met"] = figures["ratio_to_pgbench"] >= 0.25
        write_result("transfers", figures, results=results)
        summary["transfers"] = figures
        out(
            f"transfers: {figures['transfers_per_second']}/s with {figures['clients']} clients;"
            f" pgbench {floor['tps']:.0f} tps; ratio {figures['ratio_to_pgbench']}"
        )
    if wanted("import"):
        imports = {"collective_import": plan.import_rows}
        if plan.import_rows_large:
            imports["collective_import_large"] = plan.import_rows_large
        for key, rows in imports.items():
            figures = job(jobs_db, "import", rows=rows)
            write_result(key, figures, results=results)
            summary[key] = figures
            out(
                f"collective import: {figures['rows']:,} rows at {figures['rows_per_second']:,}"
                f" rows/s, peak {figures['peak_rss_mb']} MB"
            )
    out(f"done in {time.perf_counter() - started:.0f} s; results in {results}")
    return 0
