"""What waits for the centre's staff, in counts, for their home page: one aggregate query per
figure group, never a query per application (the home page is opened after every sign-in)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User

from .calendar import local_date
from .models import OPEN_STATES, Application, ApplicationState, Decision

_OPEN = Q(state__in=[s.value for s in OPEN_STATES])
# The span over which a centre's on-time rate is shown on the home page (as on the deadlines
# page's default period).
ON_TIME_SPAN_DAYS = 30


@dataclass(frozen=True)
class QueueCounts:
    open: int
    overdue: int
    unassigned: int
    mine: int
    mine_overdue: int
    awaiting_supplement: int


def queue_counts(
    *, user: User, centre_id: int | None, today: datetime.date | None = None
) -> QueueCounts:
    """The applications owing a decision at ``centre_id`` (every centre when None): all of
    them, the overdue ones, the unassigned ones, the ones assigned to ``user``; one query."""
    today = today or local_date(timezone.now())
    qs = Application.objects.filter(
        state__in=[*(s.value for s in OPEN_STATES), ApplicationState.SUPPLEMENT_REQUESTED]
    )
    if centre_id is not None:
        qs = qs.filter(centre_id=centre_id)
    late = Q(due_on__lt=today)
    counts = qs.aggregate(
        open=Count("pk", filter=_OPEN),
        overdue=Count("pk", filter=_OPEN & late),
        unassigned=Count("pk", filter=_OPEN & Q(assigned_to__isnull=True)),
        mine=Count("pk", filter=_OPEN & Q(assigned_to=user)),
        mine_overdue=Count("pk", filter=_OPEN & Q(assigned_to=user) & late),
        awaiting_supplement=Count("pk", filter=Q(state=ApplicationState.SUPPLEMENT_REQUESTED)),
    )
    return QueueCounts(**counts)


def my_next_due(*, user: User, limit: int = 5) -> list[Application]:
    """The reviewer's own applications owing a decision, soonest due first; one query."""
    return list(
        Application.objects.filter(_OPEN, assigned_to=user)
        .select_related("outcome")
        .only("pk", "due_on", "due_is_provisional", "state", "outcome__title")
        .order_by("due_on", "pk")[:limit]
    )


@dataclass(frozen=True)
class OnTime:
    decided: int
    on_time: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.on_time / self.decided) if self.decided else None


def on_time_recently(*, centre_id: int | None, today: datetime.date | None = None) -> OnTime:
    """The decisions of the last ``ON_TIME_SPAN_DAYS`` days at the centre and how many were on
    time; one query."""
    today = today or local_date(timezone.now())
    since = today - datetime.timedelta(days=ON_TIME_SPAN_DAYS)
    # From the start of that day in Beijing, on the decision_time index (no function on it).
    start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
    decisions = Decision.objects.filter(decided_at__gte=start)
    if centre_id is not None:
        decisions = decisions.filter(application__centre_id=centre_id)
    counts = decisions.aggregate(decided=Count("pk"), on_time=Count("pk", filter=Q(on_time=True)))
    return OnTime(**counts)
