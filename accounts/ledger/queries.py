"""Reads and bulk writes on the account's history that the apps above need, so that they never
touch ``StaffAccess`` or ``BusinessTransaction`` themselves."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from accounts.core.models import User
from accounts.ledger.models import BusinessTransaction, LearningAccount, StaffAccess


def staff_file_opened_since(
    *, staff: User, account: LearningAccount, since: datetime.datetime
) -> bool:
    """Whether ``staff`` opened the learner's file (with a recorded reason) since ``since``."""
    return StaffAccess.objects.filter(account=account, staff=staff, occurred_at__gte=since).exists()


def transaction_record_many(
    *,
    kind: str,
    actor: User | None,
    occurred_at: datetime.datetime,
    entries: Sequence[tuple[LearningAccount, dict[str, Any]]],
    batch_size: int | None = None,
) -> list[BusinessTransaction]:
    """Append the same business event to many accounts at once (an institution's batch), each
    ``(account, details)`` of ``entries`` one row, in few statements."""
    return BusinessTransaction.objects.bulk_create(
        [
            BusinessTransaction(
                account=account, kind=kind, actor=actor, occurred_at=occurred_at, details=details
            )
            for account, details in entries
        ],
        batch_size=batch_size,
    )
