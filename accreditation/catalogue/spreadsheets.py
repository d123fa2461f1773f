"""The catalogue as a spreadsheet: reading CSV and XLSX files (shared with the conversion rules'
import), their cells, and the catalogue's own import and export."""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.collective import imports
from accounts.models import User
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
    decimal_or_none,
)

# --- Spreadsheets --------------------------------------------------------------------------------

MAX_IMPORT_ROWS = 5_000


class RowsInvalid(imports.MemberRowsInvalid):
    """Rows of a catalogue or conversion-rule file are wrong; ``rows`` lists every problem
    (the same report as a member import's); nothing was written."""


class SheetRowErrors(imports.RowErrors):
    """Row problems, sorted by row and then by the column order of the file's kind."""

    def __init__(self, headings: dict[str, str], columns: Sequence[str]) -> None:
        super().__init__(headings)
        self.columns = tuple(columns)

    def sorted(self) -> list[imports.RowError]:
        order = {column: n for n, column in enumerate(self.columns)}
        return sorted(self.items, key=lambda e: (e.row, order.get(e.column, len(order))))


@dataclass(frozen=True)
class ImportResult:
    created: int = 0
    revised: int = 0
    unchanged: int = 0

    @property
    def rows(self) -> int:
        return self.created + self.revised + self.unchanged


def spreadsheet_read(
    *,
    data: bytes,
    filename: str,
    headings: Mapping[str, Sequence[str]],
    required: Sequence[str],
    max_rows: int = MAX_IMPORT_ROWS,
) -> imports.MemberTable:
    """Read a CSV or XLSX file whose heading row names some of ``headings`` (column -> the
    headings it may have, compared like the member import's), with the member import's
    readers and their size, format and zip-bomb checks. Raises ValidationError keyed ``file``
    when the file as a whole cannot be taken."""
    if not data:
        raise imports.refuse(gettext("The file is empty."), "empty")
    if len(data) > imports.MAX_FILE_BYTES:
        raise imports.refuse(
            gettext("The file is larger than %(size)d MB. Split the list into several files.")
            % {"size": imports.MAX_FILE_BYTES // (1024 * 1024)},
            "too_large",
        )
    if data.startswith(imports.OLE2_MAGIC):
        raise imports.refuse(
            gettext(
                "This is an old-style Excel workbook (.xls) or a password-protected workbook. "
                "Save it as an Excel workbook (.xlsx) without a password, or as CSV, and upload "
                "it again."
            ),
            "format",
        )
    column_of = {imports._heading_key(h): column for column, hs in headings.items() for h in hs}
    is_xlsx = data.startswith(imports.ZIP_MAGIC)
    rows = imports._xlsx_rows(data) if is_xlsx else imports._csv_rows(data)
    table = imports.MemberTable(
        filename=filename, file_format="xlsx" if is_xlsx else "csv", headings={}
    )
    columns: dict[int, str] = {}
    non_blank = 0
    with closing(rows):
        for number, cells in rows:
            if imports._is_blank(cells):
                continue
            non_blank += 1
            if not columns:
                # The heading row is the first naming one of the columns; title rows above
                # it are skipped.
                for index, cell in enumerate(cells):
                    if not isinstance(cell, str):
                        continue
                    column = column_of.get(imports._heading_key(cell))
                    if column is None:
                        continue
                    if column in table.headings:
                        raise imports.refuse(
                            gettext(
                                "The columns “%(first)s” and “%(second)s” both hold the "
                                "%(column)s; keep only one of them."
                            )
                            % {
                                "first": table.headings[column],
                                "second": cell.strip(),
                                "column": column,
                            },
                            "duplicate_column",
                        )
                    columns[index] = column
                    table.headings[column] = cell.strip()
                if not columns and non_blank >= imports.HEADING_SEARCH_ROWS:
                    break
                continue
            if len(table.rows) >= max_rows:
                raise imports.refuse(
                    gettext("The file has more than %(rows)s rows. Split it into several files.")
                    % {"rows": f"{max_rows:,}"},
                    "too_many_rows",
                )
            table.rows.append(
                imports.SourceRow(
                    number=number,
                    cells={col: cells[i] if i < len(cells) else None for i, col in columns.items()},
                )
            )
    if non_blank == 0:
        raise imports.refuse(gettext("The file is empty."), "empty")
    missing = [column for column in required if column not in table.headings]
    if missing:
        raise imports.refuse(
            gettext("The heading row lacks these columns: %(columns)s.")
            % {"columns": ", ".join(missing)},
            "missing_column",
        )
    if not table.rows:
        raise imports.refuse(gettext("The file has no rows below its heading row."), "empty")
    return table


def cell_text(value: object) -> str:
    """A cell as text: as written (no width folding: names keep their full-width brackets),
    trimmed, without the apostrophe that an export puts before a would-be formula."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime | datetime.date):
        value = value.isoformat()
    text = str(value).strip()
    if text.startswith("'") and text[1:2] and text[1:].startswith(imports.FORMULA_TRIGGERS):
        text = text[1:]
    return text


_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def cell_date(value: object) -> datetime.date:
    """A date cell: a spreadsheet date, or text such as 2024-01-01, 2024/1/1 or 2024年1月1日.
    Raises ValueError."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    match = _DATE_RE.fullmatch(unicodedata.normalize("NFKC", cell_text(value)))
    if match is None:
        raise ValueError(value)
    return datetime.date(*(int(part) for part in match.groups()))


def cell_number(value: object) -> Decimal | None:
    """A number cell (an XLSX number or text such as 12.5), or None when it is not one."""
    if isinstance(value, float):
        value = repr(value)
    return decimal_or_none(unicodedata.normalize("NFKC", cell_text(value)))


def date_message() -> str:
    return gettext("Write the date as a date, such as 2024-01-01.")


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
                found[imports._heading_key(str(label))] = value
    for value in OutcomeKind.values:
        found[imports._heading_key(value)] = value
    return found


@dataclass(frozen=True)
class _CatalogueRow:
    number: int
    fields: dict[str, Any]


def _catalogue_rows_check(
    table: imports.MemberTable, errors: SheetRowErrors
) -> list[_CatalogueRow]:
    kinds = _kind_of_value()
    rows: list[_CatalogueRow] = []
    first_row_of_code: dict[str, int] = {}
    for source in table.rows:
        cells, row = source.cells, source.number
        fields: dict[str, Any] = {
            name: cell_text(cells.get(name))
            for name in CATALOGUE_COLUMNS
            if name not in ("hours", "credits", "validity_months", "effective_from", "kind")
        }
        raw_kind = cell_text(cells.get("kind"))
        fields["kind"] = kinds.get(imports._heading_key(raw_kind), "")
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
        fields["effective_from"] = None
        if cell_text(cells.get("effective_from")):
            try:
                fields["effective_from"] = cell_date(cells.get("effective_from"))
            except ValueError:
                errors.add(row, "effective_from", date_message())
        fields["aliases"] = [
            a for a in cell_text(cells.get("aliases")).split(ALIAS_SEPARATOR) if a.strip()
        ]
        clean, problems = catalogue_fields_check(fields)
        for name, messages in problems.items():
            if not errors.has(row, name):
                errors.add(row, name, " ".join(str(m) for m in messages))
        code = clean["code"]
        if code:
            first = first_row_of_code.setdefault(code, row)
            if first != row:
                errors.add(
                    row,
                    "code",
                    gettext("This code is also on row %(row)d; list each entry once.")
                    % {"row": first},
                )
        rows.append(_CatalogueRow(row, fields))
    return rows


def catalogue_import(*, data: bytes, filename: str, actor: User | None) -> ImportResult:
    """Publish every row of a CSV or XLSX catalogue file (columns ``CATALOGUE_COLUMNS``), each
    as :func:`catalogue_entry_publish` would: a new entry, a new version, or nothing when the
    row says what is already in effect.

    All or nothing: a file refused as a whole raises ValidationError keyed ``file``; problems
    in rows raise :class:`RowsInvalid` listing every one by row and column."""
    table = spreadsheet_read(
        data=data, filename=filename, headings=CATALOGUE_HEADINGS, required=CATALOGUE_REQUIRED
    )
    errors = SheetRowErrors(table.headings, CATALOGUE_COLUMNS)
    rows = _catalogue_rows_check(table, errors)
    if errors:
        raise RowsInvalid(errors.sorted())
    counts = {CREATED: 0, REVISED: 0, UNCHANGED: 0}
    with transaction.atomic():
        for row in rows:
            try:
                # A savepoint per row: a refused row is reported, the others still checked.
                with transaction.atomic():
                    _version, what = catalogue_entry_publish_from(fields=row.fields, actor=actor)
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    column = name if name in CATALOGUE_COLUMNS else "code"
                    errors.add(row.number, column, " ".join(messages))
                continue
            counts[what] += 1
        if errors:
            raise RowsInvalid(errors.sorted())
    return ImportResult(
        created=counts[CREATED], revised=counts[REVISED], unchanged=counts[UNCHANGED]
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


def spreadsheet_write(
    *, fmt: str, title: str, headings: Sequence[str], rows: Iterable[Sequence[object]]
) -> bytes:
    """A CSV or XLSX file, with text that a spreadsheet would run as a formula defused."""
    if fmt == "csv":
        return imports.csv_write(headings=headings, rows=rows)
    if fmt == "xlsx":
        return imports.xlsx_write(title=title, headings=headings, rows=rows)
    raise ValidationError({"format": _("Choose csv or xlsx.")})


def catalogue_export(*, fmt: str, on: datetime.date | None = None) -> bytes:
    """The versions in effect on ``on`` (today by default) as a CSV or XLSX file that
    :func:`catalogue_import` takes back unchanged."""
    return spreadsheet_write(
        fmt=fmt,
        title="catalogue",
        headings=CATALOGUE_COLUMNS,
        rows=(_export_row(v) for v in catalogue_current(on=on)),
    )
