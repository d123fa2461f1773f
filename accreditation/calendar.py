"""The working-day calendar of China and the 15-working-day accreditation clock.

A working day is Monday to Friday, unless a :class:`~accreditation.models.CalendarDay` says
otherwise: a statutory holiday on a weekday, or a weekend day that the State Council's yearly
arrangement makes a working day. A year without a published arrangement (no
:class:`~accreditation.models.CalendarYear`) is counted from the law alone
(:mod:`accreditation.holiday_law`: its holidays on weekdays and the weekdays that make up for
holidays on a weekend are days off), and a due date whose counting reaches into such a year is
*provisional* until the year is published.

Counting rule: "``n`` working days from ``start``" is the ``n``-th working day *strictly after*
``start``, where ``start`` is the Beijing date of the submission (or of the resubmission that
restarted a stopped clock). A submission on a non-working day therefore counts from the next
working day, and the decision is due at the end (Beijing time) of that day.

Each public function reads the calendar with one query: the exceptions of a window of dates
around the ones it needs (and one more query only if a count runs past that window). Nothing
read from the database is cached between calls, so a change in the admin is seen at once (the
law's days, computed without the database, are).
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as package_data
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import FilteredRelation, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import holiday_law
from .models import OPEN_STATES, Application, CalendarDay, CalendarYear

BEIJING = ZoneInfo("Asia/Shanghai")
ONE_DAY = datetime.timedelta(days=1)

# Years loaded from the installed package carry this source; ``calendar_load`` refreshes only
# those, so an arrangement the management admin entered by hand is never overwritten.
PACKAGE_SOURCE_PREFIX = "chinesecalendar"
PACKAGE_SOURCE = f"{PACKAGE_SOURCE_PREFIX} {chinese_calendar.__version__}"
PACKAGE_FIRST_YEAR = min(day.year for day in package_data.holidays)
PACKAGE_LAST_YEAR = max(day.year for day in package_data.holidays)
# The portal's calendar starts here: no application is older.
LOAD_FIRST_YEAR = 2020

# Applications read and updated together by ``deadlines_recompute``.
RECOMPUTE_CHUNK = 2000

Arrangement = list[tuple[datetime.date, bool, str]]


def local_date(moment: datetime.datetime) -> datetime.date:
    """The date in Beijing at ``moment`` (an aware datetime)."""
    if timezone.is_naive(moment):
        raise ValueError("local_date() needs an aware datetime")
    return moment.astimezone(BEIJING).date()


# --- The calendar over a window of dates --------------------------------------------------------


@functools.lru_cache(maxsize=256)
def law_days_off(year: int) -> frozenset[datetime.date]:
    """The weekdays off that the law alone gives in ``year`` (none for a year the law module
    does not compute): what counts for a year whose arrangement is not published."""
    if not holiday_law.FIRST_YEAR <= year <= holiday_law.LAST_YEAR:
        return frozenset()
    return frozenset(day.date for day in holiday_law.provisional_days_off(year))


def _span(working_days: int) -> datetime.timedelta:
    """Calendar days that comfortably hold ``working_days`` working days: five in seven, plus
    room for the longest run of holidays (Spring Festival or National Day, eight or nine days)."""
    return datetime.timedelta(days=abs(working_days) * 7 // 5 + 45)


class WorkingCalendar:
    """The official calendar between two dates, read with one query. Asking about a date outside
    that window reads a further window (one more query)."""

    def __init__(self, first: datetime.date, last: datetime.date) -> None:
        self._exceptions: dict[datetime.date, bool] = {}
        self._published: set[int] = set()
        self._first = first
        self._last = last
        self._load(first, last)

    def _load(self, first: datetime.date, last: datetime.date) -> None:
        # One query for both the published years and their exceptions in the window: every
        # published year comes back at least once (with no date if none of its exceptions falls
        # in the window), because the window is a condition of the join, not of the rows.
        in_window = FilteredRelation("days", condition=Q(days__date__range=(first, last)))
        rows = (
            CalendarYear.objects.filter(year__range=(first.year, last.year))
            .annotate(in_window=in_window)
            .order_by()
            .values_list("year", "in_window__date", "in_window__is_working_day")
        )
        for year, day, working in rows:
            self._published.add(year)
            if day is not None:
                self._exceptions[day] = working

    def _cover(self, day: datetime.date) -> None:
        if day < self._first:
            first = min(day, self._first - datetime.timedelta(days=366))
            self._load(first, self._first - ONE_DAY)
            self._first = first
        elif day > self._last:
            last = max(day, self._last + datetime.timedelta(days=366))
            self._load(self._last + ONE_DAY, last)
            self._last = last

    def is_working_day(self, day: datetime.date) -> bool:
        self._cover(day)
        working = self._exceptions.get(day)
        if working is not None:
            return working
        if day.year not in self._published and day in law_days_off(day.year):
            return False
        return day.weekday() < 5

    def is_published(self, year: int) -> bool:
        # The published years are read for every year the window touches, whole.
        if year < self._first.year:
            self._cover(datetime.date(year, 12, 31))
        elif year > self._last.year:
            self._cover(datetime.date(year, 1, 1))
        return year in self._published

    def add(self, start: datetime.date, n: int) -> datetime.date:
        if n < 0:
            raise ValueError("add() counts forwards; use subtract()")
        day = start
        while n > 0:
            day += ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def subtract(self, day: datetime.date, n: int) -> datetime.date:
        if n < 0:
            raise ValueError("subtract() counts backwards; use add()")
        while n > 0:
            day -= ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def between(self, start: datetime.date, end: datetime.date) -> int:
        count = 0
        day = start
        while day < end:
            day += ONE_DAY
            count += self.is_working_day(day)
        return count

    def deadline(self, start: datetime.date, working_days: int) -> Deadline:
        if working_days >= 0:
            due_on = self.add(start, working_days)
        else:
            # A clock stopped after its due date resumes as overdue by as many working days as
            # it was: working_days_left(due_on, start) == working_days.
            due_on = self.subtract(start, -working_days + (not self.is_working_day(start)))
        remind_on = self.subtract(due_on, settings.REMINDER_WORKING_DAYS)
        remind_on = min(max(remind_on, start), due_on)
        provisional = not all(
            self.is_published(year)
            for year in range(min(start, due_on).year, max(start, due_on).year + 1)
        )
        return Deadline(due_on=due_on, remind_on=remind_on, provisional=provisional)


# --- Public arithmetic (one query each) ---------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    due_on: datetime.date
    remind_on: datetime.date
    provisional: bool


def is_working_day(day: datetime.date) -> bool:
    return WorkingCalendar(day, day).is_working_day(day)


def add_working_days(start: datetime.date, n: int) -> datetime.date:
    """The ``n``-th working day strictly after ``start`` (``n >= 1``); ``start`` for ``n == 0``."""
    return WorkingCalendar(start, start + _span(n)).add(start, n)


def subtract_working_days(day: datetime.date, n: int) -> datetime.date:
    """The ``n``-th working day strictly before ``day``; ``day`` for ``n == 0``."""
    return WorkingCalendar(day - _span(n), day).subtract(day, n)


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """The number of working days in ``(start, end]``; 0 when ``end <= start``."""
    if end <= start:
        return 0
    return WorkingCalendar(start, end).between(start, end)


def working_days_left(due_on: datetime.date, today: datetime.date) -> int:
    """What learners and staff see as "working days left": the working days in
    ``(today, due_on]``, so 0 on the due date itself (the decision is due at the end of it).
    After the due date it is negative: minus the working days in ``(due_on, today]``, so an
    application is "1 working day overdue" on the first working day after its due date (and
    still 0 over a weekend straight after it: whether it is overdue is ``today > due_on``)."""
    if today <= due_on:
        return working_days_between(today, due_on)
    return -working_days_between(due_on, today)


def deadline_from(start: datetime.date, working_days: int) -> Deadline:
    """The deadline of a clock started (or resumed) on ``start`` with ``working_days`` to run.

    ``remind_on`` is the ``REMINDER_WORKING_DAYS``-th working day before ``due_on``, but not
    before ``start``: a clock resumed with fewer days left than that reminds the reviewer at
    once. A negative ``working_days`` (a clock stopped when already overdue) gives a due date
    that many working days in the past, and ``remind_on == due_on``."""
    reach = max(working_days, 0)
    back = max(settings.REMINDER_WORKING_DAYS, -working_days)
    calendar = WorkingCalendar(start - _span(back), start + _span(reach))
    return calendar.deadline(start, working_days)


def deadline_for_submission(submitted_at: datetime.datetime) -> Deadline:
    """The deadline of an application submitted at ``submitted_at``: the end of the
    ``ACCREDITATION_WORKING_DAYS``-th working day after the Beijing date of submission."""
    return deadline_from(local_date(submitted_at), settings.ACCREDITATION_WORKING_DAYS)


# --- Recomputing open deadlines -----------------------------------------------------------------


def deadlines_recompute(*, since: datetime.date) -> int:
    """Recompute ``due_on``, ``remind_on`` and ``due_is_provisional`` of the applications whose
    clock is running and whose due date is on or after ``since`` (a calendar change on ``since``
    or later cannot move an earlier due date), from their ``clock_started_on`` and ``clock_days``.
    Returns how many applications changed.

    Rows are read in chunks by id with one calendar query per chunk. Each update is
    conditional on the row still being open with the same clock, so an application that a
    reviewer decides or pauses meanwhile is left as the workflow wrote it. Safe to run again:
    a second run changes nothing."""
    running = Application.objects.filter(
        state__in=[state.value for state in OPEN_STATES],
        due_on__gte=since,
        clock_started_on__isnull=False,
        clock_days__isnull=False,
    )
    changed = 0
    last_id = 0
    while True:
        chunk = list(
            running.filter(id__gt=last_id)
            .order_by("id")
            .values_list(
                "id", "clock_started_on", "clock_days", "due_on", "remind_on", "due_is_provisional"
            )[:RECOMPUTE_CHUNK]
        )
        if not chunk:
            return changed
        last_id = chunk[-1][0]
        rows = [
            (pk, start, days, due_on, remind_on, provisional)
            for pk, start, days, due_on, remind_on, provisional in chunk
            if start is not None and days is not None  # as filtered: tells the type checker
        ]
        starts = [row[1] for row in rows]
        longest = max(max(row[2], 0) for row in rows)
        back = max(settings.REMINDER_WORKING_DAYS, *(-row[2] for row in rows))
        calendar = WorkingCalendar(min(starts) - _span(back), max(starts) + _span(longest))
        deadlines: dict[tuple[datetime.date, int], Deadline] = {}
        stale: dict[tuple[datetime.date, int], list[int]] = defaultdict(list)
        for pk, start, days, due_on, remind_on, provisional in rows:
            key = (start, days)
            if key not in deadlines:
                deadlines[key] = calendar.deadline(start, days)
            new = deadlines[key]
            if (due_on, remind_on, provisional) != (new.due_on, new.remind_on, new.provisional):
                stale[key].append(pk)
        now = timezone.now()
        for (start, days), ids in stale.items():
            new = deadlines[(start, days)]
            changed += running.filter(id__in=ids, clock_started_on=start, clock_days=days).update(
                due_on=new.due_on,
                remind_on=new.remind_on,
                due_is_provisional=new.provisional,
                updated_at=now,
            )


# --- Publishing and loading arrangements --------------------------------------------------------


def calendar_day_problem(year: int, day: datetime.date, is_working_day: bool) -> str | None:
    """Why ``day`` cannot be an exception in ``year``'s arrangement, or None if it can."""
    if day.year != year:
        return _("%(date)s is not in %(year)s.") % {"date": day.isoformat(), "year": year}
    if is_working_day and day.weekday() < 5:
        return _("%(date)s is a weekday, which is a working day anyway.") % {
            "date": day.isoformat()
        }
    if not is_working_day and day.weekday() >= 5:
        return _("%(date)s is a weekend day, which is a day off anyway.") % {
            "date": day.isoformat()
        }
    return None


def _arrangement_store(
    year_model: Any, day_model: Any, *, year: int, days: Arrangement, source: str
) -> bool:
    """Make ``year``'s stored arrangement ``days`` from ``source``; False if it already was.

    Takes the model classes so that the data migration can run it with historical models."""
    entry = year_model.objects.select_for_update().filter(year=year).first()
    if entry is not None:
        stored = set(
            day_model.objects.filter(year=entry).values_list("date", "is_working_day", "name")
        )
        if stored == set(days) and entry.source == source:
            return False
        entry.source = source
        entry.published_at = timezone.now()
        entry.save(update_fields=["source", "published_at"])
        day_model.objects.filter(year=entry).delete()
    else:
        entry = year_model.objects.create(year=year, source=source, published_at=timezone.now())
    day_model.objects.bulk_create(
        day_model(year=entry, date=day, is_working_day=working, name=name)
        for day, working, name in sorted(days)
    )
    return True


def package_arrangement(year: int) -> Arrangement:
    """``year``'s exceptions to Monday-Friday in the installed chinesecalendar package, named in
    Chinese: holidays on weekdays, and weekend days made working days (调休上班)."""
    days: Arrangement = []
    for day, english in package_data.holidays.items():
        if day.year == year and day.weekday() < 5:
            days.append((day, False, package_data.Holiday(english).chinese))
    for day, english in package_data.workdays.items():
        if day.year == year and day.weekday() >= 5:
            name = package_data.Holiday(english).chinese
            days.append((day, True, f"{name}调休上班"))
    return sorted(days)


def package_years_load(year_model: Any, day_model: Any, years: Iterable[int]) -> list[int]:
    """Store the package's arrangement of each of ``years``, except years entered by hand
    (whose source does not start with ``chinesecalendar``). Returns the years that changed."""
    changed = []
    manual = set(
        year_model.objects.filter(year__in=list(years))
        .exclude(source__startswith=PACKAGE_SOURCE_PREFIX)
        .values_list("year", flat=True)
    )
    for year in sorted(set(years) - manual):
        if _arrangement_store(
            year_model, day_model, year=year, days=package_arrangement(year), source=PACKAGE_SOURCE
        ):
            changed.append(year)
    return changed


def calendar_load(*, years: Iterable[int] | None = None) -> int:
    """Fill the calendar from the installed chinesecalendar package: ``years`` (by default
    2020 to the package's last year). Years entered by hand are left alone; years loaded from
    the package before are refreshed. Recomputes the open deadlines the change can move.
    Returns the number of years created or changed (0 when run again)."""
    wanted = sorted(set(years)) if years is not None else None
    if wanted is None:
        wanted = list(range(LOAD_FIRST_YEAR, PACKAGE_LAST_YEAR + 1))
    outside = [year for year in wanted if not PACKAGE_FIRST_YEAR <= year <= PACKAGE_LAST_YEAR]
    if outside:
        raise ValidationError(
            {
                "years": _(
                    "The installed calendar package covers %(first)s to %(last)s, not %(years)s."
                )
                % {
                    "first": PACKAGE_FIRST_YEAR,
                    "last": PACKAGE_LAST_YEAR,
                    "years": ", ".join(str(year) for year in outside),
                }
            }
        )
    with transaction.atomic():
        changed = package_years_load(CalendarYear, CalendarDay, wanted)
    if changed:
        deadlines_recompute(since=datetime.date(min(changed), 1, 1))
    return len(changed)


def calendar_year_publish(
    *, year: int, days: Iterable[tuple[datetime.date, bool, str]], source: str
) -> CalendarYear:
    """Create or replace ``year``'s arrangement: its exceptions to Monday-Friday as
    ``(date, is_working_day, name)``, from ``source`` (e.g. the State Council's notice). Then
    recompute the open deadlines from the start of that year on."""
    days = list(days)
    errors: dict[str, list[str]] = defaultdict(list)
    if not 1 <= year <= 9999:
        errors["year"].append(_("Enter a year."))
    source = source.strip()
    if not source:
        errors["source"].append(_("Say where the arrangement comes from."))
    elif len(source) > CalendarYear._meta.get_field("source").max_length:  # type: ignore[operator]
        errors["source"].append(_("The source is too long."))
    if "year" not in errors:
        seen: set[datetime.date] = set()
        for day, working, name in days:
            problem = calendar_day_problem(year, day, working)
            if problem is not None:
                errors["days"].append(problem)
            if day in seen:
                errors["days"].append(
                    _("%(date)s is listed more than once.") % {"date": day.isoformat()}
                )
            seen.add(day)
            if len(name) > CalendarDay._meta.get_field("name").max_length:  # type: ignore[operator]
                errors["days"].append(
                    _("The name of %(date)s is too long.") % {"date": day.isoformat()}
                )
    if errors:
        raise ValidationError(dict(errors))
    with transaction.atomic():
        _arrangement_store(
            CalendarYear,
            CalendarDay,
            year=year,
            days=[(day, working, name.strip()) for day, working, name in days],
            source=source,
        )
        entry = CalendarYear.objects.get(year=year)
    deadlines_recompute(since=datetime.date(year, 1, 1))
    return entry
