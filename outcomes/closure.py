"""What closing a learning account removes from this layer: the outcomes' free text and the
evidence files in storage. Registered with ``accounts.rights`` in ``OutcomesConfig.ready()``."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction

from accounts.models import LearningAccount

from .models import EvidenceFile, LearningOutcome


def account_outcomes_erase(account: LearningAccount) -> None:
    """Idempotent: a second run finds no file names and no text left. Every text the learner
    wrote (or an institution wrote about them) goes, the title too; the kind, dates, hours and
    status stay, for the decisions and the ledger that point at the outcome."""
    evidence = EvidenceFile.objects.filter(account=account).exclude(file="")
    names = set(evidence.values_list("file", flat=True))
    # The rows stay (applications and decisions point at the outcomes), without their files.
    evidence.update(file="", original_name="")
    EvidenceFile.objects.filter(account=account).exclude(original_name="").update(original_name="")
    LearningOutcome.objects.filter(account=account).update(
        title="",
        issuing_body="",
        certificate_number="",
        content="",
        place="",
        provider="",
        result="",
    )
    shared = set(EvidenceFile.objects.filter(file__in=names).values_list("file", flat=True))

    def delete_files() -> None:
        # After the commit, so that a closure that fails leaves the files where they were.
        for name in names - shared:
            default_storage.delete(name)

    transaction.on_commit(delete_files)
