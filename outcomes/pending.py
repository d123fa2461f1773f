"""Evidence kept across a refused "Add results" submission.

When the form is refused (a missing field, a date in the future...) the browser forgets the
chosen files. The files that pass the content checks are kept instead, as pending uploads: stored
under ``pending-evidence/`` (images already stripped of their location data), named in the
session together with the learning account they belong to, shown by name on the form again with
a box to keep each one, and read back into the next submission. A successful save deletes them;
the ones a learner abandons are deleted by the sweep, run whenever new ones are kept, once they
are older than ``PENDING_TTL``.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.services import account_lock

from .evidence import evidence_check
from .models import StagedUpload
from .storage import Upload, evidence_display_name, files_removed_on_failure

PENDING_DIR = "pending-evidence"
SESSION_KEY = "outcomes_pending_evidence"
PENDING_TTL = datetime.timedelta(hours=24)
# No more kept at once than an outcome may have files.
MAX_PENDING = 10


def pending_of(session: MutableMapping[str, Any], *, account_id: int) -> list[dict[str, str]]:
    """The pending uploads of this session for this account (``token`` and ``name``)."""
    return [p for p in session.get(SESSION_KEY, []) if p.get("account") == account_id]


def pending_keep(
    session: MutableMapping[str, Any],
    *,
    account_id: int,
    uploads: Iterable[Upload],
    refused: list[ValidationError] | None = None,
) -> list[dict[str, str]]:
    """Keep the uploads that pass the content checks as pending; returns all pending ones. A
    file that fails them is not kept: its error (naming the file) is appended to ``refused``
    for the caller to show."""
    pending_sweep()
    kept = pending_of(session, account_id=account_id)
    for upload in uploads:
        if len(kept) >= MAX_PENDING:
            break
        try:
            clean = evidence_check(upload.data, filename=upload.name)
        except ValidationError as exc:
            if refused is not None:
                refused.append(exc)
            continue  # nothing to keep
        token = secrets.token_urlsafe(12)
        path = default_storage.save(
            f"{PENDING_DIR}/{token}{clean.extension}", ContentFile(clean.content)
        )
        kept.append(
            {
                "token": token,
                "path": path,
                "name": evidence_display_name(upload.name, clean.extension),
                "account": account_id,  # type: ignore[dict-item]
            }
        )
    session[SESSION_KEY] = kept
    return kept


def pending_take(
    session: MutableMapping[str, Any], *, account_id: int, tokens: Iterable[str]
) -> list[Upload]:
    """The pending uploads the learner chose to keep, read back; the others are dropped."""
    wanted = set(tokens)
    taken: list[Upload] = []
    remaining: list[dict[str, str]] = []
    for pending in pending_of(session, account_id=account_id):
        if pending["token"] in wanted and default_storage.exists(pending["path"]):
            with default_storage.open(pending["path"], "rb") as stored:
                taken.append(Upload(name=pending["name"], data=stored.read()))
            remaining.append(pending)
        else:
            default_storage.delete(pending["path"])
    session[SESSION_KEY] = remaining
    return taken


def pending_clear(session: MutableMapping[str, Any], *, account_id: int) -> None:
    """Delete this account's pending uploads (after a successful save)."""
    for pending in pending_of(session, account_id=account_id):
        default_storage.delete(pending["path"])
    session[SESSION_KEY] = [
        p for p in session.get(SESSION_KEY, []) if p.get("account") != account_id
    ]


def pending_sweep(*, now: datetime.datetime | None = None) -> int:
    """Delete pending uploads older than ``PENDING_TTL`` (abandoned); returns how many."""
    now = now or timezone.now()
    try:
        _dirs, files = default_storage.listdir(PENDING_DIR)
    except (FileNotFoundError, NotImplementedError):
        return 0
    removed = 0
    for name in files:
        path = f"{PENDING_DIR}/{name}"
        try:
            modified = default_storage.get_modified_time(path)
        except (FileNotFoundError, NotImplementedError):
            continue
        if now - modified > PENDING_TTL:
            default_storage.delete(path)
            removed += 1
    return removed


# Evidence uploaded ahead of an outcome over the API (POST /api/v1/evidence/uploads/), so that
# the outcome itself goes up as JSON, with one schema per kind (docs/decisions/0014). An API
# client has no session: the upload's random token names a StagedUpload row (by its SHA-256)
# holding the account, the stored path and the learner's name for the file. The stored file is
# a pending upload like the form's, under PENDING_DIR, so the same sweep deletes abandoned ones;
# the row expires with PENDING_TTL too.
#
# Both the upload and the claim run under the account's lock (accounts.services.account_lock):
# two uploads at once count each other's rows against MAX_STAGED, and two outcomes sent at once
# with one token take its row with a conditional DELETE, so exactly one of them gets the file.
# How many uploads one account may have waiting at once: files nobody saves with an outcome
# must not escape the storage quota for long, nor in large numbers.
MAX_STAGED = 2 * MAX_PENDING

UPLOAD_UNKNOWN = _("This upload is unknown, expired or already used: upload the file again.")


def _token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _staged_waiting(*, account_id: int, now: datetime.datetime) -> QuerySet[StagedUpload]:
    return StagedUpload.objects.filter(account_id=account_id, created_at__gt=now - PENDING_TTL)


def evidence_stage(*, account_id: int, uploads: Iterable[Upload]) -> list[dict[str, Any]]:
    """Check and keep uploads for an outcome created later; all or none. Returns, per file, the
    ``token`` to name it by, its display ``name``, ``content_type``, ``size`` and
    ``expires_at``. Raises ValidationError keyed ``files`` with every problem."""
    uploads = list(uploads)
    if not uploads:
        raise ValidationError({"files": _("Add at least one evidence file.")})
    pending_sweep()
    checked = []
    errors: list[str] = []
    for upload in uploads:
        try:
            checked.append((upload, evidence_check(upload.data, filename=upload.name)))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError({"files": errors})
    staged = []
    with files_removed_on_failure() as stored, transaction.atomic():
        # Counted and written under the account's lock: two uploads at once must not both fit.
        account_lock(account_id)
        now = timezone.now()
        StagedUpload.objects.filter(created_at__lte=now - PENDING_TTL).delete()
        waiting = _staged_waiting(account_id=account_id, now=now).count()
        if waiting + len(checked) > MAX_STAGED:
            raise ValidationError(
                {
                    "files": _(
                        "You have %(n)d uploads waiting: save an outcome with them, or wait "
                        "until they expire."
                    )
                    % {"n": waiting}
                }
            )
        for upload, clean in checked:
            path = default_storage.save(
                f"{PENDING_DIR}/api-{account_id}-{secrets.token_urlsafe(12)}{clean.extension}",
                ContentFile(clean.content),
            )
            stored.append(path)
            name = evidence_display_name(upload.name, clean.extension)
            token = secrets.token_urlsafe(32)
            StagedUpload.objects.create(
                account_id=account_id,
                token_sha256=_token_sha256(token),
                path=path,
                name=name,
                created_at=now,
            )
            staged.append(
                {
                    "token": token,
                    "name": name,
                    "content_type": clean.content_type,
                    "size": clean.size,
                    "expires_at": now + PENDING_TTL,
                }
            )
    return staged


def evidence_staged_claim(*, account_id: int, tokens: Sequence[str]) -> list[tuple[Upload, str]]:
    """Take the uploads ``tokens`` name, read back with their stored paths (for the caller to
    delete once its transaction commits). Call it inside the transaction that stores them, with
    the account locked: the claim is a conditional delete of their rows, undone if that
    transaction fails, so a refused outcome leaves them for the corrected request. Raises
    ValidationError keyed ``uploads`` for a token that is not this account's, expired, already
    used, or named twice."""
    hashes = [_token_sha256(token) for token in tokens]
    rows = {
        row.token_sha256: row
        for row in _staged_waiting(account_id=account_id, now=timezone.now()).filter(
            token_sha256__in=hashes
        )
    }
    if len(rows) != len(hashes):
        raise ValidationError({"uploads": UPLOAD_UNKNOWN})
    # Under the account's lock no other claim runs; the count still says whether these rows
    # were ours to take, so a claim never succeeds on a row another transaction deleted.
    deleted, _by_model = StagedUpload.objects.filter(pk__in=[r.pk for r in rows.values()]).delete()
    if deleted != len(hashes):
        raise ValidationError({"uploads": UPLOAD_UNKNOWN})
    taken: list[tuple[Upload, str]] = []
    for digest in hashes:
        row = rows[digest]
        try:
            with default_storage.open(row.path, "rb") as stored:
                taken.append((Upload(name=row.name, data=stored.read()), row.path))
        except FileNotFoundError:  # swept at the very end of its day
            raise ValidationError({"uploads": UPLOAD_UNKNOWN}) from None
    return taken
