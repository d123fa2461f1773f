"""This layer's part of a learner's data export (the project composes the parts into files).

Only the learner's own rows: every query is filtered by their account, or by them as the
recipient of a notification. Staff who viewed the file appear by name and centre, which the
learner is entitled to know."""

from __future__ import annotations

from functools import partial

from common.records import ExportParts, rows_of

from .core.models import User
from .ledger.models import (
    BusinessTransaction,
    LearningAccount,
    LedgerEntry,
    LifelongLearningFile,
    StaffAccess,
)
from .notifications.models import Notification
from .rights.models import CentreVisit, ClosureRequest, CorrectionRequest

# Never exported: secrets and the lookup keys of the identity number (the masked number is).
SECRET_FIELDS = {"password", "id_number_encrypted", "id_number_index"}
USER_FIELDS = ["id", "username", "name", "email", "phone", "role", "date_joined", "last_login"]


def account_export_parts(*, account: LearningAccount) -> ExportParts:
    holder = account.holder

    rows = partial(rows_of, hidden=SECRET_FIELDS)
    return {
        "account": lambda: rows(LearningAccount.objects.filter(pk=account.pk))[0],
        "user": lambda: (
            User.objects.filter(pk=holder.pk).values(*USER_FIELDS).first() if holder else None
        ),
        "file": lambda: rows(LifelongLearningFile.objects.filter(account=account)),
        "ledger": lambda: rows(LedgerEntry.objects.filter(account=account)),
        "notifications": lambda: (
            rows(Notification.objects.filter(recipient=holder)) if holder else []
        ),
        "transactions": lambda: rows(BusinessTransaction.objects.filter(account=account)),
        "corrections": lambda: rows(CorrectionRequest.objects.filter(account=account)),
        "visits": lambda: rows(CentreVisit.objects.filter(account=account), "centre__name"),
        "closures": lambda: rows(ClosureRequest.objects.filter(account=account)),
        "staff_views": lambda: rows(
            StaffAccess.objects.filter(account=account), "staff__name", "staff__centre__name"
        ),
    }
