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
