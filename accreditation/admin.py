"""Admin site of accreditation: the management administrator keeps the working-day calendar here
(each year's arrangement is published only in the preceding autumn). The catalogue,
applications, events and decisions are shown read-only: they change only through their services
(versions are never edited, applications move only through the workflow)."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .calendar import calendar_day_problem, deadlines_recompute
from .models import (
    Application,
    ApplicationEvent,
    CalendarDay,
    CalendarYear,
    CatalogueEntry,
    CatalogueEntryVersion,
    Decision,
)

# --- The calendar -------------------------------------------------------------------------------


class CalendarDayFormSet(BaseInlineFormSet):
    """Each exception must lie in the year being edited, and be an exception: a holiday on a
    weekday or a working day on a weekend (the same rule as ``calendar_year_publish``)."""

    def clean(self) -> None:
        super().clean()
        year = self.instance.year
        if not year:
            return
        for form in self.forms:
            day = form.cleaned_data.get("date") if hasattr(form, "cleaned_data") else None
            if day is None or form.cleaned_data.get("DELETE"):
                continue
            problem = calendar_day_problem(year, day, form.cleaned_data["is_working_day"])
            if problem is not None:
                form.add_error("date", problem)


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    formset = CalendarDayFormSet
    fields = ["date", "is_working_day", "name"]
    extra = 3


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "exception_count", "published_at"]
    fields = ["year", "source", "published_at"]
    readonly_fields = ["published_at"]
    search_fields = ["year", "source"]
    inlines = [CalendarDayInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CalendarYear]:
        return super().get_queryset(request).annotate(exception_count=Count("days"))

    @admin.display(description=_("exceptions"), ordering="exception_count")
    def exception_count(self, obj: Any) -> int:
        return int(obj.exception_count)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        obj.published_at = timezone.now()
        super().save_model(request, obj, form, change)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        # A year renumbered from an earlier one moves deadlines from that earlier year on.
        year = form.instance.year
        self._recompute(request, min(year, form.initial.get("year") or year))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        year = obj.year
        super().delete_model(request, obj)
        self._recompute(request, year)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarYear]) -> None:
        years = list(queryset.values_list("year", flat=True))
        super().delete_queryset(request, queryset)
        if years:
            self._recompute(request, min(years))

    def _recompute(self, request: HttpRequest, year: int) -> None:
        changed = deadlines_recompute(since=datetime.date(year, 1, 1))
        self.message_user(
            request,
            ngettext(
                "The due date of %(count)d open application was recomputed.",
                "The due dates of %(count)d open applications were recomputed.",
                changed,
            )
            % {"count": changed},
            messages.INFO,
        )


# --- Read-only records --------------------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never changed here: the rows change only through their services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CatalogueEntryVersionInline(admin.StackedInline):
    model = CatalogueEntryVersion
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CatalogueEntry)
class CatalogueEntryAdmin(ReadOnlyAdmin):
    list_display = ["code", "created_at"]
    search_fields = ["code", "versions__name", "versions__name_en"]
    inlines = [CatalogueEntryVersionInline]


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["id", "outcome", "account", "centre", "state", "submitted_at", "due_on"]
    list_filter = ["state", "centre", "due_is_provisional"]
    list_select_related = ["outcome", "account", "centre"]
    search_fields = ["=id", "account__number"]
    date_hierarchy = "submitted_at"
    # There may be a million rows: no second COUNT(*) of the whole table on every page.
    show_full_result_count = False


@admin.register(ApplicationEvent)
class ApplicationEventAdmin(ReadOnlyAdmin):
    list_display = ["application", "action", "from_state", "to_state", "actor", "occurred_at"]
    list_filter = ["action"]
    list_select_related = ["application__outcome", "actor"]
    search_fields = ["=application__id"]
    show_full_result_count = False


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["application", "result", "basis", "decided_by", "decided_at", "on_time"]
    list_filter = ["result", "basis", "on_time"]
    list_select_related = ["application__outcome", "decided_by"]
    search_fields = ["=application__id"]
    show_full_result_count = False
