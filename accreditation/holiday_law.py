"""The statutory holidays of a year, computed from the law alone (no database).

The State Council publishes each year's arrangement (which weekdays are off and which weekend
days are made working days) only late in the year before, and the chinesecalendar package holds
none after it. Until a year is published, the working-day clock counts it from what the law
itself fixes: 全国年节及纪念日放假办法 as amended in force from 1 January 2025.

- 元旦 New Year's Day: 1 January (1 day);
- 春节 Spring Festival: the eve (除夕, the last day of the 12th lunar month) to the 3rd day of the
  1st lunar month (4 days);
- 清明节 Qingming: the day of the solar term 清明 (1 day);
- 劳动节 Labour Day: 1 and 2 May (2 days);
- 端午节 Dragon Boat Festival: the 5th day of the 5th lunar month (1 day);
- 中秋节 Mid-Autumn Festival: the 15th day of the 8th lunar month (1 day);
- 国庆节 National Day: 1 to 3 October (3 days).

Article 4: a holiday that falls on a Saturday or Sunday is made up (补休) on a working day. Here:
the first weekdays after that festival's last day that are neither a holiday nor already taken
by an earlier make-up day. A day that is two holidays at once (Mid-Autumn on a National Day, as
on 3 October 2028) is one day off, and the second holiday is made up the same way, as the State
Council did when they met in 2009 and 2020.

Lunar dates and solar terms come from lunar_python (6tail's lunar-python).

What the law does not fix, and only the State Council's arrangement gives, is the bridging of a
holiday to a weekend: extra weekdays off paid back by weekend days made working days (调休).
A due date counted on these days is therefore *provisional*.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from lunar_python import Lunar, Solar

ONE_DAY = datetime.timedelta(days=1)

NEW_YEAR = "元旦"
SPRING_FESTIVAL = "春节"
QINGMING = "清明节"
LABOUR_DAY = "劳动节"
DRAGON_BOAT = "端午节"
MID_AUTUMN = "中秋节"
NATIONAL_DAY = "国庆节"

# The law's version this module follows: Spring Festival from the eve and Labour Day two days
# hold from 2025 on; earlier years had other rules (their arrangements are all published).
FIRST_YEAR = 2025
# lunar_python's tables reach far; past this the portal has no business counting.
LAST_YEAR = 2100


@dataclass(frozen=True)
class StatutoryHoliday:
    date: datetime.date
    # The festival's Chinese name, e.g. "春节".
    name: str
    # False: the holiday itself (it may fall on a weekend day); True: a weekday off that makes up
    # for a holiday that fell on a Saturday or Sunday or on another holiday (补休).
    compensation: bool


def _check(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"the holiday law is computed for {FIRST_YEAR} to {LAST_YEAR}, not {year}")


def _solar(lunar: Lunar) -> datetime.date:
    solar = lunar.getSolar()
    return datetime.date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> datetime.date:
    # The solar term 清明 falls on 4, 5 or 6 April (3 to 7 allowed for safety).
    for day in range(3, 8):
        if Solar.fromYmd(year, 4, day).getLunar().getJieQi() == "清明":
            return datetime.date(year, 4, day)
    raise ValueError(f"no solar term 清明 found in April {year}")  # pragma: no cover


def _festivals(year: int) -> list[tuple[str, list[datetime.date]]]:
    """Each festival of ``year`` with its days, in the order of their first day."""
    new_year_day = _solar(Lunar.fromYmd(year, 1, 1))
    eve = new_year_day - ONE_DAY
    festivals = [
        (NEW_YEAR, [datetime.date(year, 1, 1)]),
        (SPRING_FESTIVAL, [eve + i * ONE_DAY for i in range(4)]),
        (QINGMING, [_qingming(year)]),
        (LABOUR_DAY, [datetime.date(year, 5, 1), datetime.date(year, 5, 2)]),
        (DRAGON_BOAT, [_solar(Lunar.fromYmd(year, 5, 5))]),
        (MID_AUTUMN, [_solar(Lunar.fromYmd(year, 8, 15))]),
        (NATIONAL_DAY, [datetime.date(year, 10, day) for day in (1, 2, 3)]),
    ]
    for _name, days in festivals:
        # The eve and the 3rd lunar day are always inside the Gregorian year (late January to
        # late February); a festival outside it would break the year's count.
        assert all(day.year == year for day in days)  # noqa: S101
    return sorted(festivals, key=lambda festival: festival[1][0])


def statutory_holidays(year: int) -> list[StatutoryHoliday]:
    """The law's 13 holidays of ``year``, weekends included (``compensation`` False), sorted by
    date. Two holidays on one day (Mid-Autumn on a National Day) are two entries."""
    _check(year)
    return sorted(
        (
            StatutoryHoliday(date=day, name=name, compensation=False)
            for name, days in _festivals(year)
            for day in days
        ),
        key=lambda holiday: holiday.date,
    )


def provisional_days_off(year: int) -> list[StatutoryHoliday]:
    """The weekdays off that the law alone gives in ``year``: its holidays on weekdays, and the
    weekdays that make up for a holiday on a weekend day or on another holiday; sorted by date.
    A day that is two holidays is listed once, under the festival that starts first."""
    _check(year)
    festivals = _festivals(year)
    holidays = {day for _name, days in festivals for day in days}
    off: dict[datetime.date, StatutoryHoliday] = {}
    taken: set[datetime.date] = set()
    for name, days in festivals:
        lost = 0
        for day in days:
            if day.weekday() >= 5 or day in taken:
                lost += 1
            else:
                off[day] = StatutoryHoliday(date=day, name=name, compensation=False)
            taken.add(day)
        day = days[-1]
        while lost:
            day += ONE_DAY
            if day.weekday() < 5 and day not in holidays and day not in off:
                off[day] = StatutoryHoliday(date=day, name=name, compensation=True)
                lost -= 1
    return [off[day] for day in sorted(off)]


def provisional_arrangement(year: int) -> list[tuple[datetime.date, bool, str]]:
    """:func:`provisional_days_off` as the rows of an arrangement (``calendar.Arrangement``):
    ``(date, False, name)``, no weekend day made a working day."""
    return [(day.date, False, day.name) for day in provisional_days_off(year)]
