"""Partitions made ahead of time for the partitioned history tables (common/partitions.py,
ADR 0024): by ``manage.py partitions_ahead`` and by beat each day."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common.partitions import partitions_ahead

logger = logging.getLogger(__name__)


def partitions_ahead_create(*, months: int | None = None) -> list[str]:
    """Create the yearly partitions needed from today to ``months`` ahead (the setting
    ``PARTITIONS_AHEAD_MONTHS`` when not given); returns the names created."""
    ahead = settings.PARTITIONS_AHEAD_MONTHS if months is None else months
    with transaction.atomic():
        created = partitions_ahead(connection, months=ahead, today=timezone.localdate())
    for name in created:
        logger.info("partition %s created", name)
    return created
