"""Recognition agreements: another bank's catalogue entry (its code, a range of its versions)
counts as an entry of our catalogue, with the hours and credits it earns here. Versioned like
the catalogue (:class:`accreditation.models.VersionedRow`): a change is a new version from a
date on, the previous one closed the day before, never an edit; re-publishing what is in effect
changes nothing, so importing the same file twice is harmless. Imported and exported as the
catalogue is (CSV or XLSX, all or nothing, problems reported by row and column).

Versions of the other bank's entries are dotted whole numbers compared part by part
(:func:`origin_version_key`): "2" == "2.0" < "2.1" < "10".
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.services import free_text_problem
from common.tables import (
    ListedTable,
    RowErrors,
    cell_number,
    cell_text,
    table_write,
)

from ..catalogue import (
    ImportResult,
    ImportRow,
    RowRepeats,
    beijing_today,
    catalogue_version_current,
    import_date_cell,
    import_problems_report,
    version_close,
    version_publish,
    versioned_table_import,
)
from ..catalogue.versions import amounts_check
from ..models import CatalogueEntry, RecognitionAgreement, TrustedBank
from .models import AgreementVersion, origin_version_key

CONTENT_FIELDS = ("origin_version_from", "origin_version_to", "entry_id", "hours", "credits")

AGREEMENT_COLUMNS = (
    "issuer", "origin_code", "origin_version_from", "origin_version_to", "entry_code",
    "hours", "credits", "effective_from", "approving_body", "rationale",
)  # fmt: skip
AGREEMENT_REQUIRED = (
    "issuer", "origin_code", "origin_version_from", "entry_code", "hours", "credits",
    "effective_from",
)  # fmt: skip
AGREEMENT_HEADINGS: dict[str, tuple[str, ...]] = {
    "issuer": ("issuer", "issuer id", "bank", "发证方", "对方学分银行"),
    "origin_code": ("origin_code", "their code", "对方成果编码", "对方编码"),
    "origin_version_from": ("origin_version_from", "from version", "起始版本"),
    "origin_version_to": ("origin_version_to", "to version", "截止版本"),
    "entry_code": ("entry_code", "our code", "本行成果编码", "编码"),
    "hours": ("hours", "learning hours", "学时"),
    "credits": ("credits", "学分"),
    "effective_from": ("effective_from", "effective from", "生效日期"),
    "approving_body": ("approving_body", "approved by", "批准机构", "审批机构"),
    "rationale": ("rationale", "依据", "理由"),
}


def _require_manager(actor: User | None) -> User:
    if actor is None or actor.role != Role.MANAGEMENT_ADMIN:
        raise ValidationError(
            {"agreement": _("Only the management centre keeps recognition agreements.")}
        )
    return actor


def _origin_version(raw: object, *, required: bool) -> tuple[str, str | None]:
    """The version as stored and a problem, if any."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        return "", (str(_("This field is required.")) if required else None)
    try:
        origin_version_key(text)
    except ValueError:
        return text, str(_("Write a version as whole numbers with dots, such as 2 or 2.1."))
    return text, None


def agreement_fields_check(
    fields: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Clean and check what an agreement version would say: ``issuer`` (a trusted bank's, or
    ``bank``), ``origin_code``, ``origin_version_from``/``_to``, ``entry_code`` (ours),
    ``hours``, ``credits``, ``effective_from``, ``approving_body``, ``rationale``. Returns the
    cleaned fields (with ``bank`` and ``entry`` found) and the problems by field."""
    errors: dict[str, list[Any]] = {}

    def add(name: str, message: Any) -> None:
        errors.setdefault(name, []).append(message)

    clean: dict[str, Any] = {}
    bank = fields.get("bank")
    if not isinstance(bank, TrustedBank):
        issuer = str(fields.get("issuer") or "").strip()
        bank = TrustedBank.objects.filter(issuer=issuer, is_active=True).first()
        if bank is None:
            add("issuer", _("No bank on the trust list has this issuer id."))
    elif not bank.is_active:
        add("issuer", _("This bank is not on the trust list."))
    clean["bank"] = bank
    code = str(fields.get("origin_code") or "").strip()
    clean["origin_code"] = code
    if not code or len(code) > 60:
        add("origin_code", _("Give their catalogue entry code (at most 60 characters)."))
    low, problem = _origin_version(fields.get("origin_version_from"), required=True)
    clean["origin_version_from"] = low
    if problem:
        add("origin_version_from", problem)
    high, problem = _origin_version(fields.get("origin_version_to"), required=False)
    clean["origin_version_to"] = high
    if problem:
        add("origin_version_to", problem)
    elif (
        high
        and "origin_version_from" not in errors
        and origin_version_key(high) < origin_version_key(low)
    ):
        add("origin_version_to", _("The last version comes before the first."))
    entry_code = str(fields.get("entry_code") or "").strip().upper()
    entry = CatalogueEntry.objects.filter(code=entry_code).first() if entry_code else None
    clean["entry"] = entry
    clean["entry_id"] = entry.pk if entry else None
    if entry is None or catalogue_version_current(entry=entry) is None:
        add("entry_code", _("Give the code of an entry of our catalogue that is in effect."))
    amounts_check(fields, clean, add)
    effective_from = fields.get("effective_from")
    clean["effective_from"] = effective_from
    if not isinstance(effective_from, datetime.date):
        add("effective_from", _("This field is required."))
    for name in ("approving_body", "rationale"):
        clean[name] = str(fields.get(name) or "").strip()
        if not clean[name]:
            add(name, _("This field is required."))
    if len(clean["approving_body"]) > 200:
        add("approving_body", _("At most %(n)d characters.") % {"n": 200})
    # Free text a reader of the agreement sees: no identity numbers in it, like every such text.
    for name, multiline in (("approving_body", False), ("rationale", True)):
        problem = free_text_problem(clean[name], multiline=multiline)
        if problem and name not in errors:
            add(name, problem)
    return clean, errors


def _content_of(version: AgreementVersion) -> dict[str, Any]:
    return {name: getattr(version, name) for name in CONTENT_FIELDS}


def agreement_publish_from(
    *, fields: Mapping[str, Any], actor: User | None
) -> tuple[AgreementVersion, str]:
    """Publish what an agreement says from ``effective_from`` on: its first version, a new
    version that supersedes the latest (closed the day before), or nothing when that is
    already in effect (``UNCHANGED``). Returns the version and ``CREATED``, ``REVISED`` or
    ``UNCHANGED``. Raises ValidationError by field."""
    manager = _require_manager(actor)
    clean, errors = agreement_fields_check(fields)
    if errors:
        raise ValidationError(errors)
    content = {name: clean[name] for name in CONTENT_FIELDS}
    effective_from: datetime.date = clean["effective_from"]
    with transaction.atomic():
        agreement, _created = RecognitionAgreement.objects.get_or_create(
            bank=clean["bank"], origin_code=clean["origin_code"]
        )
        return version_publish(
            agreement,
            content=content,
            content_of=_content_of,
            effective_from=effective_from,
            approving_body=clean["approving_body"],
            rationale=clean["rationale"],
            created_by=manager,
        )


@transaction.atomic
def agreement_end(
    *, agreement: RecognitionAgreement, effective_to: datetime.date, actor: User | None
) -> AgreementVersion:
    """End the agreement on ``effective_to`` (its last day in effect)."""
    _require_manager(actor)
    agreement = RecognitionAgreement.objects.select_for_update().get(pk=agreement.pk)
    latest = agreement.versions.order_by("-version").first()
    if latest is None:
        raise ValidationError({"agreement": _("This agreement has no version to end.")})
    version_close(
        latest,
        effective_to=effective_to,
        already_ends=_("This agreement already ends on %(date)s."),
    )
    return latest


def recognition_agreement_for(
    *, bank: TrustedBank, entry_code: str, entry_version: str, on: datetime.date
) -> AgreementVersion | None:
    """The agreement version in effect on ``on`` for the other bank's entry ``entry_code`` in
    version ``entry_version`` (inside the version's range), or None."""
    version = (
        AgreementVersion.objects.filter(
            agreement__bank=bank, agreement__origin_code=entry_code.strip(), effective_from__lte=on
        )
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
        .select_related("agreement__bank", "entry", "created_by")
        .first()
    )
    if version is None or not version.covers(entry_version):
        return None
    return version


def agreements_current(
    *, on: datetime.date | None = None, bank: TrustedBank | None = None
) -> QuerySet[AgreementVersion]:
    """The agreement versions in effect on ``on`` (today by default)."""
    day = on or beijing_today()
    versions = AgreementVersion.objects.filter(effective_from__lte=day).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=day)
    )
    if bank is not None:
        versions = versions.filter(agreement__bank=bank)
    return versions.select_related("agreement__bank", "entry", "created_by").order_by(
        "agreement__bank__name", "agreement__origin_code"
    )


def agreement_versions(*, agreement: RecognitionAgreement) -> QuerySet[AgreementVersion]:
    """Every version of ``agreement``, newest first: its history."""
    return agreement.versions.select_related("entry", "created_by").order_by("-version")


# --- Import and export ---------------------------------------------------------------------------


def agreements_import(*, data: bytes, filename: str, actor: User | None) -> ImportResult:
    """Publish every row of a CSV or XLSX file of agreements (columns ``AGREEMENT_COLUMNS``)
    as :func:`agreement_publish_from` would, all or nothing: problems in rows raise
    ``RowsInvalid`` listing each by row and column; nothing is written then."""
    _require_manager(actor)
    return versioned_table_import(
        data=data,
        filename=filename,
        headings=AGREEMENT_HEADINGS,
        required=AGREEMENT_REQUIRED,
        columns=AGREEMENT_COLUMNS,
        rows_check=_agreement_rows_check,
        publish=lambda row: agreement_publish_from(fields=row.fields, actor=actor)[1],
        column_else="origin_code",
    )


def _agreement_rows_check(table: ListedTable, errors: RowErrors) -> list[ImportRow]:
    rows: list[ImportRow] = []
    repeats = RowRepeats()
    for source in table.rows:
        cells, number = source.cells, source.number
        fields: dict[str, Any] = {
            name: cell_text(cells.get(name))
            for name in AGREEMENT_COLUMNS
            if name not in ("hours", "credits", "effective_from")
        }
        for name in ("origin_version_from", "origin_version_to"):
            # A spreadsheet keeps "2" as the number 2.0: written back as the version it was.
            value = cell_number(cells.get(name)) if cell_text(cells.get(name)) else None
            if value is not None and value == value.to_integral_value():
                fields[name] = str(int(value))
        for name in ("hours", "credits"):
            raw = cells.get(name)
            value = cell_number(raw)
            fields[name] = value if value is not None else cell_text(raw)
        fields["effective_from"] = import_date_cell(cells, number, errors)
        _clean, problems = agreement_fields_check(fields)
        import_problems_report(
            errors, number, problems, columns=AGREEMENT_COLUMNS, column_else="issuer"
        )
        key = (fields["issuer"], fields["origin_code"])
        first = repeats.earlier_row(key, number) if all(key) else None
        if first is not None:
            errors.add(
                number,
                "origin_code",
                gettext("This entry of this bank is also on row %(row)d; list each once.")
                % {"row": first},
            )
        rows.append(ImportRow(number, fields))
    return rows


def _export_row(version: AgreementVersion) -> list[object]:
    return [
        version.agreement.bank.issuer,
        version.agreement.origin_code,
        version.origin_version_from,
        version.origin_version_to,
        version.entry.code,
        version.hours,
        version.credits,
        version.effective_from,
        version.approving_body,
        version.rationale,
    ]


def agreements_export(*, fmt: str, on: datetime.date | None = None) -> bytes:
    """The agreement versions in effect on ``on`` (today by default) as a CSV or XLSX file that
    :func:`agreements_import` takes back unchanged."""
    return table_write(
        (_export_row(v) for v in agreements_current(on=on)),
        headings=AGREEMENT_COLUMNS,
        fmt=fmt,
        title="recognition agreements",
    )
