"""Admin site of accreditation, read-only: the working-day calendar (entered and published on the
portal's calendar page, which re-arms the deadline sweep and tells the people whose due date
moved), the catalogue, applications, events and decisions change only through their services
(versions are never edited, applications move only through the workflow)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import (
    Application,
    ApplicationEvent,
    CalendarDay,
    CalendarYear,
    CatalogueEntry,
    CatalogueEntryVersion,
    Decision,
)


class ReadOnly:
    """Shown, never changed here: the rows change only through their services (or, for the
    calendar, its page)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- The calendar -------------------------------------------------------------------------------


class CalendarDayInline(ReadOnly, admin.TabularInline):
    model = CalendarDay
    fields = ["date", "is_working_day", "name"]
    extra = 0
    can_delete = False


@admin.register(CalendarYear)
class CalendarYearAdmin(ReadOnly, admin.ModelAdmin):
    """Shown here, entered on the portal's calendar page (``calendar_arrangement_entry``): only
    that page checks the statutory holidays, previews the due dates that move and publishes
    through ``calendar_year_publish``, which re-arms the deadline sweep and tells the people
    whose due date moved. An edit here would do none of that."""

    list_display = ["year", "source", "exception_count", "published_at", "entry_link"]
    fields = ["year", "source", "published_at", "entry_link"]
    readonly_fields = ["year", "source", "published_at", "entry_link"]
    search_fields = ["year", "source"]
    inlines = [CalendarDayInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CalendarYear]:
        return super().get_queryset(request).annotate(exception_count=Count("days"))

    @admin.display(description=_("exceptions"), ordering="exception_count")
    def exception_count(self, obj: Any) -> int:
        return int(obj.exception_count)

    @admin.display(description=_("enter or change"))
    def entry_link(self, obj: Any) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("calendar_arrangement_entry", args=[obj.year]),
            _("On the calendar page"),
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        messages.info(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                _("Arrangements are entered and published on the portal's calendar page:"),
                reverse("calendar_arrangements"),
                _("Working-day calendar"),
            ),
        )
        return super().changelist_view(request, extra_context)


# --- Read-only records --------------------------------------------------------------------------


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    """Shown, never changed here: the rows change only through their services."""


class CatalogueEntryVersionInline(ReadOnly, admin.StackedInline):
    model = CatalogueEntryVersion
    extra = 0
    can_delete = False
    show_change_link = False


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
