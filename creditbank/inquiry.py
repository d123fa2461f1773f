"""The learner's inquiry into their own learning experience: their outcomes filtered by period,
kind, status and provider, the totals of hours and credits per year, and a chart of them drawn
by the server as inline SVG.

Two kinds of yearly totals, kept apart because they mean different things:
- *accredited*: hours and credits booked in the ledger's accumulated book, by the year of the
  entry;
- *declared*: the hours the learner gave for their outcomes not accredited yet, by the year
  they were achieved (an accredited outcome is counted once, in its ledger year).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import LearningAccount
from accounts.services import ledger_accumulated_by_year
from common.forms import DateInput
from outcomes.models import LearningOutcome, OutcomeKind
from outcomes.services import outcome_hours_declared_by_year

ZERO = Decimal(0)


class InquiryForm(forms.Form):
    """The filters. Every one is optional; an empty form lists everything."""

    achieved_from = forms.DateField(label=_("Achieved from"), required=False, widget=DateInput())
    achieved_to = forms.DateField(label=_("Achieved until"), required=False, widget=DateInput())
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *OutcomeKind.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *LearningOutcome.Status.choices],
    )
    provider = forms.CharField(
        label=_("Provider or issuing body"), required=False, max_length=200, strip=True
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("achieved_from"), data.get("achieved_to")
        if start and end and end < start:
            self.add_error("achieved_to", _("The end of the period is before its start."))
        return data

    def valid_filters(self) -> dict[str, Any]:
        """The filters that are valid; a bad one is left out (the form shows its error)."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {k: v for k, v in cleaned.items() if v not in (None, "") and k not in self.errors}


@dataclass
class YearTotals:
    year: int
    accredited_hours: Decimal = ZERO
    accredited_credits: Decimal = ZERO
    declared_hours: Decimal = ZERO


def yearly_totals(*, account: LearningAccount) -> list[YearTotals]:
    """Per year, oldest first: hours and credits accredited (ledger, accumulated book, by entry
    year) and hours declared for outcomes in the file (by year achieved). Two queries."""
    years: dict[int, YearTotals] = {}
    for row in ledger_accumulated_by_year(account=account):
        totals = years.setdefault(row["year"], YearTotals(row["year"]))
        totals.accredited_hours = row["hours"] or ZERO
        totals.accredited_credits = row["credits"] or ZERO
    # Outcomes not accredited yet only: an accredited one is counted once, in the year of its
    # accreditation (the ledger), not again in the year it was achieved.
    for mine in outcome_hours_declared_by_year(account=account, unaccredited_only=True):
        totals = years.setdefault(mine["year"], YearTotals(mine["year"]))
        totals.declared_hours = mine["hours"] or ZERO
    return [years[year] for year in sorted(years)]


# Chart geometry, in SVG user units. The drawing is about as wide as a phone's card (about 320
# px at 390), so one unit is about one CSS pixel there and the 13-unit text stays legible (at
# least 11 px; a 640-unit drawing halved it to 6 px); the CSS caps its width on a desktop.
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 320, 200, 10, 30, 28
FONT = 13
LEGEND_STEP = 150
HOURS_SERIES = (("accredited_hours", "#1f5fa8"), ("declared_hours", "#7a9a3a"))
CREDITS_SERIES = (("accredited_credits", "#d98c1a"),)


def totals_chart_svg(totals: list[YearTotals]) -> SafeString:
    """Two bar charts per year, since hours and credits are different units: learning hours
    (accredited, and declared for outcomes not accredited yet) and credits, each on its own
    axis, with the value written above each bar. Numbers and escaped labels only."""
    if not totals:
        return mark_safe("")  # nosec B308
    labels = {
        "accredited_hours": gettext("Accredited hours"),
        "accredited_credits": gettext("Accredited credits"),
        "declared_hours": gettext("Declared hours"),
    }
    hours = _bar_chart(
        totals, HOURS_SERIES, labels, gettext("Learning hours per year"), "hours-chart"
    )
    credits = _bar_chart(
        totals, CREDITS_SERIES, labels, gettext("Credits per year"), "credits-chart"
    )
    # Numbers and escaped text only.
    return mark_safe(  # noqa: S308  # nosec B308, B703
        f'<div class="charts" data-testid="totals-chart">{hours}{credits}</div>'
    )


def _bar_chart(
    totals: list[YearTotals],
    series: tuple[tuple[str, str], ...],
    labels: dict[str, str],
    title_text: str,
    testid: str,
) -> str:
    title = escape(title_text)
    peak = max((getattr(t, name) for t in totals for name, _c in series), default=ZERO)
    plot_h = HEIGHT - BOTTOM - TOP
    group = (WIDTH - LEFT) / len(totals)
    bar = min(28.0, group / (len(series) + 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + 24}" '
        f'role="img" aria-label="{title}" data-testid="{testid}" class="chart">',
        f"<title>{title}</title>",
        f'<text x="0" y="12" font-size="{FONT}">{title}</text>',
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" '
        'stroke="#888"/>',
    ]
    for i, totals_of_year in enumerate(totals):
        x0 = LEFT + i * group + (group - bar * len(series)) / 2
        for j, (name, colour) in enumerate(series):
            value = getattr(totals_of_year, name)
            height = float(value / peak) * plot_h if peak > 0 and value > 0 else 0.0
            x = x0 + j * bar
            y = HEIGHT - BOTTOM - height
            label = escape(f"{labels[name]} {totals_of_year.year}: {value:g}")
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{height:.1f}" '
                f'fill="{colour}" data-series="{name}" data-year="{totals_of_year.year}" '
                f'data-value="{value:g}"><title>{label}</title></rect>'
                f'<text x="{x + bar / 2 - 1:.1f}" y="{y - 3:.1f}" font-size="{FONT}" '
                f'text-anchor="middle">{value:g}</text>'
            )
        parts.append(
            f'<text x="{x0 + bar * len(series) / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'font-size="{FONT}" text-anchor="middle">{totals_of_year.year}</text>'
        )
    legend_x = LEFT
    for name, colour in series:
        parts.append(
            f'<rect x="{legend_x}" y="{HEIGHT + 8}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{legend_x + 16}" y="{HEIGHT + 18}" font-size="{FONT}">'
            f"{escape(labels[name])}</text>"
        )
        legend_x += LEGEND_STEP
    parts.append("</svg>")
    return "".join(parts)
