"""The working-day calendar and the 15-working-day clock.

Expected dates are worked out by hand from the State Council's arrangements (as held by the
chinesecalendar package, whose data the test against it below also checks), counting the n-th
working day strictly after the Beijing date of submission. Comments list the working days
counted; "mu" marks a make-up working day on a weekend.
"""

from __future__ import annotations

import datetime
import importlib
from typing import cast

import chinese_calendar
import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts.models import LearningAccount
from accreditation import calendar
from accreditation.calendar import (
    Deadline,
    add_working_days,
    calendar_load,
    calendar_year_publish,
    deadline_for_submission,
    deadline_from,
    deadlines_recompute,
    is_working_day,
    local_date,
    subtract_working_days,
    working_days_between,
    working_days_left,
)
from accreditation.models import Application, ApplicationState, CalendarDay, CalendarYear
from creditbank.management.commands.seed_demo import Command as SeedDemo
from outcomes.models import LearningOutcome
from tests.accounts.factories import CollectiveAccountFactory
from tests.people import login_verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("official_calendar")]

D = datetime.date
UTC = datetime.UTC


@pytest.fixture
def official_calendar(db) -> None:
    """The calendar the data migration seeds. Loaded again in case a transactional test that
    ran earlier flushed the tables (a no-op otherwise)."""
    calendar_load()


def beijing(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=calendar.BEIJING)


def application(
    centre,
    *,
    started: datetime.date,
    days: int = 15,
    state: ApplicationState = ApplicationState.SUBMITTED,
) -> Application:
    account = cast(LearningAccount, CollectiveAccountFactory())
    outcome = LearningOutcome.objects.create(
        account=account, kind="training", title="保育员培训", achieved_on=D(2024, 1, 1)
    )
    fields: dict = {"state": state}
    if state == ApplicationState.SUPPLEMENT_REQUESTED:
        fields["working_days_left"] = days
    else:
        deadline = deadline_from(started, days)
        fields.update(
            clock_started_on=started,
            clock_days=days,
            due_on=deadline.due_on,
            remind_on=deadline.remind_on,
            due_is_provisional=deadline.provisional,
        )
    return Application.objects.create(
        outcome=outcome, account=account, centre=centre, kind="training", **fields
    )


# --- The official holidays ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("submitted_on", "due_on", "remind_on"),
    [
        # Spring Festival 2024: off Sat 02-10 to Sat 02-17; mu Sun 02-04 and Sun 02-18.
        # From Thu 02-01: 02-02, 02-04 mu, 02-05..02-09 (7), 02-18 mu (8), 02-19..02-23 (13),
        # 02-26, 02-27 (15). Reminder: 3rd working day before: 02-26, 02-23, 02-22.
        (D(2024, 2, 1), D(2024, 2, 27), D(2024, 2, 22)),
        # Spring Festival 2025: off Tue 01-28 to Tue 02-04; mu Sun 01-26 and Sat 02-08.
        # From Wed 01-22: 01-23, 01-24, 01-26 mu, 01-27 (4), 02-05..02-07 (7), 02-08 mu (8),
        # 02-10..02-14 (13), 02-17, 02-18 (15). Reminder: 02-17, 02-14, 02-13.
        (D(2025, 1, 22), D(2025, 2, 18), D(2025, 2, 13)),
        # Spring Festival 2026: off Sun 02-15 to Mon 02-23; mu Sat 02-14 and Sat 02-28.
        # From Wed 02-11: 02-12, 02-13, 02-14 mu (3), 02-24..02-27 (7), 02-28 mu (8),
        # 03-02..03-06 (13), 03-09, 03-10 (15). Reminder: 03-09, 03-06, 03-05.
        (D(2026, 2, 11), D(2026, 3, 10), D(2026, 3, 5)),
        # National Day 2024: off Tue 10-01 to Mon 10-07; mu Sun 09-29 and Sat 10-12.
        # From Wed 09-25: 09-26, 09-27, 09-29 mu, 09-30 (4), 10-08..10-11 (8), 10-12 mu (9),
        # 10-14..10-18 (14), 10-21 (15). Reminder: 10-18, 10-17, 10-16.
        (D(2024, 9, 25), D(2024, 10, 21), D(2024, 10, 16)),
        # National Day and Mid-autumn 2025: off Wed 10-01 to Wed 10-08; mu Sun 09-28, Sat 10-11.
        # From Wed 09-24: 09-25, 09-26, 09-28 mu, 09-29, 09-30 (5), 10-09, 10-10 (7),
        # 10-11 mu (8), 10-13..10-17 (13), 10-20, 10-21 (15). Reminder: 10-20, 10-17, 10-16.
        (D(2025, 9, 24), D(2025, 10, 21), D(2025, 10, 16)),
        # Mid-autumn and National Day 2026: off Fri 09-25 to Sun 09-27 and Thu 10-01 to Wed
        # 10-07; mu Sun 09-20 and Sat 10-10. From Thu 09-17: 09-18, 09-20 mu, 09-21..09-24 (6),
        # 09-28..09-30 (9), 10-08, 10-09 (11), 10-10 mu (12), 10-12..10-14 (15).
        # Reminder: 10-13, 10-12, 10-10 (the make-up Saturday).
        (D(2026, 9, 17), D(2026, 10, 14), D(2026, 10, 10)),
    ],
)
def test_the_due_date_skips_the_official_holidays_and_counts_the_make_up_days(
    submitted_on, due_on, remind_on
):
    assert deadline_for_submission(beijing(submitted_on)) == Deadline(
        due_on=due_on, remind_on=remind_on, provisional=False
    )


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2024, 2, 4), True),  # Sunday, make-up day for the Spring Festival
        (D(2024, 2, 9), True),  # Friday, New Year's Eve: not an official holiday in 2024
        (D(2024, 2, 12), False),  # Monday, Spring Festival
        (D(2024, 2, 18), True),  # Sunday, make-up day
        (D(2024, 2, 19), True),
        (D(2024, 9, 29), True),  # Sunday, make-up day for National Day
        (D(2024, 10, 7), False),  # Monday, National Day
        (D(2024, 10, 12), True),  # Saturday, make-up day
        (D(2025, 1, 26), True),  # Sunday
        (D(2025, 2, 8), True),  # Saturday
        (D(2025, 9, 28), True),  # Sunday
        (D(2025, 10, 6), False),  # Monday, Mid-autumn
        (D(2025, 10, 11), True),  # Saturday
        (D(2026, 2, 14), True),  # Saturday
        (D(2026, 2, 28), True),  # Saturday
        (D(2026, 9, 20), True),  # Sunday
        (D(2026, 10, 10), True),  # Saturday
        (D(2026, 10, 11), False),  # an ordinary Sunday
        (D(2026, 10, 12), True),  # an ordinary Monday
    ],
)
def test_make_up_weekend_days_work_and_weekday_holidays_do_not(day, working):
    assert is_working_day(day) is working


def test_every_deadline_from_2020_to_2026_agrees_with_the_official_calendar():
    # An independent count: chinesecalendar's find_workday(14, start + 1 day) is the first
    # working day after start and 14 more, i.e. the 15th strictly after start; find_workday(-3,
    # due) is the 3rd working day before the due date.
    day = D(2020, 1, 1)
    while day < D(2026, 12, 1):
        deadline = deadline_from(day, 15)
        expected_due = chinese_calendar.find_workday(14, day + datetime.timedelta(days=1))
        assert deadline.due_on == expected_due, day
        assert deadline.remind_on == chinese_calendar.find_workday(-3, expected_due), day
        day += datetime.timedelta(days=3)


# --- When the clock starts ----------------------------------------------------------------------


def test_a_submission_on_a_weekend_counts_from_the_next_working_day():
    # March 2024 has no holidays. From Fri 03-08, Sat 03-09 or Sun 03-10 the first working day
    # counted is Mon 03-11: 03-11..03-15, 03-18..03-22, 03-25..03-29 (15).
    for day in (D(2024, 3, 8), D(2024, 3, 9), D(2024, 3, 10)):
        assert deadline_for_submission(beijing(day)).due_on == D(2024, 3, 29)


def test_a_submission_on_a_holiday_counts_from_the_next_working_day():
    # Thu 2024-10-03 is National Day; counting starts Tue 10-08: 10-08..10-11 (4),
    # Sat 10-12 mu (5), 10-14..10-18 (10), 10-21..10-25 (15).
    assert deadline_for_submission(beijing(D(2024, 10, 3))).due_on == D(2024, 10, 25)


def test_the_clock_starts_on_the_beijing_date_of_the_submission():
    late_friday = datetime.datetime(2024, 10, 11, 15, 30, tzinfo=UTC)  # Fri 23:30 in Beijing
    early_saturday = datetime.datetime(2024, 10, 11, 16, 30, tzinfo=UTC)  # Sat 00:30 in Beijing

    assert local_date(late_friday) == D(2024, 10, 11)
    assert local_date(early_saturday) == D(2024, 10, 12)
    # From Fri 10-11: Sat 10-12 mu (1), 10-14..10-18 (6), 10-21..10-25 (11), 10-28..10-31 (15).
    assert deadline_for_submission(late_friday).due_on == D(2024, 10, 31)
    # From Sat 10-12 (the make-up day itself does not count): 10-14..11-01 (15).
    assert deadline_for_submission(early_saturday).due_on == D(2024, 11, 1)


def test_a_moment_without_a_time_zone_is_refused():
    with pytest.raises(ValueError, match="aware"):
        local_date(datetime.datetime(2024, 10, 11, 23, 30))


# --- A stopped clock ----------------------------------------------------------------------------


def test_a_stopped_clock_resumes_with_the_working_days_it_had_left():
    # Submitted Mon 2024-03-04: due 03-25 (03-05..03-08, 03-11..03-15, 03-18..03-22, 03-25).
    due = deadline_for_submission(beijing(D(2024, 3, 4))).due_on
    assert due == D(2024, 3, 25)
    # Material requested on Wed 03-13: 03-14, 03-15, 03-18..03-22, 03-25 are left (8).
    left = working_days_left(due, D(2024, 3, 13))
    assert left == 8
    # Provided on Mon 04-01, the clock resumes with 8: 04-02, 04-03, (Qingming 04-04..04-06),
    # Sun 04-07 mu, 04-08..04-12 (8). Reminder: 04-11, 04-10, 04-09.
    assert deadline_from(D(2024, 4, 1), left) == Deadline(
        due_on=D(2024, 4, 12), remind_on=D(2024, 4, 9), provisional=False
    )


def test_days_left_count_down_to_zero_on_the_due_date_and_below_after_it():
    due = D(2024, 3, 25)  # a Monday
    assert working_days_left(due, D(2024, 3, 21)) == 2  # Fri 03-22, Mon 03-25
    assert working_days_left(due, D(2024, 3, 23)) == 1  # Saturday: Mon 03-25
    assert working_days_left(due, due) == 0
    assert working_days_left(due, D(2024, 3, 26)) == -1
    assert working_days_left(due, D(2024, 3, 27)) == -2


def test_a_clock_stopped_when_overdue_resumes_as_overdue_by_as_much():
    for start in (D(2024, 3, 13), D(2024, 3, 16)):  # a Wednesday and a Saturday
        assert working_days_left(deadline_from(start, -2).due_on, start) == -2


def test_a_clock_resumed_with_fewer_days_than_the_notice_reminds_the_reviewer_at_once():
    # From Mon 2024-03-04 with 2 days: due Wed 03-06; 3 working days before it is before the
    # clock resumed, so the reminder is due on the day it resumed.
    assert deadline_from(D(2024, 3, 4), 2) == Deadline(
        due_on=D(2024, 3, 6), remind_on=D(2024, 3, 4), provisional=False
    )
    assert deadline_from(D(2024, 3, 4), 0).due_on == D(2024, 3, 4)


def test_counting_back_and_between_working_days():
    # Before Mon 2024-02-19: Sun 02-18 mu (1), (holidays 02-10..02-17), Fri 02-09 (2), Thu 02-08.
    assert subtract_working_days(D(2024, 2, 19), 3) == D(2024, 2, 8)
    assert add_working_days(D(2024, 2, 8), 3) == D(2024, 2, 19)
    assert add_working_days(D(2024, 2, 10), 0) == D(2024, 2, 10)
    # (02-08, 02-19]: 02-09, 02-18, 02-19.
    assert working_days_between(D(2024, 2, 8), D(2024, 2, 19)) == 3
    assert working_days_between(D(2024, 2, 19), D(2024, 2, 8)) == 0


# --- Years without a published arrangement ------------------------------------------------------


def test_a_deadline_reaching_into_an_unpublished_year_is_provisional_until_it_is_published(
    centre,
):
    assert not CalendarYear.objects.filter(year=2027).exists()
    # From Mon 2026-12-21, 2027 counted from the law (Fri 01-01 New Year's Day off):
    # 12-22..12-25 (4), 12-28..12-31 (8), 01-04..01-08 (13), 01-11, 01-12 (15).
    crossing = application(centre, started=D(2026, 12, 21))
    assert (crossing.due_on, crossing.due_is_provisional) == (D(2027, 1, 12), True)
    inside_2026 = application(centre, started=D(2026, 11, 2))
    assert not inside_2026.due_is_provisional
    paused = application(
        centre, started=D(2026, 12, 21), days=5, state=ApplicationState.SUPPLEMENT_REQUESTED
    )

    calendar_year_publish(
        year=2027,
        days=[(D(2027, 1, 1), False, "元旦")],
        source="国务院办公厅关于2027年部分节假日安排的通知",
    )

    # With 01-01 a holiday: 12-22..12-31 (8), 01-04..01-08 (13), 01-11, 01-12 (15).
    # Reminder: 01-11, 01-08, 01-07.
    crossing.refresh_from_db()
    assert (crossing.due_on, crossing.remind_on, crossing.due_is_provisional) == (
        D(2027, 1, 12),
        D(2027, 1, 7),
        False,
    )
    before_updated = inside_2026.updated_at
    inside_2026.refresh_from_db()
    assert inside_2026.updated_at == before_updated
    paused.refresh_from_db()
    assert (paused.due_on, paused.working_days_left) == (None, 5)
    assert deadlines_recompute(since=D(2027, 1, 1)) == 0


def test_publishing_a_year_again_replaces_its_arrangement(centre):
    calendar_year_publish(year=2027, days=[(D(2027, 1, 1), False, "元旦")], source="draft")
    calendar_year_publish(year=2027, days=[(D(2027, 2, 8), False, "春节")], source="notice")

    assert list(CalendarDay.objects.filter(date__year=2027).values_list("date", flat=True)) == [
        D(2027, 2, 8)
    ]
    assert CalendarYear.objects.get(year=2027).source == "notice"
    assert is_working_day(D(2027, 1, 1))


def test_an_arrangement_with_impossible_days_is_refused_and_nothing_is_written(english):
    with pytest.raises(ValidationError) as refused:
        calendar_year_publish(
            year=2027,
            days=[
                (D(2027, 1, 1), False, "元旦"),
                (D(2027, 1, 1), False, "元旦"),  # twice
                (D(2026, 12, 31), False, "跨年"),  # not in 2027
                (D(2027, 1, 2), False, "元旦"),  # a Saturday "holiday"
                (D(2027, 1, 4), True, "补班"),  # a Monday "make-up day"
            ],
            source="notice",
        )
    errors = refused.value.message_dict
    assert set(errors) == {"days"}
    assert errors["days"] == [
        "2027-01-01 is listed more than once.",
        "2026-12-31 is not in 2027.",
        "2027-01-02 is a weekend day, which is a day off anyway.",
        "2027-01-04 is a weekday, which is a working day anyway.",
    ]
    with pytest.raises(ValidationError) as refused:
        calendar_year_publish(year=2027, days=[], source="  ")
    assert set(refused.value.message_dict) == {"source"}
    assert not CalendarYear.objects.filter(year=2027).exists()


# --- Recomputing many deadlines -----------------------------------------------------------------


def test_recomputing_reads_in_chunks_not_a_query_per_application(
    centre, monkeypatch, django_assert_max_num_queries
):
    for index in range(40):
        application(centre, started=D(2026, 12, 21) if index % 2 else D(2026, 12, 28))
    calendar_year_publish(year=2027, days=[], source="draft")  # provisional no more
    Application.objects.update(due_is_provisional=True)
    monkeypatch.setattr(calendar, "RECOMPUTE_CHUNK", 15)

    # Three chunks, each: read the ids, lock their learners' accounts, lock and read the rows,
    # read the calendar, one update per distinct clock (2); then one read that finds no more.
    with django_assert_max_num_queries(3 * 6 + 1):
        assert deadlines_recompute(since=D(2026, 1, 1)) == 40
    assert not Application.objects.filter(due_is_provisional=True).exists()


# --- Loading from the package, the migration ----------------------------------------------------


def snapshot() -> list[tuple]:
    years = list(CalendarYear.objects.values_list("year", "source", "published_at"))
    days = list(CalendarDay.objects.values_list("year__year", "date", "is_working_day", "name"))
    return [*years, *days]


def test_loading_the_calendar_again_changes_nothing():
    CalendarYear.objects.filter(year=2025).delete()
    assert calendar_load() == 1
    loaded = snapshot()

    assert calendar_load() == 0
    assert snapshot() == loaded
    assert not is_working_day(D(2025, 1, 28))


def test_loading_leaves_a_year_entered_by_hand_alone():
    CalendarYear.objects.filter(year=2026).update(source="国务院办公厅通知（手工录入）")
    CalendarDay.objects.filter(date=D(2026, 10, 10)).delete()

    assert calendar_load(years=[2026]) == 0
    assert not is_working_day(D(2026, 10, 10))


def test_the_command_refreshes_from_the_package_and_refuses_years_it_lacks(capsys):
    CalendarYear.objects.filter(year=2024).delete()
    call_command("calendar_load")
    assert "1 year(s) changed" in capsys.readouterr().out
    assert is_working_day(D(2024, 2, 4))

    with pytest.raises(CommandError, match="2030"):
        call_command("calendar_load", "--year", "2030")


def test_the_data_migration_seeds_the_spring_festival_of_2024():
    CalendarYear.objects.all().delete()
    migration = importlib.import_module("accreditation.migrations.0002_seed_calendar")

    migration.seed(django_apps, None)

    assert list(CalendarYear.objects.order_by("year").values_list("year", flat=True)) == list(
        range(2020, 2027)
    )
    # Off Sat 02-10 to Sat 02-17: the weekdays among them are stored as holidays, named in
    # Chinese; the two Sundays around them are make-up working days.
    assert list(
        CalendarDay.objects.filter(date__range=(D(2024, 2, 1), D(2024, 2, 29))).values_list(
            "date", "is_working_day", "name"
        )
    ) == [
        (D(2024, 2, 4), True, "春节调休上班"),
        *((D(2024, 2, day), False, "春节") for day in range(12, 17)),
        (D(2024, 2, 18), True, "春节调休上班"),
    ]
    for day in range(10, 18):
        assert not is_working_day(D(2024, 2, day))


# --- Query counts -------------------------------------------------------------------------------


def test_a_deadline_is_computed_with_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        deadline_for_submission(beijing(D(2025, 9, 24)))
    with django_assert_num_queries(1):
        working_days_left(D(2025, 10, 21), D(2025, 9, 24))
    with django_assert_num_queries(1):
        is_working_day(D(2025, 10, 11))


# --- The admin site -----------------------------------------------------------------------------


@pytest.fixture
def manager(client, management_admin):
    """The management administrator with the permissions seed_demo gives them."""
    management_admin.groups.add(SeedDemo._management_group())
    login_verified(client, management_admin)
    return management_admin


def test_applications_are_shown_but_not_changed_in_the_admin_site(client, manager, centre):
    app = application(centre, started=D(2026, 3, 2))

    assert client.get("/admin/accreditation/application/").status_code == 200
    assert client.get(f"/admin/accreditation/application/{app.pk}/change/").status_code == 200
    assert client.get("/admin/accreditation/application/add/").status_code == 403
    assert client.get("/admin/accreditation/catalogueentry/add/").status_code == 403
    response = client.post(
        f"/admin/accreditation/application/{app.pk}/change/", {"state": "accredited"}
    )
    assert response.status_code == 403
    app.refresh_from_db()
    assert app.state == ApplicationState.SUBMITTED
