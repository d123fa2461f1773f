"""Crockford Base32 as its specification writes it: the symbols, the confusables read back, and
the mod-37 check symbol."""

import pytest

from common import crockford


def test_numbers_round_trip_and_typed_confusables_read_as_the_digits():
    assert crockford.encode(1234, length=3) == "16J"
    assert crockford.decode("16j") == 1234
    assert crockford.normalise("ol-Io 7k") == "0110" + "7K"
    assert crockford.decode("O-l i") == crockford.decode("011")
    with pytest.raises(ValueError, match="not a Crockford Base32 symbol"):
        crockford.decode("1U")  # U is no data symbol


def test_the_check_symbol_is_the_number_modulo_37_with_the_five_extra_symbols():
    assert crockford.check_symbol(1234) == "D"  # 1234 = 33 * 37 + 13
    assert crockford.check_symbol(36) == "U"
    assert [crockford.check_symbol(n) for n in range(32, 37)] == list("*~$=U")
    assert crockford.check_valid("16J-D")
    assert crockford.check_valid("16jd")
    assert not crockford.check_valid("16KD")  # one symbol wrong
    assert not crockford.check_valid("1J6D")  # two swapped
