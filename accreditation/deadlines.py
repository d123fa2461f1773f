"""The deadline sweep and the on-time report.

A decision is due at the end of ``Application.due_on`` (Beijing time). The periodic task
:func:`accreditation.tasks.deadline_sweep_task` calls :func:`deadline_sweep`, which reminds the
reviewer from ``remind_on`` on (three working days before the due date) and, once the due date has
passed, tells the centre's administrators. Each notice goes out once, whatever retries and racing
workers do: a row is claimed by a conditional ``UPDATE`` of ``reminded_at`` / ``escalated_at``
and its notices are written in the same transaction.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import Centre, Notification, Role, User
from accounts.services import (
    Notice,
    accounts_lock,
    centre_admins_of,
    centres_at_work_or,
    notify_batch,
    users_or_centre_reviewers,
)

from .calendar import WorkingCalendar, local_date
from .models import OPEN_STATES, Application, ApplicationState, Decision

logger = logging.getLogger(__name__)

# Rows claimed per transaction: short transactions and bounded memory, however many are due.
BATCH_SIZE = 500
# Written exactly as the condition of the partial indexes app_sweep_remind and app_sweep_escalate
# (and app_queue_due), so that PostgreSQL can prove the query's rows are all in the index.
OPEN = Q(state__in=[s.value for s in OPEN_STATES])
# Overdue applications listed on the deadlines page.
OVERDUE_SHOWN = 200


class SweepResult(NamedTuple):
    reminded: int
    escalated: int


def deadline_sweep(*, now: datetime.datetime | None = None) -> SweepResult:
    """Send the reminders and escalations that are due on ``now``'s Beijing date and return how
    many applications got each. Safe to run in several workers at once and to retry."""
    now = now or timezone.now()
    today = local_date(now)
    reminded = _sweep(
        due=Application.objects.filter(
            OPEN, reminded_at__isnull=True, remind_on__lte=today, due_on__gte=today
        ),
        index_column="remind_on",
        stamp="reminded_at",
        now=now,
        send=_send_reminders,
    )
    escalated = _sweep(
        due=Application.objects.filter(OPEN, escalated_at__isnull=True, due_on__lt=today),
        index_column="due_on",
        stamp="escalated_at",
        now=now,
        send=_send_escalations,
    )
    return SweepResult(reminded=reminded, escalated=escalated)


def _sweep(
    *,
    due: QuerySet[Application],
    index_column: str,
    stamp: str,
    now: datetime.datetime,
    send: Callable[[list[Application]], None],
) -> int:
    """Claim the ``due`` rows batch by batch, each batch in its own transaction together with
    its notices: a crash or a failed notice rolls back the claim too, and the next sweep tries
    again."""
    total = 0
    while True:
        with transaction.atomic():
            # The learners' accounts first, as everywhere: a closure holds the account while it
            # rewrites the holder's user row and withdraws the applications, and a sweep that
            # held an application first, then wrote a notice to that user (a reviewer may hold
            # a learning account too), waited for the closure that waited for it (deadlock).
            # SKIP LOCKED on both: a second worker sweeping at the same moment, or a closure
            # or a decision holding an account, is passed over, not queued behind; the rows
            # passed over are claimed by a later sweep (or withdrawn by the closure). (No
            # effect on SQLite, whose writers take turns for the whole database.)
            candidates = list(
                due.order_by(index_column, "pk").values_list("pk", "account_id")[:BATCH_SIZE]
            )
            if not candidates:
                return total
            accounts = accounts_lock(
                (account_id for _pk, account_id in candidates), skip_locked=True
            )
            batch = list(
                due.filter(pk__in=[pk for pk, _account in candidates], account_id__in=accounts)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by(index_column, "pk")
                .values_list("pk", flat=True)
            )
            # The claim: only rows still unclaimed are updated. With the locks above it is a
            # formality on PostgreSQL; elsewhere it is what keeps a second sweep from claiming
            # a row twice.
            due.filter(pk__in=batch).update(**{stamp: now})
            claimed = list(
                Application.objects.filter(pk__in=batch, **{stamp: now})
                .select_related("outcome", "assigned_to")
                .order_by("pk")
            )
            send(claimed)
            total += len(claimed)
        if len(candidates) < BATCH_SIZE or not batch:
            # Fewer than a batch were due, or every one is held by someone else: the next
            # sweep takes what is left.
            return total


def _centre_admins(centre_ids: Iterable[int]) -> dict[int, list[User]]:
    admins: dict[int, list[User]] = defaultdict(list)
    ids = set(centre_ids)
    if not ids:
        return admins
    for admin in centre_admins_of(centre_ids=ids):
        admins[admin.centre_id].append(admin)  # type: ignore[index]
    return admins


def application_link(application_id: int) -> str:
    """The centre's page of the application."""
    try:
        return reverse("centre-application", args=[application_id])
    except NoReverseMatch:
        return f"/centre/applications/{application_id}/"


def _reviewer_name(application: Application) -> str:
    # The text of the notice needs a name; it is rendered in the reader's language later, so
    # "nobody" cannot be written here in words.
    reviewer = application.assigned_to
    return (reviewer.name or reviewer.username) if reviewer else "—"


def _notice_params(application: Application) -> dict[str, Any]:
    due_on = application.due_on
    return {
        "outcome": application.outcome.title,
        "application": application.pk,
        # Open applications always have a due date (a database constraint says so).
        "due_on": due_on.isoformat() if due_on else "",
    }


def _send_reminders(applications: list[Application]) -> None:
    """The assigned reviewer; nobody assigned (or the reviewer has left): the centre's
    administrators, who will want to assign it."""
    unassigned = [a for a in applications if a.assigned_to is None or not a.assigned_to.is_active]
    admins = _centre_admins(a.centre_id for a in unassigned)
    notices: list[Notice] = []
    for application in applications:
        reviewer = application.assigned_to
        recipients = (
            [reviewer]
            if reviewer is not None and reviewer.is_active
            else admins.get(application.centre_id, [])
        )
        _notify_all(
            application,
            recipients=recipients,
            kind=Notification.Kind.DEADLINE_REMINDER,
            params=_notice_params(application),
            # Keyed by the due date: a clock that resumed after supplementary material has a
            # new due date, and its reviewer is reminded of that one too.
            key=f"application:{application.pk}:reminder:{application.due_on}",
            notices=notices,
        )
    notify_batch(notices)


def _send_escalations(applications: list[Application]) -> None:
    admins = _centre_admins(a.centre_id for a in applications)
    notices: list[Notice] = []
    for application in applications:
        _notify_all(
            application,
            recipients=admins.get(application.centre_id, []),
            kind=Notification.Kind.DEADLINE_ESCALATION,
            params=_notice_params(application) | {"reviewer": _reviewer_name(application)},
            key=f"application:{application.pk}:escalation:{application.due_on}",
            notices=notices,
        )
    notify_batch(notices)


def _notify_all(
    application: Application,
    *,
    recipients: list[User],
    kind: str,
    params: dict[str, Any],
    key: str,
    notices: list[Notice],
) -> None:
    """Add the application's notice for each of ``recipients`` to ``notices``; the caller
    stores the whole batch's at once (one notice per recipient and key, as ever)."""
    if not recipients:
        # Claimed all the same: sweeping it again would find no one either, every 15 minutes.
        logger.warning("No one to tell about application %s (%s)", application.pk, kind)
        return
    link = application_link(application.pk)
    notices.extend(
        Notice(recipient=recipient, kind=kind, params=params, link=link, key=key)
        for recipient in recipients
    )


# --- The on-time report -------------------------------------------------------------------------


@dataclass(kw_only=True)
class Rates:
    """Decisions in the period and how many were on time; what is undecided now."""

    decided: int = 0
    on_time: int = 0
    open: int = 0
    overdue: int = 0
    awaiting_supplement: int = 0

    @property
    def rate(self) -> float | None:
        """Share of the decisions made on time; None when nothing was decided."""
        return self.on_time / self.decided if self.decided else None

    @property
    def percent(self) -> int | None:
        rate = self.rate
        return None if rate is None else round(rate * 100)

    def add(self, other: Rates) -> None:
        self.decided += other.decided
        self.on_time += other.on_time
        self.open += other.open
        self.overdue += other.overdue
        self.awaiting_supplement += other.awaiting_supplement


@dataclass(kw_only=True)
class CentreRates(Rates):
    centre: Centre


@dataclass(kw_only=True)
class ReviewerRates(Rates):
    """``reviewer`` None: the undecided applications that nobody is assigned to."""

    centre: Centre
    reviewer: User | None


@dataclass(kw_only=True)
class OnTimeReport:
    today: datetime.date
    since: datetime.date | None
    centres: list[CentreRates]
    reviewers: list[ReviewerRates]
    total: Rates = field(default_factory=Rates)


def _start_of(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of ``day`` in Beijing (the portal's time zone)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def on_time_rates(
    *,
    centre: Centre | None = None,
    since: datetime.date | None = None,
    today: datetime.date | None = None,
) -> OnTimeReport:
    """Per centre and per reviewer: the decisions made since ``since`` (all when None) and how
    many of them were on time, and the applications open, overdue and awaiting supplementary
    material now. One centre, or every centre when ``centre`` is None.

    A decision counts for whoever made it; an undecided application for the reviewer it is
    assigned to. At most four queries, whatever the number of centres, reviewers and
    applications."""
    today = today or local_date(timezone.now())
    decisions = Decision.objects.all()
    undecided = Application.objects.filter(
        state__in=[*(s.value for s in OPEN_STATES), ApplicationState.SUPPLEMENT_REQUESTED]
    )
    if centre is not None:
        decisions = decisions.filter(application__centre=centre)
        undecided = undecided.filter(centre=centre)
    if since is not None:
        decisions = decisions.filter(decided_at__gte=_start_of(since))

    cells: dict[tuple[int, int | None], Rates] = defaultdict(Rates)
    for row in (
        decisions.order_by()
        .values("application__centre_id", "decided_by_id")
        .annotate(decided=Count("pk"), on_time=Count("pk", filter=Q(on_time=True)))
    ):
        cell = cells[(row["application__centre_id"], row["decided_by_id"])]
        cell.decided, cell.on_time = row["decided"], row["on_time"]
    for counts in (
        undecided.order_by()
        .values("centre_id", "assigned_to_id")
        .annotate(
            open=Count("pk", filter=OPEN),
            overdue=Count("pk", filter=OPEN & Q(due_on__lt=today)),
            awaiting_supplement=Count("pk", filter=Q(state=ApplicationState.SUPPLEMENT_REQUESTED)),
        )
    ):
        cell = cells[(counts["centre_id"], counts["assigned_to_id"])]
        cell.open = counts["open"]
        cell.overdue = counts["overdue"]
        cell.awaiting_supplement = counts["awaiting_supplement"]

    centre_ids = {centre_id for centre_id, _ in cells}
    if centre is not None:
        centres = {centre.pk: centre}
    else:
        # Every branch centre at work, and any other centre with something to count.
        centres = {c.pk: c for c in centres_at_work_or(ids=centre_ids)}
    # Reviewers with nothing to show still get their row of zeros.
    people = users_or_centre_reviewers(
        user_ids={user_id for _, user_id in cells if user_id is not None},
        centre_ids=list(centres),
    )
    for person in people:
        if person.centre_id in centres and person.role == Role.CENTRE_REVIEWER:
            cells.setdefault((person.centre_id, person.pk), Rates())
    users = {u.pk: u for u in people}

    by_centre = {pk: CentreRates(centre=c) for pk, c in centres.items()}
    reviewers: list[ReviewerRates] = []
    total = Rates()
    for (centre_id, user_id), cell in cells.items():
        if centre_id not in by_centre:
            continue
        by_centre[centre_id].add(cell)
        total.add(cell)
        reviewer_row = ReviewerRates(
            centre=centres[centre_id], reviewer=users.get(user_id) if user_id else None
        )
        reviewer_row.add(cell)
        reviewers.append(reviewer_row)
    reviewers.sort(
        key=lambda r: (
            r.centre.code,
            r.reviewer is None,
            (r.reviewer.name or r.reviewer.username) if r.reviewer else "",
        )
    )
    return OnTimeReport(
        today=today,
        since=since,
        centres=list(by_centre.values()),
        reviewers=reviewers,
        total=total,
    )


@dataclass(frozen=True)
class OverdueApplication:
    application: Application
    working_days_overdue: int

    @property
    def link(self) -> str:
        return application_link(self.application.pk)


def overdue_applications(
    *, centre: Centre | None = None, today: datetime.date | None = None, limit: int = OVERDUE_SHOWN
) -> tuple[list[OverdueApplication], int]:
    """The open applications past their due date, longest overdue first (at most ``limit``),
    and how many there are in all."""
    today = today or local_date(timezone.now())
    overdue = Application.objects.filter(OPEN, due_on__lt=today)
    if centre is not None:
        overdue = overdue.filter(centre=centre)
    rows = list(
        overdue.select_related("outcome", "assigned_to", "centre").order_by("due_on", "pk")[:limit]
    )
    count = len(rows) if len(rows) < limit else overdue.count()
    if not rows:
        return [], count
    # One reading of the calendar for the whole list, not one per row.
    due_dates = [row.due_on for row in rows if row.due_on is not None]
    calendar = WorkingCalendar(min(due_dates), today)
    return [
        OverdueApplication(
            application=row,
            working_days_overdue=calendar.between(row.due_on, today),  # type: ignore[arg-type]
        )
        for row in rows
    ], count
