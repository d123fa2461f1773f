"""Readiness checks for /readyz: can this process reach what it needs to serve requests?

Each check raises on failure. Timeouts are short: a probe that hangs is as bad as one that fails.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import redis
from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from kombu import Connection

from accreditation.calendar_watch import calendar_years_unpublished

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    url: str = settings.CELERY_BROKER_URL
    timeout = settings.READINESS_TIMEOUT_SECONDS
    if url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    elif url.startswith("filesystem://"):
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"broker folder {folder} is not writable")
    else:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1)


def check_storage() -> None:
    if isinstance(default_storage, FileSystemStorage):
        location = Path(default_storage.location)
        location.mkdir(parents=True, exist_ok=True)
        if not os.access(location, os.W_OK):
            raise PermissionError(f"storage folder {location} is not writable")
    elif hasattr(default_storage, "bucket_name"):
        # HEAD on the bucket itself: a missing bucket or refused credentials raise. (A HEAD on
        # some key would not do: django-storages reads any 404, even "no such bucket", as "no
        # such file".)
        client = default_storage.connection.meta.client  # type: ignore[attr-defined]
        client.head_bucket(Bucket=default_storage.bucket_name)
    else:
        default_storage.listdir("")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


def calendar_warning() -> str | None:
    """A year whose working-day arrangement should be entered by now and is not."""
    missing = calendar_years_unpublished()
    if not missing:
        return None
    years = ", ".join(str(entry.year) for entry in missing)
    return (
        f"no working-day arrangement entered for {years}: due dates reaching into it are "
        "provisional (computed from the statutory holidays)"
    )


WARNINGS: dict[str, Callable[[], str | None]] = {
    "calendar": calendar_warning,
}


def run_warnings() -> dict[str, str]:
    """What works but needs attention: each warning that has something to say."""
    results: dict[str, str] = {}
    for name, warning in WARNINGS.items():
        try:
            text = warning()
        except Exception as exc:
            logger.warning("readiness warning %s failed: %r", name, exc)
            continue
        if text:
            results[name] = text
    return results


def run_checks() -> dict[str, str]:
    """Run every check; map each part to "ok" or the kind of error it raised."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:
            logger.warning("readiness check %s failed: %r", name, exc)
            results[name] = f"error: {type(exc).__name__}"
        else:
            results[name] = "ok"
    return results
