"""Starting real processes from a test: the environment they get, free ports, a redis-server of
the test's own, Celery workers against the test database, and ``manage.py`` with production
variables. Tests that use these are marked ``slow`` (``make test-fast`` leaves them out)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from kombu import Exchange, Queue

ROOT = Path(settings.BASE_DIR)
CELERY = str(Path(sys.executable).parent / "celery")


def require(condition: bool, reason: str) -> None:
    """Skips the test with ``reason`` unless ``condition``; fails instead in CI
    (CREDITBANK_REQUIRE_SERVICES=1), so that CI cannot skip it."""
    if condition:
        return
    if os.environ.get("CREDITBANK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The environment for a process the test starts: ours, less what only this test process
    may have (the browser fixture's async-safety switch), plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, **overrides}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- Redis ---------------------------------------------------------------------------------------


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    require(path is not None, "needs redis-server on PATH")
    assert path is not None
    return path


def start_redis(port: int, *options: str) -> subprocess.Popen:
    """A redis-server of the test's own on ``port`` (nothing kept on disk unless ``options``
    say so), answering when this returns."""
    import redis

    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            *options,
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start")


# --- Celery workers ------------------------------------------------------------------------------


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
    """``celery --app creditbank`` with ``args``, its output in ``log``."""
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
    _wait(processes)


def _wait(processes: tuple[subprocess.Popen, ...]) -> None:
    """Each told to stop, given 20 s, then killed."""
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_stopping: list[threading.Thread] = []


def stop_later(*processes: subprocess.Popen) -> None:
    """Stop ``processes`` as :func:`stop` does, without waiting here for them to exit: for a
    test that reads nothing of theirs once they are told to stop (a Celery worker's warm
    shutdown takes seconds, the embedded broker's up to eight). They no longer take tasks;
    :func:`reap` waits for them all, and runs before the test database is dropped."""
    for process in processes:
        process.terminate()
    thread = threading.Thread(target=_wait, args=(processes,), daemon=True)
    thread.start()
    _stopping.append(thread)


def reap() -> None:
    """Wait for every process :func:`stop_later` stopped to be gone."""
    while _stopping:
        _stopping.pop().join()


def sender(var_dir: Path, redis_url: str) -> Celery:
    """A client of the same broker as the worker's. Not the current app: shared tasks would
    otherwise follow it, and a later test's tasks would go to this broker. It routes each task
    to its queue as the portal does (CELERY_TASK_ROUTES)."""
    if redis_url:
        app = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
        routed(app)
        return app
    app = Celery(
        broker="filesystem://", backend=f"file://{var_dir / 'results'}", set_as_current=False
    )
    routed(app)
    queue = str(var_dir / "broker" / "queue")
    app.conf.broker_transport_options = {
        "data_folder_in": queue,
        "data_folder_out": queue,
        "control_folder": str(var_dir / "broker" / "control"),
    }
    (var_dir / "results").mkdir(parents=True, exist_ok=True)
    Path(queue).mkdir(parents=True, exist_ok=True)
    return app


def routed(app: Celery) -> None:
    app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    # Queues of its own, not the settings' objects that the portal's app holds.
    app.conf.task_queues = [
        Queue(name, Exchange(name, type="direct"), routing_key=name)
        for name in settings.TASK_QUEUE_NAMES
    ]
    app.conf.task_routes = settings.CELERY_TASK_ROUTES


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


# --- manage.py -----------------------------------------------------------------------------------

PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "creditbank.example.cn",
    "PORTAL_URL": "https://creditbank.example.cn",
    "IDENTITY_ENCRYPTION_KEYS": "q9p8TQ6JH5i1o2x0Wm7bXfV4cKk0yQy2mY3r1H8sZ0E=",
    "IDENTITY_INDEX_KEY": secrets.token_urlsafe(32),
    "CERTIFICATE_SIGNING_KEY": "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SMS_BACKEND": "accounts.signin.sms.AliyunBackend",
    "SMS_ALIYUN_ACCESS_KEY_ID": "LTAI-deployment-check",
    "SMS_ALIYUN_ACCESS_KEY_SECRET": secrets.token_urlsafe(24),
    "SMS_ALIYUN_SIGN_NAME": "学分银行",
    "SMS_ALIYUN_TEMPLATE_CODE": "SMS_100200300",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
