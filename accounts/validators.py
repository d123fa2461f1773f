"""Validators for the identifiers that accounts hang on."""

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from accounts.identity.numbers import identity_number_in

# GB 32100-2015: the unified social credit code of an organisation is 18 characters from this
# alphabet (digits and capitals without I, O, S, V, Z); the last is a check character over the
# first 17, weighted by powers of 3 modulo 31.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]


def uscc_check_character(first17: str) -> str:
    """The check character of a unified social credit code, given its first 17 characters."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_unified_social_credit_code(value: str) -> None:
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise ValidationError(_("A unified social credit code has 18 characters."), code="length")
    if any(ch not in USCC_ALPHABET for ch in code):
        raise ValidationError(
            _(
                "A unified social credit code uses only digits and capital letters "
                "except I, O, S, V and Z."
            ),
            code="alphabet",
        )
    if not code[2:8].isdigit():
        raise ValidationError(
            _("Characters 3 to 8 of a unified social credit code are the region code (digits)."),
            code="region",
        )
    if uscc_check_character(code[:17]) != code[17]:
        raise ValidationError(
            _(
                "The check character of this unified social credit code does not match; "
                "please check for a typo."
            ),
            code="check",
        )


# Learning account numbers: a two-letter prefix (XF personal, JT collective), nine random digits
# and a Damm check digit, which catches every single-digit typo and every swap of two adjacent
# digits. The letters keep an account number from ever looking like an 11-digit phone number.
ACCOUNT_PREFIXES = ("XF", "JT")


def account_number_is_valid(value: str) -> bool:
    from stdnum import damm

    number = (value or "").strip().upper().replace(" ", "")
    return (
        len(number) == 12
        and number[:2] in ACCOUNT_PREFIXES
        and number[2:].isdigit()
        and damm.is_valid(number[2:])
    )


# A login identifier and a contact: mainland mobile numbers, or international ones with +.
PHONE_VALIDATOR = RegexValidator(
    r"^(1[3-9]\d{9}|\+\d{6,15})$",
    _("Enter a mainland mobile number (11 digits) or an international number starting with +."),
)


def normalise_phone(text: str) -> str:
    """Digits and a leading plus only: people write 139-1234-5678 or 139 1234 5678. (A phone
    number stored in a spreadsheet as a number, 13912345678 or 13912345678.0, is still the
    right number, unlike an 18-digit identity number; the member import has made it a
    string.)"""
    return "".join(ch for ch in text if ch.isdigit() or ch == "+")


IDENTITY_IN_TEXT = _(
    "Do not write an identity number here: it would be kept in clear text. "
    "Your identity document is already on your account."
)


def validate_no_identity_number(value: str) -> None:
    """Free text (a statement, a description, a reason) is stored as written and shown to the
    staff who read it: an identity number in it would be kept in clear, outside the encrypted
    column. Used by every form and serializer field a learner writes free text into."""
    if isinstance(value, str) and identity_number_in(value):
        raise ValidationError(IDENTITY_IN_TEXT, code="identity_number")


# The whitespace a text area (a reason, a statement) may hold; one-line text holds none.
TEXT_WHITESPACE = frozenset("\n\r\t")
CONTROL_CHARACTERS_LINE = _(
    "Control characters (line breaks, tabs, invisible or direction marks) are not allowed; "
    "type the value on one line."
)
CONTROL_CHARACTERS_TEXT = _("Invisible control characters are not allowed.")


def control_characters_in(text: str, *, allowed: frozenset[str] = frozenset()) -> bool:
    """Whether ``text`` holds a control or format character (Unicode Cc and Cf: NUL, bell,
    escape, line breaks, right-to-left overrides, zero-width spaces...) other than ``allowed``.
    Such characters hide or reorder what a reader sees and what a certificate prints."""
    return any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in allowed for ch in text)


def free_text_problem(text: str, *, multiline: bool) -> str | None:
    """What is wrong with free text someone typed (a reason, a statement, a name, a source),
    as the message for its field, or None: an identity number written into it (it would be
    kept in clear), or a control or format character (a text area, ``multiline``, may hold
    line breaks and tabs). The one check of every service that stores such text."""
    if not isinstance(text, str) or not text:
        return None
    if identity_number_in(text):
        return str(IDENTITY_IN_TEXT)
    if multiline:
        if control_characters_in(text, allowed=TEXT_WHITESPACE):
            return str(CONTROL_CHARACTERS_TEXT)
    elif control_characters_in(text):
        return str(CONTROL_CHARACTERS_LINE)
    return None
