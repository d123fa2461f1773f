"""A real Celery worker and beat, started as the Procfile starts them, against the broker the
settings choose: the embedded file-system broker without REDIS_URL, Redis with it."""

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken

from tests.accounts.factories import UserFactory
from tests.processes import subprocess_env

ROOT = Path(settings.BASE_DIR)
CELERY = str(Path(sys.executable).parent / "celery")


def database_url() -> str:
    """The test database, so that the worker sees what the test wrote."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(var_dir: Path, redis_url: str, **extra: str) -> dict[str, str]:
    env = subprocess_env(VAR_DIR=str(var_dir), DATABASE_URL=database_url(), **extra)
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [CELERY, "--app", "creditbank", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sender(var_dir: Path, redis_url: str) -> Celery:
    """A client of the same broker as the worker's. Not the current app: shared tasks would
    otherwise follow it, and a later test's tasks would go to this broker."""
    if redis_url:
        return Celery(broker=redis_url, backend=redis_url, set_as_current=False)
    app = Celery(
        broker="filesystem://", backend=f"file://{var_dir / 'results'}", set_as_current=False
    )
    queue = str(var_dir / "broker" / "queue")
    app.conf.broker_transport_options = {
        "data_folder_in": queue,
        "data_folder_out": queue,
        "control_folder": str(var_dir / "broker" / "control"),
    }
    (var_dir / "results").mkdir(parents=True, exist_ok=True)
    Path(queue).mkdir(parents=True, exist_ok=True)
    return app


def brokers() -> list:
    return [
        pytest.param("", id="embedded-broker"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ]


def resolve_broker(kind: str, request: pytest.FixtureRequest) -> str:
    if kind != "redis":
        return ""
    url = request.getfixturevalue("redis_url")
    # A database of its own, so that a developer's running portal does not take the test task.
    return url.rsplit("/", 1)[0] + "/15"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", brokers())
def test_a_worker_takes_tasks_from_the_broker(broker, request, tmp_path):
    redis_url = resolve_broker(broker, request)
    worker = start(
        ["worker", "--loglevel", "INFO", "--concurrency", "1", "--hostname", f"test-{broker}@%h"],
        process_env(tmp_path, redis_url),
        tmp_path / "worker.log",
    )
    try:
        client = sender(tmp_path, redis_url)
        result = client.send_task("creditbank.tasks.ping")
        assert result.get(timeout=60) == "pong", (tmp_path / "worker.log").read_text()
        # The periodic re-send of lost export builds is a task the worker runs (it was once a
        # plain function: beat sent it every 5 minutes and the worker refused it as unknown).
        result = client.send_task("creditbank.tasks.resend_stale_data_exports")
        assert result.get(timeout=60) == 0, (tmp_path / "worker.log").read_text()
    finally:
        stop(worker)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", brokers())
def test_beat_schedules_the_token_purge_and_the_worker_runs_it(broker, request, tmp_path):
    redis_url = resolve_broker(broker, request)
    user = UserFactory()
    expired, _ = AuthToken.objects.create(user=user)
    AuthToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(minutes=1))
    current, _ = AuthToken.objects.create(user=user)
    env = process_env(tmp_path, redis_url, TOKEN_PURGE_INTERVAL_SECONDS="1")
    worker = start(
        ["worker", "--loglevel", "INFO", "--concurrency", "1", "--hostname", f"beat-{broker}@%h"],
        env,
        tmp_path / "worker.log",
    )
    beat = start(["beat", "--loglevel", "INFO"], env, tmp_path / "beat.log")
    try:
        deadline = time.monotonic() + 60
        while AuthToken.objects.filter(pk=expired.pk).exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        logs = (tmp_path / "worker.log").read_text() + (tmp_path / "beat.log").read_text()
        assert not AuthToken.objects.filter(pk=expired.pk).exists(), logs
        assert AuthToken.objects.filter(pk=current.pk).exists()
    finally:
        stop(beat, worker)
