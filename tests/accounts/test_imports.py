"""Reading member files: formats, encodings and the refusals that keep a hostile or mistaken
file from doing harm. Most go through the import endpoint; the helpers here build the files."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from accounts.collective import imports
from accounts.models import CollectiveMembership, LearningAccount, MemberImport, User
from common.tables import OLE2_MAGIC, zip_check
from common.tables import formula_escape as spreadsheet_safe
from tests.accounts.helpers import (
    ENGLISH_HEADINGS,
    HEADINGS,
    csv_file,
    member,
    resident_id,
    upload,
    xlsx_file,
)
from tests.people import with_check

pytestmark = pytest.mark.django_db


def file_error(response) -> str:
    assert response.status_code == 400, response.content
    return response.json()["file"][0]


def nothing_written() -> bool:
    return not (
        User.objects.filter(role="learner").exists()
        or LearningAccount.objects.filter(kind="personal").exists()
        or CollectiveMembership.objects.exists()
        or MemberImport.objects.exists()
    )


# --- Formats and encodings -------------------------------------------------------------------


def test_a_utf8_csv_with_the_byte_order_mark_excel_writes_is_read(admin_client, collective):
    response = upload(
        admin_client, collective.institution_id, csv_file([member(1)], encoding="utf-8-sig")
    )

    assert response.status_code == 201, response.json()
    assert response.json()["accounts_opened"] == 1
    assert User.objects.get(role="learner").name == "成员1"


def test_a_gb18030_csv_from_chinese_excel_is_read(admin_client, collective):
    data = csv_file([member(1, name="欧阳娜娜"), member(2, name="䶮龘")], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    response = upload(admin_client, collective.institution_id, data)

    assert response.status_code == 201, response.json()
    assert set(User.objects.filter(role="learner").values_list("name", flat=True)) == {
        "欧阳娜娜",
        "䶮龘",
    }


def test_an_xlsx_workbook_is_read_with_english_headings_and_a_title_row(admin_client, collective):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["2026年度员工名单"])
    sheet.append([*ENGLISH_HEADINGS, "department"])
    sheet.append([*member(1, id_type="resident_id"), "财务部"])
    sheet.append([])
    # A phone typed into a cell is stored as a number, which is fine for a phone.
    sheet.append(["成员二", "居民身份证", resident_id(2), 13800000002, "member2@example.cn"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    response = upload(admin_client, collective.institution_id, buffer.getvalue(), "members.xlsx")

    assert response.status_code == 201, response.json()
    assert response.json()["rows"] == 2
    assert User.objects.filter(phone="13800000002", name="成员二").exists()


def test_an_identity_number_stored_as_a_number_in_xlsx_is_explained(admin_client, collective):
    number = resident_id(1)
    data = xlsx_file([["成员一", "居民身份证", int(number[:17] + "0"), "13800000001", "a@b.cn"]])

    response = upload(admin_client, collective.institution_id, data, "members.xlsx")

    assert response.status_code == 400
    [problem] = response.json()["rows"]
    assert problem["row"] == 2
    assert problem["column"] == "id_number"
    assert "stored in the spreadsheet as a number" in problem["message"]


def test_every_accepted_document_type_label_is_understood(db):
    labels = ["居民身份证", "resident_id", "港澳台居民居住证", "hmt_residence_permit"]
    labels += ["外国人永久居留身份证", "foreign_permanent_resident", " 居民身份证 "]
    numbers = [resident_id(1), resident_id(2), with_check("81000019900101002")]
    numbers += [with_check("83000019900101004"), "USA500180080112"]
    numbers += [with_check("95084019800101001"), resident_id(3)]
    rows = [
        member(n, id_type=label, id_number=number)
        for n, (label, number) in enumerate(zip(labels, numbers, strict=True))
    ]
    table = imports.member_table_read(data=csv_file(rows), filename="x.csv")

    members, errors = imports.member_rows_check(table)

    assert not errors, errors.sorted()
    assert [m.identity.id_type for m in members] == [
        "resident_id",
        "resident_id",
        "hmt_residence_permit",
        "hmt_residence_permit",
        "foreign_permanent_resident",
        "foreign_permanent_resident",
        "resident_id",
    ]


def test_a_tab_separated_utf16_file_from_excel_unicode_text_is_read(db):
    text = "\t".join(HEADINGS) + "\r\n" + "\t".join(member(1)) + "\r\n"

    table = imports.member_table_read(data=text.encode("utf-16"), filename="x.txt").listed()

    assert table.rows[0].cells["id_number"] == resident_id(1)


# --- Refusals ---------------------------------------------------------------------------------


def test_an_empty_file_is_refused(admin_client, collective):
    assert file_error(upload(admin_client, collective.institution_id, b"")) == "The file is empty."
    assert "no member rows" in file_error(
        upload(admin_client, collective.institution_id, csv_file([]))
    )


def test_a_file_over_10_mb_is_refused(admin_client, collective):
    data = csv_file([member(1)]) + b"#" * (10 * 1024 * 1024)

    assert "larger than 10 MB" in file_error(upload(admin_client, collective.institution_id, data))
    assert nothing_written()


def test_a_file_of_more_than_100000_rows_is_refused(admin_client, collective):
    data = ("\n".join([",".join(HEADINGS)] + ["x,y,z,1,e"] * 100_001) + "\n").encode()

    message = file_error(upload(admin_client, collective.institution_id, data))

    assert "more than 100,000 member rows" in message
    assert nothing_written()


def test_a_missing_column_is_named(admin_client, collective):
    data = csv_file([member(1)[:4]], headings=HEADINGS[:4])

    message = file_error(upload(admin_client, collective.institution_id, data))

    assert "电子邮箱 (email)" in message


def test_a_file_that_is_neither_csv_nor_xlsx_is_refused(admin_client, collective):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01" + bytes(range(256))
    old_xls = OLE2_MAGIC + b"\x00" * 512
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")

    for data, expected in [
        (png, "neither a CSV text file nor an Excel workbook"),
        (old_xls, "old-style Excel workbook (.xls)"),
        (other_zip.getvalue(), "not an Excel workbook"),
        (b"PK\x03\x04 but not really a zip", "could not be read"),
    ]:
        assert expected in file_error(upload(admin_client, collective.institution_id, data))
    assert nothing_written()


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


def test_a_zip_bomb_posing_as_a_workbook_is_refused_before_it_is_unpacked(admin_client, collective):
    too_big = bomb(size=200 * 1024 * 1024)
    absurd_ratio = bomb(size=20 * 1024 * 1024)
    assert len(too_big) < 1024 * 1024

    for data in (too_big, absurd_ratio):
        message = file_error(upload(admin_client, collective.institution_id, data, "m.xlsx"))
        assert "would unpack to more than 100 MB" in message
    assert nothing_written()


def test_a_real_workbook_is_not_mistaken_for_a_bomb(db):
    # 20,000 rows of the same few values compress very well, yet far less than a bomb.
    data = xlsx_file([member(1)] * 20_000)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        zip_check(archive)


# --- Rows -------------------------------------------------------------------------------------


def test_every_row_problem_is_reported_with_its_row_and_column(admin_client, collective):
    rows = [
        member(1),
        member(2, id_number=resident_id(2)[:17] + ("1" if resident_id(2)[17] != "1" else "2")),
        member(3, name="", id_type="驾驶证"),
        member(4, phone="12345", email="not-an-email"),
        member(5, id_number=resident_id(1)),  # the same person as row 2
        member(6, phone=member(1)[3], email=member(1)[4].upper()),
    ]

    response = upload(admin_client, collective.institution_id, csv_file(rows))

    assert response.status_code == 400
    problems = [(p["row"], p["column"]) for p in response.json()["rows"]]
    assert problems == [
        (3, "id_number"),
        (4, "name"),
        (4, "id_type"),
        (5, "phone"),
        (5, "email"),
        (6, "id_number"),
        (7, "phone"),
        (7, "email"),
    ]
    messages = {(p["row"], p["column"]): p["message"] for p in response.json()["rows"]}
    assert "check digit" in messages[(3, "id_number")]
    assert messages[(6, "id_number")] == (
        "This identity number is also on row 2; list each person once."
    )
    assert "also on row 2" in messages[(7, "email")]
    assert response.json()["rows"][0]["heading"] == "证件号码"
    assert nothing_written()


def test_spreadsheet_text_is_escaped_before_a_spreadsheet_can_run_it():
    for value in ["=1+2", "+86", "-3", "@SUM(A1)", "\tx", "\rx"]:
        assert spreadsheet_safe(value) == "'" + value
    assert spreadsheet_safe("李爱丽") == "李爱丽"
    assert spreadsheet_safe(-3) == -3
