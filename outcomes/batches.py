"""Institution batches: an institution administrator reports one training programme's results for
many members at once, each member confirms or declines theirs."""

from __future__ import annotations

import datetime
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.collective import imports
from accounts.identity import crypto
from accounts.models import (
    BusinessTransaction,
    LearningAccount,
    Notification,
    User,
    WebhookEventType,
)
from accounts.services import (
    collective_members_find,
    collective_of,
    notify_many,
    parse_identity,
    transaction_record,
    transaction_record_many,
    webhook_event_record,
)
from common.tables import (
    ListedTable,
    RowErrors,
    RowsInvalid,
    TableMessages,
    cell_date,
    heading_key,
    table_read,
    typed_cell_text,
)

from .evidence import CleanEvidence
from .models import EvidenceFile, InstitutionBatch, LearningOutcome, evidence_path
from .services import OUTCOME_FIELDS, outcome_field_empty, outcome_precheck, outcomes_of
from .storage import (
    Upload,
    evidence_display_name,
    evidence_uploads_check,
    files_removed_on_failure,
)

# --- Institution batches -------------------------------------------------------------------
#
# An institution administrator reports one training programme's results for many members at
# once: the programme's description, a CSV or XLSX list with a row per member, and evidence
# files shared by all. Everything is checked first; then each shared file is stored once, and
# each member gets an outcome awaiting their confirmation whose evidence rows all name that
# same stored file. Lookups and inserts are batched: no query per row.

ACCOUNT_NUMBER = "account_number"
RESULT, CERTIFICATE_NUMBER, ACHIEVED_ON = "result", "certificate_number", "achieved_on"
BATCH_COLUMNS = (
    ACCOUNT_NUMBER, imports.NAME, imports.ID_TYPE, imports.ID_NUMBER, RESULT,
    CERTIFICATE_NUMBER, ACHIEVED_ON,
)  # fmt: skip
BATCH_HEADINGS: dict[str, tuple[str, ...]] = {
    ACCOUNT_NUMBER: ("account_number", "account number", "账户号码", "学习账户号码", "账号"),
    imports.NAME: imports.HEADINGS[imports.NAME],
    imports.ID_TYPE: imports.HEADINGS[imports.ID_TYPE],
    imports.ID_NUMBER: imports.HEADINGS[imports.ID_NUMBER],
    RESULT: ("result", "结果", "成绩", "培训结果"),
    CERTIFICATE_NUMBER: ("certificate_number", "certificate number", "证书编号", "证书号码"),
    ACHIEVED_ON: ("achieved_on", "achieved on", "date achieved", "取得日期", "获得日期"),
}
BATCH_TEMPLATE_HEADINGS = (
    "账户号码",
    "姓名",
    "证件类型",
    "证件号码",
    "结果",
    "证书编号",
    "取得日期",
)
# What each row gives; the rest of an outcome is the programme's description, shared by all.
BATCH_ROW_FIELDS = (RESULT, CERTIFICATE_NUMBER, ACHIEVED_ON)
BATCH_DESCRIPTION_FIELDS = tuple(f for f in OUTCOME_FIELDS if f not in BATCH_ROW_FIELDS)
MAX_BATCH_ROWS = 10_000
BATCH_INSERT = 1_000
BATCH_LOOKUP = 5_000

# The identity document types as a row may write them, compared like headings.
_ID_TYPE_OF_VALUE = {
    heading_key(value): id_type for value, id_type in imports.ID_TYPE_VALUES.items()
}


class BatchRowErrors(RowErrors):
    def __init__(self, headings: Mapping[str, str]) -> None:
        super().__init__(headings, BATCH_COLUMNS)


class BatchRowsInvalid(RowsInvalid):
    """Some rows of the list are wrong; ``rows`` lists every problem found (the same report
    as a member import's)."""

    summary = ngettext_lazy(
        "The file has %(count)d problem. Nothing was reported: correct it and upload the "
        "whole file again.",
        "The file has %(count)d problems. Nothing was reported: correct them and upload the "
        "whole file again.",
        "count",
    )


@dataclass(frozen=True)
class _BatchRow:
    number: int
    name: str
    account_number: str
    index: str  # blind index of the identity number, "" when the row gives none
    result: str
    certificate_number: str
    achieved_on: datetime.date | None


def _batch_missing(found: Collection[str]) -> list[str]:
    """The columns a batch lacks: name, result and date, and the member by account number or
    by identity document."""
    missing = [c for c in (imports.NAME, RESULT, ACHIEVED_ON) if c not in found]
    if ACCOUNT_NUMBER not in found and not {imports.ID_TYPE, imports.ID_NUMBER} <= set(found):
        missing.append(ACCOUNT_NUMBER)
    return missing


BATCH_MESSAGES = TableMessages(
    # One message for any missing column: it names every column the list may have.
    missing_column=_(
        "The heading row must name the columns 姓名 (name), 结果 (result) and 取得日期 "
        "(achieved_on), and either 账户号码 (account_number) or 证件类型 (id_type) with "
        "证件号码 (id_number); 证书编号 (certificate_number) is optional."
    ),
    no_rows=_("The file has no member rows below its heading row."),
)


def batch_table_read(*, data: bytes, filename: str) -> ListedTable:
    """Read the list of a batch (size, format and zip-bomb checks included); raises
    ValidationError keyed ``file`` when the file cannot be taken. The rows are all read here,
    so that a list with too many rows is refused with the form's other problems."""
    return table_read(
        data,
        filename=filename,
        columns=BATCH_HEADINGS,
        required=_batch_missing,
        max_rows=MAX_BATCH_ROWS,
        messages=BATCH_MESSAGES,
    ).listed()


def _batch_rows_check(
    table: ListedTable, *, description: dict[str, Any], errors: BatchRowErrors
) -> list[_BatchRow]:
    rows: list[_BatchRow] = []
    for source in table.rows:
        cells, row = source.cells, source.number

        def text(column: str, cells: dict[str, object] = cells) -> str:
            return typed_cell_text(cells.get(column))

        name = text(imports.NAME)
        if not name:
            errors.add(row, imports.NAME, gettext("The name is missing."))
        account_number = text(ACCOUNT_NUMBER).upper()
        index = ""
        raw_type, raw_number = text(imports.ID_TYPE), cells.get(imports.ID_NUMBER)
        if isinstance(raw_number, int | float | Decimal) and not isinstance(raw_number, bool):
            errors.add(
                row,
                imports.ID_NUMBER,
                gettext(
                    "The identity number is stored in the spreadsheet as a number, which keeps "
                    "only 15 digits. Format the column as text and type the number again."
                ),
            )
        elif typed_cell_text(raw_number):
            id_type = _ID_TYPE_OF_VALUE.get(heading_key(raw_type), "")
            if not id_type:
                errors.add(
                    row,
                    imports.ID_TYPE,
                    gettext(
                        "Write the identity document type: 居民身份证, 港澳台居民居住证 or "
                        "外国人永久居留身份证."
                    ),
                )
            else:
                try:
                    identity = parse_identity(id_type, typed_cell_text(raw_number))
                except ValidationError as exc:
                    errors.add(row, imports.ID_NUMBER, " ".join(exc.messages))
                else:
                    index = crypto.blind_index(identity.number)
        elif not account_number:
            errors.add(
                row,
                ACCOUNT_NUMBER if ACCOUNT_NUMBER in table.headings else imports.ID_NUMBER,
                gettext(
                    "Give the member's learning account number, or the type and number of their "
                    "identity document."
                ),
            )

        result = text(RESULT)
        if not result:
            errors.add(row, RESULT, gettext("The result is missing."))
        elif len(result) > 200:
            errors.add(row, RESULT, gettext("The result is longer than 200 characters."))
        certificate_number = text(CERTIFICATE_NUMBER)
        if len(certificate_number) > 60:
            errors.add(
                row,
                CERTIFICATE_NUMBER,
                gettext("The certificate number is longer than 60 characters."),
            )
        achieved_on: datetime.date | None = None
        if cells.get(ACHIEVED_ON) in (None, ""):
            errors.add(row, ACHIEVED_ON, gettext("The date achieved is missing."))
        else:
            try:
                achieved_on = cell_date(cells.get(ACHIEVED_ON))
            except ValueError:
                errors.add(
                    row,
                    ACHIEVED_ON,
                    gettext("Write the date achieved as a date, such as 2026-06-30."),
                )
        own = {RESULT: result, CERTIFICATE_NUMBER: certificate_number, ACHIEVED_ON: achieved_on}
        try:
            outcome_precheck(description | own)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                if field in BATCH_ROW_FIELDS and not errors.has(row, field):
                    errors.add(row, field, " ".join(messages))
        rows.append(
            _BatchRow(row, name, account_number, index, result, certificate_number, achieved_on)
        )
    return rows


def _batch_members(
    *, collective: LearningAccount, rows: list[_BatchRow], errors: BatchRowErrors
) -> list[LearningAccount | None]:
    """The member each row names, looked up all at once; a row naming anyone who is not a
    member of ``collective`` (or the same member twice, or under another name) is an error."""
    by_number: dict[str, LearningAccount] = {}
    numbers = sorted({r.account_number for r in rows if r.account_number})
    for start in range(0, len(numbers), BATCH_LOOKUP):
        for account in collective_members_find(
            collective=collective, numbers=numbers[start : start + BATCH_LOOKUP]
        ):
            by_number[account.number] = account
    by_index: dict[str, LearningAccount] = {}
    indexes = sorted({r.index for r in rows if r.index})
    for start in range(0, len(indexes), BATCH_LOOKUP):
        for account in collective_members_find(
            collective=collective, id_number_indexes=indexes[start : start + BATCH_LOOKUP]
        ):
            by_index[account.id_number_index] = account

    not_a_member = gettext("No member of your collective account has this %(what)s.")
    seen: dict[int, int] = {}
    found: list[LearningAccount | None] = []
    for r in rows:
        member: LearningAccount | None = None
        if r.account_number:
            member = by_number.get(r.account_number)
            if member is None:
                errors.add(
                    r.number, ACCOUNT_NUMBER, not_a_member % {"what": gettext("account number")}
                )
        if r.index:
            other = by_index.get(r.index)
            if other is None:
                errors.add(
                    r.number,
                    imports.ID_NUMBER,
                    not_a_member % {"what": gettext("identity number")},
                )
            elif member is not None and other.pk != member.pk:
                errors.add(
                    r.number,
                    imports.ID_NUMBER,
                    gettext("The account number and the identity number are of different members."),
                )
            member = member or other
        if member is not None:
            holder_name = member.holder.name if member.holder else ""
            if r.name and not imports.names_match(r.name, holder_name):
                errors.add(
                    r.number,
                    imports.NAME,
                    gettext("The name does not match the member's learning account."),
                )
            if member.status != LearningAccount.Status.ACTIVE:
                errors.add(
                    r.number,
                    imports.NAME,
                    gettext("The learning account of this member is closed."),
                )
            first = seen.setdefault(member.pk, r.number)
            if first != r.number:
                errors.add(
                    r.number,
                    imports.NAME,
                    gettext("This member is also on row %(row)d; list each member once.")
                    % {"row": first},
                )
        found.append(member)
    return found


def _check_administers(*, user: User, collective: LearningAccount) -> None:
    administered = (
        collective_of(user=user, institution_id=collective.institution_id)
        if collective.institution_id is not None
        else None
    )
    if administered is None or administered.pk != collective.pk:
        raise PermissionDenied


def institution_batch_report(
    *,
    collective: LearningAccount,
    uploaded_by: User,
    description: dict[str, Any],
    filename: str,
    data: bytes,
    uploads: Sequence[Upload],
) -> InstitutionBatch:
    """Report a training programme's results for members of ``collective``: each row's member
    gets an outcome awaiting their confirmation, with the shared evidence.

    All or nothing: a problem with the description, the evidence or the file is raised as a
    ValidationError by field; problems in rows as BatchRowsInvalid, every one by row and
    column. Either way no row is written and no file stored.
    """
    _check_administers(user=uploaded_by, collective=collective)
    if collective.status != LearningAccount.Status.ACTIVE:
        raise ValidationError(
            {
                "file": _(
                    "Results can be reported once the centre has approved the collective account."
                )
            }
        )
    description = {field: description.get(field) for field in BATCH_DESCRIPTION_FIELDS}
    errors: dict[str, list[Any]] = {}
    try:
        # The row fields are checked per row; placeholders here keep their rules quiet.
        outcome_precheck(description | {RESULT: "-", CERTIFICATE_NUMBER: "-"})
    except ValidationError as exc:
        errors.update(
            {f: messages for f, messages in exc.message_dict.items() if f not in BATCH_ROW_FIELDS}
        )
    checked: list[tuple[Upload, CleanEvidence]] = []
    if not uploads:
        errors["evidence"] = [_("Add at least one evidence file.")]
    else:
        try:
            checked = evidence_uploads_check(account=collective, uploads=uploads)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    table: ListedTable | None = None
    try:
        table = batch_table_read(data=data, filename=filename)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors or table is None:
        raise ValidationError(errors)

    row_errors = BatchRowErrors(table.headings)
    rows = _batch_rows_check(table, description=description, errors=row_errors)
    members = _batch_members(collective=collective, rows=rows, errors=row_errors)
    if row_errors:
        raise BatchRowsInvalid(row_errors.sorted())

    with files_removed_on_failure() as stored, transaction.atomic():
        batch = InstitutionBatch.objects.create(
            collective=collective,
            uploaded_by=uploaded_by,
            title=description["title"],
            filename=filename[:255],
            rows=len(rows),
            evidence_files=len(checked),
        )
        shared: list[tuple[str, str, CleanEvidence]] = []
        for upload, clean in checked:
            # Stored once; every member's evidence row names this same file.
            name = default_storage.save(
                evidence_path(EvidenceFile(), "upload" + clean.extension),
                ContentFile(clean.content),
            )
            stored.append(name)
            shared.append((name, evidence_display_name(upload.name, clean.extension), clean))
        common = {
            field: description[field] or outcome_field_empty(field)
            for field in BATCH_DESCRIPTION_FIELDS
        }
        outcomes = LearningOutcome.objects.bulk_create(
            [
                LearningOutcome(
                    account=member,
                    batch=batch,
                    status=LearningOutcome.Status.PENDING_CONFIRMATION,
                    result=row.result,
                    certificate_number=row.certificate_number,
                    # Rows without a date were refused above.
                    achieved_on=cast(datetime.date, row.achieved_on),
                    **common,
                )
                for row, member in zip(rows, members, strict=True)
            ],
            batch_size=BATCH_INSERT,
        )
        now = timezone.now()
        EvidenceFile.objects.bulk_create(
            [
                EvidenceFile(
                    outcome=outcome,
                    account=outcome.account,
                    file=name,
                    original_name=original_name,
                    content_type=clean.content_type,
                    size=clean.size,
                    sha256=clean.sha256,
                    uploaded_at=now,
                )
                for outcome in outcomes
                for name, original_name, clean in shared
            ],
            batch_size=BATCH_INSERT,
        )
        institution = collective.institution.name if collective.institution else ""
        transaction_record_many(
            kind=BusinessTransaction.Kind.OUTCOME_REPORTED,
            actor=uploaded_by,
            occurred_at=now,
            entries=[
                (
                    outcome.account,
                    {
                        "outcome": outcome.pk,
                        "title": outcome.title,
                        "batch": batch.pk,
                        "institution": institution,
                    },
                )
                for outcome in outcomes
            ],
            batch_size=BATCH_INSERT,
        )
        # In the same transaction: members are told of exactly the reports that were made.
        notify_many(
            recipients=[m.holder for m in members if m is not None and m.holder is not None],
            kind=Notification.Kind.OUTCOME_REPORTED,
            params={"outcome": batch.title, "institution": institution},
            link=reverse("learning-file") + "#awaiting-confirmation",
            key=f"outcome_reported:batch:{batch.pk}",
        )
    return batch


def batches_of(*, collective: LearningAccount) -> QuerySet[InstitutionBatch]:
    """The collective account's batches, each with how many members confirmed, declined or
    have yet to answer."""
    pending = LearningOutcome.Status.PENDING_CONFIRMATION
    declined = LearningOutcome.Status.DECLINED
    return (
        InstitutionBatch.objects.filter(collective=collective)
        .annotate(
            pending=Count("outcomes", filter=Q(outcomes__status=pending)),
            declined=Count("outcomes", filter=Q(outcomes__status=declined)),
            confirmed=Count("outcomes", filter=~Q(outcomes__status__in=[pending, declined])),
        )
        .order_by("-created_at", "-id")
    )


def outcomes_awaiting_confirmation(*, account: LearningAccount) -> QuerySet[LearningOutcome]:
    return (
        outcomes_of(account=account)
        .filter(status=LearningOutcome.Status.PENDING_CONFIRMATION)
        .select_related("batch__collective__institution")
    )


def outcome_confirm(*, outcome: LearningOutcome, actor: User) -> LearningOutcome:
    """The member accepts an outcome their institution reported: it enters their file."""
    return _outcome_answer(outcome=outcome, actor=actor, confirm=True)


def outcome_decline(*, outcome: LearningOutcome, actor: User) -> LearningOutcome:
    """The member refuses an outcome their institution reported: it never enters the file."""
    return _outcome_answer(outcome=outcome, actor=actor, confirm=False)


@transaction.atomic
def _outcome_answer(*, outcome: LearningOutcome, actor: User, confirm: bool) -> LearningOutcome:
    # Locked, so that two answers (a double click, two tabs, confirm and decline at once)
    # cannot both see "awaiting confirmation": the second waits, then finds it answered.
    outcome = (
        LearningOutcome.objects.select_for_update(of=("self",))
        .select_related("account", "batch__collective")
        .get(pk=outcome.pk)
    )
    if outcome.account.holder_id is None or outcome.account.holder_id != actor.pk:
        raise PermissionDenied
    if outcome.status != LearningOutcome.Status.PENDING_CONFIRMATION:
        raise ValidationError(
            {"status": _("This outcome is not awaiting your confirmation any more.")}
        )
    if confirm:
        outcome.status = LearningOutcome.Status.SAVED
        kind = BusinessTransaction.Kind.OUTCOME_CONFIRMED
    else:
        outcome.status = LearningOutcome.Status.DECLINED
        kind = BusinessTransaction.Kind.OUTCOME_DECLINED
    outcome.save(update_fields=["status", "updated_at"])
    transaction_record(
        account=outcome.account,
        kind=kind,
        actor=actor,
        details={"outcome": outcome.pk, "title": outcome.title, "batch": outcome.batch_id},
    )
    webhook_event_record(
        institution_id=outcome.batch.collective.institution_id if outcome.batch else None,
        event_type=(
            WebhookEventType.BATCH_RESULT_CONFIRMED
            if confirm
            else WebhookEventType.BATCH_RESULT_DECLINED
        ),
        data={"batch": outcome.batch_id, "outcome": outcome.pk, "status": outcome.status},
    )
    return outcome
