"""The centre admin's page of deadlines and on-time rates.

A centre administrator sees their own centre, per reviewer; the management administrator sees
every centre, and one centre per reviewer with ``?centre=<id>``.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from accounts.models import Centre, Role, User
from accounts.services import centre_find
from accounts.signin.permissions import RoleRequiredMixin
from common.replicas import replica_reads

from .calendar import local_date
from .deadlines import on_time_rates, overdue_applications

PERIODS = {
    30: _("Last 30 days"),
    90: _("Last 90 days"),
    365: _("Last 365 days"),
}
DEFAULT_PERIOD = 30


class DeadlinesView(RoleRequiredMixin, TemplateView):
    allowed_roles = (Role.CENTRE_ADMIN, Role.MANAGEMENT_ADMIN)
    template_name = "accreditation/deadlines.html"

    def _period(self) -> int:
        try:
            days = int(self.request.GET.get("period", DEFAULT_PERIOD))
        except ValueError:
            return DEFAULT_PERIOD
        return days if days in PERIODS else DEFAULT_PERIOD

    def _centre(self, user: User) -> Centre | None:
        """The centre shown: the centre admin's own; for the management admin the one asked
        for, or None for all."""
        if user.role == Role.CENTRE_ADMIN:
            if user.centre is None:
                raise Http404
            return user.centre
        wanted = self.request.GET.get("centre", "")
        if not wanted:
            return None
        if not (wanted.isascii() and wanted.isdigit() and len(wanted) <= 12):
            raise Http404
        centre = centre_find(pk=int(wanted))
        if centre is None:
            raise Http404
        return centre

    @replica_reads
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # A report: figures a few seconds old are as good, and a replica may answer.
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user: User = self.request.user  # type: ignore[assignment]
        centre = self._centre(user)
        period = self._period()
        today = local_date(timezone.now())
        since = today - datetime.timedelta(days=period - 1)
        report = on_time_rates(centre=centre, since=since, today=today)
        overdue, overdue_count = overdue_applications(centre=centre, today=today)
        context |= {
            "report": report,
            "centre": centre,
            "by_reviewer": centre is not None,
            "is_management": user.role == Role.MANAGEMENT_ADMIN,
            "periods": list(PERIODS.items()),
            "period": period,
            "overdue": overdue,
            "overdue_count": overdue_count,
        }
        return context
