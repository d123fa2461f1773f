"""Member files: reading the CSV or XLSX list of members an institution uploads, and writing
the member list it exports.

Pure functions, no database. Reading refuses, with a message for the ``file`` field, anything
that is not a member list we can read safely: too large, too many rows, a zip bomb, neither CSV
nor XLSX, empty, or without a required column. Checking then validates every row on its own and
against the other rows of the file, and returns every problem at once, by row and column; what
needs the database (existing accounts, addresses in use, memberships) is checked by the service
in ``accounts.collective.services``.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import unicodedata
import zipfile
from collections.abc import Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from accounts.identity.numbers import Identity, IdType, parse_identity
from accounts.validators import PHONE_VALIDATOR

# --- Limits ---------------------------------------------------------------------------------

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
# An XLSX is a zip archive; what counts is what it unpacks to. Real workbooks of 100,000 rows
# unpack to well under 100 MB, and their parts compress at most some tens of times; a zip bomb
# unpacks to gigabytes at ratios in the thousands.
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
# Small parts (styles, shared strings of a few repeated values) may compress very well and
# harm no one: the ratio is looked at only for parts larger than this.
RATIO_CHECKED_ABOVE_BYTES = 1024 * 1024
MAX_ZIP_ENTRIES = 1_000
# How far down the heading row is looked for, past title rows.
HEADING_SEARCH_ROWS = 10

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and password-protected .xlsx

# --- Columns --------------------------------------------------------------------------------

NAME, ID_TYPE, ID_NUMBER, PHONE, EMAIL = "name", "id_type", "id_number", "phone", "email"
COLUMNS = (NAME, ID_TYPE, ID_NUMBER, PHONE, EMAIL)

# The headings a column may have, English or Chinese, compared after _heading_key().
HEADINGS: dict[str, tuple[str, ...]] = {
    NAME: ("name", "姓名", "名字"),
    ID_TYPE: ("id_type", "id type", "证件类型", "身份证件类型"),
    ID_NUMBER: ("id_number", "id number", "证件号码", "证件号", "身份证号", "身份证号码"),
    PHONE: ("phone", "mobile", "mobile phone", "手机号", "手机号码", "手机"),
    EMAIL: ("email", "e-mail", "电子邮箱", "邮箱", "电子邮件"),
}
# The headings a template shows, in the order of COLUMNS.
TEMPLATE_HEADINGS = ("姓名", "证件类型", "证件号码", "手机号", "电子邮箱")
TEMPLATE_HEADING = dict(zip(COLUMNS, TEMPLATE_HEADINGS, strict=True))

ID_TYPE_VALUES: dict[str, str] = {
    "resident_id": IdType.RESIDENT_ID,
    "居民身份证": IdType.RESIDENT_ID,
    "身份证": IdType.RESIDENT_ID,
    "resident identity card": IdType.RESIDENT_ID,
    "hmt_residence_permit": IdType.HMT_RESIDENCE_PERMIT,
    "港澳台居民居住证": IdType.HMT_RESIDENCE_PERMIT,
    "residence permit for hong kong, macao and taiwan residents": IdType.HMT_RESIDENCE_PERMIT,
    "foreign_permanent_resident": IdType.FOREIGN_PERMANENT_RESIDENT,
    "外国人永久居留身份证": IdType.FOREIGN_PERMANENT_RESIDENT,
    "foreign permanent resident id card": IdType.FOREIGN_PERMANENT_RESIDENT,
}


def _heading_key(text: str) -> str:
    # Templates often mark required columns with an asterisk, and full-width forms and stray
    # spaces are common in headings typed in Chinese.
    folded = unicodedata.normalize("NFKC", text).strip().strip("*").strip().lower()
    return " ".join(folded.replace("_", " ").split())


_COLUMN_OF_HEADING = {_heading_key(h): column for column, hs in HEADINGS.items() for h in hs}
_ID_TYPE_OF_VALUE = {_heading_key(value): id_type for value, id_type in ID_TYPE_VALUES.items()}


# --- What reading gives ---------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem in the file: the row number as the spreadsheet shows it (the heading row
    is row 1 when it is the first), the column, and a message for the person who fixes it."""

    row: int
    column: str
    message: str
    heading: str = ""


@dataclass(frozen=True)
class SourceRow:
    """A row as read: the spreadsheet row number and the cell of each known column (a string
    from a CSV file; a string, number or date from an XLSX workbook; None when empty)."""

    number: int
    cells: dict[str, object]


@dataclass
class MemberTable:
    filename: str
    file_format: str  # "csv" or "xlsx"
    headings: dict[str, str]  # column -> the heading as written in the file
    rows: list[SourceRow] = field(default_factory=list)


@dataclass(frozen=True)
class MemberRow:
    """A row whose identity number is valid, so that the person can be looked up; a phone or
    email that failed its check is blank here."""

    number: int
    name: str
    identity: Identity
    phone: str
    email: str


class RowErrors:
    """The problems found so far, with the file's own heading of each column."""

    def __init__(self, headings: dict[str, str]) -> None:
        self.headings = headings
        self.items: list[RowError] = []
        self._columns: dict[int, set[str]] = {}

    def add(self, row: int, column: str, message: str) -> None:
        self.items.append(RowError(row, column, message, self.headings.get(column, column)))
        self._columns.setdefault(row, set()).add(column)

    def has(self, row: int, column: str) -> bool:
        """Whether the cell already has a problem (later checks then leave it alone)."""
        return column in self._columns.get(row, ())

    def sorted(self) -> list[RowError]:
        order = {column: n for n, column in enumerate(COLUMNS)}
        return sorted(self.items, key=lambda e: (e.row, order.get(e.column, len(order))))

    def __bool__(self) -> bool:
        return bool(self.items)


def refuse(message: str, code: str) -> ValidationError:
    return ValidationError({"file": ValidationError(message, code=code)})


# --- Reading --------------------------------------------------------------------------------


def member_table_read(*, data: bytes, filename: str) -> MemberTable:
    """Read the member list in ``data`` (the whole uploaded file).

    Raises ValidationError keyed ``file`` when the file as a whole cannot be taken.
    """
    if not data:
        raise refuse(_("The file is empty."), "empty")
    if len(data) > MAX_FILE_BYTES:
        raise refuse(
            _("The file is larger than %(size)d MB. Split the list into several files.")
            % {"size": MAX_FILE_BYTES // (1024 * 1024)},
            "too_large",
        )
    if data.startswith(ZIP_MAGIC):
        rows: Generator[tuple[int, Sequence[object]]] = _xlsx_rows(data)
        file_format = "xlsx"
    elif data.startswith(OLE2_MAGIC):
        raise refuse(
            _(
                "This is an old-style Excel workbook (.xls) or a password-protected workbook. "
                "Save it as an Excel workbook (.xlsx) without a password, or as CSV, and upload "
                "it again."
            ),
            "format",
        )
    else:
        rows = _csv_rows(data)
        file_format = "csv"
    # closing(): a refusal part-way (too many rows) still closes the workbook at once.
    with closing(rows):
        table = _table_from_rows(rows, filename=filename, file_format=file_format)
    if not table.rows:
        raise refuse(_("The file has no member rows below its heading row."), "empty")
    return table


def _table_from_rows(
    rows: Iterable[tuple[int, Sequence[object]]], *, filename: str, file_format: str
) -> MemberTable:
    table: MemberTable | None = None
    columns: dict[int, str] = {}
    non_blank_rows = 0
    for number, cells in rows:
        if _is_blank(cells):
            continue
        non_blank_rows += 1
        if table is None:
            # The heading row is the first that names one of our columns: a title row or two
            # above it ("2026年度员工名单") is common in spreadsheets and is skipped.
            if _names_a_column(cells):
                columns, headings = _columns_of(cells)
                table = MemberTable(filename=filename, file_format=file_format, headings=headings)
            elif non_blank_rows >= HEADING_SEARCH_ROWS:
                break
            continue
        if len(table.rows) >= MAX_ROWS:
            raise refuse(
                _("The file has more than %(rows)s member rows. Split it into several files.")
                % {"rows": f"{MAX_ROWS:,}"},
                "too_many_rows",
            )
        table.rows.append(
            SourceRow(
                number=number,
                cells={
                    column: cells[index] if index < len(cells) else None
                    for index, column in columns.items()
                },
            )
        )
    if non_blank_rows == 0:
        raise refuse(_("The file is empty."), "empty")
    headings = table.headings if table is not None else {}
    missing = [column for column in COLUMNS if column not in headings]
    if table is None or missing:
        raise refuse(
            _(
                "The heading row lacks these columns: %(columns)s. The first row of the list "
                "names the columns 姓名 (name), 证件类型 (id_type), 证件号码 (id_number), "
                "手机号 (phone) and 电子邮箱 (email)."
            )
            % {"columns": ", ".join(f"{TEMPLATE_HEADING[c]} ({c})" for c in missing)},
            "missing_column",
        )
    return table


def _is_blank(cells: Sequence[object]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _names_a_column(cells: Sequence[object]) -> bool:
    return any(isinstance(cell, str) and _heading_key(cell) in _COLUMN_OF_HEADING for cell in cells)


def _columns_of(header: Sequence[object]) -> tuple[dict[int, str], dict[str, str]]:
    columns: dict[int, str] = {}
    headings: dict[str, str] = {}
    for index, cell in enumerate(header):
        if not isinstance(cell, str):
            continue
        column = _COLUMN_OF_HEADING.get(_heading_key(cell))
        if column is None:
            continue  # other columns (remarks, department) are allowed and ignored
        if column in headings:
            raise refuse(
                _(
                    "The columns “%(first)s” and “%(second)s” both hold the %(column)s; keep "
                    "only one of them."
                )
                % {"first": headings[column], "second": cell.strip(), "column": column},
                "duplicate_column",
            )
        columns[index] = column
        headings[column] = cell.strip()
    return columns, headings


# -- CSV --


def _decode(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (with or without the byte-order mark Excel writes),
    UTF-16 with its mark (Excel's "Unicode text"), or GB18030, which Chinese Excel writes."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise refuse(
        _(
            "This file is neither a CSV text file nor an Excel workbook (.xlsx). Save the list "
            "from your spreadsheet as CSV or as an Excel workbook and upload that."
        ),
        "format",
    )


def _csv_rows(data: bytes) -> Generator[tuple[int, Sequence[object]]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    # Comma as written by Excel in China; tab ("Unicode text") and semicolon (European Excel)
    # are told apart by counting them in the heading line.
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    # A spreadsheet shows a record with line breaks inside a quoted cell as one row, so the
    # row number is the record's position, not the line number.
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise refuse(
            _(
                "The CSV file is malformed near line %(line)d (a quotation mark left open, or "
                "a cell far too long). Save it again from your spreadsheet and upload that."
            )
            % {"line": reader.line_num},
            "format",
        ) from exc


# -- XLSX --


def _check_zip(archive: zipfile.ZipFile) -> None:
    """Refuse a zip bomb before anything unpacks it. The sizes checked are those the archive
    declares; Python's zipfile never unpacks an entry beyond its declared size (and fails the
    CRC when the data is longer), so an archive cannot lie its way past this check."""
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _bomb()
    total = 0
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise refuse(
                _("The workbook is encrypted. Save it without a password and upload it again."),
                "format",
            )
        total += entry.file_size
        if total > MAX_UNCOMPRESSED_BYTES:
            raise _bomb()
        if (
            entry.file_size > RATIO_CHECKED_ABOVE_BYTES
            and entry.file_size > MAX_COMPRESSION_RATIO * max(entry.compress_size, 1)
        ):
            raise _bomb()
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names:
        raise refuse(
            _(
                "This is a ZIP archive but not an Excel workbook (.xlsx). Save the list from "
                "your spreadsheet as an Excel workbook or as CSV and upload that."
            ),
            "format",
        )


def _bomb() -> ValidationError:
    return refuse(
        _(
            "This workbook would unpack to more than %(size)d MB or is compressed in a way "
            "real workbooks never are, so it is refused. Save the list again from your "
            "spreadsheet, or as CSV."
        )
        % {"size": MAX_UNCOMPRESSED_BYTES // (1024 * 1024)},
        "zip_bomb",
    )


def _unreadable_workbook() -> ValidationError:
    return refuse(
        _(
            "The workbook could not be read; it may be damaged. Open it in your spreadsheet, "
            "save it again as an Excel workbook (.xlsx) or as CSV, and upload that."
        ),
        "format",
    )


def _xlsx_rows(data: bytes) -> Generator[tuple[int, Sequence[object]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _unreadable_workbook() from exc
    with archive:
        _check_zip(archive)
    # openpyxl parses through defusedxml when it is installed, so entity expansion attacks
    # in the XML parts are refused too. Anything it raises on a damaged workbook (there is no
    # common base class: zip, XML, KeyError, ValueError, TypeError) is a refusal, not a 500.
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise _unreadable_workbook() from exc
    try:
        if not workbook.worksheets:
            raise refuse(_("The workbook has no worksheet."), "empty")
        sheet = workbook.worksheets[0]
        # Some programs write a wrong <dimension>; read the rows that are really there.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(min_row=1, values_only=True)
        number = 0
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                break
            except Exception as exc:
                raise _unreadable_workbook() from exc
            number += 1
            yield number, tuple(cells)
    finally:
        workbook.close()


# --- Checking rows --------------------------------------------------------------------------


class MemberRowsInvalid(ValidationError):
    """Some rows of the file are wrong; ``rows`` lists every problem found."""

    def __init__(self, rows: list[RowError]) -> None:
        self.rows = rows
        message = ngettext(
            "The file has %(count)d problem. Nothing was imported: correct it and upload the "
            "whole file again.",
            "The file has %(count)d problems. Nothing was imported: correct them and upload the "
            "whole file again.",
            len(rows),
        ) % {"count": len(rows)}
        super().__init__({"file": ValidationError(message, code="rows")})


def member_rows_check(table: MemberTable) -> tuple[list[MemberRow], RowErrors]:
    """Check each row, then the rows against each other (the same person, email or phone
    twice). Returns the rows whose person can be looked up, and the problems found."""
    errors = RowErrors(table.headings)
    members: list[MemberRow] = []
    for source in table.rows:
        member = _row_check(source, errors)
        if member is not None:
            members.append(member)
    _duplicates_check(members, errors)
    return members, errors


def _row_check(source: SourceRow, errors: RowErrors) -> MemberRow | None:
    cells, row = source.cells, source.number

    name = _text(cells.get(NAME))
    if not name:
        errors.add(row, NAME, _("The name is missing."))
    elif len(name) > 150:
        errors.add(row, NAME, _("The name is longer than 150 characters."))

    id_type = ""
    raw_type = _text(cells.get(ID_TYPE))
    if not raw_type:
        errors.add(
            row,
            ID_TYPE,
            _(
                "The identity document type is missing. Write 居民身份证, 港澳台居民居住证 or "
                "外国人永久居留身份证."
            ),
        )
    else:
        id_type = _ID_TYPE_OF_VALUE.get(_heading_key(raw_type), "")
        if not id_type:
            errors.add(
                row,
                ID_TYPE,
                _(
                    "“%(value)s” is not a document type we accept. Write 居民身份证 "
                    "(resident_id), 港澳台居民居住证 (hmt_residence_permit) or "
                    "外国人永久居留身份证 (foreign_permanent_resident)."
                )
                % {"value": raw_type},
            )

    identity: Identity | None = None
    raw_number = cells.get(ID_NUMBER)
    if isinstance(raw_number, int | float | Decimal) and not isinstance(raw_number, bool):
        errors.add(
            row,
            ID_NUMBER,
            _(
                "The identity number is stored in the spreadsheet as a number, which keeps "
                "only 15 digits. Format the column as text, type the number again and upload "
                "the file again."
            ),
        )
    elif not _text(raw_number):
        errors.add(row, ID_NUMBER, _("The identity number is missing."))
    elif id_type:
        try:
            identity = parse_identity(id_type, _text(raw_number))
        except ValidationError as exc:
            errors.add(row, ID_NUMBER, " ".join(exc.messages))

    raw_phone = _text(cells.get(PHONE))
    phone = normalise_phone(raw_phone)
    if raw_phone:
        try:
            PHONE_VALIDATOR(phone)
        except ValidationError as exc:
            errors.add(row, PHONE, " ".join(exc.messages))
            phone = ""

    email = _text(cells.get(EMAIL))
    if email:
        try:
            if len(email) > 254:
                raise ValidationError(_("The email address is longer than 254 characters."))
            validate_email(email)
        except ValidationError as exc:
            errors.add(row, EMAIL, " ".join(exc.messages))
            email = ""

    if identity is None:
        return None
    return MemberRow(row, name, identity, phone, email)


def _duplicates_check(members: Iterable[MemberRow], errors: RowErrors) -> None:
    seen: dict[str, dict[str, int]] = {ID_NUMBER: {}, PHONE: {}, EMAIL: {}}
    messages = {
        ID_NUMBER: _("This identity number is also on row %(row)d; list each person once."),
        PHONE: _("This mobile phone number is also on row %(row)d; each person needs their own."),
        EMAIL: _("This email address is also on row %(row)d; each person needs their own."),
    }
    for member in members:
        keys = {
            ID_NUMBER: member.identity.number,
            PHONE: member.phone,
            EMAIL: member.email.lower(),
        }
        for column, key in keys.items():
            if not key:
                continue
            first = seen[column].setdefault(key, member.number)
            if first != member.number:
                errors.add(member.number, column, messages[column] % {"row": first})


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime | datetime.date):
        value = value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


def normalise_phone(text: str) -> str:
    """Digits and a leading plus only: people write 139-1234-5678 or 139 1234 5678. (A phone
    number stored in a spreadsheet as a number, 13912345678 or 13912345678.0, is still the
    right number, unlike an 18-digit identity number; _text() has made it a string.)"""
    return "".join(ch for ch in text if ch.isdigit() or ch == "+")


def names_match(a: str, b: str) -> bool:
    """The same name, whatever the width of characters, the spacing, the case of Latin
    letters and the middle dot used in names of ethnic minorities and foreigners."""
    return _name_key(a) == _name_key(b)


_MIDDLE_DOTS = str.maketrans(dict.fromkeys("·•・‧∙⋅.", "·"))


def _name_key(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name or "").translate(_MIDDLE_DOTS).casefold()
    return "".join(folded.split())


# --- Writing the member list ----------------------------------------------------------------

# A spreadsheet takes a cell that begins with one of these as a formula (or, for tab and
# carriage return, as the start of one), which a learner's name must never become.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula, with a leading apostrophe; other values
    (our own numbers and dates) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_write(*, headings: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV file in UTF-8 with a byte-order mark, which Excel needs to show Chinese."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([spreadsheet_safe(h) for h in headings])
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def xlsx_write(*, title: str, headings: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])

    def cells(values: Sequence[object]) -> list[object]:
        out: list[object] = []
        for value in values:
            safe = spreadsheet_safe(value)
            if isinstance(safe, str):
                # Stored as a string cell, never parsed as a formula whatever it holds; the
                # control characters XML cannot carry are dropped rather than fail the export.
                cell = WriteOnlyCell(sheet, value=None)
                cell.value = ILLEGAL_CHARACTERS_RE.sub("", safe)
                cell.data_type = "s"
                out.append(cell)
            elif isinstance(safe, Decimal):
                out.append(float(safe))
            else:
                out.append(safe)
        return out

    sheet.append(cells(headings))
    for row in rows:
        sheet.append(cells(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
