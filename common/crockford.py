"""Crockford Base32 (https://www.crockford.com/base32.html): numbers written for people to read
aloud and type back. 32 symbols, digits and letters without I, L, O and U; on reading, letters
are case-insensitive, I and L read as 1, O as 0, and hyphens and spaces are ignored. The
optional check symbol is the number modulo 37, written with five extra symbols ``*~$=U`` for
32-36, so one wrong or two swapped symbols are caught."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*~$=U"

_VALUE = {symbol: value for value, symbol in enumerate(CHECK_ALPHABET)}
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})
_IGNORED = str.maketrans("", "", "- \t\u00a0\u3000")


def normalise(text: str) -> str:
    """What ``text`` says in canonical symbols: upper case, I and L as 1, O as 0, hyphens and
    spaces (also no-break and ideographic ones) dropped. Other characters are left in, for
    :func:`is_symbols` to refuse."""
    return text.upper().translate(_IGNORED).translate(_CONFUSABLE)


def is_symbols(text: str) -> bool:
    """Whether ``text`` (normalised) is made of data symbols only."""
    return all(symbol in ALPHABET for symbol in text)


def encode(number: int, *, length: int) -> str:
    """``number`` in ``length`` symbols, most significant first (padded with 0)."""
    if number < 0 or number >= 32**length:
        raise ValueError(f"{number} does not fit in {length} symbols")
    symbols = []
    for _ in range(length):
        number, value = divmod(number, 32)
        symbols.append(ALPHABET[value])
    return "".join(reversed(symbols))


def decode(text: str) -> int:
    """The number ``text`` writes (normalised first). ValueError for any other symbol."""
    number = 0
    for symbol in normalise(text):
        if symbol not in ALPHABET:
            raise ValueError(f"{symbol!r} is not a Crockford Base32 symbol")
        number = number * 32 + _VALUE[symbol]
    return number


def check_symbol(number: int) -> str:
    """The check symbol of ``number``: its value modulo 37."""
    return CHECK_ALPHABET[number % 37]


def check_valid(text: str) -> bool:
    """Whether ``text`` (normalised first) is data symbols followed by their right check
    symbol."""
    symbols = normalise(text)
    if len(symbols) < 2 or not is_symbols(symbols[:-1]) or symbols[-1] not in _VALUE:
        return False
    return check_symbol(decode(symbols[:-1])) == symbols[-1]


def random_symbols(length: int) -> str:
    """``length`` symbols from the operating system's randomness (5 bits each)."""
    return encode(secrets.randbits(5 * length), length=length)


def grouped(symbols: str, *, size: int = 4, separator: str = "-") -> str:
    """``symbols`` in groups of ``size`` from the left, e.g. ``7K2M-9QPD-4R``."""
    return separator.join(symbols[i : i + size] for i in range(0, len(symbols), size))
