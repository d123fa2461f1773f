"""Recognising a transfer record from another credit bank, and the periodic status check of
what was recognised (issue 23, part 3; ADR 0022, "The learner's flow").

The learner brings the record as a file or by its address. It is read (an address through the
webhooks' SSRF-safe connection, size- and time-limited), verified offline against the key
document the trust list keeps for its issuer (:func:`transfer_record_verify`, each entry's
status read from the issuer's status lists the same safe way), and its current entries are
booked by ``accreditation``'s :func:`recognition_book` in one transaction. An entry the origin
has revoked is not booked (the result names it). Everything runs in the request: a record
of 40 outcomes verifies in under a second and a booking holds at most ``accreditation``'s 200
outcomes (measured figures in ADR 0022, "The learner's flow").

:func:`recognised_statuses_check` (beat, hourly) reads each distinct origin status list once,
verified with the bank's stored key document, and reverses every decision whose bit the origin
has set (:func:`recognition_reverse`). A list is claimed by one worker at a time (conditional
update); a list that cannot be read or checked is retried later with a growing delay and never
taken for a revocation; when each was last checked and read is kept (:class:`OriginStatusList`).
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import LearningAccount, User
from accounts.services import OutboundFetchFailed, outbound_get
from accreditation.models import Decision, TrustedBank
from accreditation.services import (
    RecognisedEntry,
    recognised_decisions_to_check,
    recognition_book,
    recognition_reverse,
    trusted_bank_keys,
)
from outcomes.models import LearningOutcome
from outcomes.storage import Upload

from .certificates.credential import claim_code_normalise
from .certificates.transfer_records import (
    MAX_BYTES,
    TransferRecordRefused,
    VerifiedEntry,
    VerifiedRecord,
    status_list_read,
    transfer_record_holder_matches,
    transfer_record_verify,
)
from .models import OriginStatusList

logger = logging.getLogger(__name__)

# A status list is small (16 KiB of bits, compressed); a larger answer is not one.
STATUS_LIST_MAX_BYTES = 2_000_000
# One worker reads a list at a time; a claim older than this was a worker that died.
CLAIM = datetime.timedelta(minutes=10)
# A list that could not be read is tried again after this, doubling, at most a day.
RETRY_BASE = datetime.timedelta(minutes=15)
RETRY_CAP = datetime.timedelta(days=1)
RECORD_NAME = "transfer-record.json"


@dataclass(frozen=True)
class RecognitionImport:
    """What one record did: decisions by recognition booked, outcomes saved for the learner to
    submit (no agreement covers them), and the entries the origin has revoked (not booked)."""

    issuer_name: str
    booked: list[Decision] = field(default_factory=list)
    saved: list[LearningOutcome] = field(default_factory=list)
    revoked: list[VerifiedEntry] = field(default_factory=list)


def _fetch_seconds() -> float:
    return float(getattr(settings, "RECOGNITION_FETCH_SECONDS", 10))


def _get(url: str, *, max_bytes: int, seconds: float) -> bytes:
    """A GET of a user-given or record-given address through the SSRF-safe connection; plain
    http to loopback only where ``RECOGNITION_ALLOW_LOCAL_HTTP`` is on (tests, the two-portal
    harness), never by the webhooks' setting."""
    return outbound_get(
        url=url,
        max_bytes=max_bytes,
        seconds=seconds,
        allow_local_http=bool(getattr(settings, "RECOGNITION_ALLOW_LOCAL_HTTP", False)),
    )


def status_list_fetch(url: str) -> bytes:
    """Another bank's status list, read through the SSRF-safe connection (raises
    :class:`OutboundFetchFailed`)."""
    return _get(url, max_bytes=STATUS_LIST_MAX_BYTES, seconds=_fetch_seconds())


class _Deadline:
    """One overall deadline for an import's fetches (the record's address, then each status
    list): each fetch gets what is left of it, at most ``RECOGNITION_FETCH_SECONDS``, so a slow
    bank cannot hold the request for the sum of them."""

    def __init__(self) -> None:
        seconds = float(getattr(settings, "RECOGNITION_IMPORT_SECONDS", 30))
        self.end = time.monotonic() + seconds

    def seconds(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise OutboundFetchFailed(
                _("The address could not be reached. Try again later."), "unreachable"
            )
        return min(_fetch_seconds(), left)

    def status_fetch(self, url: str) -> bytes:
        return _get(url, max_bytes=STATUS_LIST_MAX_BYTES, seconds=self.seconds())


def _keys_of(issuer: str) -> dict[str, Any] | None:
    return trusted_bank_keys(issuer=issuer)


def _refusal(exc: ValidationError, field_name: str) -> ValidationError:
    """``exc``'s messages under the field the record came in by (``file`` or ``url``)."""
    if isinstance(exc, TransferRecordRefused):
        reason = exc.error_dict[exc.field][0]
        return ValidationError({field_name: [ValidationError(reason.message, code=exc.reason)]})
    if hasattr(exc, "error_dict"):
        errors = [error for errors in exc.error_dict.values() for error in errors]
    else:
        errors = list(exc.error_list)
    return ValidationError({field_name: errors})


def _error(field_name: str, message: str, code: str) -> ValidationError:
    """``message`` under ``field_name`` with its ``code`` kept (a dict given with ``code=``
    drops it)."""
    return ValidationError({field_name: [ValidationError(message, code=code)]})


def _holder_check(record: VerifiedRecord, account: LearningAccount, claim_code: str) -> None:
    """A record is recognised only for the person it was issued to, who brings its claim code:
    its address is a bearer link (ADR 0022), so anyone who has it could otherwise claim its
    outcomes. The record binds its holder by a hash of her full identity number followed by
    the claim code (an Open Badges IdentityObject; the code is not in the record), which must
    be the account holder's number with the code she typed. Which of the two did not match is
    not said. The name on it may be hidden, and is not compared (names are not unique,
    identity numbers are)."""
    if not transfer_record_holder_matches(record=record, account=account, claim_code=claim_code):
        raise _error(
            "claim_code",
            _("The record and this code do not belong to your account."),
            "another_person",
        )


def recognition_import(
    *,
    account: LearningAccount,
    actor: User,
    upload: Upload | None = None,
    url: str = "",
    claim_code: str = "",
) -> RecognitionImport:
    """Verify and book a transfer record given as an uploaded file or by its address (one of
    the two), with the claim code its holder was given beside it. Refusals are
    ``ValidationError`` keyed ``file`` or ``url`` with the reason (code: the verifier's reason,
    such as ``tampered`` or ``untrusted_issuer``), or ``claim_code``; a refused record leaves
    the database and storage as they were."""
    url = (url or "").strip()
    if (upload is None) == (not url):
        message = _("Upload the transfer record or give its address, one of the two.")
        raise _error("file" if upload is None else "url", message, "required")
    if not claim_code_normalise(claim_code):
        raise _error(
            "claim_code",
            _(
                "Type the record's claim code (16 letters and digits, as your former credit "
                "bank shows it beside the record)."
            ),
            "required" if not (claim_code or "").strip() else "invalid",
        )
    field_name = "file" if upload is not None else "url"
    deadline = _Deadline()
    if upload is not None:
        data, name = upload.data, upload.name or RECORD_NAME
        if len(data) > MAX_BYTES:
            raise _error(
                "file",
                _("A transfer record is at most %(size)d KB.") % {"size": MAX_BYTES // 1000},
                "too_large",
            )
    else:
        try:
            data = _get(url, max_bytes=MAX_BYTES, seconds=deadline.seconds())
        except OutboundFetchFailed as failed:
            raise _error("url", str(failed.reason), failed.code) from failed
        name = RECORD_NAME
    try:
        record = transfer_record_verify(
            document=data, key_for_issuer=_keys_of, status_fetch=deadline.status_fetch
        )
    except TransferRecordRefused as refused:
        raise _refusal(refused, field_name) from refused
    _holder_check(record, account, claim_code)
    revoked = [entry for entry in record.entries if entry.revoked]
    current = record.current_entries
    if not current:
        raise _error(
            field_name,
            _("The issuing bank has revoked every outcome in this record: nothing was imported."),
            "revoked",
        )
    entries = [
        RecognisedEntry(
            origin_issuer=entry.origin_issuer,
            origin_decision_id=entry.origin_decision_id,
            entry_code=entry.entry_code,
            entry_version=entry.entry_version,
            title=entry.title,
            hours=entry.hours,
            credits=entry.credits,
            decided_on=entry.decided_on,
            centre_name=entry.centre_name,
            status_list_credential=entry.status_list_url,
            status_index=entry.status_index,
        )
        for entry in current
    ]
    try:
        booked = recognition_book(
            account=account,
            actor=actor,
            entries=entries,
            evidence_name=name,
            evidence_bytes=data,
        )
    except ValidationError as exc:
        raise _refusal(exc, field_name) from exc
    return RecognitionImport(
        issuer_name=record.issuer_name,
        booked=list(booked.booked),
        saved=list(booked.saved),
        revoked=revoked,
    )


def _claim(url: str, now: datetime.datetime) -> OriginStatusList | None:
    """The list's row, claimed for this worker until ``now + CLAIM``, if it is due and no
    other worker holds it (one conditional UPDATE: two workers never both win)."""
    row, _created = OriginStatusList.objects.get_or_create(url=url)
    won = (
        OriginStatusList.objects.filter(pk=row.pk)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(next_check_at__isnull=True) | Q(next_check_at__lte=now))
        .update(claimed_until=now + CLAIM)
    )
    return row if won else None


def _failed(row: OriginStatusList, now: datetime.datetime, error: str) -> None:
    failures = row.failures + 1
    delay = min(RETRY_CAP, RETRY_BASE * 2 ** min(failures - 1, 10))
    OriginStatusList.objects.filter(pk=row.pk).update(
        last_checked_at=now,
        last_error=error[:300],
        failures=failures,
        next_check_at=now + delay,
        claimed_until=None,
    )


@dataclass
class StatusCheckReport:
    lists_read: int = 0
    lists_failed: int = 0
    lists_skipped: int = 0
    reversed: int = 0


def recognised_statuses_check() -> StatusCheckReport:
    """The periodic status check (module docstring): reverse every decision by recognition
    whose origin has revoked it."""
    report = StatusCheckReport()
    by_list: dict[str, list[Decision]] = defaultdict(list)
    banks: dict[str, TrustedBank] = {}
    for decision in recognised_decisions_to_check():
        if decision.origin_status_list and decision.origin_bank is not None:
            by_list[decision.origin_status_list].append(decision)
            banks[decision.origin_status_list] = decision.origin_bank
    for url, decisions in by_list.items():
        now = timezone.now()
        row = _claim(url, now)
        if row is None:
            report.lists_skipped += 1
            continue
        bank = banks[url]
        try:
            revoked = status_list_read(
                document=status_list_fetch(url),
                url=url,
                issuer_id=bank.issuer,
                key_document=dict(bank.key_document),
            )
            bits = {
                decision.pk: revoked(decision.origin_status_index or 0) for decision in decisions
            }
        except (OutboundFetchFailed, TransferRecordRefused) as exc:
            # Unreachable or unverifiable is not revoked: retried later, nothing reversed.
            _failed(row, now, str(getattr(exc, "reason", "")) or type(exc).__name__)
            report.lists_failed += 1
            continue
        errors: list[str] = []
        try:
            for decision in decisions:
                if not bits[decision.pk]:
                    continue
                try:
                    with transaction.atomic():  # a savepoint: a failure undoes this one only
                        recognition_reverse(
                            decision=decision,
                            reason=_("its status list marks the decision as revoked."),
                        )
                except ValidationError:
                    # Revoked meanwhile (by another path or worker): nothing more to do.
                    logger.info("recognised decision %s already revoked", decision.pk)
                    continue
                except DatabaseError as exc:
                    # This decision's reversal rolled back (its own transaction): the others
                    # go on, and the list is read again later for it.
                    logger.exception("reversing recognised decision %s failed", decision.pk)
                    errors.append(f"decision {decision.pk}: {type(exc).__name__}")
                    continue
                report.reversed += 1
        finally:
            if errors:
                _failed(row, now, "; ".join(errors))
                report.lists_failed += 1
            else:
                # Released in any case: a crash above still leaves the list to the next run.
                OriginStatusList.objects.filter(pk=row.pk).update(
                    last_checked_at=now,
                    last_read_at=now,
                    last_error="",
                    failures=0,
                    next_check_at=None,
                    claimed_until=None,
                )
        if not errors:
            report.lists_read += 1
    return report
