"""Member files: reading the CSV or XLSX list of members an institution uploads, and writing
the member list it exports.

Pure functions, no database. Reading is common.tables' (size, format, zip-bomb and heading
checks, the rows streamed one at a time) with the member list's own columns and messages.
Checking then validates every row on its own and against the other rows of the file, and
returns every problem at once, by row and column; what needs the database (existing
accounts, addresses in use, memberships) is checked by the service in
``accounts.collective.services``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.identity.numbers import Identity, IdType, parse_identity
from accounts.validators import PHONE_VALIDATOR, normalise_phone
from common.tables import (
    MAX_FILE_BYTES,
    ListedTable,
    RowErrors,
    RowsInvalid,
    Table,
    TableMessages,
    TableRow,
    heading_key,
    table_read,
    typed_cell_text,
)

MAX_ROWS = 100_000

# --- Columns --------------------------------------------------------------------------------

NAME, ID_TYPE, ID_NUMBER, PHONE, EMAIL = "name", "id_type", "id_number", "phone", "email"
COLUMNS = (NAME, ID_TYPE, ID_NUMBER, PHONE, EMAIL)

# The headings a column may have, English or Chinese, compared after heading_key().
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

_ID_TYPE_OF_VALUE = {heading_key(value): id_type for value, id_type in ID_TYPE_VALUES.items()}


@dataclass(frozen=True)
class MemberRow:
    """A row whose identity number is valid, so that the person can be looked up; a phone or
    email that failed its check is blank here."""

    number: int
    name: str
    identity: Identity
    phone: str
    email: str


# --- Reading --------------------------------------------------------------------------------

MEMBER_MESSAGES = TableMessages(
    too_many_rows=gettext_lazy(
        "The file has more than %(rows)s member rows. Split it into several files."
    ),
    missing_column=gettext_lazy(
        "The heading row lacks these columns: %(columns)s. The first row of the list "
        "names the columns 姓名 (name), 证件类型 (id_type), 证件号码 (id_number), "
        "手机号 (phone) and 电子邮箱 (email)."
    ),
    no_rows=gettext_lazy("The file has no member rows below its heading row."),
    column_labels={c: f"{TEMPLATE_HEADING[c]} ({c})" for c in COLUMNS},
)


def member_table_read(
    *,
    data: bytes | BinaryIO,
    filename: str,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_FILE_BYTES,
) -> Table:
    """Open the member list in ``data`` (the whole uploaded file); its rows are read one at a
    time as they are checked, so a long file never sits in memory as rows. Raises
    ValidationError keyed ``file`` when the file as a whole cannot be taken (too many rows:
    while the rows are read). ``data`` may be an open binary file, read as the rows are; the
    limits are the upload's (the benchmark raises them to import a million rows)."""
    return table_read(
        data,
        filename=filename,
        columns=HEADINGS,
        required=COLUMNS,
        max_rows=max_rows,
        max_bytes=max_bytes,
        messages=MEMBER_MESSAGES,
    )


# --- Checking rows --------------------------------------------------------------------------


class MemberRowsInvalid(RowsInvalid):
    """Some rows of the member list are wrong; ``rows`` lists every problem found (the summary
    is RowsInvalid's: "... Nothing was imported ...")."""


def member_rows_check(table: Table | ListedTable) -> tuple[list[MemberRow], RowErrors]:
    """Check each row, then the rows against each other (the same person, email or phone
    twice). Returns the rows whose person can be looked up, and the problems found."""
    errors = RowErrors(table.headings, COLUMNS)
    members: list[MemberRow] = []
    for source in table.rows:
        member = member_row_check(source, errors)
        if member is not None:
            members.append(member)
    _duplicates_check(members, errors)
    return members, errors


def member_row_check(source: TableRow, errors: RowErrors) -> MemberRow | None:
    """Check one row on its own (not against the other rows: the caller does that); its
    problems go to ``errors``. Returns the member when the person can be looked up."""
    cells, row = source.cells, source.number

    name = typed_cell_text(cells.get(NAME))
    if not name:
        errors.add(row, NAME, _("The name is missing."))
    elif len(name) > 150:
        errors.add(row, NAME, _("The name is longer than 150 characters."))

    id_type = ""
    raw_type = typed_cell_text(cells.get(ID_TYPE))
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
        id_type = _ID_TYPE_OF_VALUE.get(heading_key(raw_type), "")
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
    elif not typed_cell_text(raw_number):
        errors.add(row, ID_NUMBER, _("The identity number is missing."))
    elif id_type:
        try:
            identity = parse_identity(id_type, typed_cell_text(raw_number))
        except ValidationError as exc:
            errors.add(row, ID_NUMBER, " ".join(exc.messages))

    raw_phone = typed_cell_text(cells.get(PHONE))
    phone = normalise_phone(raw_phone)
    if raw_phone:
        try:
            PHONE_VALIDATOR(phone)
        except ValidationError as exc:
            errors.add(row, PHONE, " ".join(exc.messages))
            phone = ""

    email = typed_cell_text(cells.get(EMAIL))
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


def names_match(a: str, b: str) -> bool:
    """The same name, whatever the width of characters, the spacing, the case of Latin
    letters and the middle dot used in names of ethnic minorities and foreigners."""
    return _name_key(a) == _name_key(b)


_MIDDLE_DOTS = str.maketrans(dict.fromkeys("·•・‧∙⋅.", "·"))


def _name_key(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name or "").translate(_MIDDLE_DOTS).casefold()
    return "".join(folded.split())
