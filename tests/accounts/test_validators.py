import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from accounts.validators import (
    USCC_ALPHABET,
    uscc_check_character,
    validate_unified_social_credit_code,
)

# Published codes of real organisations (GB 32100-2015).
REAL_CODES = ["91440300708461136T", "91350100M000100Y43", "91110000802100433B"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_it_accepts_real_unified_social_credit_codes(code):
    validate_unified_social_credit_code(code)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("91440300708461136", "length"),
        ("91440300708461136TX", "length"),
        ("91440300708461136I", "alphabet"),
        ("9144030070846113OT", "alphabet"),
        ("91A40300708461136T", "region"),
        ("91440300708461136U", "check"),
    ],
)
def test_it_refuses_malformed_codes_with_the_reason(code, error):
    with pytest.raises(ValidationError) as caught:
        validate_unified_social_credit_code(code)
    assert caught.value.code == error


prefixes = st.builds(
    lambda a, region, rest: a + region + rest,
    st.text(alphabet=USCC_ALPHABET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)


@given(prefixes)
def test_a_code_with_its_computed_check_character_is_valid(first17):
    validate_unified_social_credit_code(first17 + uscc_check_character(first17))


@given(prefixes, st.integers(min_value=0, max_value=16), st.sampled_from(USCC_ALPHABET))
def test_changing_any_one_character_is_caught(first17, position, replacement):
    code = first17 + uscc_check_character(first17)
    if code[position] == replacement:
        return
    typo = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(ValidationError):
        validate_unified_social_credit_code(typo)
