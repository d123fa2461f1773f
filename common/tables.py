"""Spreadsheets in and out: the one reader and the one writer of every import and export.

Reading takes the whole uploaded file and refuses, with a message for the ``file`` field,
anything that is not a table we can read safely: too large, a zip bomb, neither CSV nor XLSX,
empty, without a required column or with too many rows. The heading row is found by its
headings (English or Chinese, compared by :func:`heading_key`), past any title rows above it.
The rows are then *generated*, one at a time, so that a file of a million rows never sits in
memory as a million dicts::

    with table_read(data, filename=name, columns=HEADINGS, required=REQUIRED,
                    max_rows=10_000) as table:
        for row in table.rows:           # TableRow(number, cells): cells keyed by column
            ...
        read = table.count

or, for a small file gone over more than once, ``table_read(...).listed()`` (rows a list).

The row limit is checked as the rows are read, so a file with too many rows is refused (the
same ``ValidationError`` keyed ``file``) part-way through the loop, not when ``table_read``
returns. Checking a row is the caller's: :class:`RowErrors` collects the problems by row and
column and :class:`RowsInvalid` reports them all at once.

Writing escapes every cell a spreadsheet would run as a formula.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, BinaryIO, Literal

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# --- Limits ---------------------------------------------------------------------------------

MiB = 1024 * 1024
MAX_FILE_BYTES = 10 * MiB
# An XLSX is a zip archive; what counts is what it unpacks to. Real workbooks of 100,000 rows
# unpack to well under 100 MB, and their parts compress at most some tens of times; a zip bomb
# unpacks to gigabytes at ratios in the thousands.
MAX_UNPACKED_BYTES = 100 * MiB
MAX_COMPRESSION_RATIO = 200
# Small parts (styles, shared strings of a few repeated values) may compress very well and
# harm no one: the ratio is looked at only for parts larger than this.
RATIO_CHECKED_ABOVE_BYTES = MiB
MAX_ZIP_ENTRIES = 1_000
# How far down the heading row is looked for (counting rows that are not blank), past title
# rows such as "2026年度员工名单".
HEADING_SEARCH_ROWS = 10

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and password-protected .xlsx

# A spreadsheet takes a cell that begins with one of these as a formula (or, for tab and
# carriage return, as the start of one), which a learner's name must never become.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


# --- Refusals -------------------------------------------------------------------------------


def refusal(message: str | Promise, code: str) -> ValidationError:
    """The file as a whole is refused: an error keyed ``file``. The message is rendered now, in
    the language of the request that uploaded the file."""
    return ValidationError({"file": ValidationError(str(message), code=code)})


_TOO_MANY_ROWS = _("The file has more than %(rows)s rows. Split it into several files.")
_MISSING_COLUMN = _("The heading row lacks these columns: %(columns)s.")
_NO_ROWS = _("The file has no rows below its heading row.")


@dataclass(frozen=True)
class TableMessages:
    """What the person who uploaded the file is told when it has too many rows, lacks a
    column or has no rows below its heading row; an import that speaks of its own rows (the
    member list's "member rows") gives its own. ``missing_column`` is formatted with
    ``%(columns)s``, the missing columns each shown as ``column_labels`` names it (or by its
    key); ``too_many_rows`` with ``%(rows)s``."""

    too_many_rows: str | Promise = _TOO_MANY_ROWS
    missing_column: str | Promise = _MISSING_COLUMN
    no_rows: str | Promise = _NO_ROWS
    column_labels: Mapping[str, str] = field(default_factory=dict)


DEFAULT_MESSAGES = TableMessages()


def _too_large(max_bytes: int) -> ValidationError:
    return refusal(
        _("The file is larger than %(size)d MB. Split the list into several files.")
        % {"size": max_bytes // MiB},
        "too_large",
    )


def _empty() -> ValidationError:
    return refusal(_("The file is empty."), "empty")


def _not_a_table() -> ValidationError:
    return refusal(
        _(
            "This file is neither a CSV text file nor an Excel workbook (.xlsx). Save the list "
            "from your spreadsheet as CSV or as an Excel workbook and upload that."
        ),
        "format",
    )


def _old_excel() -> ValidationError:
    return refusal(
        _(
            "This is an old-style Excel workbook (.xls) or a password-protected workbook. "
            "Save it as an Excel workbook (.xlsx) without a password, or as CSV, and upload "
            "it again."
        ),
        "format",
    )


def _bomb(max_unpacked_bytes: int) -> ValidationError:
    return refusal(
        _(
            "This workbook would unpack to more than %(size)d MB or is compressed in a way "
            "real workbooks never are, so it is refused. Save the list again from your "
            "spreadsheet, or as CSV."
        )
        % {"size": max_unpacked_bytes // MiB},
        "zip_bomb",
    )


def _unreadable_workbook() -> ValidationError:
    return refusal(
        _(
            "The workbook could not be read; it may be damaged. Open it in your spreadsheet, "
            "save it again as an Excel workbook (.xlsx) or as CSV, and upload that."
        ),
        "format",
    )


# --- Headings and cells ---------------------------------------------------------------------


def heading_key(text: str) -> str:
    """A heading (or a word from a closed list, such as a document type) as compared: templates
    often mark required columns with an asterisk, and full-width forms, stray spaces, case and
    underscores vary in headings typed by hand."""
    folded = unicodedata.normalize("NFKC", text).strip().strip("*").strip().lower()
    return " ".join(folded.replace("_", " ").split())


def is_blank(cells: Sequence[object]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def cell_text(value: object, *, fold_width: bool = False, unescape: bool = True) -> str:
    """A cell as text, trimmed: an integral float (how a spreadsheet stores 12) as ``12``, a
    date in ISO form. ``fold_width`` folds full-width letters and digits to their usual form
    (right for numbers and codes, not for names that keep their full-width brackets);
    ``unescape`` drops the apostrophe that :func:`formula_escape` put before a would-be formula,
    so that a file we exported reads back as it was."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime | datetime.date):
        value = value.isoformat()
    text = str(value)
    if fold_width:
        text = unicodedata.normalize("NFKC", text)
    text = text.strip()
    if unescape and text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_TRIGGERS):
        text = text[1:]
    return text


_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def typed_cell_text(value: object) -> str:
    """A cell of a list people typed (a member list, a batch of results): folded to the usual
    width (full-width digits are common in numbers typed in Chinese), an apostrophe kept as
    typed (such a list is not one of our exports read back)."""
    return cell_text(value, fold_width=True, unescape=False)


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
    text = unicodedata.normalize("NFKC", cell_text(value)).strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# --- Reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRow:
    """A row as read: its number as the spreadsheet shows it (the heading row is row 1 when it
    is the first) and the cell of each known column (a string from a CSV file; a string,
    number or date from an XLSX workbook; None when empty)."""

    number: int
    cells: dict[str, object]


RawRows = Generator[tuple[int, Sequence[object]]]


class Table:
    """A file being read: its format, the heading each known column has in it, and its rows,
    which can be read once (list() them to go over them twice). Close it, or use it as a
    context manager, to let go of the workbook before the rows are all read."""

    def __init__(
        self,
        *,
        filename: str,
        file_format: Format,
        headings: dict[str, str],
        rows: Generator[TableRow],
        raw: RawRows,
    ) -> None:
        self.filename = filename
        self.file_format = file_format
        self.headings = headings
        self._rows = rows
        self._raw = raw
        self._taken = False
        self.count = 0  # rows read so far

    @property
    def rows(self) -> Iterator[TableRow]:
        # A second pass over a generator silently finds nothing; better to say so.
        if self._taken:
            raise RuntimeError("The rows of a table can be read once; list() them first.")
        self._taken = True
        return self._counted()

    def _counted(self) -> Iterator[TableRow]:
        for row in self._rows:
            self.count += 1
            yield row

    def __iter__(self) -> Iterator[TableRow]:
        return self.rows

    def listed(self) -> ListedTable:
        """All the rows at once (refusing the file here if it has too many): for a small file
        that is gone over more than once, or whose refusal must come with the caller's other
        errors."""
        with self:
            rows = list(self.rows)
        return ListedTable(
            filename=self.filename, file_format=self.file_format, headings=self.headings, rows=rows
        )

    def close(self) -> None:
        self._rows.close()
        self._raw.close()  # the rows may never have been started

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True)
class ListedTable:
    """A table whose rows have all been read."""

    filename: str
    file_format: Format
    headings: dict[str, str]
    rows: list[TableRow]

    @property
    def count(self) -> int:
        return len(self.rows)


Required = Collection[str] | Callable[[Collection[str]], Sequence[str]]


def table_read(
    data: bytes | BinaryIO,
    *,
    filename: str,
    columns: Mapping[str, Sequence[str]],
    required: Required = (),
    max_rows: int,
    max_bytes: int = MAX_FILE_BYTES,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
    messages: TableMessages = DEFAULT_MESSAGES,
) -> Table:
    """Open the CSV or XLSX file in ``data`` (the whole upload, or an open binary file that can
    seek, read as the rows are and never closed here) whose heading row names some of
    ``columns`` (column -> the headings it may have). Columns the file has beyond these
    (remarks, department) are ignored; two columns with headings of the same column are
    refused. ``required`` lists the columns the file must have, or is a function from the
    columns found to those missing (for "this one, or both of those").

    Everything about the file as a whole is checked before this returns, except the row limit,
    which is checked as the rows are read; every refusal is a ValidationError keyed ``file``.
    """
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    size = source.seek(0, io.SEEK_END)
    if not size:
        raise _empty()
    if size > max_bytes:
        raise _too_large(max_bytes)
    source.seek(0)
    head = source.read(len(OLE2_MAGIC))
    file_format: Format
    if head.startswith(ZIP_MAGIC):
        raw: RawRows = _xlsx_rows(source, max_unpacked_bytes=max_unpacked_bytes)
        file_format = "xlsx"
    elif head.startswith(OLE2_MAGIC):
        raise _old_excel()
    else:
        raw = _csv_rows(source)
        file_format = "csv"
    try:
        indexes, headings, first = _heading_find(raw, columns=columns)
        missing = _missing(required, found=headings, columns=columns)
        if missing:
            labels = messages.column_labels
            raise refusal(
                messages.missing_column % {"columns": ", ".join(labels.get(c, c) for c in missing)},
                "missing_column",
            )
        if first is None:
            raise refusal(messages.no_rows, "empty")
    except BaseException:
        # A refusal before the rows are handed over still closes the workbook at once.
        raw.close()
        raise
    rows = _rows(raw, first, indexes=indexes, max_rows=max_rows, messages=messages)
    return Table(filename=filename, file_format=file_format, headings=headings, rows=rows, raw=raw)


def _heading_find(
    raw: Iterator[tuple[int, Sequence[object]]], *, columns: Mapping[str, Sequence[str]]
) -> tuple[dict[int, str], dict[str, str], tuple[int, Sequence[object]] | None]:
    """The heading row's columns (index -> column), their headings as written, and the first
    row below it that is not blank (None when there is none). Reads no further than that."""
    column_of = {heading_key(h): column for column, hs in columns.items() for h in hs}
    non_blank = 0
    for _number, cells in raw:
        if is_blank(cells):
            continue
        non_blank += 1
        # The heading row is the first that names one of our columns.
        if any(isinstance(c, str) and heading_key(c) in column_of for c in cells):
            indexes, headings = _columns_of(cells, column_of)
            first = next(((n, c) for n, c in raw if not is_blank(c)), None)
            return indexes, headings, first
        if non_blank >= HEADING_SEARCH_ROWS:
            break
    if non_blank == 0:
        raise _empty()
    return {}, {}, None


def _columns_of(
    header: Sequence[object], column_of: Mapping[str, str]
) -> tuple[dict[int, str], dict[str, str]]:
    indexes: dict[int, str] = {}
    headings: dict[str, str] = {}
    for index, cell in enumerate(header):
        if not isinstance(cell, str):
            continue
        column = column_of.get(heading_key(cell))
        if column is None:
            continue
        if column in headings:
            raise refusal(
                _(
                    "The columns “%(first)s” and “%(second)s” both hold the %(column)s; keep "
                    "only one of them."
                )
                % {"first": headings[column], "second": cell.strip(), "column": column},
                "duplicate_column",
            )
        indexes[index] = column
        headings[column] = cell.strip()
    return indexes, headings


def _missing(
    required: Required, *, found: Collection[str], columns: Mapping[str, Sequence[str]]
) -> list[str]:
    if callable(required):
        missing = list(required(found))
    else:
        missing = [column for column in required if column not in found]
    if not found and not missing:
        # No heading row at all: whatever the requirement, the file names none of the columns.
        missing = list(columns)
    return missing


def _rows(
    raw: RawRows,
    first: tuple[int, Sequence[object]],
    *,
    indexes: Mapping[int, str],
    max_rows: int,
    messages: TableMessages,
) -> Generator[TableRow]:
    def row(number: int, cells: Sequence[object]) -> TableRow:
        return TableRow(
            number=number,
            cells={col: cells[i] if i < len(cells) else None for i, col in indexes.items()},
        )

    with closing(raw):
        yield row(*first)
        count = 1
        for number, cells in raw:
            if is_blank(cells):
                continue
            if count >= max_rows:
                raise refusal(messages.too_many_rows % {"rows": f"{max_rows:,}"}, "too_many_rows")
            count += 1
            yield row(number, cells)


# -- CSV --

_DECODE_CHUNK = 64 * 1024


def _pieces(source: BinaryIO) -> Iterator[bytes]:
    source.seek(0)
    while piece := source.read(_DECODE_CHUNK):
        yield piece


def _decodes(source: BinaryIO, encoding: str) -> bool:
    """Whether all of ``source`` is text in ``encoding``, found without holding its text."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for piece in _pieces(source):
            decoder.decode(piece)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _encoding_of(source: BinaryIO) -> str:
    """The encoding of a CSV file: UTF-8 (with or without the byte-order mark Excel writes),
    UTF-16 with its mark (Excel's "Unicode text"), or GB18030, which Chinese Excel writes."""
    source.seek(0)
    if source.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if _decodes(source, "utf-16"):
            return "utf-16"
    elif not any(b"\x00" in piece for piece in _pieces(source)):
        for encoding in ("utf-8-sig", "gb18030"):
            if _decodes(source, encoding):
                return encoding
    raise _not_a_table()


class _Borrowed(io.RawIOBase):
    """The caller's file, read through a text wrapper that must not close it."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        piece = self._source.read(len(buffer))
        buffer[: len(piece)] = piece
        return len(piece)


def _text(source: BinaryIO, encoding: str, newline: str) -> io.TextIOWrapper:
    source.seek(0)
    reader = io.BufferedReader(_Borrowed(source))
    return io.TextIOWrapper(reader, encoding=encoding, newline=newline)


def _csv_rows(source: BinaryIO) -> RawRows:
    encoding = _encoding_of(source)
    # Only up to the first "\n" is read here, to tell the delimiter: comma as written by Excel
    # in China; tab ("Unicode text") and semicolon (European Excel) by counting them.
    first_line = _text(source, encoding, "\n").readline()
    first_line = first_line.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    # Decoded as it is read: the text of the file is never held whole.
    text = _text(source, encoding, "")
    reader = csv.reader(text, delimiter=delimiter)
    # A spreadsheet shows a record with line breaks inside a quoted cell as one row, so the
    # row number is the record's position, not the line number.
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise refusal(
            _(
                "The CSV file is malformed near line %(line)d (a quotation mark left open, or "
                "a cell far too long). Save it again from your spreadsheet and upload that."
            )
            % {"line": reader.line_num},
            "format",
        ) from exc


# -- XLSX --


def zip_check(archive: zipfile.ZipFile, *, max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> None:
    """Refuse a zip bomb before anything unpacks it. The sizes checked are those the archive
    declares; Python's zipfile never unpacks an entry beyond its declared size (and fails the
    CRC when the data is longer), so an archive cannot lie its way past this check."""
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _bomb(max_unpacked_bytes)
    total = 0
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise refusal(
                _("The workbook is encrypted. Save it without a password and upload it again."),
                "format",
            )
        total += entry.file_size
        if total > max_unpacked_bytes:
            raise _bomb(max_unpacked_bytes)
        if (
            entry.file_size > RATIO_CHECKED_ABOVE_BYTES
            and entry.file_size > MAX_COMPRESSION_RATIO * max(entry.compress_size, 1)
        ):
            raise _bomb(max_unpacked_bytes)
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names:
        raise refusal(
            _(
                "This is a ZIP archive but not an Excel workbook (.xlsx). Save the list from "
                "your spreadsheet as an Excel workbook or as CSV and upload that."
            ),
            "format",
        )


def _xlsx_rows(source: BinaryIO, *, max_unpacked_bytes: int) -> RawRows:
    # zipfile and openpyxl leave a file they were given open.
    source.seek(0)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _unreadable_workbook() from exc
    with archive:
        zip_check(archive, max_unpacked_bytes=max_unpacked_bytes)
    # openpyxl parses through defusedxml when it is installed, so entity expansion attacks
    # in the XML parts are refused too. Anything it raises on a damaged workbook (there is no
    # common base class: zip, XML, KeyError, ValueError, TypeError) is a refusal, not a 500.
    try:
        source.seek(0)
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:
        raise _unreadable_workbook() from exc
    try:
        if not workbook.worksheets:
            raise refusal(_("The workbook has no worksheet."), "empty")
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


# --- Row problems ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem in the file: the row number as the spreadsheet shows it, the column, and a
    message for the person who fixes it, with the file's own heading of the column."""

    row: int
    column: str
    message: str
    heading: str = ""


class RowErrors:
    """The problems found so far, sorted by row and then in the order of ``columns``."""

    def __init__(self, headings: Mapping[str, str], columns: Sequence[str] = ()) -> None:
        self.headings = headings
        self.columns = tuple(columns)
        self.items: list[RowError] = []
        self._columns: dict[int, set[str]] = {}

    def add(self, row: int, column: str, message: str) -> None:
        self.items.append(RowError(row, column, message, self.headings.get(column, column)))
        self._columns.setdefault(row, set()).add(column)

    def has(self, row: int, column: str) -> bool:
        """Whether the cell already has a problem (later checks then leave it alone)."""
        return column in self._columns.get(row, ())

    def sorted(self) -> list[RowError]:
        order = {column: n for n, column in enumerate(self.columns)}
        return sorted(self.items, key=lambda e: (e.row, order.get(e.column, len(order))))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)


class RowsInvalid(ValidationError):
    """Some rows of the file are wrong; ``rows`` lists every problem found. An import that
    writes something other than "imported" says so in its own ``summary``."""

    summary = ngettext_lazy(
        "The file has %(count)d problem. Nothing was imported: correct it and upload the "
        "whole file again.",
        "The file has %(count)d problems. Nothing was imported: correct them and upload the "
        "whole file again.",
        "count",
    )

    def __init__(self, rows: list[RowError]) -> None:
        self.rows = rows
        message = self.summary % {"count": len(rows)}
        super().__init__({"file": ValidationError(str(message), code="rows")})


# --- Writing --------------------------------------------------------------------------------


def formula_escape(value: object) -> object:
    """Text that a spreadsheet would run as a formula, with a leading apostrophe; other values
    (our own numbers and dates) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def table_write(
    rows: Iterable[Sequence[object]],
    *,
    headings: Sequence[str | Promise],
    fmt: str,
    title: str | Promise = "Sheet1",
) -> bytes:
    """A CSV file (UTF-8 with the byte-order mark Excel needs to show Chinese) or an XLSX
    workbook of one sheet named ``title``: a heading row, then ``rows``, read once as they come
    (a queryset's ``iterator()`` is fine). No cell can become a formula."""
    if fmt == "csv":
        return _csv_write(rows, headings=headings)
    if fmt == "xlsx":
        return _xlsx_write(rows, headings=headings, title=str(title))
    raise ValidationError({"format": _("Choose csv or xlsx.")})


def _csv_write(rows: Iterable[Sequence[object]], *, headings: Sequence[str | Promise]) -> bytes:
    out = io.BytesIO()
    out.write(codecs.BOM_UTF8)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    writer = csv.writer(text)
    writer.writerow([formula_escape(str(h)) for h in headings])
    for row in rows:
        writer.writerow([formula_escape(cell) for cell in row])
    text.flush()
    data = out.getvalue()
    text.detach()
    return data


def _xlsx_write(
    rows: Iterable[Sequence[object]], *, headings: Sequence[str | Promise], title: str
) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])

    def cells(values: Iterable[object]) -> list[object]:
        out: list[object] = []
        for value in values:
            safe = formula_escape(value)
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

    sheet.append(cells(str(h) for h in headings))
    for row in rows:
        sheet.append(cells(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
