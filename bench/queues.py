"""Queues per kind (ADR 0025), measured: how long a deadline reminder waits while two data
exports are being made, with one pool of two worker processes taking every queue (the
deployment before ADR 0025) and with a worker per kind (docker-compose.yml); and what a worker
service costs in memory and a route in CPU.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench.queues --hold 10

Each export is held running for ``--hold`` seconds (the test-only ``--include
tests.creditbank.slow_export`` of tests/creditbank/test_queues.py), standing for an export of
a learner with a long history. The broker is a redis-server of the run's own; the database the
scratch ``cb_bench_queues``. Writes ``bench/results/queues.json``."""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, cast

from .__main__ import database_prepare
from .env import bench_env
from .util import write_result

DATABASE = "cb_bench_queues"
ONE_POOL = [["--concurrency", "2"]]
PER_KIND = [
    ["--queues", "exports", "--concurrency", "1"],
    ["--queues", "notifications,deadlines", "--concurrency", "1"],
]


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (the prefork pool), in KiB. Pages the
    children share with their parent after the fork are counted in each: an upper bound."""
    total = 0
    for status in [Path(f"/proc/{pid}/status")] + [
        Path(f"/proc/{child}/status")
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ]:
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


def run_setup(name: str, workers: list[list[str]], *, hold: float, redis_url: str) -> dict:
    from celery import Celery
    from django.conf import settings

    from accounts.models import Notification, Role, User
    from accreditation.calendar import local_date
    from creditbank.models import DataExport
    from tests.accounts.factories import CentreFactory, PersonalAccountFactory, UserFactory
    from tests.accreditation.factories import ApplicationFactory
    from tests.processes import CELERY, routed, stop

    today = local_date(datetime.datetime.now(datetime.UTC))
    centre = CentreFactory()
    reviewer = cast(User, UserFactory(role=Role.CENTRE_REVIEWER, centre=centre))
    application = ApplicationFactory(
        centre=centre,
        assigned_to=reviewer,
        remind_on=today,
        due_on=today + datetime.timedelta(days=5),
    )
    exports = [DataExport.objects.create(account=PersonalAccountFactory()) for _ in range(2)]
    scratch = Path(tempfile.mkdtemp(prefix="bench-queues-"))
    gate = scratch / "gate"
    env = bench_env(
        database=DATABASE,
        REDIS_URL=redis_url,
        VAR_DIR=str(scratch),
        SLOW_EXPORT_GATE=str(gate),
    )
    processes = []
    for number, options in enumerate(workers):
        log = scratch / f"worker{number}.log"
        named = ["--hostname", f"bench{number}@%h", "--include", "tests.creditbank.slow_export"]
        processes.append(
            subprocess.Popen(
                [CELERY, "--app", "creditbank", "worker", "--loglevel", "INFO", *options, *named],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
        )
    logs = [scratch / f"worker{number}.log" for number in range(len(workers))]
    try:
        if not wait_for(lambda: all("ready." in log.read_text() for log in logs), 120):
            raise RuntimeError(f"workers did not start: see {scratch}")
        client = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
        routed(client)
        for export in exports:
            client.send_task("creditbank.tasks.build_data_export", kwargs={"export_id": export.pk})
        running = DataExport.objects.filter(pk__in=[e.pk for e in exports], state="running")
        # Both held running in the one pool (it has two processes); one in the exports worker.
        expected = 2 if workers is ONE_POOL else 1
        if not wait_for(lambda: running.count() == expected, 60):
            raise RuntimeError(f"exports not running: see {scratch}")
        memory = {f"worker{number}": rss_kib(p.pid) for number, p in enumerate(processes)}
        opened: list[float] = []
        start = time.monotonic()

        def open_gate() -> None:
            time.sleep(hold)
            opened.append(time.monotonic())
            gate.touch()

        threading.Thread(target=open_gate, daemon=True).start()
        client.send_task("accreditation.tasks.deadline_sweep_task")
        emailed = Notification.objects.filter(
            kind=Notification.Kind.DEADLINE_REMINDER,
            recipient=reviewer,
            emailed_at__isnull=False,
            key__startswith=f"application:{application.pk}:",
        )
        if not wait_for(emailed.exists, hold + 120):
            raise RuntimeError(f"no reminder: see {scratch}")
        reminded = time.monotonic()
        before_release = not opened
        done = DataExport.objects.filter(pk__in=[e.pk for e in exports], state="ready")
        wait_for(lambda: done.count() == len(exports), hold * 2 + 120)
        return {
            "setup": name,
            "workers": [" ".join(options) for options in workers],
            "reminder_seconds": round(reminded - start, 2),
            "reminder_before_exports_released": before_release,
            "exports_ready_seconds": round(time.monotonic() - start, 2),
            "worker_rss_mib": {k: round(v / 1024) for k, v in memory.items()},
        }
    finally:
        gate.touch()
        stop(*processes)


def route_cpu_microseconds() -> float:
    """CPU per routing decision (the router matches the task's name against the table)."""
    from creditbank.celery import app

    app.loader.import_default_modules()
    names = sorted(app.tasks)
    router = app.amqp.router
    rounds = 20_000
    began = time.process_time()
    for _ in range(rounds):
        for name in names:
            router.route({}, name)
    return round((time.process_time() - began) / (rounds * len(names)) * 1e6, 2)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queues")
    parser.add_argument("--hold", type=float, default=10.0)
    args = parser.parse_args()
    # Fresh: the factories number their rows from 1 again in every process.
    database_prepare(DATABASE, fresh=True)
    os.environ.update(bench_env(database=DATABASE))
    import django

    django.setup()
    from tests.processes import free_port, start_redis

    port = free_port()
    redis_server = start_redis(port)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        figures = {
            "hold_seconds": args.hold,
            "setups": [
                run_setup("one pool, every queue", ONE_POOL, hold=args.hold, redis_url=url),
                run_setup("a worker per kind", PER_KIND, hold=args.hold, redis_url=url),
            ],
            "route_cpu_microseconds": route_cpu_microseconds(),
        }
    finally:
        redis_server.terminate()
        redis_server.wait()
    print(write_result("queues", figures))
    for setup in figures["setups"]:
        print(setup)
    print("route CPU µs:", figures["route_cpu_microseconds"])


if __name__ == "__main__":
    main()
