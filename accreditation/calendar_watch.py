"""Telling people that a year's working-day arrangement is not entered yet.

The State Council publishes next year's holiday arrangement in the autumn or winter; until the
management admin enters it, due dates that reach into that year are provisional, counted on the
law's holidays alone (:mod:`accreditation.holiday_law`). From 1 October (Beijing), while next
year has no :class:`~accreditation.models.CalendarYear` (and in any month while this year has
none):

- :func:`calendar_unpublished_notify` (a daily beat task) tells the management admins, in the
  portal and by email, at most once a week (at least seven days apart, one notice per ISO
  week), and never once the year is entered;
- the pages of the management and centre admins carry a banner
  (``creditbank.context_processors.portal``);
- ``/readyz`` carries a ``calendar`` warning (and stays 200).
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, Role
from accounts.services import notices_params, notify_many, users_active

from .calendar import deadlines_recompute, local_date
from .models import CalendarYear

logger = logging.getLogger(__name__)

# Next year's arrangement is watched for from this day of the year on.
WATCH_FROM = (10, 1)
# The management admins are told again after this long.
NOTICE_INTERVAL = datetime.timedelta(days=7)
KEY_PREFIX = "calendar_unpublished"
# The page where the management admin enters a year's arrangement (calendar_views).
ENTRY_URL_NAME = "calendar_arrangement_entry"


@dataclass(frozen=True)
class UnpublishedYear:
    year: int
    # Where the management admin enters it.
    entry_link: str


def calendar_entry_link(year: int) -> str:
    return reverse(ENTRY_URL_NAME, args=[year])


def calendar_years_watched(today: datetime.date) -> list[int]:
    """The years whose arrangement should be entered by ``today``: this year, and from
    1 October next year too."""
    years = [today.year]
    if (today.month, today.day) >= WATCH_FROM:
        years.append(today.year + 1)
    return years


def calendar_years_unpublished(*, today: datetime.date | None = None) -> list[UnpublishedYear]:
    """The watched years (:func:`calendar_years_watched`) that have no arrangement; one query."""
    today = today or local_date(timezone.now())
    watched = calendar_years_watched(today)
    published = set(CalendarYear.objects.filter(year__in=watched).values_list("year", flat=True))
    return [
        UnpublishedYear(year=year, entry_link=calendar_entry_link(year))
        for year in watched
        if year not in published
    ]


def _last_sent(year: int) -> datetime.date | None:
    """The Beijing date of the last notice about ``year`` (kept in its parameters)."""
    sent = [
        params.get("sent_on")
        for params in notices_params(
            kind=Notification.Kind.CALENDAR_UNPUBLISHED, key_prefix=f"{KEY_PREFIX}:{year}:"
        )
        if isinstance(params, dict)
    ]
    dates = [datetime.date.fromisoformat(day) for day in sent if isinstance(day, str)]
    return max(dates, default=None)


def provisional_deadlines_refresh(*, now: datetime.datetime | None = None) -> int:
    """Recompute the open due dates that reach into a watched year without an arrangement, so
    that they follow the calendar's rules of the running code (a due date computed Monday to
    Friday before the law's holidays were counted moves to the law's); returns how many
    changed, 0 when nothing is unpublished or nothing moved."""
    missing = calendar_years_unpublished(today=local_date(now or timezone.now()))
    if not missing:
        return 0
    return deadlines_recompute(since=datetime.date(min(entry.year for entry in missing), 1, 1))


def calendar_unpublished_notify(*, now: datetime.datetime | None = None) -> int:
    """Tell the active management admins about each watched year without an arrangement, unless
    they were told less than seven days ago; returns how many notices were stored. Safe to run
    again and in several workers: a notice is keyed by the year and the ISO week."""
    now = now or timezone.now()
    today = local_date(now)
    missing = calendar_years_unpublished(today=today)
    if not missing:
        return 0
    admins = list(users_active().filter(role=Role.MANAGEMENT_ADMIN).order_by("pk"))
    if not admins:
        logger.warning("No management admin to tell that a calendar year is not entered")
        return 0
    stored = 0
    for entry in missing:
        last = _last_sent(entry.year)
        if last is not None and today - last < NOTICE_INTERVAL:
            continue
        week = today.isocalendar()
        stored += len(
            notify_many(
                recipients=admins,
                kind=Notification.Kind.CALENDAR_UNPUBLISHED,
                params={"year": entry.year, "sent_on": today.isoformat()},
                link=entry.entry_link,
                key=f"{KEY_PREFIX}:{entry.year}:{week.year}-W{week.week:02d}",
            )
        )
    return stored
