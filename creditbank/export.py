"""The learner's data export: a ZIP of everything the portal holds about them, one JSON file per
kind of record plus the stored bytes of their evidence files, made by a worker
(``creditbank.tasks.build_data_export``) and downloadable by its owner for 24 hours. Asking
for one is a business transaction. Once the link has expired, a periodic task
(``creditbank.tasks.purge_expired_data_exports``) deletes the ZIP from storage; closing the
account deletes them at once.

Only the learner's own rows are read: every query is filtered by their account (or, for
notifications, by them as recipient). People who acted on the learner's records (reviewers,
officers) appear by id only, except staff who viewed the file, whom the learner is entitled to
know by name and centre.
"""

from __future__ import annotations

import datetime
import json
import logging
import tempfile
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from accounts.models import BusinessTransaction, LearningAccount, User
from accounts.services import account_export_parts, account_lock, transaction_record
from accreditation.services import accreditation_export_parts
from common.tasks import task_after_commit
from outcomes.models import EvidenceFile
from outcomes.services import evidence_files_of, outcome_export_parts
from transfers.services import transfers_export_parts

from .models import DataExport, DataExportEvent
from .workflow import DATA_EXPORT

logger = logging.getLogger(__name__)

Action = DataExportEvent.Action
LINK_LIFETIME = datetime.timedelta(hours=24)


def _records(account: LearningAccount) -> list[tuple[str, Callable[[], Any]]]:
    """Each kind of record, as (file name, function giving its rows): each app gives its part
    of the account's rows, and the files group them as they always have."""
    mine = account_export_parts(account=account)
    outcomes = outcome_export_parts(account=account)
    accreditation = accreditation_export_parts(account=account)
    transfers = transfers_export_parts(account=account)
    return [
        ("account.json", lambda: {"account": mine["account"](), "user": mine["user"]()}),
        ("file.json", lambda: {"file": mine["file"](), "goals": transfers["goals"]()}),
        ("outcomes.json", outcomes["outcomes"]),
        ("evidence.json", outcomes["evidence"]),
        ("applications.json", accreditation["applications"]),
        ("application_events.json", accreditation["application_events"]),
        (
            "decisions.json",
            lambda: {
                "decisions": accreditation["decisions"](),
                "revocations": accreditation["revocations"](),
            },
        ),
        ("ledger.json", mine["ledger"]),
        (
            "transfers.json",
            lambda: {
                "applications": transfers["applications"](),
                "items": transfers["items"](),
                "events": transfers["events"](),
            },
        ),
        ("certificates.json", transfers["certificates"]),
        ("notifications.json", mine["notifications"]),
        ("transactions.json", mine["transactions"]),
        (
            "rights.json",
            lambda: {
                "corrections": mine["corrections"](),
                "visits": mine["visits"](),
                "closures": mine["closures"](),
            },
        ),
        ("staff_views.json", mine["staff_views"]),
    ]


def _evidence_name(evidence: EvidenceFile) -> str:
    # The id keeps two files of the same name apart; the stored name's suffix is trusted over
    # the learner's original name, which may hold anything.
    suffix = PurePosixPath(evidence.file.name or "").suffix
    stem = PurePosixPath(evidence.original_name).stem.replace("/", "_") or "file"
    return f"evidence/{evidence.pk}-{stem}{suffix}"


@transaction.atomic
def data_export_request(
    *, account: LearningAccount, actor: User | None = None
) -> tuple[DataExport, bool]:
    """Ask for an export of the account's data. Gives the export being made if there is one
    (and ``False``), else a new one, whose building is queued after commit (and ``True``);
    a new one is recorded as a business transaction."""
    # The account row is the lock: two requests at once make one export.
    account_lock(account.pk)
    running = DataExport.objects.filter(account=account, state__in=DataExport.IN_PROGRESS).first()
    if running is not None:
        return running, False
    export = DataExport.objects.create(account=account)
    transaction_record(
        account=account,
        kind=BusinessTransaction.Kind.DATA_EXPORT_REQUESTED,
        actor=actor,
        details={"export": export.pk},
    )

    from .tasks import build_data_export

    # robust: a broker that is down must not turn the committed request into an error; the
    # periodic data_exports_resend_stale queues it once the broker is back.
    task_after_commit(build_data_export, export_id=export.pk)
    return export, True


# An export being built for longer than this was abandoned by a worker that died (the task time
# limit is far shorter).
ABANDONED_RUN = datetime.timedelta(hours=1)


def data_exports_resend_stale(*, now: datetime.datetime | None = None) -> int:
    """Periodic (beat): queue again the exports still requested after ``STALE_REQUEST_SECONDS``
    (their message was lost) or running for over an hour (their worker died); returns how
    many. Building claims the export, so a late first message makes nothing twice."""
    from .tasks import build_data_export

    now = now or timezone.now()
    stale = list(
        DataExport.objects.filter(
            Q(
                state=DataExport.State.REQUESTED,
                created_at__lt=now - datetime.timedelta(seconds=settings.STALE_REQUEST_SECONDS),
            )
            | Q(state=DataExport.State.RUNNING, created_at__lt=now - ABANDONED_RUN)
        ).values_list("pk", flat=True)[:1_000]
    )
    for export_id in stale:
        build_data_export.delay(export_id=export_id)
    if stale:
        logger.warning("re-sent %d stale data exports", len(stale))
    return len(stale)


def _progress(export: DataExport, done: int, total: int) -> None:
    # Never 100 before the file is stored: 100 means ready.
    percent = min(99, done * 100 // max(total, 1))
    DataExport.objects.filter(pk=export.pk).update(progress=percent)


def data_export_build(*, export_id: int) -> DataExport:
    """Build the ZIP of a requested export, recording progress as it goes. An export that is
    already ready or failed is returned as it is (a redelivered task makes nothing new)."""
    with transaction.atomic():
        # The row lock: a second worker with the same export waits for this claim, then claims
        # it again (a build that starts over), as the table allows.
        export = (
            DataExport.objects.select_for_update(of=("self",))
            .select_related("account__holder")
            .get(pk=export_id)
        )
        if not DATA_EXPORT.is_allowed(export.state, Action.START):
            return export
        export.progress = 0
        DATA_EXPORT.move(
            export,
            action=Action.START,
            save=lambda e: e.save(update_fields=["state", "progress"]),
        )
    account = export.account
    records = _records(account)
    evidence = evidence_files_of(account=account)
    total = len(records) + len(evidence)
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for done, (name, rows) in enumerate(records, start=1):
                body = json.dumps(rows(), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
                archive.writestr(name, body)
                _progress(export, done, total)
            for done, item in enumerate(evidence, start=len(records) + 1):
                with item.file.open("rb") as stored:
                    archive.writestr(_evidence_name(item), stored.read())
                _progress(export, done, total)
        spool.seek(0)
        export.file.save("export.zip", File(spool), save=False)
    export.progress = 100
    export.expires_at = timezone.now() + LINK_LIFETIME
    with transaction.atomic():
        DATA_EXPORT.move(
            export,
            action=Action.FINISH,
            save=lambda e: e.save(update_fields=["file", "state", "progress", "expires_at"]),
        )
    return export


def data_export_fail(*, export_id: int) -> None:
    """The worker gave up: an export still in progress is marked failed (the learner may ask
    again); one that is ready or failed already is left as it is."""
    with transaction.atomic():
        export = DataExport.objects.select_for_update().filter(pk=export_id).first()
        if export is None or not DATA_EXPORT.is_allowed(export.state, Action.FAIL):
            return
        DATA_EXPORT.move(export, action=Action.FAIL, save=lambda e: e.save(update_fields=["state"]))


def data_exports_of(*, account: LearningAccount) -> models.QuerySet[DataExport]:
    return DataExport.objects.filter(account=account)


class ExportExpired(Exception):
    """The export exists and is the caller's, but its link has expired."""


def data_export_for_download(*, user: Any, token: str) -> DataExport:
    """The caller's ready export with this token. Anyone else's, or one not ready, is
    :class:`Http404`; an expired one raises :class:`ExportExpired`."""
    export = DataExport.objects.filter(
        token=token, account__holder_id=getattr(user, "pk", None), state=DataExport.State.READY
    ).first()
    if export is None:
        raise Http404
    if export.is_expired:
        # Also once its file has been purged: the learner still hears why.
        raise ExportExpired
    if not export.file:
        raise Http404
    return export


def _files_remove(exports: models.QuerySet[DataExport]) -> int:
    """Clear the file of each export and delete it from storage after the commit (a rollback
    leaves it where it was). A file already cleared is not counted again."""
    storage = DataExport._meta.get_field("file").storage
    removed = 0
    for pk, name in list(exports.exclude(file="").values_list("pk", "file")):
        with transaction.atomic():
            if DataExport.objects.filter(pk=pk, file=name).update(file=""):
                transaction.on_commit(partial(storage.delete, name))
                removed += 1
    return removed


def data_exports_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """Delete the ZIPs whose download link has expired; the rows stay (the learner sees that
    the link expired). Idempotent: a second run finds nothing to delete. Returns how many."""
    now = now or timezone.now()
    return _files_remove(DataExport.objects.filter(expires_at__lte=now))


def account_exports_erase(account: LearningAccount) -> None:
    """Closure eraser: the account's ZIPs hold its personal data; delete them all."""
    _files_remove(DataExport.objects.filter(account=account))
