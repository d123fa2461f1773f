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
import secrets
from collections.abc import Iterable, MutableMapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from .evidence import evidence_check
from .storage import Upload, evidence_display_name

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
