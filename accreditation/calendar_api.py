"""``GET /api/v1/calendar/<year>/``: the working-day calendar of a year, for institutions'
systems, open to anyone and cacheable.

A published year (the State Council's arrangement is entered): ``holidays`` are the
arrangement's weekdays off (``source`` "arrangement") and the statutory holidays that fall on a
weekend (``source`` "law", days off anyway, listed so that a festival is never missing);
``make_up_working_days`` are the weekend days the arrangement makes working days. A year not
published yet: the law's days only (``source`` "law"): its holidays, weekends included, and the
weekdays that make up for those on a weekend (named "…补休"); no make-up working days, which
only the arrangement sets. Every other day: Monday to Friday work, Saturday and Sunday off.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from common.replicas import replica_reads

from . import holiday_law
from .calendar import LOAD_FIRST_YEAR
from .models import CalendarDay, CalendarYear

# How long a shared cache may keep an answer: a year is published once, then seldom changes.
CACHE_SECONDS = 3600
LAW_SOURCE = "law"
ARRANGEMENT_SOURCE = "arrangement"
# What ``source`` says of a year not published yet.
LAW_NAME = "全国年节及纪念日放假办法"
COMPENSATION_SUFFIX = "补休"


class CalendarDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField(
        help_text=gettext_lazy("The occasion, in Chinese (e.g. 春节, 国庆节补休).")
    )
    # A field named like Field.source (a serializer attribute): as in accounts/rights/views.py.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=[LAW_SOURCE, ARRANGEMENT_SOURCE],
        help_text=gettext_lazy(
            '"arrangement": the State Council\'s published arrangement; "law": computed '
            "from the statutory holidays (全国年节及纪念日放假办法)."
        ),
    )


class CalendarYearSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    published = serializers.BooleanField(
        help_text=gettext_lazy(
            "Whether the State Council's arrangement for the year is entered. If not, the "
            "days are computed from the law and due dates into the year are provisional."
        )
    )
    source = serializers.CharField(  # type: ignore[assignment]
        help_text=gettext_lazy(
            "Where the arrangement comes from (e.g. the notice's title), or the law's "
            "name for a year not published yet."
        )
    )
    holidays = CalendarDaySerializer(
        many=True, help_text=gettext_lazy("Days off other than plain weekends.")
    )
    make_up_working_days = CalendarDaySerializer(
        many=True, help_text=gettext_lazy("Weekend days that are working days (调休上班).")
    )


class CalendarErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


def _law_weekends(year: int, listed: set[datetime.date]) -> dict[datetime.date, str]:
    """The law's holidays of ``year`` that fall on a weekend and are not in ``listed``; a day
    that is two holidays gets both names."""
    if not holiday_law.FIRST_YEAR <= year <= holiday_law.LAST_YEAR:
        return {}
    names: dict[datetime.date, list[str]] = {}
    for holiday in holiday_law.statutory_holidays(year):
        if holiday.date.weekday() >= 5 and holiday.date not in listed:
            names.setdefault(holiday.date, [])
            if holiday.name not in names[holiday.date]:
                names[holiday.date].append(holiday.name)
    return {day: "、".join(parts) for day, parts in names.items()}


def calendar_year_of(year: int) -> dict[str, Any] | None:
    """The public view of ``year``'s calendar, or None when the portal has none for it (not
    published and outside the years the law is computed for). Two queries at most."""
    entry = CalendarYear.objects.filter(year=year).first()
    holidays: list[dict[str, Any]] = []
    make_up: list[dict[str, Any]] = []
    if entry is not None:
        days = CalendarDay.objects.filter(year=entry).order_by("date")
        for day in days.values_list("date", "is_working_day", "name"):
            date, working, name = day
            row = {"date": date, "name": name, "source": ARRANGEMENT_SOURCE}
            (make_up if working else holidays).append(row)
        source = entry.source
    elif holiday_law.FIRST_YEAR <= year <= holiday_law.LAST_YEAR:
        for holiday in holiday_law.provisional_days_off(year):
            name = holiday.name + (COMPENSATION_SUFFIX if holiday.compensation else "")
            holidays.append({"date": holiday.date, "name": name, "source": LAW_SOURCE})
        source = LAW_NAME
    else:
        return None
    listed = {row["date"] for row in holidays}
    holidays.extend(
        {"date": day, "name": name, "source": LAW_SOURCE}
        for day, name in _law_weekends(year, listed).items()
    )
    holidays.sort(key=lambda row: row["date"])
    return {
        "year": year,
        "published": entry is not None,
        "source": source,
        "holidays": holidays,
        "make_up_working_days": make_up,
    }


class CalendarYearApi(APIView):
    """The working-day calendar of a year: days off and make-up working days, from the State
    Council's arrangement once published, else from the law. No sign-in; cacheable."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        responses={
            200: CalendarYearSerializer,
            404: OpenApiResponse(
                CalendarErrorSerializer,
                description=f"A year the portal has no calendar for (before {LOAD_FIRST_YEAR} "
                f"or after {holiday_law.LAST_YEAR}, or not published and before "
                f"{holiday_law.FIRST_YEAR}).",
            ),
        },
    )
    @replica_reads
    def get(self, request: Request, year: int) -> Response:
        found = calendar_year_of(year) if LOAD_FIRST_YEAR <= year <= holiday_law.LAST_YEAR else None
        if found is None:
            detail = _(
                "No working-day calendar for %(year)s: the portal has the years %(first)s to "
                "%(last)s."
            ) % {"year": year, "first": LOAD_FIRST_YEAR, "last": holiday_law.LAST_YEAR}
            response = Response({"detail": detail}, status=404)
        else:
            response = Response(CalendarYearSerializer(found).data)
        patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
        return response
