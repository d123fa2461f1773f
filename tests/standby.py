"""A PostgreSQL primary and its hot standby of the test's own, as ``make faults`` starts its own
cluster (bench/faults/stack.py): ``initdb`` with ``wal_level=replica`` and a replication entry
in ``pg_hba.conf`` (trust, loopback), ``pg_basebackup -R`` into a second data directory, which
starts on a second port as a streaming hot standby. The primary's database ``creditbank`` is a
copy (``pg_dump``) of the freshly migrated test database, so nothing is migrated twice.

Run as root, the servers and ``pg_basebackup`` run as the ``postgres`` OS user, in a folder
under /tmp that it owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from tests.processes import free_port

DATABASE = "creditbank"


def pg_find(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def pg_bin(name: str) -> str:
    path = pg_find(name)
    assert path is not None, f"no {name}: binaries_missing() says so first"
    return path


def binaries_missing() -> str:
    """The reason the cluster cannot be made here, or ''."""
    names = ("initdb", "pg_ctl", "pg_basebackup", "pg_dump", "psql")
    missing = [name for name in names if not pg_find(name)]
    if missing:
        return f"needs PostgreSQL's {', '.join(missing)} (/usr/lib/postgresql/*/bin)"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "runs PostgreSQL as the postgres user: needs runuser"
    return ""


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str], **kwargs) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=120, **kwargs)


@dataclass
class Server:
    data: Path
    port: int
    log: Path

    def url(self, application_name: str = "creditbank") -> str:
        return (
            f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"
            f"?application_name={application_name}"
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data.parent}"
        _run(
            _as_postgres(
                [
                    pg_bin("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
        )

    def stop(self) -> None:
        """Fast shutdown: its connections are cut, as when a standby goes away."""
        _run(_as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]))

    def running(self) -> bool:
        status = subprocess.run(
            _as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "status"]),
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname={DATABASE}",
            autocommit=True,
            connect_timeout=5,
        ) as connection:
            cursor = connection.execute(statement, params)
            return cursor.fetchall() if cursor.description else []


@dataclass
class Pair:
    root: Path
    primary: Server
    standby: Server

    def caught_up(self, timeout: float = 30) -> None:
        """Waits until the standby has replayed everything the primary has written so far."""
        # The insert position, not pg_current_wal_lsn() (what is written): with
        # synchronous_commit off a commit can be acknowledged before its record is written, and
        # waiting for the written position then misses it.
        (target,) = self.primary.sql("SELECT pg_current_wal_insert_lsn()::text")[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            (done,) = self.standby.sql("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,))[
                0
            ]
            if done:
                return
            time.sleep(0.05)
        raise AssertionError("the standby did not catch up")

    def replay_pause(self) -> None:
        self.standby.sql("SELECT pg_wal_replay_pause()")

    def replay_resume(self) -> None:
        self.standby.sql("SELECT pg_wal_replay_resume()")

    def streaming(self) -> bool:
        rows = self.standby.sql("SELECT status FROM pg_stat_wal_receiver")
        return rows == [("streaming",)]

    def receiver_cut(self) -> str:
        """Cuts the standby off its primary while both stay up: its ``primary_conninfo`` points
        at a port nobody listens on, and the primary's walsender is ended. Returns the old
        ``primary_conninfo`` for :meth:`receiver_restore`."""
        ((conninfo,),) = self.standby.sql("SHOW primary_conninfo")
        self._conninfo_set("host=127.0.0.1 port=1 user=postgres connect_timeout=1")
        self.primary.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_replication")
        deadline = time.monotonic() + 30
        while self.streaming():
            assert time.monotonic() < deadline, "the standby kept streaming"
            time.sleep(0.05)
        return conninfo

    def receiver_restore(self, conninfo: str) -> None:
        self._conninfo_set(conninfo)
        self.caught_up()

    def _conninfo_set(self, conninfo: str) -> None:
        # ALTER SYSTEM writes postgresql.auto.conf (no WAL: allowed on a standby); a changed
        # primary_conninfo restarts the WAL receiver on reload.
        statement = sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(sql.Literal(conninfo))
        with psycopg.connect(
            f"host=127.0.0.1 port={self.standby.port} user=postgres dbname={DATABASE}",
            autocommit=True,
            connect_timeout=5,
        ) as connection:
            connection.execute(statement)
            connection.execute("SELECT pg_reload_conf()")

    def close(self) -> None:
        for server in (self.standby, self.primary):
            if server.running():
                server.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def pair_start(copy_of: str) -> Pair:
    """A primary holding a copy of the database named by the libpq URL ``copy_of``, and its hot
    standby, both answering."""
    root = Path(tempfile.mkdtemp(prefix="cb-replicas-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    primary = Server(root / "primary", free_port(), root / "primary.log")
    standby = Server(root / "standby", free_port(), root / "standby.log")
    pair = Pair(root, primary, standby)
    try:
        _run(
            _as_postgres(
                [
                    *[pg_bin("initdb"), "-D", str(primary.data), "-A", "trust", "-U", "postgres"],
                    # Nothing of a test cluster need reach the disk (as fsync = off below).
                    "--no-sync",
                ]
            )
        )
        with (primary.data / "postgresql.conf").open("a") as conf:
            # Small and quick: a test cluster that may lose everything on a crash.
            # The standby (copied with this file) hears from its primary at least every 5 s
            # when idle (wal_receiver_timeout / 2, as docs/scaling.md advises) and retries a
            # lost primary every second.
            conf.write(
                "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
                "shared_buffers = 16MB\nfsync = off\nfull_page_writes = off\n"
                "synchronous_commit = off\nmax_connections = 40\n"
                "wal_receiver_timeout = 10s\nwal_retrieve_retry_interval = 1s\n"
            )
        with (primary.data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        primary.start()
        _run(
            [
                pg_bin("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                f"CREATE DATABASE {DATABASE}",
            ]
        )
        dump = subprocess.Popen(
            [pg_bin("pg_dump"), "--no-owner", "--no-privileges", copy_of],
            stdout=subprocess.PIPE,
        )
        _run(
            [
                pg_bin("psql"),
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-d",
                DATABASE,
            ],
            stdin=dump.stdout,
        )
        assert dump.wait(timeout=60) == 0
        _run(
            _as_postgres(
                [
                    pg_bin("pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(primary.port),
                    "-U",
                    "postgres",
                    "-D",
                    str(standby.data),
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "--no-sync",
                ]
            )
        )
        standby.start()
        (recovering,) = standby.sql("SELECT pg_is_in_recovery()")[0]
        assert recovering, "the copy did not start as a standby"
        # One commit replayed: until then the standby cannot date its lag (the portal then
        # takes it for late, and reads the primary).
        primary.sql("SELECT txid_current()")
        pair.caught_up()
    except BaseException:
        pair.close()
        raise
    return pair
