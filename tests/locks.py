"""Waiting, in a race test on PostgreSQL, until another connection waits on a lock."""

from __future__ import annotations

import threading
import time

from django.db import connection


def until_another_waits_on_a_lock(done: threading.Event | None = None, limit: float = 5.0) -> None:
    """Return once another connection to this database waits on a lock, or ``done`` is set
    (the other thread has finished), or after ``limit`` seconds."""
    pause = done or threading.Event()
    deadline = time.monotonic() + limit
    with connection.cursor() as cursor:
        while time.monotonic() < deadline and not pause.is_set():
            # Inside a transaction the activity view is a snapshot, taken once: drop it.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            pause.wait(0.005)
