"""Queueing worker tasks after the caller's transaction commits."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def task_after_commit(task: Any, /, **kwargs: Any) -> None:
    """Send ``task`` with ``kwargs`` once the current transaction commits. A broker that is down
    then must not turn the committed work into an error: the failure is logged, and the work is
    found again by the periodic re-send of its app (notices, certificates, exports).

    A named function rather than ``functools.partial``: Django logs a failed robust callback
    by its ``__qualname__``, which a partial lacks, so the logging itself would raise (and drop
    the callbacks after it)."""

    def send() -> None:
        task.delay(**kwargs)

    send.__qualname__ = f"task_after_commit({getattr(task, 'name', task)})"
    transaction.on_commit(send, robust=True)
