"""The one spreadsheet reader and writer: formats, encodings, headings, limits, the refusals
that keep a hostile or mistaken file from doing harm, and formulas defused on the way out."""

from __future__ import annotations

import csv
import datetime
import inspect
import io
import tracemalloc
import zipfile
from collections.abc import Collection, Sequence
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy, ngettext_lazy

from common.tables import (
    OLE2_MAGIC,
    RowErrors,
    RowsInvalid,
    TableMessages,
    cell_date,
    cell_number,
    cell_text,
    formula_escape,
    heading_key,
    table_read,
    table_write,
    zip_check,
)

pytestmark = pytest.mark.usefixtures("english")


COLUMNS = {
    "name": ("name", "姓名"),
    "id_number": ("id_number", "id number", "证件号码"),
    "phone": ("phone", "手机号"),
}
HEADINGS = ["姓名", "证件号码", "手机号"]


def csv_file(
    rows: Sequence[Sequence[object]],
    *,
    headings: Sequence[str] = HEADINGS,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(headings)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_file(rows: Sequence[Sequence[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read(data: bytes, **options: object) -> list[tuple[int, dict[str, object]]]:
    arguments: dict[str, object] = {"columns": COLUMNS, "required": ("name",), "max_rows": 100}
    arguments.update(options)
    with table_read(data, filename="people.csv", **arguments) as table:  # type: ignore[arg-type]
        return [(row.number, row.cells) for row in table.rows]


def refusal(data: bytes, **options: object) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        read(data, **options)
    [error] = caught.value.error_dict["file"]
    return error.code or "", error.messages[0]


# --- Formats and encodings ---------------------------------------------------------------------


def test_a_utf8_csv_is_read_with_or_without_the_byte_order_mark_excel_writes():
    for encoding in ("utf-8", "utf-8-sig"):
        data = csv_file([["李爱丽", "110101", "13800000001"]], encoding=encoding)

        assert read(data) == [
            (2, {"name": "李爱丽", "id_number": "110101", "phone": "13800000001"})
        ]


def test_a_gb18030_csv_from_chinese_excel_is_read():
    data = csv_file([["欧阳娜娜", "1", ""], ["䶮龘", "2", ""]], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    assert [cells["name"] for _n, cells in read(data)] == ["欧阳娜娜", "䶮龘"]


def test_a_tab_separated_utf16_file_from_excel_unicode_text_is_read():
    data = csv_file([["李爱丽", "1", "2"]], encoding="utf-16", delimiter="\t")

    assert read(data) == [(2, {"name": "李爱丽", "id_number": "1", "phone": "2"})]


def test_a_semicolon_separated_csv_from_european_excel_is_read():
    data = csv_file([["Anna", "1", "2"]], delimiter=";")

    assert read(data)[0][1]["name"] == "Anna"


def test_an_xlsx_workbook_is_read_past_its_title_row_with_cells_as_typed():
    data = xlsx_file(
        [
            ["2026年度员工名单"],
            ["Name", "ID Number", "department", "Phone"],
            ["李爱丽", "110101", "财务部", 13800000001],
            [],
            ["王伟", None, None, None, "far beyond the columns"],
            ["张三", datetime.date(2026, 1, 2)],
        ]
    )

    table = table_read(data, filename="people.xlsx", columns=COLUMNS, max_rows=10)

    assert table.file_format == "xlsx"
    assert table.headings == {"name": "Name", "id_number": "ID Number", "phone": "Phone"}
    assert [(row.number, row.cells) for row in table.rows] == [
        (3, {"name": "李爱丽", "id_number": "110101", "phone": 13800000001}),
        (5, {"name": "王伟", "id_number": None, "phone": None}),
        (6, {"name": "张三", "id_number": datetime.datetime(2026, 1, 2), "phone": None}),
    ]


# --- Headings and rows -------------------------------------------------------------------------


def test_headings_are_matched_whatever_their_width_case_spacing_or_asterisk():
    data = csv_file([["a", "b", "c"]], headings=["* 姓名 ", "ＩＤ＿Number", " PHONE*"])

    assert read(data)[0][1] == {"name": "a", "id_number": "b", "phone": "c"}
    assert heading_key("＊ＩＤ  ＿Ｎｕｍｂｅｒ ") == "id number"


def test_columns_the_caller_does_not_know_are_ignored_and_short_rows_padded():
    data = csv_file([["x", "a", "b"], ["y", "c"]], headings=["remarks", "姓名", "证件号码"])

    assert read(data) == [
        (2, {"name": "a", "id_number": "b"}),
        (3, {"name": "c", "id_number": None}),
    ]


def test_blank_rows_are_skipped_and_rows_keep_the_number_a_spreadsheet_shows():
    # A quoted cell with a line break is one row of the spreadsheet, not two.
    data = csv_file([["a", "1", ""], ["", " ", ""], [], ["b", "line\nbreak", ""], ["c", "", ""]])

    assert [(n, cells["name"]) for n, cells in read(data)] == [(2, "a"), (5, "b"), (6, "c")]


def test_the_heading_row_is_looked_for_in_the_first_ten_rows_that_are_not_blank():
    titles = [[f"title {n}"] for n in range(8)]  # and the first line: nine rows
    found = csv_file([*titles, [], [], HEADINGS, ["a", "1", "2"]], headings=["title"])
    too_far = csv_file([*titles, ["title 9"], HEADINGS, ["a", "1", "2"]], headings=["title"])

    assert read(found) == [(13, {"name": "a", "id_number": "1", "phone": "2"})]
    assert refusal(too_far)[0] == "missing_column"


def test_the_rows_are_generated_and_can_be_read_once():
    table = table_read(csv_file([["a", "1", "2"]]), filename="x.csv", columns=COLUMNS, max_rows=5)

    assert inspect.isgenerator(table._rows)
    assert table.count == 0
    assert [row.cells["name"] for row in table.rows] == ["a"]
    assert table.count == 1
    with pytest.raises(RuntimeError):
        list(table.rows)


def test_a_small_table_can_be_read_whole():
    data = csv_file([["a", "1", "2"], ["b", "3", "4"]])

    table = table_read(data, filename="x.csv", columns=COLUMNS, max_rows=5).listed()

    assert [row.cells["name"] for row in table.rows] == ["a", "b"]
    assert [row.number for row in table.rows] == [2, 3]
    assert (table.count, table.file_format, table.filename) == (2, "csv", "x.csv")
    with pytest.raises(ValidationError):
        table_read(data, filename="x.csv", columns=COLUMNS, max_rows=1).listed()


def test_a_table_closed_before_its_rows_are_read_lets_go_of_the_workbook():
    data = xlsx_file([HEADINGS, ["a", "1", "2"], ["b", "3", "4"]])

    with table_read(data, filename="x.xlsx", columns=COLUMNS, max_rows=5) as table:
        pass

    # The reader's finally: has run, which closes the workbook.
    assert inspect.getgeneratorstate(table._raw) == inspect.GEN_CLOSED


def test_a_hundred_thousand_row_csv_is_read_without_holding_its_rows():
    line = "成员{n},11010119900101{n:04d},138{n:08d}\r\n"
    data = (
        ",".join(HEADINGS) + "\r\n" + "".join(line.format(n=n % 10_000) for n in range(100_000))
    ).encode("gb18030")
    table = table_read(data, filename="x.csv", columns=COLUMNS, max_rows=100_000)

    tracemalloc.start()
    try:
        last = None
        for row in table.rows:
            last = row
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert table.count == 100_000
    assert last is not None
    assert last.number == 100_001
    # Listed as dicts, the rows would take some 100 MB, and the decoded text of the 4 MB file
    # several more: reading holds neither, only a row and the decoder's buffers at a time.
    assert len(data) > 4_000_000
    assert peak < 1024 * 1024, peak


# --- Refusals ------------------------------------------------------------------------------------


def test_an_empty_or_blank_file_is_refused():
    assert refusal(b"") == ("empty", "The file is empty.")
    assert refusal(b"\r\n,,\r\n \r\n") == ("empty", "The file is empty.")
    assert refusal(b"\xef\xbb\xbf") == ("empty", "The file is empty.")


def test_a_file_without_rows_below_its_heading_row_is_refused():
    assert refusal(csv_file([[], ["", "", ""]])) == (
        "empty",
        "The file has no rows below its heading row.",
    )


def test_a_file_over_its_size_limit_is_refused():
    data = csv_file([["a", "1", "2"]])

    assert refusal(data + b"#" * (10 * 1024 * 1024)) == (
        "too_large",
        "The file is larger than 10 MB. Split the list into several files.",
    )
    assert refusal(data, max_bytes=len(data) - 1)[0] == "too_large"
    assert read(data, max_bytes=len(data))


def test_a_missing_required_column_is_named():
    data = csv_file([["a", "1"]], headings=["姓名", "证件号码"])

    assert refusal(data, required=("name", "phone", "id_number")) == (
        "missing_column",
        "The heading row lacks these columns: phone.",
    )
    messages = TableMessages(column_labels={"phone": "手机号 (phone)"})
    assert "手机号 (phone)" in refusal(data, required=("phone",), messages=messages)[1]


def test_a_file_whose_headings_name_none_of_the_columns_lacks_them_all():
    data = csv_file([["a", "1"]], headings=["remarks", "department"])

    assert refusal(data, required=()) == (
        "missing_column",
        "The heading row lacks these columns: name, id_number, phone.",
    )


def test_a_requirement_can_be_one_column_or_another():
    def missing(found: Collection[str]) -> list[str]:
        return [] if "phone" in found or "id_number" in found else ["phone"]

    messages = TableMessages(missing_column=gettext_lazy("Give a phone or an id number."))

    assert read(csv_file([["a", "1"]], headings=["姓名", "证件号码"]), required=missing)
    assert refusal(csv_file([["a"]], headings=["姓名"]), required=missing, messages=messages) == (
        "missing_column",
        "Give a phone or an id number.",
    )


def test_two_columns_of_the_same_kind_are_refused():
    data = csv_file([["a", "b"]], headings=["姓名", "Name"])

    assert refusal(data) == (
        "duplicate_column",
        "The columns “姓名” and “Name” both hold the name; keep only one of them.",
    )


def test_a_file_over_the_row_limit_is_refused_as_its_rows_are_read():
    rows = [["a", str(n), ""] for n in range(3)]

    assert len(read(csv_file(rows), max_rows=3)) == 3
    table = table_read(
        csv_file([*rows, [], ["b", "4", ""]]), filename="x", columns=COLUMNS, max_rows=3
    )
    with pytest.raises(ValidationError) as caught:
        list(table.rows)
    [error] = caught.value.error_dict["file"]
    assert error.code == "too_many_rows"
    assert error.messages == ["The file has more than 3 rows. Split it into several files."]
    messages = TableMessages(
        too_many_rows=gettext_lazy(
            "The file has more than %(rows)s member rows. Split it into several files."
        )
    )
    assert (
        "more than 1,000 member rows"
        in refusal(csv_file([["a", "1", ""]] * 1_001), max_rows=1_000, messages=messages)[1]
    )


def test_a_file_that_is_neither_csv_nor_xlsx_is_refused():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01" + bytes(range(256))
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    encrypted = io.BytesIO()
    with zipfile.ZipFile(encrypted, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    encrypted_data = bytearray(encrypted.getvalue())
    encrypted_data[6] |= 0x1  # the local header's flag: encrypted
    central = encrypted_data.rfind(b"PK\x01\x02")
    encrypted_data[central + 8] |= 0x1  # and the central directory's

    for data, expected in [
        (png, "neither a CSV text file nor an Excel workbook"),
        (OLE2_MAGIC + b"\x00" * 512, "old-style Excel workbook (.xls)"),
        (other_zip.getvalue(), "not an Excel workbook"),
        (b"PK\x03\x04 but not really a zip", "could not be read"),
        (bytes(encrypted_data), "The workbook is encrypted"),
        (b'name\r\n"open quote' + b"x" * 200_000, "malformed near line"),
    ]:
        code, message = refusal(data)
        assert code == "format"
        assert expected in message


def bomb(*, size: int) -> bytes:
    """A zip that looks like a workbook, with one huge, highly compressible sheet."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b"\x00" * (1024 * 1024)
            for _n in range(size // len(chunk)):
                sheet.write(chunk)
    return buffer.getvalue()


def test_an_xlsx_bomb_is_refused_before_it_is_unpacked():
    too_big = bomb(size=200 * 1024 * 1024)
    absurd_ratio = bomb(size=20 * 1024 * 1024)
    assert len(too_big) < 1024 * 1024

    for data in (too_big, absurd_ratio):
        code, message = refusal(data)
        assert code == "zip_bomb"
        assert "would unpack to more than 100 MB" in message


def test_a_real_workbook_is_not_mistaken_for_a_bomb():
    data = xlsx_file([HEADINGS] + [["李爱丽", "110101", "13800000001"]] * 20_000)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        zip_check(archive)


def test_refusals_keep_the_translations_of_the_apps_messages():
    with translation.override("zh-hans"):
        assert refusal(b"")[1] == "文件为空。"
        assert refusal(csv_file([], headings=["x"]))[1] == "标题行缺少以下列：name。"


# --- Cells ---------------------------------------------------------------------------------------


def test_a_cell_reads_as_trimmed_text():
    assert cell_text(None) == ""
    assert cell_text(12.0) == "12"
    assert cell_text(datetime.date(2026, 1, 2)) == "2026-01-02"
    assert cell_text(" （初级） ") == "（初级）"
    assert cell_text(" （初级） ", fold_width=True) == "(初级)"
    assert cell_text("'=SUM(A1)") == "=SUM(A1)"
    assert cell_text("'=SUM(A1)", unescape=False) == "'=SUM(A1)"
    assert cell_text("'tis") == "'tis"


def test_a_date_cell_is_a_spreadsheet_date_or_a_date_written_as_text():
    expected = datetime.date(2024, 1, 1)
    for value in [expected, datetime.datetime(2024, 1, 1, 8), "2024-01-01", "2024/1/1"]:
        assert cell_date(value) == expected
    assert cell_date("２０２４年1月1日") == expected
    with pytest.raises(ValueError, match="next Monday"):
        cell_date("next Monday")


def test_a_number_cell_is_a_decimal_or_none():
    assert cell_number(2.5) == Decimal("2.5")
    assert cell_number(" １２.5 ") == Decimal("12.5")
    assert cell_number("") is None
    assert cell_number("lots") is None
    assert cell_number("NaN") is None


def test_row_problems_are_sorted_by_row_then_by_column_order():
    errors = RowErrors({"name": "姓名"}, columns=("name", "phone"))
    errors.add(3, "phone", "bad phone")
    errors.add(2, "other", "bad other")
    errors.add(3, "name", "no name")
    errors.add(2, "phone", "bad phone")

    assert [(e.row, e.column) for e in errors.sorted()] == [
        (2, "phone"),
        (2, "other"),
        (3, "name"),
        (3, "phone"),
    ]
    assert errors.sorted()[2].heading == "姓名"
    assert errors.has(3, "name")
    assert not errors.has(2, "name")


def test_invalid_rows_are_reported_all_at_once_in_the_callers_words():
    class Reported(RowsInvalid):
        summary = ngettext_lazy(
            "The file has %(count)d problem. Nothing was reported: correct it and upload the "
            "whole file again.",
            "The file has %(count)d problems. Nothing was reported: correct them and upload the "
            "whole file again.",
            "count",
        )

    errors = RowErrors({})
    errors.add(2, "name", "no name")
    errors.add(3, "name", "no name")

    assert RowsInvalid(errors.sorted()).messages == [
        "The file has 2 problems. Nothing was imported: correct them and upload the whole "
        "file again."
    ]
    assert RowsInvalid(errors.sorted()[:1]).error_dict["file"][0].code == "rows"
    assert "Nothing was reported: correct it" in Reported(errors.sorted()[:1]).messages[0]
    with translation.override("zh-hans"):
        assert "本次未导入任何数据" in RowsInvalid(errors.sorted()).messages[0]


# --- Writing -------------------------------------------------------------------------------------


def test_spreadsheet_text_is_escaped_before_a_spreadsheet_can_run_it():
    for value in ["=1+2", "+86", "-3", "@SUM(A1)", "\tx", "\rx"]:
        assert formula_escape(value) == "'" + value
    assert formula_escape("李爱丽") == "李爱丽"
    assert formula_escape(-3) == -3


def test_a_csv_is_written_in_utf8_with_the_byte_order_mark_and_formulas_escaped():
    data = table_write(
        iter([['=HYPERLINK("x")', "李爱丽", 3, Decimal("1.50"), None]]),
        headings=["公式", gettext_lazy("Name"), "n", "d", "none"],
        fmt="csv",
    )

    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == (
        '公式,Name,n,d,none\r\n"\'=HYPERLINK(""x"")",李爱丽,3,1.50,\r\n'
    )


def test_an_xlsx_is_written_with_text_cells_that_cannot_be_formulas():
    data = table_write(
        [["=1+2", "李\x01爱丽", 3, Decimal("1.50"), datetime.date(2026, 1, 2)]],
        headings=["a", "b", "c", "d", "e"],
        fmt="xlsx",
        title=gettext_lazy("Members"),
    )

    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    [heading, row] = [[(c.value, c.data_type) for c in r] for r in sheet.iter_rows()]
    assert sheet.title == "Members"
    assert heading == [(h, "s") for h in "abcde"]
    assert row == [
        ("'=1+2", "s"),
        ("李爱丽", "s"),
        (3, "n"),
        (1.5, "n"),
        (datetime.datetime(2026, 1, 2), "d"),
    ]


def test_what_is_written_reads_back_unchanged():
    rows = [["=x", "1", "13800000001"], ["李爱丽", "2", "+8613800000002"]]
    for fmt in ("csv", "xlsx"):
        data = table_write(rows, headings=HEADINGS, fmt=fmt)

        read_back = read(data)

        assert [[cell_text(v) for v in cells.values()] for _n, cells in read_back] == rows


def test_an_unknown_format_is_refused():
    with pytest.raises(ValidationError) as caught:
        table_write([], headings=["a"], fmt="ods")

    assert caught.value.message_dict == {"format": ["Choose csv or xlsx."]}
