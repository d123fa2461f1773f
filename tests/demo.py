"""The demo data (``seed_demo``) for the tests that start from it, ~30 browser tests: the first
load of a session runs the command, and its rows are kept aside (a schema of their own); a later
load into the same starting point (an empty database but for the calendar as loaded, on the same
day) copies those rows back verbatim in one transaction, with triggers off as pg_restore does,
with the evidence files and the mail the command wrote. ~1 s a test instead of ~2.5 s.

What the command writes elsewhere is not copied: the cache (each test has its own, and starts
from an empty one, as after a restart). Anything else, or when the starting point differs (a
fixture made data first), runs the command.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from django.core import mail
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from . import flush

SCHEMA = "demo_snapshot"


@dataclass
class Snapshot:
    start: dict[str, int]  # the tables with rows before the command, and their counts
    day: Any  # the local date it ran on (due dates count from it)
    columns: dict[str, list[str]]  # the tables it filled, and their stored columns
    files: Path  # what it wrote to the file storage
    mails: list[Any]


_snapshot: list[Snapshot] = []


def _counts() -> dict[str, int]:
    tables = sorted(
        set(connection.introspection.django_table_names(only_existing=True, include_views=False))
        - flush.KEPT
    )
    quote = connection.ops.quote_name
    query = " UNION ALL ".join(
        f"SELECT %s, count(*) FROM {quote(table)}"  # noqa: S608 - model table names, quoted
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(query, tables)
        return {table: count for table, count in cursor.fetchall() if count}


def _files(location: Path) -> list[Path]:
    return sorted(p for p in location.rglob("*") if p.is_file()) if location.exists() else []


def _references(tables: list[str], targets: list[str]) -> bool:
    """Whether a foreign key of ``tables`` points at ``targets``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid::regclass::text = ANY(%s) AND confrelid::regclass::text = ANY(%s)",
            [tables, targets],
        )
        return cursor.fetchone() is not None


def _stored_columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
            " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
            [connection.ops.quote_name(table)],
        )
        return [row[0] for row in cursor.fetchall()]


def _run() -> None:
    call_command("seed_demo", stdout=StringIO())


def demo_seed() -> None:
    """Load the demo data, as ``manage.py seed_demo`` does."""
    storage = default_storage
    if not flush.fast(connection) or not isinstance(storage, FileSystemStorage):
        _run()
        return
    location = Path(storage.location)
    start = _counts()
    pristine = (
        set(start) <= set(flush.CALENDAR)
        and flush.calendar_as_loaded(connection)
        and not _files(location)
    )
    day = timezone.localdate()
    if (
        pristine
        and _snapshot
        and _snapshot[0].start == start
        and _snapshot[0].day == day
        # (Inside a test's transaction, SET LOCAL would outlive the restore's savepoint.)
        and not connection.in_atomic_block
    ):
        _restore(_snapshot[0], location)
        return
    mails = len(getattr(mail, "outbox", []))
    _run()
    if pristine and not _snapshot and not connection.in_atomic_block:
        # (Inside a test's transaction, the copy would be rolled back with it.)
        _keep(start, day, location, list(getattr(mail, "outbox", []))[mails:])


def _keep(start: dict[str, int], day: Any, location: Path, mails: list[Any]) -> None:
    filled = sorted(set(_counts()) - set(start))
    if not flush.calendar_as_loaded(connection) or _references(filled, list(start)):
        return  # the command changed the calendar, or its rows point at it: not copied
    quote = connection.ops.quote_name
    columns = {table: _stored_columns(table) for table in filled}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
        for table, names in columns.items():
            cursor.execute(
                f"CREATE TABLE {SCHEMA}.{quote(table)} AS"  # noqa: S608 - model table names
                f" SELECT {', '.join(map(quote, names))} FROM {quote(table)}"
            )
    files = Path(tempfile.mkdtemp(prefix="demo-files-"))
    if location.exists():
        shutil.copytree(location, files, dirs_exist_ok=True)
    _snapshot.append(Snapshot(start, day, columns, files, [copy.deepcopy(m) for m in mails]))


def _restore(snapshot: Snapshot, location: Path) -> None:
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for table, names in snapshot.columns.items():
            listed = ", ".join(map(quote, names))
            cursor.execute(
                f"INSERT INTO {quote(table)} ({listed})"  # noqa: S608 - model table names
                f" SELECT {listed} FROM {SCHEMA}.{quote(table)}"
            )
    shutil.copytree(snapshot.files, location, dirs_exist_ok=True)
    if hasattr(mail, "outbox"):
        mail.outbox.extend(copy.deepcopy(m) for m in snapshot.mails)


def demo_snapshot_drop() -> None:
    """At the end of the session: the kept rows' schema and files go (a dump of the test
    database taken later, as the personal-data scan takes, must not hold a second copy)."""
    if not _snapshot:
        return
    snapshot = _snapshot.pop()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    shutil.rmtree(snapshot.files, ignore_errors=True)
