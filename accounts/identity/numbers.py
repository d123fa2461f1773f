"""Validation and parsing of the identity numbers a learner may register with.

Pure functions: no models, no database. Three documents are accepted:

* the resident identity card of the mainland (GB 11643-1999, 18 characters);
* the residence permit for Hong Kong, Macao and Taiwan residents, which follows the same
  structure but carries 810000, 820000 or 830000 in place of the region code;
* the foreign permanent resident ID card, in its 18-character form (issued since 2023-12-01) and
  its older 15-character form (2004 and 2017 cards).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import numdb
from stdnum.iso7064 import mod_11_2

if TYPE_CHECKING:
    # Ships with django-stubs, a development dependency only.
    from django_stubs_ext import StrOrPromise


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident identity card")
    HMT_RESIDENCE_PERMIT = (
        "hmt_residence_permit",
        _("Residence permit for Hong Kong, Macao and Taiwan residents"),
    )
    FOREIGN_PERMANENT_RESIDENT = (
        "foreign_permanent_resident",
        _("Foreign permanent resident ID card"),
    )


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    UNKNOWN = "unknown", _("Not stated")


@dataclass(frozen=True)
class Identity:
    id_type: str
    # Normalised: no spaces or hyphens, upper case (a trailing x becomes X).
    number: str
    birth_date: datetime.date
    # A Gender value: from the parity of the sequence digits where the document encodes it.
    gender: str
    # Human text where known ("北京市 朝阳区", "香港", or the nationality code of a foreigner),
    # "" if not known.
    region: str


DIGITS = frozenset("0123456789")
LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)

# The region codes a residence permit for Hong Kong, Macao and Taiwan residents carries.
HMT_REGIONS = {"810000": "香港", "820000": "澳门", "830000": "台湾"}

# Provinces whose immigration authority accepts applications for a foreign permanent resident
# ID card: the two-digit province codes of GB/T 2260 for the mainland (no 71, 81, 82).
FOREIGN_ACCEPTING_PROVINCES = frozenset(
    f"{code:02d}"
    for first, last in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65))
    for code in range(first, last + 1)
)

# Characters people type between groups of digits. Full-width forms are folded to these by
# NFKC before we strip them.
SEPARATORS = frozenset("-‐‑‒–—")

REGION_DATA = numdb.get("cn/loc")


def normalise_identity_number(number: str) -> str:
    """The number without spaces or hyphens, in upper case.

    NFKC first, because Chinese input methods readily produce full-width digits and letters
    (“１１０１…”), which are the same number to the person typing it.
    """
    folded = unicodedata.normalize("NFKC", number or "")
    return "".join(ch for ch in folded if not ch.isspace() and ch not in SEPARATORS).upper()


def mask_identity_number(number: str) -> str:
    """The number with all but its first 3 and last 4 characters replaced by '*'.

    Numbers shorter than 8 characters keep only their first and last 2; numbers too short for
    that to hide anything (3 characters or fewer) are masked entirely.
    """
    number = number or ""
    if len(number) >= 8:
        head, tail = 3, 4
    elif len(number) > 3:
        head, tail = 1, 2
    else:
        return "*" * len(number)
    return number[:head] + "*" * (len(number) - head - tail) + number[-tail:]


def parse_identity(id_type: str, number: str, *, today: datetime.date | None = None) -> Identity:
    """Validate an identity number of the given type and read what it encodes.

    Raises ValidationError with one of the codes "type", "length", "format", "region",
    "birth_date" or "check". ``today`` (for tests) defaults to the current date in the
    project's time zone, the one in which a birth date can be "in the future".
    """
    if id_type not in IdType.values:
        raise ValidationError(
            _("Please choose a document type from the list."),
            code="type",
        )
    normalised = normalise_identity_number(number)
    if not normalised:
        raise ValidationError(_("Please enter the identity number."), code="length")
    today = today if today is not None else timezone.localdate()
    if id_type == IdType.RESIDENT_ID:
        return _parse_resident_id(normalised, today)
    if id_type == IdType.HMT_RESIDENCE_PERMIT:
        return _parse_hmt_residence_permit(normalised, today)
    if len(normalised) == 15:
        return _parse_foreign_15(normalised, today)
    return _parse_foreign_18(normalised, today)


# -- GB 11643-1999 structure (resident ID and HMT residence permit) --------------------------


def _check_18_structure(number: str, length_message: StrOrPromise) -> None:
    if len(number) != 18:
        raise ValidationError(length_message, code="length")
    if not (set(number[:17]) <= DIGITS and (number[17] in DIGITS or number[17] == "X")):
        raise ValidationError(
            _(
                "The number is 17 digits followed by a digit or the letter X; "
                "it may not contain other characters."
            ),
            code="format",
        )


def _check_check_digit(number: str) -> None:
    # ISO 7064 MOD 11-2 over the first 17 digits (GB 11643-1999 §8.2).
    if mod_11_2.calc_check_digit(number[:17]) != number[17]:
        raise ValidationError(
            _("The check digit does not match: please check the number for a typo."),
            code="check",
        )


def _birth_date(digits: str, today: datetime.date) -> datetime.date:
    """The birth date encoded as YYYYMMDD, which must be a real, plausible date."""
    shown = f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"
    try:
        born = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValidationError(
            _("The birth date in this number (%(date)s) is not a real date."),
            code="birth_date",
            params={"date": shown},
        ) from None
    _check_birth_date_range(born, today)
    return born


def _check_birth_date_range(born: datetime.date, today: datetime.date) -> None:
    if born > today:
        raise ValidationError(
            _("The birth date in this number (%(date)s) is in the future."),
            code="birth_date",
            params={"date": born.isoformat()},
        )
    if born < EARLIEST_BIRTH_DATE:
        raise ValidationError(
            _("The birth date in this number (%(date)s) is before 1900."),
            code="birth_date",
            params={"date": born.isoformat()},
        )


def _gender_from_sequence(sequence: str) -> str:
    return Gender.MALE.value if int(sequence[-1]) % 2 else Gender.FEMALE.value


def _parse_resident_id(number: str, today: datetime.date) -> Identity:
    if len(number) == 15 and set(number) <= DIGITS:
        raise ValidationError(
            _(
                "This is a first-generation 15-digit number, which is no longer valid: "
                "please enter the 18-digit number on your current identity card."
            ),
            code="length",
        )
    _check_18_structure(number, _("A resident identity card number has 18 characters."))
    # Documents that share the structure but are not resident ID cards: tell the person which
    # type to choose rather than that the region is unknown.
    if number[:2] in {"81", "82", "83"}:
        raise ValidationError(
            _(
                "Numbers beginning with 81, 82 or 83 are residence permits for Hong Kong, "
                "Macao and Taiwan residents: please choose that document type."
            ),
            code="region",
        )
    if number[0] == "9":
        raise ValidationError(
            _(
                "Numbers beginning with 9 are foreign permanent resident ID cards: "
                "please choose that document type."
            ),
            code="region",
        )
    _check_check_digit(number)
    born = _birth_date(number[6:14], today)
    region = _resident_region(number[:6], born)
    return Identity(
        id_type=IdType.RESIDENT_ID.value,
        number=number,
        birth_date=born,
        gender=_gender_from_sequence(number[14:17]),
        region=region,
    )


def _resident_region(code: str, born: datetime.date) -> str:
    return _resident_region_in(code, born.year)


# A member import checks up to a million numbers, from a few thousand region codes: the table
# is searched once per code and year (it took half the time of checking a number).
@lru_cache(maxsize=16_384)
def _resident_region_in(code: str, year: int) -> str:
    """The "province county" text of a GB/T 2260 region code, from python-stdnum's table.

    We read stdnum's table rather than call ``stdnum.cn.ric.get_birth_place``, which refuses a
    code created after the birth year (500103 渝中区 dates from 1997; someone born there in
    1960 and registered later carries it all the same) and raises KeyError, not a stdnum error,
    for an unknown county of a known province. What we do refuse is a code that was abolished
    before the person was born, since nobody born afterwards can have been given it.
    """
    info = {k: v for _part, props in REGION_DATA.info(code) for k, v in props.items()}
    if "province" not in info or "county" not in info:
        raise ValidationError(
            _("The first six digits (%(code)s) are not a known region code."),
            code="region",
            params={"code": code},
        )
    in_use: list[str] = []  # names the code had in the birth year
    later: list[str] = []  # names it was given after the birth year, oldest first
    for entry in info["county"].split(","):
        if not entry.startswith("["):
            in_use.append(entry)
            continue
        period, name = entry[1:].split("]", 1)
        start, end = period.split("-")
        if end and year > int(end):
            continue
        if not start or year >= int(start):
            in_use.append(name)
        else:
            later.append(name)
    if not in_use and not later:
        raise ValidationError(
            _(
                "The region code in this number (%(code)s) was abolished before the birth "
                "date in it; please check the number."
            ),
            code="region",
            params={"code": code},
        )
    # The name of the birth year if the code had one then, else its latest name.
    province, county = info["province"], (in_use[0] if in_use else later[-1])
    return province if county == province else f"{province} {county}"


def _parse_hmt_residence_permit(number: str, today: datetime.date) -> Identity:
    _check_18_structure(
        number,
        _("A residence permit number for Hong Kong, Macao and Taiwan residents has 18 characters."),
    )
    if number[:6] not in HMT_REGIONS:
        raise ValidationError(
            _(
                "A residence permit number for Hong Kong, Macao and Taiwan residents begins "
                "with 810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan). For another "
                "document, please choose its type."
            ),
            code="region",
        )
    _check_check_digit(number)
    born = _birth_date(number[6:14], today)
    return Identity(
        id_type=IdType.HMT_RESIDENCE_PERMIT.value,
        number=number,
        birth_date=born,
        gender=_gender_from_sequence(number[14:17]),
        region=HMT_REGIONS[number[:6]],
    )


# -- Foreign permanent resident ID card ----------------------------------------------------


def _check_accepting_province(code: str) -> None:
    if code not in FOREIGN_ACCEPTING_PROVINCES:
        raise ValidationError(
            _(
                "The province code of the issuing authority in this number (%(code)s) "
                "is not a mainland province code."
            ),
            code="region",
            params={"code": code},
        )


def _parse_foreign_18(number: str, today: datetime.date) -> Identity:
    # Since 2023-12-01: 9, province code (2), numeric nationality code (3), birth date
    # YYYYMMDD, sequence (3, odd for men), MOD 11-2 check character.
    _check_18_structure(
        number,
        _("A foreign permanent resident ID card number has 18 characters (15 on older cards)."),
    )
    if number[0] != "9":
        raise ValidationError(
            _(
                "An 18-character foreign permanent resident ID card number begins with 9. "
                "For another document, please choose its type."
            ),
            code="format",
        )
    _check_check_digit(number)
    _check_accepting_province(number[1:3])
    nationality = number[3:6]
    if nationality == "000":
        raise ValidationError(
            _("Digits 4 to 6 of this number (000) are not a nationality code."),
            code="region",
        )
    born = _birth_date(number[6:14], today)
    return Identity(
        id_type=IdType.FOREIGN_PERMANENT_RESIDENT.value,
        number=number,
        birth_date=born,
        gender=_gender_from_sequence(number[14:17]),
        region=nationality,
    )


def _parse_foreign_15(number: str, today: datetime.date) -> Identity:
    # 2004 and 2017 cards. What is published officially is only the shape: three Latin letters
    # (the ISO 3166-1 alpha-3 nationality) and 12 digits. The split of the digits we use is the
    # one implementations in use agree on: accepting authority (4, of which the first 2 are the
    # province), birth date YYMMDD (6), one sequence digit, one final digit. The final digit is
    # a check digit, but its algorithm is not in the published rules we rely on, so we only
    # require a digit there: refusing a real card over a guessed algorithm would be worse than
    # missing a typo. For the same reason we read no gender from the sequence digit.
    if not (set(number[:3]) <= LETTERS and set(number[3:]) <= DIGITS):
        raise ValidationError(
            _(
                "A 15-character foreign permanent resident ID card number is three letters "
                "(the nationality code) followed by 12 digits."
            ),
            code="format",
        )
    _check_accepting_province(number[3:5])
    born = _two_digit_year_birth_date(number[7:13], today)
    return Identity(
        id_type=IdType.FOREIGN_PERMANENT_RESIDENT.value,
        number=number,
        birth_date=born,
        gender=Gender.UNKNOWN.value,
        region=number[:3],
    )


def _two_digit_year_birth_date(digits: str, today: datetime.date) -> datetime.date:
    """The birth date encoded as YYMMDD: in the 2000s unless that is in the future."""
    yy, month, day = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    try:
        born = datetime.date(2000 + yy, month, day)
        if born > today:
            # Cannot fail in practice: only 000229 is real in 20YY and not in 19YY.
            born = datetime.date(1900 + yy, month, day)
    except ValueError:
        raise ValidationError(
            _("The birth date in this number (%(date)s) is not a real date."),
            code="birth_date",
            params={"date": f"{digits[:2]}-{digits[2:4]}-{digits[4:6]}"},
        ) from None
    _check_birth_date_range(born, today)
    return born


# -- Identity numbers written into free text ------------------------------------------------

# A run of digits (and X) that people may have broken up with spaces or hyphens, as on the card
# (6-8-4) or in fours; NFKC has folded full-width forms first.
_RUN = re.compile(r"[0-9X](?:[\s\-‐‑‒–—]?[0-9X])*")


def _looks_like_identity(window: str, today: datetime.date) -> bool:
    """18 characters of GB 11643 structure with a matching check character and a real birth
    date (so that an order number that happens to pass the check is not taken for one)."""
    if not (set(window[:17]) <= DIGITS and (window[17] in DIGITS or window[17] == "X")):
        return False
    if mod_11_2.calc_check_digit(window[:17]) != window[17]:
        return False
    try:
        born = datetime.date(int(window[6:10]), int(window[10:12]), int(window[12:14]))
    except ValueError:
        return False
    return EARLIEST_BIRTH_DATE <= born <= today


def identity_number_in(text: str, *, today: datetime.date | None = None) -> bool:
    """Whether ``text`` holds an 18-character identity number (a resident identity card, a
    residence permit for Hong Kong, Macao and Taiwan residents or a foreign permanent resident
    ID card: all carry the ISO 7064 MOD 11-2 check character) anywhere inside it, also when
    written in full-width digits, in lower case, broken up with spaces or hyphens or with
    invisible characters between its digits."""
    if not text:
        return False
    # Format characters (zero-width spaces and joiners, direction marks, soft hyphens: Unicode
    # Cf) are invisible: dropped first, so that one put between two digits hides nothing.
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    folded = unicodedata.normalize("NFKC", visible).upper()
    today = today if today is not None else timezone.localdate()
    for match in _RUN.finditer(folded):
        run = "".join(ch for ch in match.group() if ch in DIGITS or ch == "X")
        for start in range(len(run) - 17):
            if _looks_like_identity(run[start : start + 18], today):
                return True
    return False
