"""The rows of the centre's queue page as HTML, made in Python.

The page lists 50 applications; written as template markup, each row cost ~0.25 ms of
template work (about 30 variable lookups, a dozen ``if`` nodes, two ``date`` filters, a
``blocktranslate`` with its own context), 12-20 ms a page. Here the labels are translated once
per page and each row is one ``format_html``: the same markup, escaped the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext, pgettext

from .models import Application, ApplicationState


@dataclass(frozen=True)
class QueueLabels:
    """What every row says alike, in the page's language."""

    outcome: str
    account: str
    centre: str
    due: str
    state: str
    reviewer: str
    submitted: str
    provisional: str
    overdue: str
    due_today: str
    not_assigned: str

    @classmethod
    def now(cls) -> QueueLabels:
        return cls(
            outcome=gettext("Learning outcome"),
            account=gettext("Account number"),
            centre=gettext("Centre"),
            due=gettext("Due on"),
            state=gettext("State"),
            reviewer=gettext("Reviewer"),
            submitted=pgettext("submission date", "Submitted"),
            provisional=gettext("provisional"),
            overdue=gettext("Overdue"),
            due_today=gettext("Due today"),
            not_assigned=gettext("Not assigned"),
        )


def queue_rows(
    applications: Iterable[Application], *, prefix: str, is_management: bool
) -> list[SafeString]:
    """One ``<tr>`` per application (with ``days_left``, ``overdue`` and ``days_overdue`` set
    by ``days_left_set``); each links to ``<prefix><pk>/``."""
    labels = QueueLabels.now()
    return [_row(a, labels, prefix=prefix, is_management=is_management) for a in applications]


def _row(a: Application, labels: QueueLabels, *, prefix: str, is_management: bool) -> SafeString:
    submitted = timezone.localtime(a.submitted_at).strftime("%Y-%m-%d") if a.submitted_at else ""
    centre = (
        format_html('<td data-label="{}">{}</td>', labels.centre, a.centre.name)
        if is_management
        else ""
    )
    provisional = (
        format_html(' <span class="goal__meta">({})</span>', labels.provisional)
        if a.is_open and a.due_is_provisional
        else ""
    )
    reviewer = a.assigned_to.get_full_name() if a.assigned_to else labels.not_assigned
    return format_html(
        '<tr data-testid="queue-row"{}>'
        '<td data-label="{}"><a href="{}{}/">#{} {}</a><br>'
        '<span class="goal__meta">{} · {} {}</span></td>'
        '<td data-label="{}" class="nowrap">{}</td>{}'
        '<td data-label="{}"><span class="nowrap">{}</span>{}<br>{}</td>'
        '<td data-label="{}"><span class="badge badge--{}">{}</span></td>'
        '<td data-label="{}">{}</td></tr>',
        mark_safe(' class="row--overdue"') if getattr(a, "overdue", False) else "",
        labels.outcome,
        prefix,
        a.pk,
        a.pk,
        a.outcome.title,
        a.get_kind_display(),
        labels.submitted,
        submitted,
        labels.account,
        a.account.number,
        centre,
        labels.due,
        a.due_on.isoformat() if a.due_on else "—",
        provisional,
        _days_left(a, labels),
        labels.state,
        a.state,
        a.get_state_display(),
        labels.reviewer,
        reviewer,
    )


def _days_left(a: Application, labels: QueueLabels) -> SafeString | str:
    """What the clock says: stopped, overdue, due today or the working days left."""
    days_left = getattr(a, "days_left", None)
    if a.state == ApplicationState.SUPPLEMENT_REQUESTED:
        days = days_left or 0
        text = ngettext(
            "Clock stopped, %(days)s working day left when the learner resubmits",
            "Clock stopped, %(days)s working days left when the learner resubmits",
            days,
        ) % {"days": days}
        return format_html('<span class="clock-stopped" data-testid="days-left">{}</span>', text)
    if not a.is_open:
        return ""
    if getattr(a, "overdue", False):
        days = getattr(a, "days_overdue", 0)
        text = (
            ngettext("%(days)s working day overdue", "%(days)s working days overdue", days)
            % {"days": days}
            if days
            else labels.overdue
        )
        return format_html('<span class="overdue" data-testid="days-left">{}</span>', text)
    if days_left == 0:
        return format_html('<span data-testid="days-left">{}</span>', labels.due_today)
    days = days_left or 0
    text = ngettext("%(days)s working day left", "%(days)s working days left", days) % {
        "days": days
    }
    return format_html('<span class="goal__meta" data-testid="days-left">{}</span>', text)
