"""The pre-assessment sweep against PostgreSQL: two workers sweeping at the same moment send
each reminder and each escalation once (the learners' accounts, then the rows, locked with
SKIP LOCKED and claimed by a conditional update, ADR 0012)."""

from __future__ import annotations

import datetime
import threading
import time
from typing import cast

import pytest
from django.db import connection

from accounts.models import Notification, Role, User
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import resident_id
from tests.accreditation.factories import catalogue_version
from tests.people import learner_register
from tests.transfers.factories import programme_with_courses, rule
from transfers import preassessments
from transfers.preassessments import PreAssessmentSweep, preassessment_ask, preassessment_sweep

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
ASKED_ON = datetime.date(2026, 2, 12)  # due 2026-03-04, reminded from 2026-02-28


def at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(10), tzinfo=BEIJING)


@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_send_each_notice_once(
    postgres, monkeypatch, institution_officer
):
    monkeypatch.setattr(preassessments, "BATCH_SIZE", 4)
    university = institution_officer.institution
    admin = cast(
        User, UserFactory(username="uadmin", role=Role.INSTITUTION_ADMIN, institution=university)
    )
    version = catalogue_version()
    _programme, courses = programme_with_courses(university, n=2)
    for course in courses:
        rule(version, course)
    for n in range(6):
        account = learner_register(f"学员{n}", resident_id(n + 1), f"1380000010{n}")
        holder = account.holder
        for course in courses:
            preassessment_ask(
                account=account,
                course=course,
                actor=holder,
                entry_version=version,
                now=at(ASKED_ON),
            )
    Notification.objects.all().delete()
    real = preassessments.notify_batch

    def slow_notify_batch(notices):
        # Long enough for the other worker to reach the same rows while this batch is open.
        time.sleep(0.05)
        return real(notices)

    monkeypatch.setattr(preassessments, "notify_batch", slow_notify_batch)
    barrier = threading.Barrier(2)
    results: list[PreAssessmentSweep] = []
    errors: list[BaseException] = []

    def worker(day: datetime.date) -> None:
        try:
            barrier.wait()
            results.append(preassessment_sweep(now=at(day)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    for day in (datetime.date(2026, 2, 28), datetime.date(2026, 3, 5)):
        threads = [threading.Thread(target=worker, args=(day,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # A worker that found an account held passed it over; the next sweep takes it.
        results.append(preassessment_sweep(now=at(day)))

    assert not errors
    assert sum(r.reminded for r in results) == 12
    assert sum(r.escalated for r in results) == 12
    reminded = Notification.objects.filter(kind="preassessment_reminder")
    assert reminded.filter(recipient=institution_officer).count() == 12
    assert (
        Notification.objects.filter(kind="preassessment_escalation", recipient=admin).count() == 12
    )
