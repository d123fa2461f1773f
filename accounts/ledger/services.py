"""Learning accounts and their ledger: account numbers, the account lock, business
transactions, bookings and their reversal, totals, and staff access to a learner's file.
(Opening a personal account is registration: ``accounts.signin.registration``.)"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import damm

from accounts.core.models import Role, User
from accounts.identity import crypto
from accounts.identity.numbers import normalise_identity_number, parse_identity
from accounts.ledger.models import (
    APPLICATION_REVIEW_REASON,
    BusinessTransaction,
    LearningAccount,
    LedgerEntry,
    StaffAccess,
)

# --- Learning accounts --------------------------------------------------------------------------


def identity_number_hash(*, account: LearningAccount, salt: str) -> str | None:
    """The holder's full identity number (normalised: upper case, no spaces) salted with
    ``salt`` and hashed, as an Open Badges ``IdentityHash`` (``sha256$<hex>`` of the number
    followed by the salt, UTF-8): what binds a credential to its holder without disclosing the
    number. None when the account has no identity number (a collective account). The number is
    decrypted here and goes no further: never logged, never returned."""
    if not account.id_number_encrypted:
        return None
    number = normalise_identity_number(crypto.decrypt(account.id_number_encrypted))
    return "sha256$" + hashlib.sha256((number + salt).encode("utf-8")).hexdigest()


def account_number_generate(*, kind: str) -> str:
    prefix = "XF" if kind == LearningAccount.Kind.PERSONAL else "JT"
    digits = f"{secrets.randbelow(10**9):09d}"
    return prefix + digits + damm.calc_check_digit(digits)


def account_lock(account_id: int) -> LearningAccount:
    """Lock the account's row until the caller's transaction ends. Every booking on an account
    (a decision, a transfer's reservation, a reversal, a closure, a member import) takes this
    lock first, so two of them on the same account run one after the other.

    FOR NO KEY UPDATE, not FOR UPDATE: two callers still run one after the other, but a row
    inserted elsewhere that points at the account (a business transaction, a ledger entry: the
    foreign key's check takes FOR KEY SHARE on the account) does not wait for the holder. With
    FOR UPDATE, a closure holding the account and waiting for an application row, and a
    reviewer holding that application and recording a transaction, waited on each other. The
    account's own updates change none of its keys (id, number, holder, institution), so they
    keep this weaker lock."""
    return LearningAccount.objects.select_for_update(no_key=True).get(pk=account_id)


def accounts_lock(account_ids: Iterable[int], *, skip_locked: bool = False) -> list[int]:
    """Lock many accounts as :func:`account_lock` locks one, in id order (two callers locking
    overlapping sets never hold one each and wait for the other's); returns the ids locked.
    ``skip_locked``: pass over the accounts another transaction holds instead of waiting (a
    background job that comes back later), and leave them out of the answer."""
    ids = sorted(set(account_ids))
    if not ids:
        return []
    return list(
        LearningAccount.objects.select_for_update(no_key=True, skip_locked=skip_locked)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def learning_account_required(*, user: User) -> LearningAccount:
    """The user's personal learning account, for pages and API views that show it; 404 when the
    user holds none."""
    account = learning_account_of(user=user)
    if account is None:
        raise Http404
    return account


def transaction_record(
    *, account: LearningAccount, kind: str, actor: User | None, details: dict[str, Any]
) -> BusinessTransaction:
    """Append a business event to the account's history."""
    return BusinessTransaction.objects.create(
        account=account, kind=kind, actor=actor, details=details
    )


def ledger_append(
    *,
    account: LearningAccount,
    hours: Decimal,
    credits: Decimal,
    cause_type: str,
    cause_id: int | str,
    book: str = LedgerEntry.Book.ACCUMULATED,
) -> LedgerEntry:
    """Book hours and credits on the account for a cause (a decision, a reversal). The caller's
    transaction holds the decision too, so both land or neither; a cause is booked once per
    account (a unique constraint), whatever retries."""
    return LedgerEntry.objects.create(
        account=account,
        book=book,
        hours=hours,
        credits=credits,
        cause_type=cause_type,
        cause_id=str(cause_id),
    )


LEDGER_REVERSAL = "reversal"


@transaction.atomic
def ledger_reverse(*, entry: LedgerEntry, actor: User, reason: str) -> LedgerEntry:
    """Correct a ledger entry the only way the ledger allows: a new entry of the opposite
    amounts, in the same book, whose cause is the entry it reverses. An entry is reversed at
    most once (the cause is booked once), and a reversal is never itself reversed."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the correction.")})
    if entry.cause_type == LEDGER_REVERSAL:
        raise ValidationError({"entry": _("A reversal is not reversed; book the entry again.")})
    # The account row is the lock every booking on it takes (see transfers and outcomes).
    account = account_lock(entry.account_id)
    if LedgerEntry.objects.filter(
        account=account, cause_type=LEDGER_REVERSAL, cause_id=str(entry.pk)
    ).exists():
        raise ValidationError({"entry": _("This entry has already been reversed.")})
    reversal = ledger_append(
        account=account,
        book=entry.book,
        hours=-entry.hours,
        credits=-entry.credits,
        cause_type=LEDGER_REVERSAL,
        cause_id=entry.pk,
    )
    transaction_record(
        account=account,
        kind=BusinessTransaction.Kind.LEDGER_CORRECTED,
        actor=actor,
        details={
            "entry": entry.pk,
            "reversal": reversal.pk,
            "hours": str(-entry.hours),
            "credits": str(-entry.credits),
            "reason": reason,
        },
    )
    return reversal


def ledger_reverse_cause(
    *, account: LearningAccount, cause_type: str, cause_id: int | str, actor: User, reason: str
) -> LedgerEntry | None:
    """Reverse what was booked on the account for a cause (a decision revoked); None when
    nothing was booked for it."""
    booked = LedgerEntry.objects.filter(
        account=account, cause_type=cause_type, cause_id=str(cause_id)
    ).first()
    if booked is None:
        return None
    return ledger_reverse(entry=booked, actor=actor, reason=reason)


def account_with_totals(account: LearningAccount) -> LearningAccount:
    """The account with ``hours`` and ``credits`` set from its ledger, for serializers."""
    account.hours, account.credits = account_totals(account=account)  # type: ignore[attr-defined]
    return account


def account_totals(*, account: LearningAccount) -> tuple[Decimal, Decimal]:
    """Hours and credits accumulated in the account: the sums of its ledger entries in the
    accumulated book (credits recognised by institutions are a book of their own)."""
    # Written by hand: the dashboard and the file page ask on every request, and the ORM spent
    # ~0.7 ms of Python building this aggregate, many times what PostgreSQL spends on it.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT SUM(hours), SUM(credits) FROM {LedgerEntry._meta.db_table}"  # noqa: S608
            " WHERE account_id = %s AND book = %s",
            [account.pk, LedgerEntry.Book.ACCUMULATED],
        )
        hours, credits = cursor.fetchone()
    return _ledger_sum(hours, "hours"), _ledger_sum(credits, "credits")


def account_with_totals_of(*, user: User) -> LearningAccount | None:
    """The learning account ``user`` holds, with ``hours`` and ``credits`` (the accumulated
    book) and ``transferred_credits`` (the transferred book) summed from its ledger, or None.

    ``GET /api/v1/accounts/me/`` asks for this on every call. One hand-written statement: the
    ORM spent ~0.7 ms of Python building each of the two queries it took (the account, then
    the sums), far more than PostgreSQL spends running them (bench/README.md, issue 20)."""
    account_table = LearningAccount._meta.db_table
    ledger_table = LedgerEntry._meta.db_table
    sql = (
        f"SELECT a.*,"  # noqa: S608 (table names from the models, values as parameters)
        f" SUM(l.hours) FILTER (WHERE l.book = %s) AS sum_hours,"
        f" SUM(l.credits) FILTER (WHERE l.book = %s) AS sum_credits,"
        f" SUM(l.credits) FILTER (WHERE l.book = %s) AS sum_transferred"
        f" FROM {account_table} a LEFT JOIN {ledger_table} l ON l.account_id = a.id"
        f" WHERE a.holder_id = %s GROUP BY a.id"
    )
    accumulated, transferred = LedgerEntry.Book.ACCUMULATED, LedgerEntry.Book.TRANSFERRED
    found = list(LearningAccount.objects.raw(sql, [accumulated, accumulated, transferred, user.pk]))
    if not found:
        return None
    account = found[0]
    account.holder = user
    account.hours = _ledger_sum(account.sum_hours, "hours")  # type: ignore[attr-defined]
    account.credits = _ledger_sum(account.sum_credits, "credits")  # type: ignore[attr-defined]
    account.transferred_credits = _ledger_sum(account.sum_transferred, "credits")  # type: ignore[attr-defined]
    return account


def _ledger_sum(value: Any, field: str) -> Decimal:
    """A raw SUM as the ledger's decimal (SQLite answers with an int or a float)."""
    if value is None:
        return Decimal(0)
    places = LedgerEntry._meta.get_field(field).decimal_places  # type: ignore[union-attr]
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))


def learning_account_of(*, user: User) -> LearningAccount | None:
    """The personal learning account the user holds, with what its pages show beside it."""
    return (
        LearningAccount.objects.select_related("holder", "learning_file", "opened_at_centre")
        .filter(holder=user)
        .first()
    )


# --- Staff access to a learner's file -----------------------------------------------------------

FILE_STAFF_ROLES: tuple[Role, ...] = (
    Role.CENTRE_REVIEWER,
    Role.CENTRE_ADMIN,
    Role.MANAGEMENT_ADMIN,
)


def personal_account_find(
    *, account_number: str = "", id_type: str = "", id_number: str = ""
) -> LearningAccount | None:
    """A personal account by its number, or by an identity document (through the blind index,
    so the clear number is never compared in the database)."""
    accounts = LearningAccount.objects.select_related("holder").filter(kind="personal")
    if account_number:
        return accounts.filter(number=account_number.strip().upper().replace(" ", "")).first()
    if id_type and id_number:
        try:
            identity = parse_identity(id_type, id_number)
        except ValidationError as exc:
            raise ValidationError({"id_number": exc.messages}) from exc
        return accounts.filter(id_number_index=crypto.blind_index(identity.number)).first()
    raise ValidationError(
        {"account_number": _("Give an account number, or an identity document and its number.")}
    )


def _access_record(*, staff: User, account: LearningAccount, kind: str, reason: str) -> StaffAccess:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why you need to see this learner's file.")})
    if staff.role not in FILE_STAFF_ROLES:
        raise PermissionDenied
    return StaffAccess.objects.create(account=account, staff=staff, kind=kind, reason=reason)


def staff_file_view_record(*, staff: User, account: LearningAccount, reason: str) -> StaffAccess:
    """Record that ``staff`` opens the learner's file, and why; the learner sees the record."""
    return _access_record(
        staff=staff, account=account, kind=StaffAccess.Kind.VIEWED_FILE, reason=reason
    )


def staff_application_review_record(
    *, staff: User, account: LearningAccount, application_id: int
) -> StaffAccess | None:
    """Record that ``staff`` opened application ``application_id`` of the learner, once per
    visit: opening the same application again the same day (reloads, the page again after a
    move) is the same visit and adds no row. Returns the new record, or None."""
    if staff.role not in FILE_STAFF_ROLES:
        raise PermissionDenied
    now = timezone.localtime()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    reference = str(application_id)
    kind = StaffAccess.Kind.REVIEWED_APPLICATION
    seen = StaffAccess.objects.filter(
        account=account, staff=staff, kind=kind, reference=reference, occurred_at__gte=day_start
    ).exists()
    if seen:
        return None
    return StaffAccess.objects.create(
        account=account,
        staff=staff,
        kind=kind,
        reason=APPLICATION_REVIEW_REASON,
        reference=reference,
        occurred_at=now,
    )


def staff_accesses_of(*, account: LearningAccount) -> Any:
    return account.staff_accesses.select_related("staff", "staff__centre")
