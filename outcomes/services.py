"""Saving, changing and withdrawing learning outcomes with their evidence.

Every file is checked (outcomes.evidence) before anything is written; files are then stored and
rows inserted in one transaction, and if that transaction fails the stored files are deleted, so
a failed upload leaves neither an outcome nor a file behind.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import (
    BusinessTransaction,
    LearningAccount,
    User,
)
from accounts.services import (
    IDENTITY_IN_TEXT,
    account_lock,
    identity_number_in,
    transaction_record,
)
from common.prepared import PreparedQuery
from common.records import ExportParts, rows_of

from . import hooks
from .models import EvidenceFile, LearningOutcome, OutcomeKind, evidence_path
from .pending import evidence_staged_claim
from .review import outcome_review_status_set as outcome_review_status_set
from .storage import (
    Upload,
    evidence_delete_if_unreferenced,
    evidence_display_name,
    evidence_store,
    evidence_uploads_check,
    files_removed_on_failure,
    quota_bytes,
    storage_used,
)

# The most learning hours one outcome may declare, and the most a centre accredits for one
# (accreditation takes this constant): a declaration above it could never be accredited.
MAX_HOURS = Decimal("10000")
# Nobody learns more than a day's hours in a day: the hours declared for a period fit in it.
HOURS_PER_DAY = 24

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


# What the learner (or the reporting institution) writes in their own words.
FREE_TEXT_FIELDS = ("title", "issuing_body", "content", "place", "provider", "result")


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
    elif hours is not None:
        for message in _hours_problems(hours, started=started, ended=ended or today):
            add("hours", message)
    for field in FREE_TEXT_FIELDS:
        value = data.get(field)
        if isinstance(value, str) and identity_number_in(value):
            add(field, IDENTITY_IN_TEXT)
    if data.get("certificate_number") and "certificate_number" not in errors:
        # Checks of the layers above (the catalogue knows each certificate's number format).
        for message in hooks.certificate_number_problems(data):
            add("certificate_number", message)
    if errors:
        raise ValidationError(errors)


def _hours_problems(
    hours: Decimal, *, started: datetime.date | None, ended: datetime.date
) -> list[str]:
    """Hours above 24 a day of the learning's period (from its start to its end, or to today
    while it has no end; both days counted), or above what a centre accredits: whichever
    limit is lower is the one named."""
    days = (ended - started).days + 1 if started is not None and ended >= started else 0
    if days and HOURS_PER_DAY * days < MAX_HOURS:
        most = HOURS_PER_DAY * days
        if hours <= most:
            return []
        return [
            ngettext(
                "At most %(max)s learning hours fit in the %(days)d day of this learning "
                "(24 a day).",
                "At most %(max)s learning hours fit in the %(days)d days of this learning "
                "(24 a day).",
                days,
            )
            % {"max": f"{most:,}", "days": days}
        ]
    if hours > MAX_HOURS:
        return [str(_("Learning hours can be at most %(max)s.") % {"max": f"{MAX_HOURS:,}"})]
    return []


def outcome_save(
    *, account: LearningAccount, actor: User, data: dict[str, Any], uploads: Sequence[Upload]
) -> LearningOutcome:
    """Save a new outcome in its original state with at least one evidence file."""
    outcome_precheck(data)
    if not uploads:
        raise ValidationError({"evidence": _("Add at least one evidence file.")})
    with files_removed_on_failure() as stored, transaction.atomic():
        # One learner's uploads are checked against the quota and their earlier files one at a
        # time: two parallel uploads must not both fit under the quota, or both be "new".
        account_lock(account.pk)
        checked = evidence_uploads_check(account=account, uploads=uploads)
        outcome = LearningOutcome.objects.create(
            account=account,
            **{field: data.get(field) or outcome_field_empty(field) for field in OUTCOME_FIELDS},
        )
        evidence_store(outcome=outcome, checked=checked, stored=stored)
        transaction_record(
            account=account,
            kind=BusinessTransaction.Kind.OUTCOME_SAVED,
            actor=actor,
            details={"outcome": outcome.pk, "title": outcome.title, "files": len(checked)},
        )
    return outcome


def outcome_save_staged(
    *, account: LearningAccount, actor: User, data: dict[str, Any], upload_tokens: Sequence[str]
) -> LearningOutcome:
    """Save a new outcome with evidence uploaded beforehand (``pending.evidence_stage``)."""
    outcome_precheck(data)
    if not upload_tokens:
        raise ValidationError({"uploads": _("Add at least one evidence file.")})
    with _staged_uploads(account=account, tokens=upload_tokens) as uploads:
        return outcome_save(account=account, actor=actor, data=data, uploads=uploads)


def outcome_update_staged(
    *, outcome: LearningOutcome, actor: User, data: dict[str, Any], upload_tokens: Sequence[str]
) -> LearningOutcome:
    """Change a saved outcome, adding evidence uploaded beforehand."""
    with _staged_uploads(account=outcome.account, tokens=upload_tokens) as uploads:
        return outcome_update(outcome=outcome, actor=actor, data=data, uploads=uploads)


@contextmanager
def _staged_uploads(*, account: LearningAccount, tokens: Sequence[str]) -> Iterator[list[Upload]]:
    """The uploads ``tokens`` name, claimed for the block to store in the same transaction: two
    requests with one token at once wait on the account's lock, and the second finds it spent.
    Their pending files are deleted once it commits; a refused block gives the claim back, for
    the corrected request."""
    with transaction.atomic():
        account_lock(account.pk)  # first, as every service that locks the account
        taken = evidence_staged_claim(account_id=account.pk, tokens=tokens)
        yield [upload for upload, _path in taken]
        for _upload, path in taken:
            transaction.on_commit(partial(default_storage.delete, path))


def outcome_field_empty(field: str) -> Any:
    """What an outcome field holds when left blank: None for dates and hours, else ""."""
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
    with files_removed_on_failure() as stored, transaction.atomic():
        # The account first, then the outcome: every service that locks both takes them in
        # this order (a credit transfer does too), so two of them never wait on each other.
        account_lock(outcome.account_id)  # as in outcome_save
        # Locked, so that a submission for accreditation and a change cannot interleave.
        outcome = LearningOutcome.objects.select_for_update().get(pk=outcome.pk)
        _require_editable(outcome)
        merged = {field: getattr(outcome, field) for field in OUTCOME_FIELDS} | data
        outcome_precheck(merged)
        keep = outcome.evidence.exclude(pk__in=remove_evidence)
        if not keep.exists() and not uploads:
            raise ValidationError({"evidence": _("Keep or add at least one evidence file.")})
        checked = evidence_uploads_check(
            account=outcome.account, uploads=uploads, existing_files=keep.count()
        )
        for field in OUTCOME_FIELDS:
            setattr(outcome, field, merged.get(field) or outcome_field_empty(field))
        outcome.save()
        removed = list(outcome.evidence.filter(pk__in=remove_evidence))
        evidence_store(outcome=outcome, checked=checked, stored=stored)
        for evidence in removed:
            name = str(evidence.file.name)
            evidence.delete()
            # The stored file goes only once the rows are gone for good, and only when no other
            # row refers to it: an institution's batch shares one file among its members.
            transaction.on_commit(partial(evidence_delete_if_unreferenced, name))
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


def outcomes_in_file_without_evidence(*, account: LearningAccount) -> list[LearningOutcome]:
    """``outcomes_in_file`` without their evidence (the dashboard lists none), by a statement
    built once per process."""
    return _IN_FILE.list(account=account.pk)


_IN_FILE: PreparedQuery[LearningOutcome] = PreparedQuery(
    lambda account: LearningOutcome.objects.filter(
        account_id=account, status__in=LearningOutcome.IN_FILE
    ),
    account=2_000_000_001,
)


# --- What the apps above ask of outcomes ---------------------------------------------------------


def outcome_lock(*, outcome_id: int) -> LearningOutcome:
    """The outcome with its account, the rows locked until the caller's transaction ends: a
    submission for accreditation and the learner's own change cannot interleave."""
    return LearningOutcome.objects.select_for_update().select_related("account").get(pk=outcome_id)


def outcome_has_evidence(*, outcome: LearningOutcome) -> bool:
    return outcome.evidence.exists()


def outcome_of_holder(*, pk: int, user: User) -> LearningOutcome | None:
    """The outcome ``pk`` when ``user`` holds its account; None otherwise, so that another
    learner's id reveals nothing."""
    return LearningOutcome.objects.filter(pk=pk, account__holder=user).first()


def outcomes_saved_of_kind(*, kind: str) -> QuerySet[LearningOutcome]:
    """Saved outcomes of a kind, the ones a new catalogue entry may match, in id order."""
    return LearningOutcome.objects.filter(status=LearningOutcome.Status.SAVED, kind=kind)


def evidence_in_upload_order() -> QuerySet[EvidenceFile]:
    """Evidence files in the order they were uploaded, for prefetching an outcome's evidence."""
    return EvidenceFile.objects.order_by("uploaded_at", "id")


def outcomes_lock(*, outcome_ids: Sequence[int]) -> dict[int, LearningOutcome]:
    """Lock the outcomes' rows, in id order (the order every booking takes them in, so two never
    deadlock), until the caller's transaction ends; id -> outcome."""
    return {
        o.pk: o
        for o in LearningOutcome.objects.select_for_update()
        .filter(pk__in=sorted(outcome_ids))
        .order_by("pk")
    }


def evidence_files_of(*, account: LearningAccount) -> list[EvidenceFile]:
    return list(EvidenceFile.objects.filter(account=account).order_by("pk"))


def outcome_export_parts(*, account: LearningAccount) -> ExportParts:
    """This layer's part of the learner's data export."""
    return {
        "outcomes": lambda: rows_of(LearningOutcome.objects.filter(account=account)),
        "evidence": lambda: rows_of(EvidenceFile.objects.filter(account=account)),
    }


def outcomes_towards_courses(*, account: LearningAccount) -> list[LearningOutcome]:
    """The outcomes that count, or may come to count, towards a programme's courses: saved,
    submitted and accredited ones, newest first."""
    return list(
        LearningOutcome.objects.filter(
            account=account,
            status__in=[
                LearningOutcome.Status.SAVED,
                LearningOutcome.Status.SUBMITTED,
                LearningOutcome.Status.ACCREDITED,
            ],
        ).order_by("-achieved_on", "id")
    )


def outcome_search(
    *, account: LearningAccount, filters: dict[str, Any]
) -> QuerySet[LearningOutcome]:
    """The account's outcomes matching ``filters`` (``achieved_from``, ``achieved_to``,
    ``kind``, ``status``, ``provider``; each optional), newest first. Old versions of a
    corrected outcome are left out unless their status is asked for."""
    outcomes = LearningOutcome.objects.filter(account=account)
    if filters.get("achieved_from"):
        outcomes = outcomes.filter(achieved_on__gte=filters["achieved_from"])
    if filters.get("achieved_to"):
        outcomes = outcomes.filter(achieved_on__lte=filters["achieved_to"])
    if filters.get("kind"):
        outcomes = outcomes.filter(kind=filters["kind"])
    if filters.get("status"):
        outcomes = outcomes.filter(status=filters["status"])
    else:
        outcomes = outcomes.exclude(status=LearningOutcome.Status.SUPERSEDED)
    if filters.get("provider"):
        text = filters["provider"]
        outcomes = outcomes.filter(Q(provider__icontains=text) | Q(issuing_body__icontains=text))
    return outcomes.order_by("-achieved_on", "-id")


def outcome_hours_declared_by_year(
    *, account: LearningAccount, unaccredited_only: bool = False
) -> QuerySet[Any]:
    """Rows of ``year`` and ``hours``: the hours the learner declared for the outcomes in their
    file (``unaccredited_only``: those not accredited), by the year achieved, oldest first (one
    query)."""
    outcomes = LearningOutcome.objects.filter(
        account=account, status__in=LearningOutcome.IN_FILE, hours__isnull=False
    )
    if unaccredited_only:
        outcomes = outcomes.exclude(status=LearningOutcome.Status.ACCREDITED)
    return (
        outcomes.annotate(year=ExtractYear("achieved_on"))
        .values("year")
        .annotate(hours=Sum("hours"))
        .order_by("year")
    )


# A transfer record kept as evidence: the signed credential file the learner brought from
# another credit bank, stored as it came (the layer above verified its signature first).
RECORD_CONTENT_TYPE = "application/ld+json"
RECORD_EXTENSION = ".json"


def outcomes_save_from_record(
    *,
    account: LearningAccount,
    actor: User,
    rows: Sequence[dict[str, Any]],
    record: Upload,
    stored: list[str],
) -> list[LearningOutcome]:
    """Save one outcome per row (fields of ``OUTCOME_FIELDS``), each with the transfer record
    ``record`` as its evidence: the file is stored once and every outcome's evidence row names
    it (as a batch's shared file). The caller holds the account's lock and the transaction, and
    has verified the record; ``stored`` is the list of :func:`files_removed_on_failure`, so a
    failed transaction leaves no file behind. The file counts once against the learner's
    storage quota (:func:`.storage.storage_used`), checked here."""
    limit = int(getattr(settings, "EVIDENCE_MAX_BYTES", 10 * 1024 * 1024))
    if not record.data or len(record.data) > limit:
        raise ValidationError(
            {"evidence": _("The transfer record is empty or larger than the evidence limit.")}
        )
    # Under the account's lock the caller holds: two imports at once do not both fit.
    if storage_used(account=account) + len(record.data) > quota_bytes():
        raise ValidationError(
            {
                "evidence": _("These files would take you over your storage quota of %(mb)d MB.")
                % {"mb": quota_bytes() // (1024 * 1024)}
            }
        )
    digest = hashlib.sha256(record.data).hexdigest()
    name = default_storage.save(
        evidence_path(EvidenceFile(), "record" + RECORD_EXTENSION), ContentFile(record.data)
    )
    stored.append(name)
    original = evidence_display_name(record.name, RECORD_EXTENSION)
    outcomes: list[LearningOutcome] = []
    for row in rows:
        outcome = LearningOutcome.objects.create(
            account=account,
            **{field: row.get(field) or outcome_field_empty(field) for field in OUTCOME_FIELDS},
        )
        EvidenceFile.objects.create(
            outcome=outcome,
            account=account,
            file=name,
            original_name=original,
            content_type=RECORD_CONTENT_TYPE,
            size=len(record.data),
            sha256=digest,
        )
        transaction_record(
            account=account,
            kind=BusinessTransaction.Kind.OUTCOME_SAVED,
            actor=actor,
            details={"outcome": outcome.pk, "title": outcome.title, "files": 1},
        )
        outcomes.append(outcome)
    return outcomes
