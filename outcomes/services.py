"""Saving, changing and withdrawing learning outcomes with their evidence.

Every file is checked (outcomes.evidence) before anything is written; files are then stored and
rows inserted in one transaction, and if that transaction fails the stored files are deleted, so
a failed upload leaves neither an outcome nor a file behind.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import BusinessTransaction, LearningAccount, User
from accounts.services import transaction_record

from .evidence import CleanEvidence, evidence_check
from .models import EvidenceFile, LearningOutcome, OutcomeKind

MAX_FILES_PER_OUTCOME = 10

# Fields each kind of outcome must have, so that a learner does not wait 15 working days to
# learn that the centre cannot judge it.
REQUIRED_BY_KIND: dict[str, tuple[str, ...]] = {
    OutcomeKind.VOCATIONAL_QUALIFICATION: ("issuing_body", "certificate_number"),
    OutcomeKind.SKILL_LEVEL: ("issuing_body", "certificate_number", "result"),
    OutcomeKind.ACADEMIC_COURSE: ("provider", "result"),
    OutcomeKind.TRAINING: ("provider", "hours", "started_on"),
    OutcomeKind.ONLINE_COURSE: ("provider", "hours"),
    OutcomeKind.COMPETITION_AWARD: ("issuing_body", "result"),
    OutcomeKind.OTHER: ("content",),
}

OUTCOME_FIELDS = (
    "kind", "title", "issuing_body", "certificate_number", "achieved_on", "content", "mode",
    "place", "provider", "started_on", "ended_on", "hours", "result",
)  # fmt: skip


@dataclass(frozen=True)
class Upload:
    """An uploaded file as the services see it: its bytes and the name the learner gave."""

    name: str
    data: bytes


def quota_bytes() -> int:
    return int(getattr(settings, "EVIDENCE_QUOTA_BYTES", 200 * 1024 * 1024))


def outcome_precheck(data: dict[str, Any], *, today: datetime.date | None = None) -> None:
    """Field-level checks of an outcome's description; raises ValidationError by field."""
    today = today or timezone.localdate()
    errors: dict[str, list[Any]] = {}

    def add(field: str, message: Any) -> None:
        errors.setdefault(field, []).append(message)

    kind = data.get("kind")
    for field in REQUIRED_BY_KIND.get(kind or "", ()):
        if data.get(field) in (None, ""):
            add(field, _("This kind of outcome needs this information."))
    for field in ("achieved_on", "started_on", "ended_on"):
        value = data.get(field)
        if value and value > today:
            add(field, _("This date is in the future."))
    started, ended, achieved = data.get("started_on"), data.get("ended_on"), data.get("achieved_on")
    if started and ended and ended < started:
        add("ended_on", _("The end date is before the start date."))
    if started and achieved and achieved < started:
        add("achieved_on", _("The outcome cannot be achieved before the learning started."))
    hours = data.get("hours")
    if hours is not None and hours <= Decimal(0):
        add("hours", _("Learning hours must be more than zero."))
    if errors:
        raise ValidationError(errors)


def _check_uploads(
    *, account: LearningAccount, uploads: Sequence[Upload], existing_files: int = 0
) -> list[tuple[Upload, CleanEvidence]]:
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
    used = EvidenceFile.objects.filter(account=account).aggregate(total=Sum("size"))["total"] or 0
    if used + sum(clean.size for _upload, clean in checked) > quota_bytes():
        errors.append(
            _("These files would take you over your storage quota of %(mb)d MB.")
            % {"mb": quota_bytes() // (1024 * 1024)}
        )
    if errors:
        raise ValidationError({"evidence": errors})
    return checked


@contextmanager
def _files_removed_on_failure() -> Iterator[list[str]]:
    """Yield a list to note stored file names in; if the block fails, delete them."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise


def _store(
    *, outcome: LearningOutcome, checked: list[tuple[Upload, CleanEvidence]], stored: list[str]
) -> None:
    for upload, clean in checked:
        evidence = EvidenceFile(
            outcome=outcome,
            account=outcome.account,
            original_name=_display_name(upload.name, clean.extension),
            content_type=clean.content_type,
            size=clean.size,
            sha256=clean.sha256,
        )
        evidence.file.save("upload" + clean.extension, ContentFile(clean.content), save=False)
        stored.append(str(evidence.file.name))
        evidence.save()


def _display_name(name: str, extension: str) -> str:
    """The learner's own name for the file, for display only: path parts dropped, the true
    extension put on."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "evidence"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return (stem[:150] or "evidence") + extension


def outcome_save(
    *, account: LearningAccount, actor: User, data: dict[str, Any], uploads: Sequence[Upload]
) -> LearningOutcome:
    """Save a new outcome in its original state with at least one evidence file."""
    outcome_precheck(data)
    if not uploads:
        raise ValidationError({"evidence": _("Add at least one evidence file.")})
    checked = _check_uploads(account=account, uploads=uploads)
    with _files_removed_on_failure() as stored, transaction.atomic():
        outcome = LearningOutcome.objects.create(
            account=account, **{field: data.get(field) or _empty(field) for field in OUTCOME_FIELDS}
        )
        _store(outcome=outcome, checked=checked, stored=stored)
        transaction_record(
            account=account,
            kind=BusinessTransaction.Kind.OUTCOME_SAVED,
            actor=actor,
            details={"outcome": outcome.pk, "title": outcome.title, "files": len(checked)},
        )
    return outcome


def _empty(field: str) -> Any:
    return None if field in ("started_on", "ended_on", "hours", "achieved_on") else ""


def outcome_update(
    *,
    outcome: LearningOutcome,
    actor: User,
    data: dict[str, Any],
    uploads: Sequence[Upload] = (),
    remove_evidence: Sequence[int] = (),
) -> LearningOutcome:
    """Change a saved outcome: its description, add files, remove files. Refused once it has
    been submitted for accreditation."""
    with _files_removed_on_failure() as stored, transaction.atomic():
        # Locked, so that a submission for accreditation and a change cannot interleave.
        outcome = LearningOutcome.objects.select_for_update().get(pk=outcome.pk)
        _require_editable(outcome)
        merged = {field: getattr(outcome, field) for field in OUTCOME_FIELDS} | data
        outcome_precheck(merged)
        keep = outcome.evidence.exclude(pk__in=remove_evidence)
        if not keep.exists() and not uploads:
            raise ValidationError({"evidence": _("Keep or add at least one evidence file.")})
        checked = _check_uploads(
            account=outcome.account, uploads=uploads, existing_files=keep.count()
        )
        for field in OUTCOME_FIELDS:
            setattr(outcome, field, merged.get(field) or _empty(field))
        outcome.save()
        removed = list(outcome.evidence.filter(pk__in=remove_evidence))
        _store(outcome=outcome, checked=checked, stored=stored)
        for evidence in removed:
            name = str(evidence.file.name)
            evidence.delete()
            # The stored file goes only once the rows are gone for good.
            transaction.on_commit(partial(default_storage.delete, name))
        transaction_record(
            account=outcome.account,
            kind=BusinessTransaction.Kind.OUTCOME_CHANGED,
            actor=actor,
            details={"outcome": outcome.pk, "added": len(checked), "removed": len(removed)},
        )
    return outcome


@transaction.atomic
def outcome_withdraw(*, outcome: LearningOutcome, actor: User) -> LearningOutcome:
    outcome = LearningOutcome.objects.select_for_update().get(pk=outcome.pk)
    _require_editable(outcome)
    outcome.status = LearningOutcome.Status.WITHDRAWN
    outcome.save(update_fields=["status", "updated_at"])
    transaction_record(
        account=outcome.account,
        kind=BusinessTransaction.Kind.OUTCOME_WITHDRAWN,
        actor=actor,
        details={"outcome": outcome.pk, "title": outcome.title},
    )
    return outcome


def _require_editable(outcome: LearningOutcome) -> None:
    if not outcome.is_editable:
        raise ValidationError(
            {
                "status": _(
                    "This outcome has been submitted for accreditation and can no longer be "
                    "changed."
                )
            }
        )


def outcomes_of(*, account: LearningAccount) -> QuerySet[LearningOutcome]:
    return LearningOutcome.objects.filter(account=account).prefetch_related("evidence")


def outcomes_in_file(*, account: LearningAccount) -> QuerySet[LearningOutcome]:
    """What the lifelong learning file lists: saved, submitted and decided outcomes."""
    return outcomes_of(account=account).filter(status__in=LearningOutcome.IN_FILE)
