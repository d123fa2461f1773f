"""What review at a centre does to an outcome: its status follows the accreditation
application, and a learner asked for supplementary material adds evidence to a frozen outcome.

The accreditation layer calls these; it owns the application, this app owns the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import account_lock

from .models import LearningOutcome
from .storage import Upload, evidence_store, evidence_uploads_check, files_removed_on_failure

Status = LearningOutcome.Status

# The statuses review may give an outcome, each with the statuses it may come from.
REVIEW_MOVES: dict[str, tuple[str, ...]] = {
    Status.SUBMITTED: (Status.SAVED,),
    Status.SAVED: (Status.SUBMITTED,),  # the learner withdrew the application
    Status.ACCREDITED: (Status.SUBMITTED,),
    Status.NOT_ACCREDITED: (Status.SUBMITTED, Status.ACCREDITED),  # decided, or revoked
}


def outcome_review_status_set(*, outcome: LearningOutcome, status: str) -> LearningOutcome:
    """Move the outcome as its application moves. The caller holds the transaction; the
    outcome row is locked so that the learner's own change cannot interleave."""
    locked = LearningOutcome.objects.select_for_update().get(pk=outcome.pk)
    if locked.status not in REVIEW_MOVES.get(status, ()):
        raise ValidationError(
            {
                "outcome": _("A learning outcome that is “%(state)s” cannot become “%(to)s”.")
                % {"state": locked.get_status_display(), "to": Status(status).label}
            }
        )
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    outcome.status = status
    return locked


def outcome_evidence_supplement(
    *, outcome: LearningOutcome, actor: User, uploads: Sequence[Upload]
) -> int:
    """Add supplementary evidence to an outcome under review. Nothing is removed: what the
    centre has seen stays. Returns the number of files added."""
    if not uploads:
        raise ValidationError({"evidence": _("Add at least one evidence file.")})
    with files_removed_on_failure() as stored, transaction.atomic():
        # The account first, then the outcome, as everywhere (see outcome_update).
        account_lock(outcome.account_id)
        locked = LearningOutcome.objects.select_for_update().get(pk=outcome.pk)
        if locked.status != Status.SUBMITTED:
            raise ValidationError(
                {"outcome": _("Only an outcome under review takes supplementary material.")}
            )
        checked = evidence_uploads_check(
            account=locked.account, uploads=uploads, existing_files=locked.evidence.count()
        )
        evidence_store(outcome=locked, checked=checked, stored=stored)
    return len(checked)
