import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.iso7064 import mod_11_2

from accounts.identity.numbers import (
    FOREIGN_ACCEPTING_PROVINCES,
    Gender,
    Identity,
    IdType,
    mask_identity_number,
    parse_identity,
)


@pytest.fixture(autouse=True)
def _english(english):
    """Messages are asserted in English; the Chinese catalogue is checked separately."""


TODAY = datetime.date(2025, 6, 15)

RESIDENT = IdType.RESIDENT_ID
HMT = IdType.HMT_RESIDENCE_PERMIT
FOREIGN = IdType.FOREIGN_PERMANENT_RESIDENT


def with_check(first17: str) -> str:
    return first17 + mod_11_2.calc_check_digit(first17)


def wrong_check(first17: str) -> str:
    right = mod_11_2.calc_check_digit(first17)
    return first17 + ("0" if right != "0" else "1")


def parse(id_type: str, number: str) -> Identity:
    return parse_identity(id_type, number, today=TODAY)


def error_code(id_type: str, number: str) -> str | None:
    with pytest.raises(ValidationError) as caught:
        parse(id_type, number)
    return caught.value.code


def message(id_type: str, number: str) -> str:
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        parse(id_type, number)
    return caught.value.messages[0]


# -- Resident identity card ------------------------------------------------------------------

# The example of GB 11643-1999: Beijing Chaoyang, born 1949-12-31, sequence 002 (even, so a
# woman), check character X.
EXAMPLE = "11010519491231002X"


def test_it_reads_the_standards_example_resident_id():
    assert parse(RESIDENT, EXAMPLE) == Identity(
        id_type="resident_id",
        number=EXAMPLE,
        birth_date=datetime.date(1949, 12, 31),
        gender=Gender.FEMALE,
        region="北京市 朝阳区",
    )


@pytest.mark.parametrize(
    "typed",
    [
        "11010519491231002x",
        " 110105 19491231 002X ",
        "110105-19491231-002X",
        "１１０１０５１９４９１２３１００２ｘ",
        "110105\t19491231\n002X",
    ],
)
def test_it_normalises_spaces_hyphens_case_and_full_width_characters(typed):
    assert parse(RESIDENT, typed).number == EXAMPLE


def test_the_sequence_digit_gives_the_gender():
    man = with_check("11010519491231001")
    assert parse(RESIDENT, man).gender == Gender.MALE
    assert parse(RESIDENT, EXAMPLE).gender == Gender.FEMALE


def test_it_accepts_a_region_code_created_after_the_birth_year():
    # 渝中区 has had 500103 since 1997; people born there earlier carry it all the same.
    identity = parse(RESIDENT, with_check("50010319600101001"))
    assert identity.region == "重庆市 渝中区"
    assert identity.birth_date == datetime.date(1960, 1, 1)


@pytest.mark.parametrize(
    ("born", "region"),
    [("1985", "广东省 南头区办事处"), ("1995", "广东省 南山区"), ("1950", "广东省 南山区")],
)
def test_it_names_the_region_as_it_was_called_in_the_birth_year(born, region):
    assert parse(RESIDENT, with_check(f"440305{born}0101001")).region == region


def test_a_province_level_code_is_named_once():
    assert parse(RESIDENT, with_check("11000019800101001")).region == "北京市"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "length"),
        ("  - ", "length"),
        ("110105491231002", "length"),  # first generation, 15 digits
        ("11010519491231002", "length"),
        ("11010519491231002X1", "length"),
        ("11010519491231002Y", "format"),
        ("1101051949123100X2", "format"),
        ("A1010519491231002X", "format"),
        (with_check("81000019900101001"), "region"),
        (with_check("82000019900101001"), "region"),
        (with_check("83000019900101001"), "region"),
        (with_check("91184019900101001"), "region"),  # a foreign permanent resident card
        (with_check("99000019900101001"), "region"),  # no such province
        (with_check("11019919900101001"), "region"),  # Beijing, but no such county
        (with_check("11010320150101001"), "region"),  # 崇文区 was abolished in 2010
        (wrong_check(EXAMPLE[:17]), "check"),
        (with_check("11010519491331002"), "birth_date"),
        (with_check("11010519490229002"), "birth_date"),
        (with_check("11010520250616002"), "birth_date"),  # the day after TODAY
        (with_check("11010518991231002"), "birth_date"),
    ],
)
def test_it_refuses_invalid_resident_ids_with_the_reason(number, code):
    assert error_code(RESIDENT, number) == code


def test_it_tells_a_first_generation_holder_to_use_the_18_digit_number():
    assert "18-digit" in message(RESIDENT, "110105491231002")


def test_it_tells_a_hong_kong_resident_to_choose_the_residence_permit():
    text = message(RESIDENT, with_check("81000019900101001"))
    assert "residence permits for Hong Kong, Macao and Taiwan residents" in text
    assert "choose that document type" in text


def test_it_explains_a_check_digit_mismatch_as_a_probable_typo():
    assert message(RESIDENT, "110105194912310021") == (
        "The check digit does not match: please check the number for a typo."
    )


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (with_check("11010519491331002"), "(1949-13-31) is not a real date"),
        (with_check("11010520250616002"), "(2025-06-16) is in the future"),
        (with_check("11010518991231002"), "(1899-12-31) is before 1900"),
    ],
)
def test_it_shows_the_birth_date_it_refuses(number, expected):
    assert expected in message(RESIDENT, number)


def test_it_accepts_a_birth_date_of_today_and_of_1900_01_01():
    assert parse(RESIDENT, with_check("11010520250615001")).birth_date == TODAY
    assert parse(RESIDENT, with_check("11010519000101001")).birth_date == datetime.date(1900, 1, 1)


def test_without_today_it_uses_the_local_date():
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    number = with_check(f"110105{tomorrow:%Y%m%d}001")
    with pytest.raises(ValidationError) as caught:
        parse_identity(RESIDENT, number)
    assert caught.value.code == "birth_date"
    today = with_check(f"110105{timezone.localdate():%Y%m%d}001")
    assert parse_identity(RESIDENT, today).birth_date == timezone.localdate()


# -- Residence permit for Hong Kong, Macao and Taiwan residents --------------------------------


@pytest.mark.parametrize(
    ("prefix", "region"), [("810000", "香港"), ("820000", "澳门"), ("830000", "台湾")]
)
def test_it_reads_residence_permits_of_each_region(prefix, region):
    identity = parse(HMT, with_check(f"{prefix}19850607003"))
    assert identity == Identity(
        id_type="hmt_residence_permit",
        number=with_check(f"{prefix}19850607003"),
        birth_date=datetime.date(1985, 6, 7),
        gender=Gender.MALE,
        region=region,
    )


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "length"),
        ("81000019850607003", "length"),
        ("81000019850607003XX", "length"),
        ("81000019850607003Z", "format"),
        (EXAMPLE, "region"),  # a mainland resident ID
        (with_check("81000119850607003"), "region"),
        (with_check("84000019850607003"), "region"),
        (wrong_check("81000019850607003"), "check"),
        (with_check("81000019850230003"), "birth_date"),
        (with_check("81000020991231003"), "birth_date"),
        (with_check("81000018500101003"), "birth_date"),
    ],
)
def test_it_refuses_invalid_residence_permits_with_the_reason(number, code):
    assert error_code(HMT, number) == code


def test_it_points_a_mainland_number_entered_as_a_permit_to_the_other_type():
    assert "please choose its type" in message(HMT, EXAMPLE)


# -- Foreign permanent resident ID card --------------------------------------------------------

# 18-character form: 9, Shanghai (31), USA (840), born 1980-02-29, sequence 012 (a woman).
FOREIGN_18 = with_check("93184019800229012")


def test_it_reads_an_18_character_foreign_permanent_resident_card():
    assert parse(FOREIGN, FOREIGN_18) == Identity(
        id_type="foreign_permanent_resident",
        number=FOREIGN_18,
        birth_date=datetime.date(1980, 2, 29),
        gender=Gender.FEMALE,
        region="840",
    )


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "length"),
        ("9318401980022901", "length"),
        (FOREIGN_18 + "1", "length"),
        ("93184019800229012Q", "format"),
        (EXAMPLE, "format"),  # a resident ID does not begin with 9
        (with_check("97184019800229012"), "region"),  # 71 accepts no applications
        (with_check("91684019800229012"), "region"),  # 16 is not a province
        (with_check("93100019800229012"), "region"),  # nationality 000
        (with_check("93184019810229012"), "birth_date"),
        (with_check("93184020300101012"), "birth_date"),
        (with_check("93184018991231012"), "birth_date"),
        (wrong_check(FOREIGN_18[:17]), "check"),
    ],
)
def test_it_refuses_invalid_18_character_foreign_cards_with_the_reason(number, code):
    assert error_code(FOREIGN, number) == code


# 15-character form: USA, accepting authority 3100 (Shanghai), born 80-02-29, then a sequence
# digit and a final digit.
FOREIGN_15 = "USA310080022917"


def test_it_reads_a_15_character_foreign_permanent_resident_card():
    assert parse(FOREIGN, "usa-3100-800229-1-7") == Identity(
        id_type="foreign_permanent_resident",
        number=FOREIGN_15,
        birth_date=datetime.date(1980, 2, 29),
        gender=Gender.UNKNOWN,
        region="USA",
    )


@pytest.mark.parametrize(
    ("yymmdd", "born"),
    [
        ("250615", datetime.date(2025, 6, 15)),  # TODAY
        ("250616", datetime.date(1925, 6, 16)),  # the day after TODAY in 2025
        ("000229", datetime.date(2000, 2, 29)),
        ("991231", datetime.date(1999, 12, 31)),
        ("050101", datetime.date(2005, 1, 1)),
    ],
)
def test_a_two_digit_birth_year_is_in_the_2000s_unless_that_is_in_the_future(yymmdd, born):
    assert parse(FOREIGN, f"GBR1100{yymmdd}15").birth_date == born


@pytest.mark.parametrize("last", "0123456789")
def test_it_does_not_check_the_last_digit_of_a_15_character_card(last):
    # Its algorithm is not in the published rules we rely on.
    assert parse(FOREIGN, f"CAN44038501011{last}").region == "CAN"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("USA31008002291", "length"),
        ("USA3100800229170", "length"),
        ("US1310080022917", "format"),
        ("U5A310080022917", "format"),
        ("USA31008002291X", "format"),
        ("ÜSA310080022917", "format"),
        ("123310080022917", "format"),
        ("USA710080022917", "region"),  # 71 accepts no applications
        ("USA000080022917", "region"),
        ("USA310081022917", "birth_date"),  # neither 1981-02-29 nor 2081-02-29
        ("USA310080130117", "birth_date"),
        ("USA310080043117", "birth_date"),
    ],
)
def test_it_refuses_invalid_15_character_foreign_cards_with_the_reason(number, code):
    assert error_code(FOREIGN, number) == code


# -- Document type -------------------------------------------------------------------------


@pytest.mark.parametrize("id_type", ["", "passport", "RESIDENT_ID", "resident id"])
def test_it_refuses_an_unknown_document_type(id_type):
    assert error_code(id_type, EXAMPLE) == "type"


def test_an_empty_number_is_asked_for():
    with translation.override("en"):
        assert message(RESIDENT, "") == "Please enter the identity number."


# -- Masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        (EXAMPLE, "110***********002X"),
        (FOREIGN_15, "USA********2917"),
        ("12345678", "123*5678"),
        ("1234567", "1****67"),
        ("1234", "1*34"),
        ("123", "***"),
        ("", ""),
    ],
)
def test_it_masks_all_but_the_ends_of_a_number(number, masked):
    assert mask_identity_number(number) == masked
    assert len(mask_identity_number(number)) == len(number)


# -- Properties ------------------------------------------------------------------------------

REAL_REGIONS = ["110105", "500103", "310101", "440305"]

birth_dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)

# The first 6 characters of each 18-character document.
PREFIXES = {
    RESIDENT: st.sampled_from(REAL_REGIONS),
    HMT: st.sampled_from(["810000", "820000", "830000"]),
    FOREIGN: st.builds(
        lambda province, nationality: f"9{province}{nationality:03d}",
        st.sampled_from(sorted(FOREIGN_ACCEPTING_PROVINCES)),
        st.integers(min_value=1, max_value=999),
    ),
}


def number_of(prefix: str, born: datetime.date, sequence: int) -> str:
    return with_check(f"{prefix}{born:%Y%m%d}{sequence:03d}")


@pytest.mark.parametrize("id_type", list(PREFIXES))
@given(data=st.data(), born=birth_dates, sequence=sequences)
def test_any_number_with_its_computed_check_character_is_read_back(id_type, data, born, sequence):
    number = number_of(data.draw(PREFIXES[id_type]), born, sequence)
    identity = parse(id_type, number)
    assert identity.number == number
    assert identity.birth_date == born
    assert identity.gender == (Gender.MALE if sequence % 2 else Gender.FEMALE)
    assert identity.region


@pytest.mark.parametrize("id_type", list(PREFIXES))
@given(
    data=st.data(),
    born=birth_dates,
    sequence=sequences,
    position=st.integers(min_value=0, max_value=17),
    replacement=st.sampled_from("0123456789"),
)
def test_changing_any_one_character_to_another_digit_is_refused(
    id_type, data, born, sequence, position, replacement
):
    number = number_of(data.draw(PREFIXES[id_type]), born, sequence)
    assume(number[position] != replacement)
    typo = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(ValidationError):
        parse(id_type, typo)


@given(
    letters=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    province=st.sampled_from(sorted(FOREIGN_ACCEPTING_PROVINCES)),
    authority=st.integers(min_value=0, max_value=99),
    born=st.dates(min_value=datetime.date(TODAY.year - 99, 1, 1), max_value=TODAY),
    tail=st.integers(min_value=0, max_value=99),
)
def test_a_15_character_card_of_anyone_under_100_is_read_back(
    letters, province, authority, born, tail
):
    identity = parse(FOREIGN, f"{letters}{province}{authority:02d}{born:%y%m%d}{tail:02d}")
    assert identity.birth_date == born
    assert identity.region == letters
    assert identity.gender == Gender.UNKNOWN


ERROR_CODES = {"type", "length", "format", "region", "birth_date", "check"}


def outcome(id_type: str, text: str) -> str | None:
    """The code of the ValidationError parsing raises, or None if it parses."""
    try:
        parse(id_type, text)
    except ValidationError as error:
        return error.code
    return None


@pytest.mark.parametrize("id_type", [*IdType.values, "other"])
@given(text=st.text())
def test_any_text_is_either_read_or_refused_with_a_validation_error(id_type, text):
    assert outcome(id_type, text) in {None, *ERROR_CODES}


@given(text=st.text(alphabet="0123456789Xx -", max_size=20))
def test_digit_like_text_is_either_read_or_refused_with_a_validation_error(text):
    for id_type in IdType.values:
        assert outcome(id_type, text) in {None, *ERROR_CODES - {"type"}}


@given(text=st.text())
def test_masking_keeps_the_length_and_hides_the_middle(text):
    masked = mask_identity_number(text)
    assert len(masked) == len(text)
    if len(text) >= 8:
        assert masked[3:-4] == "*" * (len(text) - 7)
