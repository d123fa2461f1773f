"""The long API fuzzing run (``make fuzz``, issue 9).

Creates a scratch PostgreSQL database, migrates it and loads the demo data, starts gunicorn on a
free port of 127.0.0.1 against it (throttles and the login lockout relaxed through their
environment variables, so that the run measures the API rather than its rate limits), signs every
role in through POST /api/v1/auth/token/ (staff with a TOTP code), loads the schema from the
server's /api/v1/schema/, and fuzzes every operation with the checks of tests/security/fuzzing.py:

1. a pilot of ``--pilot`` valid examples per operation and role, to find which roles the
   operation matters for: those that got past authentication and permission (any answer but
   401/403); the pilot of the other roles shows they are refused;
2. rounds of more examples (half valid, half invalid by the schema) for each operation and
   role it matters for, up to 20, 100, 400 and then ``--examples`` (default 1,000) in all.
   With ``--budget-minutes``, no new operation is started once the budget is spent, so every
   operation has been fuzzed alike as far as the run got (the summary says how far).

Prints a summary and writes it to var/fuzz/summary.json (and each failure, with a curl command
that reproduces it, to var/fuzz/failures.txt). Exit status 1 when anything failed.

Environment: DATABASE_URL names the PostgreSQL server (the scratch database is
``<its name>_scratch`` unless FUZZ_DATABASE_URL names one; it is dropped and created again),
REDIS_URL optional.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

RELAXED = {
    "THROTTLE_TOKEN_RATE": "100000/min",
    "THROTTLE_REGISTER_RATE": "100000/min",
    "THROTTLE_ANON_RATE": "100000/min",
    "THROTTLE_VERIFY_RATE": "100000/min",
    "LOGIN_FAILURE_LIMIT": "100000",
}


def scratch_database_url() -> str:
    explicit = os.environ.get("FUZZ_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("make fuzz needs PostgreSQL: set DATABASE_URL (or FUZZ_DATABASE_URL)")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_scratch"))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server exited with {process.returncode}")
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    sys.exit("the server did not come up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--pilot", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--only", default="", help="fuzz only operations containing this")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=0,
        help="after this long, the remaining operations get the pilot only (0: no limit)",
    )
    parser.add_argument("--out", default=str(ROOT / "var" / "fuzz"))
    args = parser.parse_args()

    database_url = scratch_database_url()
    env = {
        **os.environ,
        **RELAXED,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "VAR_DIR": str(Path(args.out) / "state"),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    python = sys.executable
    recreate_database(database_url)
    subprocess.run(  # noqa: S603 - our own manage.py
        [python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    subprocess.run(  # noqa: S603
        [python, "manage.py", "seed_demo"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server_log = (out / "server.log").open("w")
    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(python).parent / "gunicorn"),
            "creditbank.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(base_url, server)
        return fuzz(args, base_url, out)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def fuzz(args: argparse.Namespace, base_url: str, out: Path) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditbank.settings")
    django.setup()
    import requests
    import schemathesis

    from tests.security import fuzzing

    def post_token(body: dict[str, str]) -> str:
        response = requests.post(base_url + "/api/v1/auth/token/", json=body, timeout=30)
        response.raise_for_status()
        return str(response.json()["token"])

    headers = fuzzing.role_credentials(post_token)
    schema = schemathesis.openapi.from_url(base_url + "/api/v1/schema/")
    operations = [op for op in fuzzing.operations(schema) if args.only in op.label]
    started = time.monotonic()
    budget = args.budget_minutes * 60
    results: dict[tuple[str, str], fuzzing.Outcome] = {}
    matters: dict[tuple[str, str], bool] = {}
    reached: dict[tuple[str, str], int] = {}

    # Round 1: the pilot, every operation as every role.
    for operation in operations:
        for role in fuzzing.ROLES:
            key = (operation.label, role)
            results[key], matters[key] = fuzzing.fuzz_operation_as_role(
                operation,
                role=role,
                headers=headers[role],
                pilot=args.pilot,
                examples=0,
                base_url=base_url,
                seed=args.seed,
            )
            reached[key] = 0
        _print_row(operation.label, results, matters, reached, "pilot")

    # Then rounds of more examples for the roles each operation matters for, up to
    # --examples, so that a budget that runs out leaves every operation fuzzed alike.
    steps = [s for s in (20, 100, 400) if s < args.examples] + [args.examples]
    for round_number, target in enumerate(steps, start=2):
        for operation in operations:
            if budget and time.monotonic() - started > budget:
                break
            for role in fuzzing.ROLES:
                key = (operation.label, role)
                if not matters[key]:
                    continue
                more = fuzzing.fuzz_operation(
                    operation,
                    role=role,
                    headers=headers[role],
                    max_examples=max(1, (target - reached[key]) // 2),
                    base_url=base_url,
                    seed=args.seed + round_number,
                )
                results[key].merge(more)
                reached[key] = target
            _print_row(operation.label, results, matters, reached, f"round {round_number}")

    total = fuzzing.Outcome()
    rows = []
    for operation in operations:
        row: dict = {"operation": operation.label, "roles": {}}
        for role in fuzzing.ROLES:
            key = (operation.label, role)
            result = results[key]
            total.merge(result)
            row["roles"][role] = {
                "examples": result.examples,
                "matters": matters[key],
                "target_reached": reached[key],
                "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
                "failures": len(result.failures),
            }
        row["examples"] = sum(r["examples"] for r in row["roles"].values())
        rows.append(row)
    elapsed = time.monotonic() - started
    summary = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "operations": len(operations),
        "roles": list(fuzzing.ROLES),
        "examples_per_operation_and_role": args.examples,
        "pilot_examples": args.pilot,
        "operations_with_full_run": sum(
            any(r["target_reached"] >= args.examples for r in row["roles"].values()) for row in rows
        ),
        "examples_tried": total.examples,
        "statuses": {str(k): v for k, v in sorted(total.statuses.items())},
        "failures": len(total.failures),
        "seconds": round(elapsed),
        "requests_per_second": round(total.examples / elapsed, 1) if elapsed else None,
        "per_operation": rows,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    (out / "failures.txt").write_text(fuzzing.report(total, limit=10_000) + "\n")
    print(
        f"\nAPI fuzzing: {summary['operations']} operations x {len(fuzzing.ROLES)} roles, "
        f"{summary['examples_tried']} examples in {summary['seconds']} s "
        f"({summary['requests_per_second']}/s), {summary['failures']} distinct failures.\n"
        f"Statuses: {summary['statuses']}\nSummary: {out / 'summary.json'}; "
        f"failures: {out / 'failures.txt'}"
    )
    return 1 if total.failures else 0


def _print_row(
    label: str,
    results: dict,
    matters: dict,
    reached: dict,
    stage: str,
) -> None:
    keys = [key for key in results if key[0] == label]
    examples = sum(results[key].examples for key in keys)
    failures = sum(len(results[key].failures) for key in keys)
    roles = ", ".join(key[1] for key in keys if matters[key]) or "-"
    line = f"{stage:8s} {examples:6d} examples {failures:3d} failures  {label}  ({roles})"
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
