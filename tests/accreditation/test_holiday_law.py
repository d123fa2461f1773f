"""The statutory holidays computed from the law (accreditation/holiday_law.py), against facts
written here by hand: the lunar new year, Qingming, Dragon Boat and Mid-Autumn dates as printed
in any Chinese almanac, and the State Council's published arrangements of 2025 and 2026 (held by
the chinesecalendar package, a source independent of lunar_python)."""

from __future__ import annotations

import datetime

import chinese_calendar
import pytest
from chinese_calendar import constants as package_data

from accreditation.holiday_law import (
    StatutoryHoliday,
    provisional_arrangement,
    provisional_days_off,
    statutory_holidays,
)

D = datetime.date


def days_of(year: int, name: str) -> list[datetime.date]:
    return [h.date for h in statutory_holidays(year) if h.name == name]


def off(year: int) -> dict[datetime.date, tuple[str, bool]]:
    return {h.date: (h.name, h.compensation) for h in provisional_days_off(year)}


# Lunar new year's day (正月初一) from the almanac; the Spring Festival holiday is its eve to
# the 3rd day of the 1st month.
@pytest.mark.parametrize(
    ("year", "lunar_new_year"),
    [
        (2025, D(2025, 1, 29)),
        (2026, D(2026, 2, 17)),
        (2027, D(2027, 2, 6)),
        (2028, D(2028, 1, 26)),
        (2029, D(2029, 2, 13)),
        (2030, D(2030, 2, 3)),
    ],
)
def test_spring_festival_is_the_eve_to_the_third_day(year: int, lunar_new_year: datetime.date):
    one = datetime.timedelta(days=1)
    assert days_of(year, "春节") == [lunar_new_year - one + i * one for i in range(4)]


@pytest.mark.parametrize(
    ("year", "qingming", "dragon_boat", "mid_autumn"),
    [
        (2025, D(2025, 4, 4), D(2025, 5, 31), D(2025, 10, 6)),
        (2026, D(2026, 4, 5), D(2026, 6, 19), D(2026, 9, 25)),
        (2027, D(2027, 4, 5), D(2027, 6, 9), D(2027, 9, 15)),
        (2028, D(2028, 4, 4), D(2028, 5, 28), D(2028, 10, 3)),
    ],
)
def test_one_day_festivals_fall_on_the_almanac_dates(
    year: int, qingming: datetime.date, dragon_boat: datetime.date, mid_autumn: datetime.date
):
    assert days_of(year, "清明节") == [qingming]
    assert days_of(year, "端午节") == [dragon_boat]
    assert days_of(year, "中秋节") == [mid_autumn]
    assert days_of(year, "元旦") == [D(year, 1, 1)]
    assert days_of(year, "劳动节") == [D(year, 5, 1), D(year, 5, 2)]
    assert days_of(year, "国庆节") == [D(year, 10, 1), D(year, 10, 2), D(year, 10, 3)]
    assert len(statutory_holidays(year)) == 13
    assert not any(h.compensation for h in statutory_holidays(year))


def test_qingming_agrees_with_the_solar_terms_of_the_calendar_package():
    # chinesecalendar computes the 24 solar terms on its own: a second source for 清明. (The two
    # differ in 2100 only, 5 April here and 4 April there, near the moment of the term.)
    for year in range(2025, 2100):
        terms = chinese_calendar.get_solar_terms(D(year, 4, 1), D(year, 4, 10))
        expected = [day for day, term in terms if term == "清明"]
        assert days_of(year, "清明节") == expected, year


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_published_arrangements_give_every_day_off_the_law_gives(year: int):
    # The State Council's arrangement keeps the law and adds bridging days: every holiday of the
    # law (weekend or not) and every make-up weekday the law computes is a day off in it.
    published_off = {day for day in package_data.holidays if day.year == year}
    law_off = {h.date for h in provisional_days_off(year)}
    assert law_off <= published_off
    weekday_holidays = {h.date for h in statutory_holidays(year) if h.date.weekday() < 5}
    assert weekday_holidays <= published_off
    # ... and the arrangement's make-up working days are never one of them.
    assert not law_off & set(package_data.workdays)


def test_2027_spring_festival_on_a_weekend_is_made_up_on_tuesday_and_wednesday():
    # Eve Fri 5 Feb, new year Sat 6, Sun 7, Mon 8: Sat and Sun made up on Tue 9 and Wed 10.
    assert {day: v for day, v in off(2027).items() if day.month == 2} == {
        D(2027, 2, 5): ("春节", False),
        D(2027, 2, 8): ("春节", False),
        D(2027, 2, 9): ("春节", True),
        D(2027, 2, 10): ("春节", True),
    }


def test_2027_national_day_on_a_weekend_and_new_year_on_friday():
    days = off(2027)
    # 1 Oct Fri, 2 Sat, 3 Sun: made up Mon 4 and Tue 5 Oct. Mid-Autumn is Wed 15 Sep.
    assert {day: v for day, v in days.items() if day.month in (9, 10)} == {
        D(2027, 9, 15): ("中秋节", False),
        D(2027, 10, 1): ("国庆节", False),
        D(2027, 10, 4): ("国庆节", True),
        D(2027, 10, 5): ("国庆节", True),
    }
    assert days[D(2027, 1, 1)] == ("元旦", False)
    # Labour Day Sat 1 and Sun 2 May: made up Mon 3 and Tue 4 May.
    assert days[D(2027, 5, 3)] == ("劳动节", True)
    assert days[D(2027, 5, 4)] == ("劳动节", True)


def test_2028_new_year_on_saturday_and_mid_autumn_on_national_day():
    days = off(2028)
    # Sat 1 Jan 2028 is made up on Mon 3 Jan.
    assert D(2028, 1, 1) not in days
    assert days[D(2028, 1, 3)] == ("元旦", True)
    # 1 Oct Sun, 2 Mon, 3 Tue, and Mid-Autumn also Tue 3 Oct: one day off for two holidays;
    # Sunday and the doubled holiday are made up on Wed 4 and Thu 5 Oct.
    assert {day: v for day, v in days.items() if day.month == 10} == {
        D(2028, 10, 2): ("国庆节", False),
        D(2028, 10, 3): ("国庆节", False),
        D(2028, 10, 4): ("国庆节", True),
        D(2028, 10, 5): ("中秋节", True),
    }


@pytest.mark.parametrize("year", range(2025, 2051))
def test_the_law_gives_thirteen_weekdays_off_a_year(year: int):
    days = provisional_days_off(year)
    assert len(days) == 13
    assert all(h.date.weekday() < 5 and h.date.year == year for h in days)
    assert [h.date for h in days] == sorted({h.date for h in days})
    assert provisional_arrangement(year) == [(h.date, False, h.name) for h in days]


def test_years_outside_the_law_are_refused():
    with pytest.raises(ValueError, match="2024"):
        statutory_holidays(2024)
    with pytest.raises(ValueError, match="2101"):
        provisional_days_off(2101)
    assert StatutoryHoliday(D(2027, 1, 1), "元旦", False).compensation is False
