"""Closing an account while the background jobs work on its applications: the calendar's
recompute (after a publication) and the deadline sweep hold application rows and then write
notices; the closure holds the learner's account, rewrites the holder's user row and then
withdraws the account's applications. A notice to that user waits for the closure, which waits
for the job's application rows: "deadlock detected", unless the jobs take the accounts first.
PostgreSQL only: SQLite's writers take turns for the whole database."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import LearningAccount, Notification, Role
from accounts.rights import services as rights_services
from accreditation import calendar, deadlines
from accreditation.models import Application, ApplicationState
from tests.accounts.factories import PersonalAccountFactory, UserFactory
from tests.accreditation.factories import ApplicationFactory
from tests.accreditation.test_closure_races import (
    Round,
    closure_pauses,
    race_run,
)
from tests.locks import until_another_waits_on_a_lock
from tests.outcomes.factories import LearningOutcomeFactory

D = datetime.date


def _pauses(monkeypatch: Any, now: dict[str, Round]) -> None:
    """The closure pauses inside its transaction (the account locked, the holder's user row
    rewritten) just before the layers withdraw; the job pauses at its notices."""
    closure_pauses(monkeypatch, now)
    for module in (calendar, deadlines):
        notified = module.notify_batch

        def job_inside(notices: Any, notified: Any = notified) -> Any:
            if now["race"].first == "rival":
                now["race"].inside.set()
                until_another_waits_on_a_lock(now["race"].done)
            return notified(notices)

        monkeypatch.setattr(module, "notify_batch", job_inside)


@pytest.mark.django_db(transaction=True)
def test_a_closure_racing_the_calendars_recompute_never_deadlocks(postgres, reviewer, monkeypatch):
    """A year is published with 4 and 5 January off while a learner whose application's due date
    it moves closes the account: each order forced. Both finish; the application ends
    withdrawn, and the closed account keeps no notice."""
    now: dict[str, Round] = {}
    _pauses(monkeypatch, now)
    seen = []
    for year, first in ((2027, "close"), (2028, "rival")):
        race = now["race"] = Round(rival="recompute", first=first)
        account = PersonalAccountFactory()
        # From Mon 12-21 of the year before: 15 working days reach into January.
        application = ApplicationFactory(
            outcome=LearningOutcomeFactory(account=account),
            centre=reviewer.centre,
            assigned_to=reviewer,
            state=ApplicationState.IN_REVIEW,
            clock_started_on=D(year - 1, 12, 21),
        )
        before = application.due_on

        def close(account: LearningAccount = account) -> None:
            rights_services.account_close(account=account)

        def publish(year: int = year) -> None:
            calendar.calendar_year_publish(
                year=year,
                days=[(D(year, 1, 4), False, "调休"), (D(year, 1, 5), False, "调休")],
                source="国务院办公厅通知",
            )

        race_run(race, close, publish)

        assert not race.errors, f"{first} first: {race.errors}"
        account.refresh_from_db()
        assert account.status == LearningAccount.Status.CLOSED
        application.refresh_from_db()
        assert application.state == ApplicationState.WITHDRAWN
        assert not Notification.objects.filter(recipient=account.holder).exists()
        if first == "rival":  # the recompute came first: the date moved, the reviewer is told
            assert application.due_on != before
            assert Notification.objects.filter(
                recipient=reviewer, kind=Notification.Kind.DEADLINE_MOVED
            ).exists()
        seen.append(first)
    assert seen == ["close", "rival"]


@pytest.mark.django_db(transaction=True)
def test_a_closure_racing_the_deadline_sweep_never_deadlocks(postgres, reviewer, monkeypatch):
    """A reviewer who also holds a learning account closes it while the sweep reminds them of
    an application they review (its batch also holds their own application): each order
    forced. Both finish; their own application ends withdrawn, and the one they review is
    reminded (at once, or by the next sweep when the closure held the batch's account)."""
    now: dict[str, Round] = {}
    _pauses(monkeypatch, now)
    today = timezone.localdate()
    for first in ("close", "rival"):
        race = now["race"] = Round(rival="sweep", first=first)
        colleague = UserFactory(role=Role.CENTRE_REVIEWER, centre=reviewer.centre)
        account = PersonalAccountFactory(holder=colleague)
        due = {
            "centre": reviewer.centre,
            "state": ApplicationState.IN_REVIEW,
            "remind_on": today,
            "due_on": today + datetime.timedelta(days=3),
        }
        own = ApplicationFactory(
            outcome=LearningOutcomeFactory(account=account), assigned_to=reviewer, **due
        )
        reviewed = ApplicationFactory(assigned_to=colleague, **due)

        def close(account: LearningAccount = account) -> None:
            rights_services.account_close(account=account)

        race_run(race, close, deadlines.deadline_sweep)

        assert not race.errors, f"{first} first: {race.errors}"
        own.refresh_from_db()
        assert own.state == ApplicationState.WITHDRAWN
        deadlines.deadline_sweep()
        assert Application.objects.get(pk=reviewed.pk).reminded_at is not None
