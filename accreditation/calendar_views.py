"""The management admin's pages of the working-day calendar: the years (published or provisional)
and the entry of a year's arrangement (the State Council's notice), previewed, then published.

Entering is mostly confirming: the form starts from the days off the law alone gives
(:mod:`accreditation.holiday_law`) or from the year's stored arrangement. The form refuses an
arrangement that leaves out a statutory holiday falling on a weekday, a make-up working day on a
weekday, a date outside the year, a date given twice and a line it cannot read, each next to its
field. The preview lists the open applications whose due date would move; Confirm publishes
through :func:`accreditation.calendar.calendar_year_publish`.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import TemplateView

from accounts.models import Role
from accounts.services import free_text_problem
from accounts.signin.permissions import RoleRequiredMixin
from common.forms import form_errors_apply

from .calendar import (
    PACKAGE_SOURCE_PREFIX,
    Arrangement,
    arrangement_preview,
    calendar_day_problem,
    calendar_year_publish,
    day_name_problem,
    local_date,
)
from .holiday_law import FIRST_YEAR, LAST_YEAR, provisional_arrangement, statutory_holidays
from .models import CalendarDay, CalendarYear

# Applications listed by the preview (all are counted).
PREVIEW_ROWS = 50
MAX_NAME = CalendarDay._meta.get_field("name").max_length or 100
MAX_SOURCE = CalendarYear._meta.get_field("source").max_length or 200
LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s+(.*))?$")


def _lines(days: Arrangement, *, working: bool) -> str:
    return "\n".join(
        f"{day.isoformat()} {name}".strip()
        for day, is_working, name in sorted(days)
        if is_working == working
    )


class ArrangementForm(forms.Form):
    source = forms.CharField(
        label=gettext_lazy("Source"),
        max_length=MAX_SOURCE,
        help_text=gettext_lazy(
            "The notice the arrangement comes from, e.g. "
            "“国务院办公厅关于2027年部分节假日安排的通知 国办发明电〔2026〕N号”."
        ),
    )
    holidays = forms.CharField(
        label=gettext_lazy("Days off on weekdays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "One per line: the date as YYYY-MM-DD, a space, the name (e.g. “2027-02-05 春节”). "
            "Every statutory holiday that falls on a weekday must be listed; add the extra days "
            "the notice gives."
        ),
    )
    working_days = forms.CharField(
        label=gettext_lazy("Make-up working days on weekends"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "One per line: a Saturday or Sunday that the notice makes a working day "
            "(e.g. “2027-02-20 春节调休上班”)."
        ),
    )

    def __init__(self, *args: Any, year: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.year = year

    def clean_source(self) -> str:
        source: str = self.cleaned_data["source"]
        problem = free_text_problem(source, multiline=False)
        if problem is not None:
            raise ValidationError(problem)
        return source

    def _parse(self, name: str, *, working: bool) -> Arrangement:
        days: Arrangement = []
        problems: list[str] = []
        seen: set[datetime.date] = set()
        for number, raw in enumerate(self.cleaned_data.get(name, "").splitlines(), start=1):
            text = raw.strip()
            if not text:
                continue
            match = LINE.match(text)
            day = None
            if match is not None:
                try:
                    day = datetime.date.fromisoformat(match.group(1))
                except ValueError:
                    day = None
            if match is None or day is None:
                problems.append(
                    _("Line %(line)d: write the date as YYYY-MM-DD, then the name (“%(text)s”).")
                    % {"line": number, "text": text[:40]}
                )
                continue
            title = (match.group(2) or "").strip()
            problem = calendar_day_problem(self.year, day, working)
            if problem is not None:
                problems.append(problem)
            elif day in seen:
                problems.append(_("%(date)s is listed more than once.") % {"date": day.isoformat()})
            elif len(title) > MAX_NAME:
                problems.append(_("The name of %(date)s is too long.") % {"date": day.isoformat()})
            elif name_problem := day_name_problem(day, title):
                problems.append(name_problem)
            seen.add(day)
            days.append((day, working, title))
        if problems:
            raise ValidationError(problems)
        return days

    def clean_holidays(self) -> Arrangement:
        days = self._parse("holidays", working=False)
        off = {day for day, _working, _name in days}
        missing = [
            holiday
            for holiday in statutory_holidays(self.year)
            if holiday.date.weekday() < 5 and holiday.date not in off
        ]
        if missing:
            raise ValidationError(
                [
                    _(
                        "%(date)s (%(name)s) is a statutory holiday on a weekday: it must be a "
                        "day off."
                    )
                    % {"date": holiday.date.isoformat(), "name": holiday.name}
                    for holiday in missing
                ]
            )
        return days

    def clean_working_days(self) -> Arrangement:
        return self._parse("working_days", working=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        holidays = cleaned.get("holidays")
        working = cleaned.get("working_days")
        if isinstance(holidays, list) and isinstance(working, list):
            off = {day for day, _working, _name in holidays}
            twice = sorted(day for day, _working, _name in working if day in off)
            for day in twice:
                self.add_error(
                    "working_days",
                    _("%(date)s is listed more than once.") % {"date": day.isoformat()},
                )
        return cleaned

    @property
    def arrangement(self) -> Arrangement:
        return [*self.cleaned_data["holidays"], *self.cleaned_data["working_days"]]


def _year_or_404(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Http404
    return year


@dataclass(frozen=True)
class YearRow:
    year: int
    entry: CalendarYear | None

    @property
    def source(self) -> str:
        """Where the year's arrangement came from, in words a management admin reads: the
        State Council notice as bundled with the portal, or what was typed when it was entered."""
        if self.entry is None:
            return "—"
        if self.entry.source.startswith(PACKAGE_SOURCE_PREFIX):
            version = self.entry.source.removeprefix(PACKAGE_SOURCE_PREFIX).strip()
            return _(
                "State Council notice, from the holiday data shipped with the portal (%(version)s)"
            ) % {"version": version or "?"}
        return self.entry.source


class CalendarIndexPage(RoleRequiredMixin, TemplateView):
    """The years of the calendar: the published ones (source, entered at) and, up to next
    year, those whose due dates are provisional, each linking to its entry page."""

    allowed_roles = (Role.MANAGEMENT_ADMIN,)
    template_name = "accreditation/calendar_years.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        stored = {entry.year: entry for entry in CalendarYear.objects.order_by("-year")}
        next_year = local_date(timezone.now()).year + 1
        years = sorted({*stored, *range(FIRST_YEAR, next_year + 1)}, reverse=True)
        context["rows"] = [YearRow(year=year, entry=stored.get(year)) for year in years]
        context["first_year"] = FIRST_YEAR
        return context


class CalendarEntryPage(RoleRequiredMixin, View):
    """Enter ``year``'s arrangement: the form, then its preview, then Confirm publishes."""

    allowed_roles = (Role.MANAGEMENT_ADMIN,)
    template_name = "accreditation/calendar_entry.html"

    def _initial(self, year: int) -> dict[str, str]:
        entry = CalendarYear.objects.filter(year=year).first()
        if entry is not None:
            days: Arrangement = list(entry.days.values_list("date", "is_working_day", "name"))
            source = entry.source
        else:
            days = provisional_arrangement(year)
            source = ""
        return {
            "source": source,
            "holidays": _lines(days, working=False),
            "working_days": _lines(days, working=True),
        }

    def _render(
        self, request: HttpRequest, year: int, form: ArrangementForm, **extra: Any
    ) -> HttpResponse:
        context = {
            "year": year,
            "form": form,
            "entry": CalendarYear.objects.filter(year=year).first(),
            "statutory": statutory_holidays(year),
            **extra,
        }
        return render(request, self.template_name, context)

    def get(self, request: HttpRequest, year: int) -> HttpResponse:
        year = _year_or_404(year)
        form = ArrangementForm(initial=self._initial(year), year=year)
        return self._render(request, year, form)

    def post(self, request: HttpRequest, year: int) -> HttpResponse:
        year = _year_or_404(year)
        form = ArrangementForm(request.POST, year=year)
        action = request.POST.get("action", "preview")
        if not form.is_valid() or action == "edit":
            return self._render(request, year, form)
        if action != "publish":
            preview = arrangement_preview(year=year, days=form.arrangement, limit=PREVIEW_ROWS)
            return self._render(
                request,
                year,
                form,
                preview=preview,
                moves=[(move, moved_label(move.working_days)) for move in preview.moves],
                holidays=[day for day in form.arrangement if not day[1]],
                working_days=[day for day in form.arrangement if day[1]],
            )
        try:
            calendar_year_publish(
                year=year, days=form.arrangement, source=form.cleaned_data["source"]
            )
        except ValidationError as error:
            form_errors_apply(form, error, renamed={"days": "holidays"})
            return self._render(request, year, form)
        messages.success(
            request,
            _("The arrangement for %(year)s is published; open due dates are recomputed.")
            % {"year": year},
        )
        return redirect("calendar_arrangements")


def moved_label(working_days: int) -> str:
    """How far a due date moves: "3 working days later", "1 working day earlier"."""
    if working_days >= 0:
        return ngettext(
            "%(count)d working day later", "%(count)d working days later", working_days
        ) % {"count": working_days}
    return ngettext(
        "%(count)d working day earlier", "%(count)d working days earlier", -working_days
    ) % {"count": -working_days}
