"""The catalogue as a spreadsheet: its import and export, and what the conversion rules' import
shares with it (the counts of an import, the message for a date). Files are read and written by
:mod:`common.tables`; problems in rows are raised as its ``RowsInvalid``."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import User
from common.tables import (
    ListedTable,
    RowErrors,
    RowsInvalid,
    cell_date,
    cell_number,
    cell_text,
    heading_key,
    table_read,
    table_write,
)
from outcomes.models import OutcomeKind

from ..models import CatalogueEntryVersion
from .queries import catalogue_current, version_aliases
from .versions import (
    ALIAS_SEPARATOR,
    CREATED,
    REVISED,
    UNCHANGED,
    catalogue_entry_publish_from,
    catalogue_fields_check,
)

_Row = TypeVar("_Row")

# --- Spreadsheets --------------------------------------------------------------------------------

MAX_IMPORT_ROWS = 5_000


@dataclass(frozen=True)
class ImportResult:
    created: int = 0
    revised: int = 0
    unchanged: int = 0

    @property
    def rows(self) -> int:
        return self.created + self.revised + self.unchanged


def date_message() -> str:
    return gettext("Write the date as a date, such as 2024-01-01.")


def rows_publish(
    rows: Iterable[_Row],
    *,
    publish: Callable[[_Row], str],
    number: Callable[[_Row], int],
    errors: RowErrors,
    columns: Collection[str],
    column_else: str,
) -> ImportResult:
    """Publish checked rows of a versioned table (the catalogue, conversion rules) all or
    nothing: each row in a savepoint, so that a refused row is reported by row and column and
    the rows after it are still checked; any refusal undoes the whole file (``RowsInvalid``).
    ``publish`` returns ``CREATED``, ``REVISED`` or ``UNCHANGED``; a refusal of a field that is
    not a column of the file is reported in ``column_else``."""
    counts = {CREATED: 0, REVISED: 0, UNCHANGED: 0}
    with transaction.atomic():
        for row in rows:
            try:
                with transaction.atomic():
                    what = publish(row)
            except ValidationError as exc:
                refused = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
                for name, messages in refused.items():
                    column = name if name in columns else column_else
                    errors.add(number(row), column, " ".join(messages))
                continue
            counts[what] += 1
        if errors:
            raise RowsInvalid(errors.sorted())
    return ImportResult(
        created=counts[CREATED], revised=counts[REVISED], unchanged=counts[UNCHANGED]
    )


@dataclass(frozen=True)
class ImportRow:
    """A checked row of an imported file: its number and what it says, by column."""

    number: int
    fields: dict[str, Any]


def import_date_cell(
    cells: Mapping[str, Any], number: int, errors: RowErrors, name: str = "effective_from"
) -> datetime.date | None:
    """The date in the cell ``name``, or None when it is empty or not a date (then reported)."""
    if not cell_text(cells.get(name)):
        return None
    try:
        return cell_date(cells.get(name))
    except ValueError:
        errors.add(number, name, date_message())
        return None


def import_problems_report(
    errors: RowErrors,
    number: int,
    problems: Mapping[str, list[Any]],
    *,
    columns: Collection[str] | None = None,
    column_else: str = "",
) -> None:
    """Report what a fields check found wrong with row ``number``, each in its column (a field
    that is not one of ``columns``: in ``column_else``) unless that cell has a problem already."""
    for name, messages in problems.items():
        column = name if columns is None or name in columns else column_else
        if not errors.has(number, column):
            errors.add(number, column, " ".join(str(m) for m in messages))


class RowRepeats:
    """The row each key is first on in a file, so that a later row with it is reported."""

    def __init__(self) -> None:
        self.first: dict[Hashable, int] = {}

    def earlier_row(self, key: Hashable, number: int) -> int | None:
        """The earlier row with ``key``, or None when row ``number`` is its first."""
        first = self.first.setdefault(key, number)
        return first if first != number else None


def versioned_table_import(
    *,
    data: bytes,
    filename: str,
    headings: Mapping[str, tuple[str, ...]],
    required: Collection[str],
    columns: Sequence[str],
    rows_check: Callable[[ListedTable, RowErrors], list[ImportRow]],
    publish: Callable[[ImportRow], str],
    column_else: str,
) -> ImportResult:
    """Import a CSV or XLSX file of a versioned table (the catalogue, recognition agreements)
    all or nothing: ``rows_check`` reports every problem of every row by row and column, and
    any raises ``RowsInvalid`` before anything is written; then :func:`rows_publish`. A file
    refused as a whole raises ValidationError keyed ``file``."""
    table = table_read(
        data, filename=filename, columns=headings, required=required, max_rows=MAX_IMPORT_ROWS
    ).listed()
    errors = RowErrors(table.headings, columns)
    rows = rows_check(table, errors)
    if errors:
        raise RowsInvalid(errors.sorted())
    return rows_publish(
        rows,
        publish=publish,
        number=lambda row: row.number,
        errors=errors,
        columns=columns,
        column_else=column_else,
    )


# --- Catalogue import and export -----------------------------------------------------------------

CATALOGUE_COLUMNS = (
    "code", "name", "name_en", "kind", "issuing_body", "level", "hours", "credits",
    "validity_months", "evidence_required", "aliases", "certificate_number_pattern",
    "effective_from", "approving_body", "rationale",
)  # fmt: skip
CATALOGUE_REQUIRED = ("code", "name", "kind", "issuing_body", "hours", "credits", "effective_from")
CATALOGUE_HEADINGS: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码", "成果编码", "代码"),
    "name": ("name", "名称", "成果名称"),
    "name_en": ("name_en", "name in english", "english name", "英文名称"),
    "kind": ("kind", "类型", "成果类型"),
    "issuing_body": ("issuing_body", "issuing body", "颁发机构", "发证机构"),
    "level": ("level", "等级", "级别"),
    "hours": ("hours", "learning hours", "学时"),
    "credits": ("credits", "学分"),
    "validity_months": ("validity_months", "valid for (months)", "有效期(月)", "有效期"),
    "evidence_required": ("evidence_required", "evidence required", "所需证明材料", "证明材料"),
    "aliases": ("aliases", "other names", "别名", "其他名称"),
    "certificate_number_pattern": (
        "certificate_number_pattern",
        "certificate number format",
        "证书编号格式",
    ),
    "effective_from": ("effective_from", "effective from", "生效日期"),
    "approving_body": ("approving_body", "approved by", "批准机构", "审批机构"),
    "rationale": ("rationale", "依据", "理由"),
}


def _kind_of_value() -> dict[str, str]:
    """A kind as written in a file: its value, or its name in Chinese or English."""
    found: dict[str, str] = {}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for value, label in OutcomeKind.choices:
                found[heading_key(str(label))] = value
    for value in OutcomeKind.values:
        found[heading_key(value)] = value
    return found


def _catalogue_rows_check(table: ListedTable, errors: RowErrors) -> list[ImportRow]:
    kinds = _kind_of_value()
    rows: list[ImportRow] = []
    repeats = RowRepeats()
    for source in table.rows:
        cells, row = source.cells, source.number
        fields: dict[str, Any] = {
            name: cell_text(cells.get(name))
            for name in CATALOGUE_COLUMNS
            if name not in ("hours", "credits", "validity_months", "effective_from", "kind")
        }
        raw_kind = cell_text(cells.get("kind"))
        fields["kind"] = kinds.get(heading_key(raw_kind), "")
        if raw_kind and not fields["kind"]:
            errors.add(
                row,
                "kind",
                gettext("“%(value)s” is not a kind of learning outcome. Write one of: %(kinds)s.")
                % {"value": raw_kind, "kinds": ", ".join(OutcomeKind.values)},
            )
        for name in ("hours", "credits", "validity_months"):
            raw = cells.get(name)
            if cell_text(raw) == "":
                fields[name] = None
                continue
            number = cell_number(raw)
            if number is None:
                errors.add(row, name, gettext("Write a number, such as 40 or 2.5."))
            fields[name] = number if number is not None else cell_text(raw)
        fields["effective_from"] = import_date_cell(cells, row, errors)
        fields["aliases"] = [
            a for a in cell_text(cells.get("aliases")).split(ALIAS_SEPARATOR) if a.strip()
        ]
        clean, problems = catalogue_fields_check(fields)
        import_problems_report(errors, row, problems)
        code = clean["code"]
        first = repeats.earlier_row(code, row) if code else None
        if first is not None:
            errors.add(
                row,
                "code",
                gettext("This code is also on row %(row)d; list each entry once.") % {"row": first},
            )
        rows.append(ImportRow(row, fields))
    return rows


def catalogue_import(*, data: bytes, filename: str, actor: User | None) -> ImportResult:
    """Publish every row of a CSV or XLSX catalogue file (columns ``CATALOGUE_COLUMNS``), each
    as :func:`catalogue_entry_publish` would: a new entry, a new version, or nothing when the
    row says what is already in effect.

    All or nothing: a file refused as a whole raises ValidationError keyed ``file``; problems
    in rows raise :class:`RowsInvalid` listing every one by row and column."""
    return versioned_table_import(
        data=data,
        filename=filename,
        headings=CATALOGUE_HEADINGS,
        required=CATALOGUE_REQUIRED,
        columns=CATALOGUE_COLUMNS,
        rows_check=_catalogue_rows_check,
        publish=lambda row: catalogue_entry_publish_from(fields=row.fields, actor=actor)[1],
        column_else="code",
    )


def _export_row(version: CatalogueEntryVersion) -> list[object]:
    return [
        version.entry.code,
        version.name,
        version.name_en,
        version.kind,
        version.issuing_body,
        version.level,
        version.hours,
        version.credits,
        version.validity_months if version.validity_months is not None else "",
        version.evidence_required,
        ALIAS_SEPARATOR.join(version_aliases(version)),
        version.certificate_number_pattern,
        version.effective_from,
        version.approving_body,
        version.rationale,
    ]


def catalogue_export(*, fmt: str, on: datetime.date | None = None) -> bytes:
    """The versions in effect on ``on`` (today by default) as a CSV or XLSX file that
    :func:`catalogue_import` takes back unchanged."""
    return table_write(
        (_export_row(v) for v in catalogue_current(on=on)),
        headings=CATALOGUE_COLUMNS,
        fmt=fmt,
        title="catalogue",
    )
