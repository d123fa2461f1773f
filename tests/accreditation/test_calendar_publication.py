"""Entering and publishing a year's holiday arrangement (issue 18): the management admin's page,
its refusals and its preview, and what a publication moves: due dates, the deadline sweep's
reminder and escalation (re-armed for the new date), one notice per learner and reviewer; and
the same path for a year a newer chinesecalendar package brings.

The 2027 arrangement used here is a plausible State Council notice, not the real one: the law's
days off (1 Jan; 5 and 8 Feb for the Spring Festival with 9 and 10 Feb making up its weekend
days; ...) plus 11 and 12 Feb off, paid back by Saturday 20 Feb made a working day.

An application whose clock started on Monday 1 February 2027 is due, on the law alone (its
provisional date), on Friday 26 February: 2-4 Feb (3), 11-12 (5), 15-19 (10), 22-26 (15);
reminder three working days before, Tuesday 23 February. With the arrangement: 2-4 Feb (3),
15-19 (8), Sat 20 mu (9), 22-26 (14), Monday 1 March (15); reminder Wednesday 24 February
(26, 25, 24). The due date moves 1 working day later.
"""

from __future__ import annotations

import datetime
import threading
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from accounts.models import Notification, Role
from accounts.notifications.services import notification_render
from accreditation import calendar
from accreditation.calendar import calendar_load, calendar_year_publish
from accreditation.deadlines import SweepResult, deadline_sweep
from accreditation.holiday_law import provisional_arrangement
from accreditation.models import Application, ApplicationState, CalendarYear
from tests.accounts.factories import UserFactory
from tests.accreditation.factories import ApplicationFactory
from tests.people import login_verified, with_totp

pytestmark = pytest.mark.django_db

D = datetime.date
BEIJING = ZoneInfo("Asia/Shanghai")
ENTRY = "/calendar/manage/2027/"
SOURCE = "国务院办公厅关于2027年部分节假日安排的通知 国办发明电〔2026〕9号"
STARTED = D(2027, 2, 1)
PROVISIONAL_DUE, PROVISIONAL_REMIND = D(2027, 2, 26), D(2027, 2, 23)
PUBLISHED_DUE, PUBLISHED_REMIND = D(2027, 3, 1), D(2027, 3, 1) - datetime.timedelta(days=5)
MOVED = Notification.Kind.DEADLINE_MOVED
SPRING_FESTIVAL = calendar.package_data.Holiday.spring_festival.value


def arrangement_2027() -> list[tuple[datetime.date, bool, str]]:
    return sorted(
        [
            *provisional_arrangement(2027),
            (D(2027, 2, 11), False, "春节"),
            (D(2027, 2, 12), False, "春节"),
            (D(2027, 2, 20), True, "春节调休上班"),
        ]
    )


def lines(days, *, working: bool, leave_out: tuple[datetime.date, ...] = ()) -> str:
    return "\n".join(
        f"{day.isoformat()} {name}"
        for day, is_working, name in days
        if is_working == working and day not in leave_out
    )


def entry_form(*, leave_out: tuple[datetime.date, ...] = (), **changes: str) -> dict[str, str]:
    days = arrangement_2027()
    return {
        "source": SOURCE,
        "holidays": lines(days, working=False, leave_out=leave_out),
        "working_days": lines(days, working=True),
        **changes,
    }


def at(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), BEIJING)


def provisional_application(centre, reviewer=None, **fields) -> Application:
    """Open, its clock started on 1 Feb 2027 (unless ``fields`` say otherwise), with the due
    date the law alone gives."""
    defaults = {
        "clock_started_on": STARTED,
        "due_on": PROVISIONAL_DUE,
        "remind_on": PROVISIONAL_REMIND,
    }
    return ApplicationFactory(
        centre=centre,
        assigned_to=reviewer,
        state=ApplicationState.IN_REVIEW,
        due_is_provisional=True,
        **(defaults | fields),
    )


@pytest.fixture
def manager(client, management_admin):
    login_verified(client, management_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return management_admin


# --- The entry page -----------------------------------------------------------------------------


def test_the_entry_page_refuses_an_arrangement_that_leaves_out_a_statutory_weekday_holiday(
    client, manager
):
    # New Year's Day 2027 is a Friday.
    response = client.post(ENTRY, entry_form(leave_out=(D(2027, 1, 1),)))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors == {
        "holidays": ["2027-01-01 (元旦) is a statutory holiday on a weekday: it must be a day off."]
    }
    assert "2027-01-01 (元旦) is a statutory holiday on a weekday" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_the_entry_page_refuses_make_up_days_on_weekdays_and_lines_it_cannot_use(client, manager):
    response = client.post(
        ENTRY,
        entry_form(
            holidays=lines(arrangement_2027(), working=False)
            + "\n2027-02-11 春节\n2028-01-03 元旦\n2027-02-30 春节\nsoon",
            working_days="2027-02-22 春节调休上班\n2027-02-20 春节调休上班\n2027-02-12 补班",
        ),
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "holidays": [
            "2027-02-11 is listed more than once.",
            "2028-01-03 is not in 2027.",
            "Line 18: write the date as YYYY-MM-DD, then the name (“2027-02-30 春节”).",
            "Line 19: write the date as YYYY-MM-DD, then the name (“soon”).",
        ],
        "working_days": [
            "2027-02-22 is a weekday, which is a working day anyway.",
            "2027-02-12 is a weekday, which is a working day anyway.",
        ],
    }
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_the_entry_page_refuses_invisible_characters_in_the_source_and_the_names(client, manager):
    days = arrangement_2027()
    response = client.post(
        ENTRY,
        entry_form(
            source=SOURCE.replace("2027", "20\u200b27"),
            working_days=lines(days, working=True).replace("春节调休上班", "春节\u202e调休上班"),
            action="publish",
        ),
    )
    published = client.post(ENTRY, entry_form(action="publish"))

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "source": [
            "Control characters (line breaks, tabs, invisible or direction marks) are not "
            "allowed; type the value on one line."
        ],
        "working_days": [
            "The name of 2027-02-20: Control characters (line breaks, tabs, invisible or "
            "direction marks) are not allowed; type the value on one line."
        ],
    }
    assert published.status_code == 302
    entry = CalendarYear.objects.get(year=2027)
    assert entry.source == SOURCE
    assert "\u202e" not in "".join(entry.days.values_list("name", flat=True))


def test_the_entry_page_starts_from_the_law_and_previews_the_due_dates_that_move(
    client, manager, centre, reviewer
):
    moving = provisional_application(centre, reviewer)
    # Started 1 March 2027: 15 working days to 22 March on any of the calendars.
    staying = ApplicationFactory(centre=centre, clock_started_on=D(2027, 3, 1))
    assert staying.due_on == D(2027, 3, 22)

    page = client.get(ENTRY)
    assert page.status_code == 200
    initial = page.context["form"].initial
    assert (
        "2027-01-01 元旦\n2027-02-05 春节\n2027-02-08 春节\n2027-02-09 春节"
        in (initial["holidays"])
    )
    assert initial["working_days"] == ""

    preview = client.post(ENTRY, entry_form(action="preview"))

    assert preview.status_code == 200
    assert preview.context["preview"].count == 1
    row = preview.context["moves"][0]
    assert (row[0].application_id, row[0].old_due_on, row[0].new_due_on) == (
        moving.pk,
        PROVISIONAL_DUE,
        PUBLISHED_DUE,
    )
    html = preview.content.decode()
    assert "Publishing moves the due date of 1 open application." in html
    assert f'data-testid="moved-{moving.pk}"' in html
    assert f'data-testid="moved-{staying.pk}"' not in html
    assert "2027-03-01" in html
    assert "1 working day later" in html
    assert centre.name in html
    # Nothing is written until the admin confirms.
    assert not CalendarYear.objects.filter(year=2027).exists()
    moving.refresh_from_db()
    assert moving.due_on == PROVISIONAL_DUE


def test_confirming_publishes_the_arrangement_and_the_years_page_lists_it(
    client, manager, centre, reviewer
):
    moving = provisional_application(centre, reviewer)
    home = client.get("/").content.decode()
    assert 'href="/calendar/manage/"' in home

    response = client.post(ENTRY, entry_form(action="publish"), follow=True)

    assert response.status_code == 200
    assert "The arrangement for 2027 is published" in response.content.decode()
    year = CalendarYear.objects.get(year=2027)
    assert year.source == SOURCE
    assert not calendar.is_working_day(D(2027, 2, 12))
    assert calendar.is_working_day(D(2027, 2, 20))
    moving.refresh_from_db()
    assert (moving.due_on, moving.remind_on, moving.due_is_provisional) == (
        PUBLISHED_DUE,
        PUBLISHED_REMIND,
        False,
    )
    listing = client.get("/calendar/manage/").content.decode()
    assert 'data-testid="calendar-year-2027"' in listing
    assert SOURCE in listing


@pytest.mark.parametrize("role", [Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN, Role.LEARNER])
def test_only_the_management_admin_enters_the_calendar(client, centre, role):
    user = with_totp(UserFactory(role=role, centre=centre if role != Role.LEARNER else None))
    login_verified(client, user)

    assert client.get("/calendar/manage/").status_code == 403
    assert client.get(ENTRY).status_code == 403
    assert client.post(ENTRY, entry_form(action="publish")).status_code == 403
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_the_admin_site_shows_the_calendar_read_only_and_sends_to_the_page(client, manager):
    from creditbank.management.commands.seed_demo import Command as SeedDemo

    manager.groups.add(SeedDemo._management_group())

    listing = client.get("/admin/accreditation/calendaryear/", HTTP_ACCEPT_LANGUAGE="en")
    assert listing.status_code == 200
    assert 'href="/calendar/manage/"' in listing.content.decode()
    assert client.get("/admin/accreditation/calendaryear/add/").status_code == 403
    year = CalendarYear.objects.get(year=2026)
    change = client.post(
        f"/admin/accreditation/calendaryear/{year.pk}/change/", {"year": "2026", "source": "x"}
    )
    assert change.status_code == 403
    assert CalendarYear.objects.get(year=2026).source == year.source


# --- What a publication moves -------------------------------------------------------------------


def test_a_late_publication_re_arms_an_escalation_sent_on_the_provisional_date(
    centre, reviewer, centre_admin
):
    application = provisional_application(centre, reviewer)
    # Saturday 27 Feb: overdue on its provisional date, escalated to the centre's admin.
    assert deadline_sweep(now=at(D(2027, 2, 27))).escalated == 1

    calendar_year_publish(year=2027, days=arrangement_2027(), source=SOURCE, now=at(D(2027, 2, 27)))

    application.refresh_from_db()
    assert (application.due_on, application.escalated_at) == (PUBLISHED_DUE, None)
    # Not overdue on its real due date (the reviewer, never reminded, is reminded now), and
    # escalated the day after it.
    assert deadline_sweep(now=at(PUBLISHED_DUE, 23)) == SweepResult(reminded=1, escalated=0)
    assert deadline_sweep(now=at(D(2027, 3, 2))) == SweepResult(reminded=0, escalated=1)
    keys = list(
        Notification.objects.filter(kind=Notification.Kind.DEADLINE_ESCALATION)
        .order_by("pk")
        .values_list("key", flat=True)
    )
    assert keys == [
        f"application:{application.pk}:escalation:2027-02-26",
        f"application:{application.pk}:escalation:2027-03-01",
    ]


def test_a_late_publication_re_arms_a_reminder_sent_for_the_provisional_date(centre, reviewer):
    application = provisional_application(centre, reviewer)
    # Started Wed 27 Jan. On the law: 28-29 Jan (2), 1-4 Feb (6), 11-12 (8), 15-19 (13),
    # 22-23 (15), reminder 18 Feb. Published: 28-29 Jan (2), 1-4 Feb (6), 15-19 (11), Sat 20 mu
    # (12), 22-24 (15), reminder Sat 20 Feb: that day has come already when it is published.
    reminded_already = provisional_application(
        centre,
        reviewer,
        clock_started_on=D(2027, 1, 27),
        due_on=D(2027, 2, 23),
        remind_on=D(2027, 2, 18),
    )
    assert deadline_sweep(now=at(PROVISIONAL_REMIND)).reminded == 2

    calendar_year_publish(
        year=2027, days=arrangement_2027(), source=SOURCE, now=at(PROVISIONAL_REMIND)
    )

    application.refresh_from_db()
    assert (application.remind_on, application.reminded_at) == (PUBLISHED_REMIND, None)
    reminded_already.refresh_from_db()
    assert reminded_already.due_on == D(2027, 2, 24)
    assert reminded_already.reminded_at is not None
    assert deadline_sweep(now=at(PUBLISHED_REMIND - datetime.timedelta(days=1))).reminded == 0
    assert deadline_sweep(now=at(PUBLISHED_REMIND)).reminded == 1
    reminders = Notification.objects.filter(
        kind=Notification.Kind.DEADLINE_REMINDER, recipient=reviewer
    )
    assert sorted(reminders.values_list("key", flat=True)) == sorted(
        [
            f"application:{application.pk}:reminder:2027-02-26",
            f"application:{application.pk}:reminder:2027-03-01",
            f"application:{reminded_already.pk}:reminder:2027-02-23",
        ]
    )


def test_each_learner_and_reviewer_whose_due_date_moved_is_told_once(centre, reviewer, english):
    mine = [provisional_application(centre, reviewer) for _ in range(3)]
    other_reviewer = with_totp(UserFactory(role=Role.CENTRE_REVIEWER, centre=centre))
    theirs = provisional_application(centre, other_reviewer)
    # Due on 22 March whatever the calendar: nobody hears about it.
    unmoved = ApplicationFactory(
        centre=centre, assigned_to=reviewer, clock_started_on=D(2027, 3, 1)
    )

    calendar_year_publish(year=2027, days=arrangement_2027(), source=SOURCE, now=at(D(2027, 2, 1)))
    calendar_year_publish(year=2027, days=arrangement_2027(), source=SOURCE, now=at(D(2027, 2, 1)))

    notices = Notification.objects.filter(kind=MOVED)
    to_reviewer = notices.get(recipient=reviewer)
    assert to_reviewer.params["count"] == 3
    assert to_reviewer.params["moves"] == "; ".join(
        f"#{app.pk} 2027-02-26 → 2027-03-01" for app in mine
    )
    assert to_reviewer.link == "/centre/queue/"
    assert notices.get(recipient=other_reviewer).params["moves"] == (
        f"#{theirs.pk} 2027-02-26 → 2027-03-01"
    )
    for app in [*mine, theirs]:
        learner = app.account.holder
        notice = notices.get(recipient=learner)
        assert notice.link == f"/applications/{app.pk}/"
    assert not notices.filter(recipient=unmoved.account.holder).exists()
    assert notices.count() == 2 + 4
    rendered = Notification.objects.get(recipient=theirs.account.holder, kind=MOVED)
    assert notification_render(rendered).body == (
        "The official holiday arrangement for 2027 is published and the due dates are "
        "recomputed on it. 1 application(s) of yours moved (application, old due date → new "
        f"due date): #{theirs.pk} 2027-02-26 → 2027-03-01"
    )


# --- A newer chinesecalendar package ------------------------------------------------------------


def test_the_daily_load_publishes_a_year_a_newer_package_brings(
    monkeypatch, centre, reviewer, capsys
):
    holidays = dict(calendar.package_data.holidays)
    workdays = dict(calendar.package_data.workdays)
    for day, working, _name in arrangement_2027():
        (workdays if working else holidays)[day] = (
            calendar.package_data.Holiday.spring_festival.value
        )
    monkeypatch.setattr(calendar.package_data, "holidays", holidays)
    monkeypatch.setattr(calendar.package_data, "workdays", workdays)
    application = provisional_application(centre, reviewer)
    # A year entered by hand is never overwritten by the package.
    CalendarYear.objects.filter(year=2026).update(source="国务院办公厅通知（手工录入）")

    call_command("calendar_load")

    assert "1 year(s) changed" in capsys.readouterr().out
    assert CalendarYear.objects.get(year=2027).source.startswith("chinesecalendar")
    assert CalendarYear.objects.get(year=2026).source == "国务院办公厅通知（手工录入）"
    application.refresh_from_db()
    assert (application.due_on, application.due_is_provisional) == (PUBLISHED_DUE, False)
    assert Notification.objects.filter(kind=MOVED, recipient=reviewer).count() == 1
    assert calendar_load() == 0
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "accreditation.tasks.calendar_load_task" in tasks


@pytest.mark.django_db(transaction=True)
def test_two_publications_at_once_move_each_due_date_once_and_tell_each_person_once(
    postgres, centre, reviewer
):
    moving = [provisional_application(centre, reviewer) for _ in range(30)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def publisher() -> None:
        try:
            barrier.wait()
            calendar_year_publish(
                year=2027, days=arrangement_2027(), source=SOURCE, now=at(D(2027, 2, 1))
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publisher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert set(
        Application.objects.filter(pk__in=[a.pk for a in moving]).values_list("due_on", flat=True)
    ) == {PUBLISHED_DUE}
    to_reviewer = Notification.objects.get(kind=MOVED, recipient=reviewer)
    assert to_reviewer.params["count"] == 30
    assert Notification.objects.filter(kind=MOVED).count() == 1 + 30


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "State Council notice, from the holiday data shipped with the portal"),
        ("zh-hans", "国务院办公厅通知"),
    ],
)
def test_a_year_taken_from_the_shipped_holiday_data_names_its_source_in_words(
    client, manager, language, words
):
    calendar_load(years=[2025])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    row = (
        client.get("/calendar/manage/")
        .content.decode()
        .split('data-testid="calendar-year-2025"')[1]
    )
    row = row.split("</tr>")[0]

    assert words in row
    assert "chinesecalendar" not in row.split("(")[0]
