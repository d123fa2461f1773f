"""HTTP throughput and latency: gunicorn with the production settings on a seeded database,
wrk on loopback at a fixed concurrency and duration, each endpoint beside the floor (a view
that returns a few bytes without touching the database, through the same middleware) measured
in the same run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .env import bench_env, production_prepare
from .util import ROOT, free_port

WRK_SCRIPT = Path(__file__).parent / "wrk" / "report.lua"
# Throttles are per client address and every wrk connection comes from 127.0.0.1; the portal
# reads their rates from the environment, so they are raised for the run (the figures are of
# the work behind the throttle, not of the 429 answer). Per second, not per minute: a throttle
# keeps the time of every request of its window and reads and writes that list whole on each
# request, so a minute's window at the benchmark's speed held ~10,000 entries (0.36 ms a check
# against 0.23 ms empty), a cost the real rates (30 and 300 a minute) never reach; a second's
# window holds one second's requests.
UNTHROTTLED = {
    "THROTTLE_VERIFY_RATE": "100000000/s",
    "THROTTLE_ANON_RATE": "100000000/s",
}
# Floor targets: the endpoint's req/s divided by the floor's must reach these (issue 8).
TARGETS = {
    "accounts_me": 0.35,
    "verify": 0.35,
    "dashboard": 0.2,
    "file": 0.2,
    "queue": 0.2,
}


def endpoints(f: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(name, path, extra headers) of each endpoint, the floor first."""
    learner = [f"Cookie: {f['learner_cookie']}"]
    return [
        ("floor", "/bench/floor/", []),
        ("dashboard", "/", learner),
        ("accounts_me", "/api/v1/accounts/me/", [f"Authorization: Token {f['learner_token']}"]),
        ("file", "/file/", learner),
        ("queue", "/centre/queue/?ordering=due_on", [f"Cookie: {f['reviewer_cookie']}"]),
        ("catalogue", "/catalogue/?q=" + urllib.parse.quote(f["catalogue_query"]), []),
        ("verify", f"/verify/{f['serial']}/", []),
    ]


def fixtures_start(*, database: str, accounts: int) -> subprocess.Popen[str]:
    """The sessions, token and serial the endpoints need, made by a process of their own;
    :func:`fixtures_read` waits for them (gunicorn starts meanwhile)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench", "fixtures", "--accounts", str(accounts)],
        cwd=ROOT,
        env=bench_env(database=database),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def fixtures_read(process: subprocess.Popen[str]) -> dict[str, Any]:
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, process.args, stdout, stderr)
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def fixtures(*, database: str, accounts: int) -> dict[str, Any]:
    return fixtures_read(fixtures_start(database=database, accounts=accounts))


class Gunicorn:
    """gunicorn on a free loopback port, production settings, the floor view switched on."""

    def __init__(self, *, database: str, workers: int) -> None:
        self.port = free_port()
        env = bench_env(
            database=database, production=True, CREDITBANK_BENCH_FLOOR="1", **UNTHROTTLED
        )
        # Production serves hashed static files from the manifest collectstatic writes, and
        # the Chinese pages from the compiled catalogue.
        production_prepare(env)
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.process = subprocess.Popen(
            [
                gunicorn,
                "creditbank.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited during start-up")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def wrk(url: str, headers: list[str], *, seconds: int, connections: int) -> dict[str, Any]:
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    # The portal redirects plain HTTP to HTTPS; the production settings trust X-Forwarded-Proto
    # from the TLS-terminating proxy in front of it, which is what this header stands for.
    args = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    args += ["-s", str(WRK_SCRIPT), "-H", "X-Forwarded-Proto: https"]
    for header in headers:
        args += ["-H", header]
    result = subprocess.run([*args, url], capture_output=True, text=True, check=True)
    line = [x for x in result.stdout.splitlines() if x.startswith("{")][-1]
    return dict(json.loads(line))


def warm_up(url: str, headers: list[str], *, requests: int) -> None:
    # Our own gunicorn on loopback.
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})  # noqa: S310
    for header in headers:
        name, value = header.split(": ", 1)
        request.add_header(name, value)
    for _ in range(requests):
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            response.read()


def run(
    *,
    database: str,
    accounts: int,
    seconds: int,
    connections: int,
    workers: int,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    pending = fixtures_start(database=database, accounts=accounts)
    try:
        server = Gunicorn(database=database, workers=workers)
    except BaseException:
        pending.kill()
        pending.wait()
        raise
    rows: dict[str, Any] = {}
    try:
        f = fixtures_read(pending)
        targets = endpoints(f)
        for _name, path, headers in targets:  # warm-up: each worker's imports and templates
            warm_up(server.base + path, headers, requests=2 * workers)
        floors = []
        for name, path, headers in [*targets, targets[0]]:
            measured = wrk(server.base + path, headers, seconds=seconds, connections=connections)
            if name == "floor":
                floors.append(measured["rps"])
                if "floor" in rows:
                    rows["floor_again"] = measured
                    continue
            rows[name] = measured
            out(
                f"  {name:<12} {measured['rps']:8.1f} req/s  p50 {measured['p50_us'] / 1000:7.1f}"
                f" ms  p95 {measured['p95_us'] / 1000:7.1f} ms  p99 "
                f"{measured['p99_us'] / 1000:7.1f} ms  non-2xx {measured['non_2xx']}"
            )
    finally:
        server.stop()
    floor = sum(floors) / len(floors)
    for name, row in rows.items():
        row["ratio_to_floor"] = round(row["rps"] / floor, 3)
        if name in TARGETS:
            row["target_ratio"] = TARGETS[name]
            row["target_met"] = row["ratio_to_floor"] >= TARGETS[name]
    failed = [n for n, r in rows.items() if r["non_2xx"] or r["socket_errors"]]
    return {
        "accounts": accounts,
        "seconds": seconds,
        "connections": connections,
        "gunicorn_workers": workers,
        "floor_rps": round(floor, 1),
        "endpoints": rows,
        "endpoints_with_errors": failed,
    }
