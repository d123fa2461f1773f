"""Evidence files as the services store them: an upload read with its size limit, the checks of
one outcome's uploads (count, content, duplicates, the learner's quota), storing them, and
removing what was stored when the transaction fails."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _

from accounts.models import LearningAccount

from .evidence import CleanEvidence, evidence_check
from .models import EvidenceFile, LearningOutcome

MAX_FILES_PER_OUTCOME = 10


@dataclass(frozen=True)
class Upload:
    """An uploaded file as the services see it: its bytes and the name the learner gave."""

    name: str
    data: bytes


def upload_of(file: Any, *, limit: int) -> Upload:
    """An uploaded file as the services take it. Django has already spooled a large upload to
    disk; no more than one byte past ``limit`` is read into memory, which is enough for the
    check to refuse an oversized file."""
    return Upload(name=file.name or "", data=file.read(limit + 1))


def uploads_read(files: Sequence[Any]) -> list[Upload]:
    """Uploaded evidence files as the services take them (:func:`upload_of`), each read up to
    the evidence size limit."""
    limit = int(getattr(settings, "EVIDENCE_MAX_BYTES", 10 * 1024 * 1024))
    return [upload_of(f, limit=limit) for f in files]


def quota_bytes() -> int:
    return int(getattr(settings, "EVIDENCE_QUOTA_BYTES", 200 * 1024 * 1024))


def storage_used(*, account: LearningAccount) -> int:
    """The bytes the account's evidence takes in storage, each stored file once: a file several
    outcomes share (a transfer record kept as the evidence of each outcome it brought) is one
    file in storage, and counted once against the quota."""
    files = EvidenceFile.objects.filter(account=account).values_list("file", "size").distinct()
    return sum(dict(files.iterator()).values())


def evidence_uploads_check(
    *, account: LearningAccount, uploads: Sequence[Upload], existing_files: int = 0
) -> list[tuple[Upload, CleanEvidence]]:
    """Check one outcome's new files: their number, their content, duplicates among them and
    of the account's earlier files, and the account's quota. Raises ValidationError keyed
    ``evidence`` with every problem; the caller holds the account's row lock."""
    if existing_files + len(uploads) > MAX_FILES_PER_OUTCOME:
        raise ValidationError(
            {"evidence": _("An outcome has at most %(n)d files.") % {"n": MAX_FILES_PER_OUTCOME}}
        )
    checked: list[tuple[Upload, CleanEvidence]] = []
    errors: list[Any] = []
    seen: dict[str, str] = {}
    for upload in uploads:
        try:
            clean = evidence_check(upload.data, filename=upload.name)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if clean.sha256 in seen:
            errors.append(
                _("“%(name)s” is the same file as “%(other)s”.")
                % {"name": upload.name, "other": seen[clean.sha256]}
            )
            continue
        seen[clean.sha256] = upload.name
        checked.append((upload, clean))
    duplicates = EvidenceFile.objects.filter(account=account, sha256__in=list(seen)).select_related(
        "outcome"
    )
    for existing in duplicates:
        errors.append(
            _("“%(name)s” is already uploaded, as evidence of “%(outcome)s”.")
            % {"name": seen[existing.sha256], "outcome": existing.outcome.title}
        )
    used = storage_used(account=account)
    if used + sum(clean.size for _upload, clean in checked) > quota_bytes():
        errors.append(
            _("These files would take you over your storage quota of %(mb)d MB.")
            % {"mb": quota_bytes() // (1024 * 1024)}
        )
    if errors:
        raise ValidationError({"evidence": errors})
    return checked


@contextmanager
def files_removed_on_failure() -> Iterator[list[str]]:
    """Yield a list to note stored file names in; if the block fails, delete them."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise


def evidence_store(
    *, outcome: LearningOutcome, checked: list[tuple[Upload, CleanEvidence]], stored: list[str]
) -> None:
    """Store checked files as ``outcome``'s evidence, noting each stored name in ``stored`` (the
    list :func:`files_removed_on_failure` yields)."""
    for upload, clean in checked:
        evidence = EvidenceFile(
            outcome=outcome,
            account=outcome.account,
            original_name=evidence_display_name(upload.name, clean.extension),
            content_type=clean.content_type,
            size=clean.size,
            sha256=clean.sha256,
        )
        evidence.file.save("upload" + clean.extension, ContentFile(clean.content), save=False)
        stored.append(str(evidence.file.name))
        evidence.save()


def evidence_delete_if_unreferenced(name: str) -> None:
    """Delete a stored file that no evidence row names any more (a batch shares one file)."""
    if not EvidenceFile.objects.filter(file=name).exists():
        default_storage.delete(name)


def evidence_display_name(name: str, extension: str) -> str:
    """The learner's own name for the file, for display only: path parts dropped, the true
    extension put on."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "evidence"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return (stem[:150] or "evidence") + extension
