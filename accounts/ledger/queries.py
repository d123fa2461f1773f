"""Readings and bulk writes of the account's history that the apps above compose into their
pages (the statement with running totals, the yearly totals of the accumulated book, staff
access, batch business events), so that they never touch the ledger's models themselves."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    DecimalField,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, ExtractYear

from accounts.core.models import User
from accounts.ledger.models import BusinessTransaction, LearningAccount, LedgerEntry


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


ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=12, decimal_places=1))

# A cause of ledger entries, as its cause type and a function that, given the entry's cause id
# (an expression), gives a one-column subquery of what the entry should name.
Cause = tuple[str, Callable[[Any], QuerySet[Any]]]


def _running(field: str, book: str) -> Window:
    return Window(
        Sum(
            Case(
                When(book=book, then=F(field)),
                default=ZERO,
                output_field=DecimalField(max_digits=12, decimal_places=1),
            )
        ),
        order_by=[F("created_at").asc(), F("id").asc()],
    )


def _cause(cause_type: str, subquery: QuerySet[Any]) -> Case:
    # Guarded by the cause type, so the id is cast only where it is a number.
    return Case(
        When(cause_type=cause_type, then=Subquery(subquery[:1])),
        default=None,
        output_field=BigIntegerField(),
    )


def ledger_statement(
    *, account: LearningAccount, causes: Mapping[str, Cause]
) -> QuerySet[LedgerEntry]:
    """The account's ledger entries oldest first, each with ``running_hours``,
    ``running_credits`` (accumulated book), ``running_transferred`` (transferred book) and,
    for each name of ``causes``, what that cause gives for the entry (None for entries of
    another cause). One query: the upper layers name their causes, this layer does not know
    them."""
    cause_pk = Cast(OuterRef("cause_id"), output_field=BigIntegerField())
    accumulated, transferred = LedgerEntry.Book.ACCUMULATED, LedgerEntry.Book.TRANSFERRED
    return (
        LedgerEntry.objects.filter(account=account)
        .annotate(
            running_hours=_running("hours", accumulated),
            running_credits=_running("credits", accumulated),
            running_transferred=_running("credits", transferred),
            **{
                name: _cause(cause_type, subquery(cause_pk))
                for name, (cause_type, subquery) in causes.items()
            },
        )
        .order_by("created_at", "id")
    )


def ledger_accumulated_by_year(*, account: LearningAccount) -> QuerySet[Any]:
    """Rows of ``year``, ``hours`` and ``credits`` booked in the account's accumulated book, by
    the year of the entry, oldest first (one query)."""
    return (
        LedgerEntry.objects.filter(account=account, book=LedgerEntry.Book.ACCUMULATED)
        .annotate(year=ExtractYear("created_at"))
        .values("year")
        .annotate(hours=Sum("hours"), credits=Sum("credits"))
        .order_by("year")
    )
