"""The real processes the faults are injected into, all private to one run: a PostgreSQL cluster
(initdb into ``var/faults/<run>/``, its own port), a redis-server on its own port, gunicorn, a
Celery worker and beat, and an SMTP sink that records every email the portal sends.

Nothing here touches the machine's shared PostgreSQL or Redis: the faults kill and restart
these private ones only.
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import glob
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKER_DB_NAME = "faults-worker"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:  # noqa: S110 - not up yet
            pass
        time.sleep(interval)
    return False


# --- SMTP sink -----------------------------------------------------------------------------------


@dataclass
class Mail:
    to: str
    subject: str
    body: str
    message_id: str = ""


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Django's backend (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT)."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        # A client killed mid-session (the faults kill workers) resets its connection.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            self._converse()

    def _converse(self) -> None:
        sink: SmtpSink = self.server.sink  # type: ignore[attr-defined]
        sink.session_opened()
        self.reply("220 faults sink")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode(errors="replace").strip().split(" ")[0].upper()
            if verb in {"EHLO", "HELO"}:
                self.reply("250 faults sink")
            elif verb == "DATA":
                self.reply("354 end with .")
                chunks = []
                while True:
                    data = self.rfile.readline()
                    if not data or data in {b".\r\n", b".\n"}:
                        break
                    chunks.append(data[1:] if data.startswith(b"..") else data)
                sink.add(b"".join(chunks))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                self.reply("250 ok")


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.mails: list[Mail] = []
        self.sessions = 0  # SMTP connections opened to the sink
        self._lock = threading.Lock()
        server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), _SmtpHandler)
        server.daemon_threads = True
        server.sink = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def add(self, raw: bytes) -> None:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
        body = part.get_content() if part is not None else ""
        with self._lock:
            self.mails.append(
                Mail(str(message["To"]), str(message["Subject"]), body, str(message["Message-ID"]))
            )

    def session_opened(self) -> None:
        with self._lock:
            self.sessions += 1

    def snapshot(self) -> list[Mail]:
        with self._lock:
            return list(self.mails)

    def close(self) -> None:
        self._server.shutdown()


# --- The stack ----------------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"needs PostgreSQL's {name} (/usr/lib/postgresql/*/bin)")
    return path


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the postgres OS user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@dataclass
class Stack:
    run_dir: Path
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    sink: SmtpSink = field(default_factory=SmtpSink)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    # Processes that exited on their own and were started again, as docker-compose's
    # ``restart: unless-stopped`` does for web, worker and beat.
    restarts: dict[str, int] = field(default_factory=dict)
    # Workers that stopped consuming after an "Unrecoverable error" and were killed and started
    # again, as a liveness probe would.
    hung: dict[str, int] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _supervising: bool = False
    _log_offsets: dict[str, int] = field(default_factory=dict)

    @property
    def pgdata(self) -> Path:
        return self.run_dir / "pgdata"

    @property
    def var_dir(self) -> Path:
        return self.run_dir / "var"

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def database_url(self, application_name: str = "faults") -> str:
        return (
            f"postgres://postgres@127.0.0.1:{self.pg_port}/creditbank"
            f"?application_name={application_name}"
        )

    # --- PostgreSQL ---

    def pg_init(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self.pgdata.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.run_dir, "postgres")
            shutil.chown(self.pgdata, "postgres")
            shutil.chown(self.logs, "postgres")
        subprocess.run(
            _as_postgres(
                [_pg_bin("initdb"), "-D", str(self.pgdata), "-A", "trust", "-U", "postgres"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.pg_start()
        subprocess.run(
            _as_postgres(
                [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.pg_port), "creditbank"]
            ),
            check=True,
        )

    def pg_start(self) -> None:
        options = f"-p {self.pg_port} -c listen_addresses=127.0.0.1 -k {self.pgdata}"
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("pg_ctl"),
                    "-D",
                    str(self.pgdata),
                    "-o",
                    options,
                    "-l",
                    str(self.logs / "postgres.log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def pg_stop(self, mode: str = "immediate") -> None:
        """``immediate``: no shutdown checkpoint, the server recovers from its WAL on start
        (as after a crash); ``fast``: connections cut, clean shutdown."""
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "stop"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    # --- Redis ---

    def redis_start(self) -> None:
        """As docker-compose runs it: append-only file on."""
        data = self.run_dir / "redis"
        data.mkdir(exist_ok=True)
        self.procs["redis"] = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--dir",
                str(data),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            stdout=(self.logs / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait_for(self.redis_up, 20):
            raise RuntimeError("redis-server did not start")

    def redis_up(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def redis_kill(self) -> None:
        self.kill("redis")

    # --- The portal's processes ---

    def portal_env(self, **tuning: str) -> dict[str, str]:
        """Production settings, as docker-compose gives them, with the secrets made up for the
        run. The portal sits behind a TLS proxy in production; clients here send the header
        that proxy adds (X-Forwarded-Proto), so the HTTPS redirect stays on."""
        key = base64.b64encode(os.urandom(32)).decode()
        fernet = base64.urlsafe_b64encode(os.urandom(32)).decode()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "CELERY_", "DATABASE_", "REDIS_", "EMAIL_"))
        }
        env.update(
            DJANGO_ENV="production",
            DJANGO_SECRET_KEY=base64.b64encode(os.urandom(40)).decode(),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            PORTAL_URL=self.base_url,
            DATABASE_URL=self.database_url(),
            REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            IDENTITY_ENCRYPTION_KEYS=fernet,
            IDENTITY_INDEX_KEY=base64.b64encode(os.urandom(32)).decode(),
            CERTIFICATE_SIGNING_KEY=key,
            VAR_DIR=str(self.var_dir),
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(self.sink.port),
            EMAIL_USE_TLS="0",
            LOG_LEVEL="INFO",
            # Throttles are not what is tested here.
            THROTTLE_TOKEN_RATE="10000/min",  # noqa: S106 - a rate, not a password
            THROTTLE_ANON_RATE="100000/min",
            CREDITBANK_REQUIRE_SERVICES="",
        )
        env.update(tuning)
        self.env = env
        return env

    def manage(self, *args: str) -> None:
        subprocess.run(
            [str(BIN / "python"), "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=(self.logs / "manage.log").open("a"),
            stderr=subprocess.STDOUT,
        )

    def supervise(self) -> None:
        """Start web, worker or beat again when it exits by itself (not when a fault kills
        it: a killed process is taken off ``procs`` first)."""
        self._supervising = True
        starters = {"web": self.web_start, "worker": self.worker_start, "beat": self.beat_start}

        def watch() -> None:
            while self._supervising:
                with self._lock:
                    for name, start in starters.items():
                        process = self.procs.get(name)
                        if process is not None and process.poll() is not None:
                            # One that gave up after an unrecoverable error is counted so,
                            # whether it then exited or hung.
                            gave_up = self.hung if self._gave_up(name) else self.restarts
                            gave_up[name] = gave_up.get(name, 0) + 1
                            del self.procs[name]
                            start()
                        elif process is not None and self._gave_up(name):
                            # The liveness probe: the process is up but will never consume
                            # again.
                            self.hung[name] = self.hung.get(name, 0) + 1
                            self.kill(name)
                            start()
                time.sleep(0.5)

        threading.Thread(target=watch, daemon=True).start()

    def _gave_up(self, name: str) -> bool:
        """The process logged Celery's "Unrecoverable error" since it started: it is shutting
        down, and may hang doing so."""
        log = self.logs / f"{name}.log"
        with log.open("rb") as handle:
            handle.seek(self._log_offsets.get(name, 0))
            return b"Unrecoverable error" in handle.read()

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        with self._lock:
            log = self.logs / f"{name}.log"
            self._log_offsets[name] = log.stat().st_size if log.exists() else 0
            self._spawn_locked(name, args, env)

    def _spawn_locked(self, name: str, args: list[str], env: dict[str, str] | None) -> None:
        self.procs[name] = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env or self.env,
            stdout=(self.logs / f"{name}.log").open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill takes its children too
        )

    def web_start(self) -> None:
        self._spawn(
            "web",
            [
                str(BIN / "gunicorn"),
                "creditbank.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--timeout",
                "60",
            ],
        )
        if not wait_for(lambda: self.get_status("/healthz") == 200, 60, 0.3):
            raise RuntimeError(f"gunicorn did not start; see {self.logs / 'web.log'}")

    def worker_start(self) -> None:
        env = {**self.env, "DATABASE_URL": self.database_url(WORKER_DB_NAME)}
        self._spawn(
            "worker",
            [
                str(BIN / "celery"),
                "--app",
                "creditbank",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--hostname",
                f"faults-{time.monotonic_ns()}@%h",
            ],
            env,
        )

    def beat_start(self) -> None:
        self._spawn(
            "beat",
            [
                str(BIN / "celery"),
                "--app",
                "creditbank",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.var_dir / "celerybeat-schedule"),
            ],
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill the process and its whole group (a worker's pool children with it)."""
        with self._lock:
            process = self.procs.pop(name, None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        self._supervising = False
        for name in ("beat", "worker", "web"):
            self.kill(name, signal.SIGTERM)
        self.kill("redis", signal.SIGTERM)
        if self.pgdata.exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.pg_stop("fast")
        self.sink.close()

    # --- HTTP ---

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[int, Any]:
        """(status, parsed JSON or text); raises OSError when the connection fails."""
        import json

        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)  # noqa: S310
        request.add_header("X-Forwarded-Proto", "https")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Token {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        text = raw.decode(errors="replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def get_status(self, path: str) -> int:
        try:
            return self.request("GET", path, timeout=5)[0]
        except OSError:
            return 0
