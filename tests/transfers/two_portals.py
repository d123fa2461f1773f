"""Two credit banks on one machine, for the tests of mutual recognition (issue 23): bank A and
bank B, each a real gunicorn on loopback with a PostgreSQL database, a signing key, a
``PORTAL_URL`` (so a ``did:web`` issuer id) and a name of its own, and a way to run code inside
each bank's own settings (:meth:`Portal.run`), as its workers and management commands do.

Usage::

    with two_portals(tmp_path) as (a, b):
        a.run("print(42)")
        requests.get(a.url + "/.well-known/did.json")

The databases are ``<the test database's name without test_>_a`` and ``_b`` on the test's
PostgreSQL server, dropped afterwards. Both are copies of the session's pristine copy of the test
database, taken just after pytest-django migrated it (tests/migrated.py, made by the session's
``django_db_setup`` when a collected test is marked ``portals``); without it (``--reuse-db``: the
test database is not fresh), A is migrated and B is a copy of A. Background tasks run eagerly
inside the web process (``CELERY_TASK_ALWAYS_EAGER``): a requested certificate is issued by the
time the request that asked for it is answered.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import connection

from tests import migrated
from tests.pooler import admin, admin_url, database_release
from tests.processes import free_port, stop, subprocess_env

ROOT = Path(settings.BASE_DIR)
STARTUP_SECONDS = 60


@dataclass
class Portal:
    """One bank: its address, environment and web process."""

    name: str
    url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    def run(self, code: str, *, stdin: str = "", timeout: int = 120) -> str:
        """Run Python ``code`` with this bank's settings (Django set up), stdin given; its
        standard output. Fails with the output on a non-zero exit."""
        script = "import django\ndjango.setup()\n" + code
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{self.name}: {done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        return done.stdout

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, timeout=60, **kwargs)


def _signing_key() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def _portal(name: str, label: str, database: str, tmp_path: Path) -> Portal:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    var_dir = tmp_path / f"bank-{name}"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = subprocess_env(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="creditbank.settings",
        DJANGO_ENV="development",
        VAR_DIR=str(var_dir),
        DATABASE_URL=admin_url(database),
        PORTAL_URL=url,
        PORT=str(port),
        CERTIFICATE_SIGNING_KEY=_signing_key(),
        BANK_NAME_ZH=f"{label}学分银行",
        BANK_NAME_EN=f"Credit Bank {name.upper()}",
        CELERY_TASK_ALWAYS_EAGER="1",
        RECOGNITION_ALLOW_LOCAL_HTTP="1",  # the other bank listens on 127.0.0.1
        LOG_LEVEL="WARNING",
    )
    for inherited in ("REDIS_URL", "CACHE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        env.pop(inherited, None)
    return Portal(name=name, url=url, env=env, log=var_dir / "gunicorn.log")


def _migrate(portal: Portal) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=portal.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-5000:]


def _serve(portal: Portal) -> None:
    port = urlsplit(portal.url).port
    portal.process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "creditbank.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=portal.env,
        stdout=portal.log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if portal.process.poll() is not None:
            raise AssertionError(f"bank {portal.name} exited: {portal.log.read_text()[-3000:]}")
        try:
            # The first request loads the whole application: give it time.
            if requests.get(portal.url + "/healthz", timeout=20).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise AssertionError(f"bank {portal.name} did not answer: {portal.log.read_text()[-3000:]}")


@contextmanager
def two_portals(tmp_path: Path) -> Iterator[tuple[Portal, Portal]]:
    """Banks A and B, serving, each with its own database and key (module docstring)."""
    base = str(connection.settings_dict["NAME"]).removeprefix("test_")
    names = {"a": f"{base}_a", "b": f"{base}_b"}
    with ExitStack() as stack:
        for database in names.values():
            admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            stack.callback(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        a = _portal("a", "甲", names["a"], tmp_path)
        b = _portal("b", "乙", names["b"], tmp_path)
        template = migrated.current()
        if template is None:
            admin(f'CREATE DATABASE "{names["a"]}"')
            _migrate(a)
            # PostgreSQL copies only a database nobody is connected to; behind PgBouncer, its
            # idle server connections from the migrations are.
            database_release(names["a"])
            template = names["a"]
        else:
            # Nobody connects to the session's template: A is a copy of it as B is.
            migrated.copy(template, names["a"])
        # B starts as a copy of an empty, migrated database: no migration run of its own.
        migrated.copy(template, names["b"])
        for portal in (a, b):
            _serve(portal)
            stack.callback(_stop, portal)
        yield a, b


def _stop(portal: Portal) -> None:
    if portal.process is not None:
        stop(portal.process)
