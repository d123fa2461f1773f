"""The management admin is told that next year's working-day arrangement is not entered
(issue 18): a weekly notice from 1 October, a banner on the admins' pages, a warning in
/readyz; none of it before 1 October or once the year is entered.

The package's calendar ends with 2026: 2027 is not entered here. The clock is set by the test
(django.utils.timezone.now, which the services, the task and the pages read)."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from accounts.models import Notification
from accreditation import calendar, tasks
from accreditation.calendar import calendar_year_publish
from accreditation.models import Application
from tests.accounts.factories import UserFactory
from tests.accreditation.factories import ApplicationFactory
from tests.people import login_verified

pytestmark = pytest.mark.django_db

D = datetime.date


def beijing(day: datetime.date, hour: int = 2) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=calendar.BEIJING)


@pytest.fixture
def clock(monkeypatch):
    def set_to(moment: datetime.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


def notices_about_2027(user) -> int:
    return Notification.objects.filter(
        recipient=user, kind=Notification.Kind.CALENDAR_UNPUBLISHED
    ).count()


def sweep(clock, day: datetime.date) -> int:
    clock(beijing(day))
    return tasks.calendar_unpublished_notify_task.delay().get()["notified"]


def test_the_task_runs_daily_in_beat():
    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "accreditation.tasks.calendar_unpublished_notify_task"
    ]
    assert entries
    assert entries[0]["schedule"] == 24 * 3600


def test_the_management_admins_are_told_weekly_from_1_october_until_the_year_is_entered(
    clock, management_admin, centre_admin, django_capture_on_commit_callbacks
):
    management_admin.email = "mona@example.cn"
    management_admin.save(update_fields=["email"])
    gone = UserFactory(username="gone", role="management_admin", is_active=False)

    assert sweep(clock, D(2026, 9, 30)) == 0  # not before 1 October
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(clock, D(2026, 10, 1)) == 1  # Thursday

    notice = Notification.objects.get(recipient=management_admin)
    assert notice.link == "/calendar/manage/2027/"
    assert notice.params["year"] == 2027
    assert [m.to for m in mail.outbox] == [["mona@example.cn"]]
    assert "2027" in mail.outbox[0].body
    assert notices_about_2027(centre_admin) == 0
    assert notices_about_2027(gone) == 0

    # Daily, but only once seven days have passed, and once per ISO week however often it runs.
    for day in range(2, 8):
        assert sweep(clock, D(2026, 10, day)) == 0
    assert sweep(clock, D(2026, 10, 8)) == 1
    assert sweep(clock, D(2026, 10, 8)) == 0
    assert notices_about_2027(management_admin) == 2

    calendar_year_publish(
        year=2027, days=[(D(2027, 1, 1), False, "元旦")], source="国务院办公厅通知"
    )
    assert sweep(clock, D(2026, 10, 15)) == 0
    assert sweep(clock, D(2026, 12, 1)) == 0
    assert notices_about_2027(management_admin) == 2


def test_the_notice_reads_in_the_admins_language(clock, client, management_admin):
    sweep(clock, D(2026, 10, 1))
    login_verified(client, management_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get("/notifications/").content.decode()

    assert "Working-day calendar not entered" in page
    assert "holiday arrangement for 2027 is not entered in the portal yet" in page


def test_the_admins_pages_carry_a_banner_from_1_october_until_the_year_is_entered(
    clock, client, management_admin, centre_admin, shao
):
    def banner(user, day: datetime.date) -> str:
        clock(beijing(day, 10))
        login_verified(client, user) if user.role != "learner" else client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        page = client.get("/").content.decode()
        start = page.find('data-testid="calendar-unpublished"')
        return "" if start < 0 else page[start : page.index("</p>", start)]

    assert banner(management_admin, D(2026, 9, 30)) == ""
    shown = banner(management_admin, D(2026, 10, 1))
    assert "holiday arrangement for 2027 is not entered yet" in shown
    assert "provisional, computed from the statutory holidays" in shown
    assert '<a href="/calendar/manage/2027/">Enter the 2027 arrangement</a>' in shown
    told = banner(centre_admin, D(2026, 10, 1))
    assert "for 2027 is not entered yet" in told
    assert "/calendar/manage/2027/" not in told  # the management centre enters it
    assert banner(shao.holder, D(2026, 10, 1)) == ""

    calendar_year_publish(year=2027, days=[], source="国务院办公厅通知")
    assert banner(management_admin, D(2026, 12, 1)) == ""


def test_readyz_warns_about_the_calendar_and_stays_ready(clock, client):
    clock(beijing(D(2026, 9, 30)))
    assert client.get("/readyz").json()["warnings"] == {}

    clock(beijing(D(2026, 10, 1)))
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert "2027" in response.json()["warnings"]["calendar"]


def test_due_dates_computed_before_the_law_was_counted_are_brought_up_to_date(clock, centre):
    # An application submitted Mon 2026-12-28 whose due date was stored Monday to Friday
    # (01-18) before this change: the daily task moves it to the law's count (01-19).
    application = ApplicationFactory(centre=centre)
    Application.objects.filter(pk=application.pk).update(
        clock_started_on=D(2026, 12, 28),
        clock_days=15,
        due_on=D(2027, 1, 18),
        remind_on=D(2027, 1, 13),
        due_is_provisional=True,
    )

    clock(beijing(D(2026, 12, 29)))
    assert tasks.calendar_unpublished_notify_task.delay().get()["refreshed"] == 1

    application.refresh_from_db()
    assert (application.due_on, application.remind_on) == (D(2027, 1, 19), D(2027, 1, 14))
