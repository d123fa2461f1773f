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
from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, F, FilteredRelation, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Notification
from accounts.services import Notice, accounts_lock, free_text_problem, notify_batch
from common.prepared import PreparedQuery

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


def _window(
    first: datetime.date, last: datetime.date, first_year: int, last_year: int
) -> QuerySet[CalendarYear, tuple[int, datetime.date | None, bool | None]]:
    in_window = FilteredRelation("days", condition=Q(days__date__range=(first, last)))
    return (
        CalendarYear.objects.filter(year__range=(first_year, last_year))
        .annotate(in_window=in_window)
        .order_by()
        .values_list("year", "in_window__date", "in_window__is_working_day")
    )


# Built once per process: every page that shows working days left reads a window.
_WINDOW = PreparedQuery(
    _window,
    first=datetime.date(1901, 1, 2),
    last=datetime.date(1901, 1, 3),
    first_year=1901,
    last_year=1902,
)


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
        rows = _WINDOW.list(first=first, last=last, first_year=first.year, last_year=last.year)
        for year, day, working in rows:
            self._published.add(year)
            if day is not None:
                self._exceptions[day] = bool(working)

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


@dataclass(frozen=True)
class Announcement:
    """What the notices about moved due dates say and how they are keyed: ``years`` as shown
    (``"2027"``), ``key`` naming the publication (the same key for a re-run of the same one)."""

    years: str
    key: str


@dataclass(frozen=True)
class DueDateMove:
    """An open application whose due date a calendar change moves; ``working_days`` is the
    shift on the new calendar (positive: later)."""

    application_id: int
    centre_name: str
    old_due_on: datetime.date
    new_due_on: datetime.date
    working_days: int


def _shift(calendar: WorkingCalendar, old: datetime.date, new: datetime.date) -> int:
    return calendar.between(old, new) if new >= old else -calendar.between(new, old)


def _running() -> Any:
    return Application.objects.filter(
        state__in=[state.value for state in OPEN_STATES],
        clock_started_on__isnull=False,
        clock_days__isnull=False,
    )


_NULL_STAMP = Value(None, output_field=DateTimeField())


def _rearmed(stamp: str, new_due_on: datetime.date) -> Case:
    """``stamp`` cleared on the rows whose due date moves, kept on the others."""
    return Case(
        When(~Q(due_on=new_due_on), then=_NULL_STAMP),
        default=F(stamp),
        output_field=DateTimeField(),
    )


def deadlines_recompute(
    *,
    since: datetime.date,
    now: datetime.datetime | None = None,
    announce: Announcement | None = None,
) -> int:
    """Recompute ``due_on``, ``remind_on`` and ``due_is_provisional`` of the applications whose
    clock is running and whose due date is on or after ``since`` (a calendar change on ``since``
    or later cannot move an earlier due date), from their ``clock_started_on`` and ``clock_days``.
    Returns how many applications changed.

    When a due date moves, the deadline sweep's stamps are re-armed for the new date (``now``'s
    Beijing date is "today"): ``escalated_at`` is cleared unless the application is still
    overdue on the new date, and ``reminded_at`` unless its new reminder day has already come,
    so the sweep reminds and escalates on the real date. With ``announce``, the learner and the
    assigned reviewer of each moved application are told, one notice per person listing their
    applications (:func:`due_date_moves_notify`).

    Rows are read in chunks by id, each chunk in a transaction that locks its learners'
    accounts and then its rows (as the sweep claims its rows), reads the calendar, updates the
    rows and stores the notices: a concurrent sweep skips the locked rows, a concurrent
    recompute waits and then finds nothing to change, and a crash rolls the chunk back whole.
    Each update is also conditional on the row still being open with the same clock. Safe to
    run again: a second run changes nothing and tells nobody."""
    now = now or timezone.now()
    today = local_date(now)
    running = _running().filter(due_on__gte=since)
    changed = 0
    last_id = 0
    while True:
        # No savepoint inside a caller's transaction: a failure fails the caller's too.
        with transaction.atomic(savepoint=False):
            # The learners' accounts first, as everywhere (and as ``account_close`` does): the
            # chunk's notices are written to its learners, whose user rows a closure rewrites
            # while it holds their account; holding the applications before the accounts, the
            # recompute waited for a closure that waited for those applications (deadlock).
            ids = list(
                running.filter(id__gt=last_id)
                .order_by("id")
                .values_list("id", "account_id")[:RECOMPUTE_CHUNK]
            )
            if not ids:
                return changed
            last_id = ids[-1][0]
            accounts_lock(account_id for _id, account_id in ids)
            chunk = list(
                running.filter(id__in=[pk for pk, _account in ids])
                .select_for_update(of=("self",))
                .order_by("id")
                .values_list(
                    "id",
                    "clock_started_on",
                    "clock_days",
                    "due_on",
                    "remind_on",
                    "due_is_provisional",
                )
            )
            if not chunk:
                # Withdrawn meanwhile (a closure that held an account): the next ones.
                continue
            changed_now, moved = _recompute_chunk(running, chunk, today=today)
            changed += changed_now
            if moved and announce is not None:
                due_date_moves_notify(moved=moved, announce=announce, first_id=chunk[0][0])


def _recompute_chunk(
    running: Any, chunk: list[Any], *, today: datetime.date
) -> tuple[int, dict[int, tuple[datetime.date, datetime.date]]]:
    """Update the chunk's stale rows; returns how many changed, and the moved ones' old and
    new due dates by id."""
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
    moved: dict[int, tuple[datetime.date, datetime.date]] = {}
    for pk, start, days, due_on, remind_on, provisional in rows:
        key = (start, days)
        if key not in deadlines:
            deadlines[key] = calendar.deadline(start, days)
        new = deadlines[key]
        if (due_on, remind_on, provisional) != (new.due_on, new.remind_on, new.provisional):
            stale[key].append(pk)
        if due_on != new.due_on:
            moved[pk] = (due_on, new.due_on)
    changed = 0
    now = timezone.now()
    for (start, days), ids in stale.items():
        new = deadlines[(start, days)]
        rearm: dict[str, Any] = {}
        # Still overdue on the new date: it was escalated as such, once is enough.
        if new.due_on >= today:
            rearm["escalated_at"] = _rearmed("escalated_at", new.due_on)
        # The new reminder day has come already: the reviewer was reminded (and is told of the
        # move); otherwise the sweep reminds them on the new day.
        if new.remind_on > today:
            rearm["reminded_at"] = _rearmed("reminded_at", new.due_on)
        changed += running.filter(id__in=ids, clock_started_on=start, clock_days=days).update(
            **rearm,
            due_on=new.due_on,
            remind_on=new.remind_on,
            due_is_provisional=new.provisional,
            updated_at=now,
        )
    return changed, moved


def due_date_moves_notify(
    *,
    moved: dict[int, tuple[datetime.date, datetime.date]],
    announce: Announcement,
    first_id: int,
) -> int:
    """Tell the learner and the assigned reviewer of each moved application, in the caller's
    transaction: one notice per person listing their moved applications (``#12 2027-02-26 →
    2027-03-01``), keyed by the publication and the chunk, so a re-run stores nothing twice.
    Only rows still open with the new due date count. Returns the notices stored."""
    applications = (
        _running()
        .filter(pk__in=list(moved))
        .select_related("assigned_to", "account__holder")
        .order_by("pk")
    )
    moves_of: dict[int, list[tuple[int, str]]] = defaultdict(list)
    people: dict[int, Any] = {}
    staff: set[int] = set()
    for application in applications:
        old, new = moved[application.pk]
        if application.due_on != new:
            continue
        line = f"#{application.pk} {old.isoformat()} → {new.isoformat()}"
        learner = application.account.holder
        reviewer = application.assigned_to
        for person in (learner, reviewer):
            if person is not None and person.is_active:
                people[person.pk] = person
                moves_of[person.pk].append((application.pk, line))
        if reviewer is not None:
            staff.add(reviewer.pk)
    notices = [
        Notice(
            recipient=people[pk],
            kind=Notification.Kind.DEADLINE_MOVED,
            params={
                "years": announce.years,
                "count": len(moves),
                "moves": "; ".join(line for _pk, line in moves),
            },
            link=_moved_link(is_staff=pk in staff, application_ids=[app for app, _ in moves]),
            key=f"due-dates-moved:{announce.key}:{first_id}",
        )
        for pk, moves in moves_of.items()
    ]
    return len(notify_batch(notices))


def _moved_link(*, is_staff: bool, application_ids: list[int]) -> str:
    if is_staff:
        return reverse("centre-queue")
    if len(application_ids) == 1:
        return reverse("application-detail", args=[application_ids[0]])
    return reverse("applications")


# --- Previewing an arrangement ------------------------------------------------------------------


class _ProposedCalendar(WorkingCalendar):
    """The calendar as it would be with ``year``'s arrangement ``days`` published."""

    def __init__(
        self,
        first: datetime.date,
        last: datetime.date,
        *,
        year: int,
        exceptions: dict[datetime.date, bool],
    ) -> None:
        self._proposed_year = year
        self._proposed = exceptions
        super().__init__(first, last)

    def is_working_day(self, day: datetime.date) -> bool:
        if day.year == self._proposed_year:
            return self._proposed.get(day, day.weekday() < 5)
        return super().is_working_day(day)

    def is_published(self, year: int) -> bool:
        return year == self._proposed_year or super().is_published(year)


@dataclass(frozen=True)
class ArrangementPreview:
    """What publishing an arrangement would do: how many open applications' due dates move,
    and the first ``limit`` of them (by id)."""

    count: int
    moves: list[DueDateMove]


def arrangement_preview(*, year: int, days: Arrangement, limit: int = 50) -> ArrangementPreview:
    """The open applications whose due date publishing ``year``'s arrangement ``days`` would
    move, computed without writing anything (the same arithmetic as :func:`deadlines_recompute`,
    on the calendar with the arrangement in place of what is stored for ``year``)."""
    exceptions = {day: working for day, working, _name in days}
    running = _running().filter(due_on__gte=datetime.date(year, 1, 1))
    count = 0
    moves: list[DueDateMove] = []
    last_id = 0
    while True:
        chunk = list(
            running.filter(id__gt=last_id)
            .order_by("id")
            .values_list("id", "clock_started_on", "clock_days", "due_on", "centre__name")[
                :RECOMPUTE_CHUNK
            ]
        )
        if not chunk:
            return ArrangementPreview(count=count, moves=moves)
        last_id = chunk[-1][0]
        starts = [row[1] for row in chunk]
        longest = max(max(row[2], 0) for row in chunk)
        back = max(settings.REMINDER_WORKING_DAYS, *(-row[2] for row in chunk))
        calendar = _ProposedCalendar(
            min(starts) - _span(back),
            max(starts) + _span(longest),
            year=year,
            exceptions=exceptions,
        )
        for pk, start, clock_days, due_on, centre_name in chunk:
            new = calendar.deadline(start, clock_days)
            if new.due_on == due_on:
                continue
            count += 1
            if len(moves) < limit:
                moves.append(
                    DueDateMove(
                        application_id=pk,
                        centre_name=centre_name,
                        old_due_on=due_on,
                        new_due_on=new.due_on,
                        working_days=_shift(calendar, due_on, new.due_on),
                    )
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

    Takes the model classes so that the data migration can run it with historical models.
    Two publications of a new year at once: the second one's insert waits for the first and
    fails on the unique year; it then locks the first one's row and goes on as a change."""
    entry = year_model.objects.select_for_update().filter(year=year).first()
    created = False
    if entry is None:
        try:
            with transaction.atomic():
                entry = year_model.objects.create(
                    year=year, source=source, published_at=timezone.now()
                )
        except IntegrityError:
            entry = year_model.objects.select_for_update().get(year=year)
        else:
            created = True
    if not created:
        stored = set(
            day_model.objects.filter(year=entry).values_list("date", "is_working_day", "name")
        )
        if stored == set(days) and entry.source == source:
            return False
        entry.source = source
        entry.published_at = timezone.now()
        entry.save(update_fields=["source", "published_at"])
        day_model.objects.filter(year=entry).delete()
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


def package_years() -> list[int]:
    """The years the installed chinesecalendar package holds an arrangement of (read when
    asked, not when the module is imported: a newer package brings a newer year)."""
    return sorted({day.year for day in [*package_data.holidays, *package_data.workdays]})


def _announcement(years: Iterable[int]) -> Announcement:
    """The announcement of a publication of ``years``: keyed by each year's ``published_at``,
    which a publication sets and an unchanged re-run keeps."""
    entries = CalendarYear.objects.filter(year__in=list(years)).order_by("year")
    shown = ", ".join(str(entry.year) for entry in entries)
    stamp = "-".join(f"{entry.year}@{entry.published_at.timestamp():.0f}" for entry in entries)
    return Announcement(years=shown, key=stamp[:80])


def calendar_load(
    *, years: Iterable[int] | None = None, now: datetime.datetime | None = None
) -> int:
    """Fill the calendar from the installed chinesecalendar package: ``years``, by default
    every year the package holds from 2020 on (so a newer package's new year is taken when it
    is installed: beat runs this daily). Years entered by hand are left alone; years loaded
    from the package before are refreshed. A changed year is published as one entered on the
    page is: open deadlines recomputed, the sweep re-armed, the people whose due date moved
    told. Returns the number of years created or changed (0 when run again)."""
    held = package_years()
    if years is None:
        wanted = [year for year in held if year >= LOAD_FIRST_YEAR]
    else:
        wanted = sorted(set(years))
    outside = [year for year in wanted if year not in held]
    if outside:
        raise ValidationError(
            {
                "years": _(
                    "The installed calendar package covers %(first)s to %(last)s, not %(years)s."
                )
                % {
                    "first": held[0],
                    "last": held[-1],
                    "years": ", ".join(str(year) for year in outside),
                }
            }
        )
    with transaction.atomic():
        changed = package_years_load(CalendarYear, CalendarDay, wanted)
    if changed:
        deadlines_recompute(
            since=datetime.date(min(changed), 1, 1), now=now, announce=_announcement(changed)
        )
    return len(changed)


def day_name_problem(day: datetime.date, name: str) -> str | None:
    """What is wrong with the name typed for ``day`` (an identity number, a control or format
    character), naming the day; None when nothing is."""
    problem = free_text_problem(name, multiline=False)
    if problem is None:
        return None
    return _("The name of %(date)s: %(problem)s") % {"date": day.isoformat(), "problem": problem}


def calendar_year_publish(
    *,
    year: int,
    days: Iterable[tuple[datetime.date, bool, str]],
    source: str,
    now: datetime.datetime | None = None,
) -> CalendarYear:
    """Create or replace ``year``'s arrangement: its exceptions to Monday-Friday as
    ``(date, is_working_day, name)``, from ``source`` (e.g. the State Council's notice). Then
    recompute the open deadlines from the start of that year on, re-arm the sweep for the
    moved ones and tell their learners and reviewers (:func:`deadlines_recompute`)."""
    days = list(days)
    errors: dict[str, list[str]] = defaultdict(list)
    if not 1 <= year <= 9999:
        errors["year"].append(_("Enter a year."))
    source = source.strip()
    if not source:
        errors["source"].append(_("Say where the arrangement comes from."))
    elif len(source) > CalendarYear._meta.get_field("source").max_length:  # type: ignore[operator]
        errors["source"].append(_("The source is too long."))
    elif problem := free_text_problem(source, multiline=False):
        errors["source"].append(problem)
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
            elif problem := day_name_problem(day, name):
                errors["days"].append(problem)
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
    deadlines_recompute(since=datetime.date(year, 1, 1), now=now, announce=_announcement([year]))
    return entry
