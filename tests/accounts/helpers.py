"""Member files for the collective-account imports: valid rows and the files that carry them."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Sequence

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.people import with_check

HEADINGS = ["姓名", "证件类型", "证件号码", "手机号", "电子邮箱"]
ENGLISH_HEADINGS = ["name", "id_type", "id_number", "phone", "email"]


def resident_id(n: int) -> str:
    """The n-th of many distinct valid resident ID numbers (Yuzhong, Chongqing, 1970s)."""
    born = datetime.date(1970, 1, 1) + datetime.timedelta(days=n // 500)
    return with_check(f"500103{born:%Y%m%d}{n % 500 + 100:03d}")


def member(n: int, **overrides: str) -> list[str]:
    row = {
        "name": f"成员{n}",
        "id_type": "居民身份证",
        "id_number": resident_id(n),
        "phone": f"138{n:08d}",
        "email": f"member{n}@example.cn",
        **overrides,
    }
    return [row["name"], row["id_type"], row["id_number"], row["phone"], row["email"]]


def csv_file(
    rows: list[list[str]], *, headings: list[str] = HEADINGS, encoding: str = "utf-8"
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headings)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_file(rows: Sequence[Sequence[object]], *, headings: list[str] = HEADINGS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headings)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, institution_id: int, data: bytes, filename: str = "members.csv"):
    """Posts a member file to the import endpoint of ``institution_id``."""
    return client.post(
        f"/api/v1/institutions/{institution_id}/members/import/",
        {"file": SimpleUploadedFile(filename, data)},
        format="multipart",
    )
