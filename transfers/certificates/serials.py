"""Certificate serials: the public handle a verifier types or reads aloud.

A serial is 17 random Crockford Base32 symbols (85 bits, so not guessable) and a check symbol,
grouped by four: ``7K2M-9QPD-4R8T-ZXF7-K3``. Only serials whose check symbol is a plain digit
or letter are drawn (not one of ``*~$=U``), which costs 0.2 bits; 84.8 remain. The serial is
stored as printed (grouped, upper case); what a person types is read case-insensitively, with
I and L as 1, O as 0, and hyphens and spaces ignored.

Certificates issued before this scheme have a ``token_urlsafe(18)`` serial (24 characters,
case-sensitive); they are looked up exactly as they are, and keep verifying."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from common import crockford

DATA_SYMBOLS = 17


def serial_new() -> str:
    """A fresh serial, grouped as printed."""
    while True:
        data = crockford.random_symbols(DATA_SYMBOLS)
        check = crockford.check_symbol(crockford.decode(data))
        if check in crockford.ALPHABET:
            return crockford.grouped(data + check)


class Reading(enum.Enum):
    """How a typed serial reads."""

    SERIAL = "serial"  # a well-formed serial in the new scheme (check symbol right)
    TYPO = "typo"  # nearly one: the check symbol is wrong, or one symbol is missing or extra
    OTHER = "other"  # anything else (an older serial, or nothing like one)


def serial_read(typed: str) -> tuple[Reading, str]:
    """How ``typed`` reads, and the serial as stored when it is a well-formed one."""
    symbols = crockford.normalise(str(typed)[:64])
    length = DATA_SYMBOLS + 1
    if len(symbols) == length and crockford.check_valid(symbols):
        return Reading.SERIAL, crockford.grouped(symbols)
    # The last symbol may be any check symbol (U, *, ~, $, = too) when a verifier mistyped it.
    if (
        length - 1 <= len(symbols) <= length + 1
        and crockford.is_symbols(symbols[:-1])
        and symbols[-1] in crockford.CHECK_ALPHABET
    ):
        return Reading.TYPO, ""
    return Reading.OTHER, ""


def serial_candidates(typed: str) -> list[str]:
    """The stored serials ``typed`` may mean: itself exactly (older serials are case-sensitive),
    and its canonical form when it reads as a new one."""
    exact = str(typed)[:64]
    reading, canonical = serial_read(exact)
    if reading is Reading.SERIAL and canonical != exact:
        return [exact, canonical]
    return [exact]


def serial_mistyped(typed: str) -> bool:
    """Whether ``typed`` is nearly a serial but has a typo (so no certificate can have it)."""
    return serial_read(typed)[0] is Reading.TYPO


# Groups as printed: four of four symbols, then the last two (the last one the check symbol).
GROUP_SIZES = (4, 4, 4, 4, 2)
_SEPARATORS = re.compile(r"[-\s\u00a0\u3000]+")
# Check symbols serial_new never draws: a serial read back ending in one was mistyped there.
_NEVER_LAST = frozenset(crockford.CHECK_ALPHABET) - frozenset(crockford.ALPHABET)


@dataclass(frozen=True)
class Typo:
    """Where a mistyped serial looks wrong, as far as its shape can tell. One wrong symbol or
    two swapped ones leave every group its length, and the check symbol says only that the
    serial is wrong, not where: ``group`` is then None."""

    kind: str  # "missing", "extra", "last" (a check symbol never printed) or "changed"
    group: int | None = None  # 1-based, as a person counts the printed groups
    typed_group: str = ""  # that group as typed


def serial_typo(typed: str) -> Typo | None:
    """Where ``typed``, which reads as a typo (:func:`serial_mistyped`), looks wrong."""
    if not serial_mistyped(typed):
        return None
    symbols = crockford.normalise(str(typed)[:64])
    length = sum(GROUP_SIZES)
    groups = [g for g in _SEPARATORS.split(str(typed)[:64].strip()) if g]
    # The groups say where only when the serial was typed in its printed groups.
    grouped = len(groups) == len(GROUP_SIZES)
    if len(symbols) != length:
        kind = "missing" if len(symbols) < length else "extra"
        if grouped:
            for number, (group, size) in enumerate(zip(groups, GROUP_SIZES, strict=True), 1):
                if len(crockford.normalise(group)) != size:
                    return Typo(kind, number, group)
        return Typo(kind)
    if symbols[-1] in _NEVER_LAST:
        return Typo("last", len(GROUP_SIZES), groups[-1] if grouped else symbols[-2:])
    return Typo("changed")
