"""The lifelong learning file, composed from the apps that hold its parts. The learner's page,
the staff view and the PDF all read it from here, so they always show the same record."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import LearningAccount
from accounts.services import account_totals, staff_accesses_of
from accreditation.catalogue import catalogue_matches_of_account
from accreditation.models import UNDECIDED_STATES
from accreditation.services import applications_list_of
from accreditation.views import days_left_set
from common.pdf import BankDocument
from outcomes.models import LearningOutcome
from outcomes.services import outcomes_in_file, outcomes_in_file_without_evidence
from transfers.services import learning_goals_of


@dataclass
class LearningFile:
    account: LearningAccount
    hours: Decimal
    credits: Decimal
    goals: list[Any] = field(default_factory=list)
    outcomes: list[Any] = field(default_factory=list)
    transactions: list[Any] = field(default_factory=list)
    staff_accesses: list[Any] = field(default_factory=list)


def learning_file_of(account: LearningAccount, *, history_limit: int = 100) -> LearningFile:
    hours, credits = account_totals(account=account)
    return LearningFile(
        account=account,
        hours=hours,
        credits=credits,
        goals=list(learning_goals_of(account=account)),
        outcomes=accreditation_of(account, list(outcomes_in_file(account=account))),
        transactions=list(account.transactions.select_related("actor")[:history_limit]),
        staff_accesses=list(staff_accesses_of(account=account)[:history_limit]),
    )


def accreditation_of(
    account: LearningAccount, outcomes: list[LearningOutcome]
) -> list[LearningOutcome]:
    """Give each outcome what the file shows of its accreditation: ``would_earn``, the
    catalogue version a saved outcome matches (what accreditation against it would give), and
    ``latest_application`` with its working days left. A few queries for the whole list."""
    saved = [o for o in outcomes if o.status == LearningOutcome.Status.SAVED]
    matches = catalogue_matches_of_account(account.pk, saved) if saved else {}
    latest: dict[int, Any] = {}
    if any(o.status != LearningOutcome.Status.SAVED for o in outcomes):
        # Newest first: the first application seen of an outcome is its latest.
        for application in applications_list_of(account=account):
            latest.setdefault(application.outcome_id, application)
    days_left_set(latest.values())
    for outcome in outcomes:
        outcome.would_earn = matches.get(outcome.pk)  # type: ignore[attr-defined]
        outcome.latest_application = latest.get(outcome.pk)  # type: ignore[attr-defined]
    return outcomes


@dataclass
class LearnerDashboard:
    hours: Decimal
    credits: Decimal
    # Applications still waiting for a decision, with their working days left.
    pending: list[Any]
    # Saved outcomes that can be submitted for accreditation, with what they would earn.
    saved: list[Any]


def learner_dashboard_of(account: LearningAccount) -> LearnerDashboard:
    """The dashboard of ``account``, read with its totals (``account_with_totals_of``)."""
    hours, credits = account.hours, account.credits  # type: ignore[attr-defined]
    # The dashboard lists no evidence: the outcomes without their files.
    outcomes = accreditation_of(account, outcomes_in_file_without_evidence(account=account))
    pending = [
        o.latest_application  # type: ignore[attr-defined]
        for o in outcomes
        if o.latest_application is not None  # type: ignore[attr-defined]
        and o.latest_application.state in UNDECIDED_STATES  # type: ignore[attr-defined]
    ]
    pending.sort(key=lambda a: (a.due_on is None, a.due_on or a.submitted_at.date()))
    saved = [o for o in outcomes if o.status == LearningOutcome.Status.SAVED]
    return LearnerDashboard(hours=hours, credits=credits, pending=pending, saved=saved)


def learning_file_pdf(file: LearningFile) -> bytes:
    """The lifelong learning file as a PDF: what the learner's page shows, identity masked."""
    account = file.account
    holder = account.holder
    pdf = BankDocument(str(_("Lifelong learning file")))
    pdf.heading(str(_("Lifelong learning file")))
    pdf.facts(
        [
            (str(_("Account number")), account.number),
            (str(_("Name")), holder.name if holder else ""),
            (str(_("Identity document")), str(account.get_id_type_display())),
            (str(_("Identity number")), account.id_number_masked),
            (str(_("Date of birth")), account.birth_date.isoformat() if account.birth_date else ""),
            (str(_("Learning hours")), str(file.hours)),
            (str(_("Credits")), str(file.credits)),
            (str(_("Issued")), timezone.localtime().strftime("%Y-%m-%d %H:%M")),
        ]
    )
    if file.goals:
        pdf.heading(str(_("Learning goals")), size=12)
        pdf.rows_table(
            [str(_("Programme")), str(_("Institution")), str(_("Set on"))],
            [
                [
                    goal.programme.display_name,
                    goal.programme.institution.name,
                    timezone.localtime(goal.created_at).strftime("%Y-%m-%d"),
                ]
                for goal in file.goals
            ],
            widths=[80, 64, 30],
        )
    pdf.heading(str(_("Learning programmes")), size=12)
    if file.outcomes:
        pdf.rows_table(
            [str(_("Learning programme")), str(_("Process")), str(_("Time")), str(_("Result"))],
            [
                [
                    f"{outcome.title}\n{outcome.get_kind_display()}",
                    " · ".join(
                        part
                        for part in (
                            str(outcome.get_mode_display()),
                            outcome.provider,
                            outcome.place,
                        )
                        if part
                    ),
                    _period(outcome),
                    " · ".join(
                        part for part in (outcome.result, str(outcome.get_status_display())) if part
                    ),
                ]
                for outcome in file.outcomes
            ],
            widths=[58, 46, 36, 34],
        )
    else:
        pdf.set_font(pdf.font_family, size=10)
        pdf.multi_cell(0, 6, str(_("No learning outcomes are saved in this file yet.")))
        pdf.ln(4)
    pdf.heading(str(_("Account history")), size=12)
    pdf.rows_table(
        [str(_("Time")), str(_("Event"))],
        [
            [
                timezone.localtime(txn.occurred_at).strftime("%Y-%m-%d %H:%M"),
                str(txn.get_kind_display()),
            ]
            for txn in file.transactions
        ],
        widths=[45, 129],
    )
    return pdf.render()


def _period(outcome: Any) -> str:
    """When the learning happened, with its hours: what the file's "time" column says."""
    if outcome.started_on and outcome.ended_on:
        when = f"{outcome.started_on:%Y-%m-%d} – {outcome.ended_on:%Y-%m-%d}"
    else:
        when = f"{outcome.achieved_on:%Y-%m-%d}"
    if outcome.hours:
        when += "\n" + str(_("%(hours)s hours") % {"hours": outcome.hours})
    return when
