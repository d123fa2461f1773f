"""Due dates that reach into a year the State Council has not arranged yet (issue 18): counted on
the law's holidays (accreditation/holiday_law.py), marked provisional, and shown to the learner
with why they may move.

The package's calendar ends with 2026, so 2027 and 2028 are unpublished here. Expected dates are
worked out by hand from the law, counting the n-th working day strictly after the Beijing date
of submission; comments list the working days counted.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from accreditation import calendar, services
from accreditation.calendar import Deadline, deadline_for_submission
from accreditation.models import CalendarYear
from tests.outcomes.factories import certificate_save

pytestmark = pytest.mark.django_db

D = datetime.date
UTC = datetime.UTC


def beijing(day: datetime.date, hour: int = 10, minute: int = 0, second: int = 0):
    return datetime.datetime(
        day.year, day.month, day.day, hour, minute, second, tzinfo=calendar.BEIJING
    )


def test_2027_and_2028_are_not_published():
    assert not CalendarYear.objects.filter(year__in=[2027, 2028]).exists()


@pytest.mark.parametrize(
    ("submitted_on", "due_on", "remind_on"),
    [
        # Mon 2026-12-28; Fri 2027-01-01 New Year's Day off: 12-29..12-31 (3),
        # 01-04..01-08 (8), 01-11..01-15 (13), 01-18, 01-19 (15). Reminder: 01-18, 01-15, 01-14.
        # (Monday to Friday would have made it Mon 01-18.)
        (D(2026, 12, 28), D(2027, 1, 19), D(2027, 1, 14)),
        # Mon 2027-01-25; Spring Festival: eve Fri 02-05 and Mon 02-08 off, Sat 02-06 and
        # Sun 02-07 made up Tue 02-09 and Wed 02-10: 01-26..01-29 (4), 02-01..02-04 (8),
        # 02-11, 02-12 (10), 02-15..02-19 (15). Reminder: 02-18, 02-17, 02-16.
        (D(2027, 1, 25), D(2027, 2, 19), D(2027, 2, 16)),
        # Mon 2027-09-13; Mid-Autumn Wed 09-15; National Day Fri 10-01, Sat 10-02 and Sun 10-03
        # made up Mon 10-04 and Tue 10-05: 09-14 (1), 09-16, 09-17 (3), 09-20..09-24 (8),
        # 09-27..09-30 (12), 10-06..10-08 (15). Reminder: 10-07, 10-06, 09-30.
        (D(2027, 9, 13), D(2027, 10, 8), D(2027, 9, 30)),
        # Mon 2027-12-20; Sat 2028-01-01 made up Mon 01-03: 12-21..12-24 (4), 12-27..12-31 (9),
        # 01-04..01-07 (13), 01-10, 01-11 (15). Reminder: 01-10, 01-07, 01-06.
        (D(2027, 12, 20), D(2028, 1, 11), D(2028, 1, 6)),
        # Mon 2028-09-25; National Day Sun 10-01, Mon 10-02, Tue 10-03 which is Mid-Autumn too:
        # off 10-02, 10-03 and made up 10-04, 10-05: 09-26..09-29 (4), 10-06 (5),
        # 10-09..10-13 (10), 10-16..10-20 (15). Reminder: 10-19, 10-18, 10-17.
        (D(2028, 9, 25), D(2028, 10, 20), D(2028, 10, 17)),
    ],
)
def test_an_unpublished_year_is_counted_on_the_statutory_holidays(submitted_on, due_on, remind_on):
    assert deadline_for_submission(beijing(submitted_on)) == Deadline(
        due_on=due_on, remind_on=remind_on, provisional=True
    )


@pytest.mark.parametrize(
    ("moment", "due_on"),
    [
        # 23:59:59 on Wed 2026-12-30 in Beijing (15:59:59 UTC): counted from 12-30:
        # 12-31 (1), [01-01 off], 01-04..01-08 (6), 01-11..01-15 (11), 01-18..01-21 (15).
        (datetime.datetime(2026, 12, 30, 15, 59, 59, tzinfo=UTC), D(2027, 1, 21)),
        # One second later it is Thu 2026-12-31 in Beijing, still 12-30 in UTC: one day later.
        (datetime.datetime(2026, 12, 30, 16, 0, 0, tzinfo=UTC), D(2027, 1, 22)),
        # 23:59:59 on Thu 12-31 and 00:00:00 on the holiday Fri 01-01: the same due date, since
        # neither the holiday nor the weekend after it counts.
        (datetime.datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC), D(2027, 1, 22)),
        (datetime.datetime(2026, 12, 31, 16, 0, 0, tzinfo=UTC), D(2027, 1, 22)),
        # 00:00:00 on Mon 2027-01-04 in Beijing (Sunday in UTC): counted from the Monday.
        (datetime.datetime(2027, 1, 3, 16, 0, 0, tzinfo=UTC), D(2027, 1, 25)),
    ],
)
def test_the_beijing_midnight_decides_the_day_of_submission(moment, due_on):
    deadline = deadline_for_submission(moment)
    assert (deadline.due_on, deadline.provisional) == (due_on, True)


def test_a_year_counted_from_the_law_costs_no_more_queries(django_assert_num_queries):
    with django_assert_num_queries(1):
        deadline_for_submission(beijing(D(2027, 1, 25)))
    with django_assert_num_queries(1):
        calendar.working_days_left(D(2027, 2, 19), D(2027, 2, 4))


# --- What the learner sees ----------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """Sets the portal's clock (django.utils.timezone.now, which the services read)."""

    def set_to(moment: datetime.datetime) -> None:
        monkeypatch.setattr(services.timezone, "now", lambda: moment)

    return set_to


def test_the_learner_sees_a_provisional_due_date_explained_and_the_days_left_agree(
    client, shao, centre, clock
):
    clock(beijing(D(2027, 1, 25), 9, 30))
    application = services.application_submit(
        outcome=certificate_save(shao), centre=centre, actor=shao.holder
    )
    assert (application.due_on, application.due_is_provisional) == (D(2027, 2, 19), True)

    # Thu 2027-02-04: left are 02-11, 02-12 and 02-15..02-19 (7), not the eve nor the days
    # off that make up for the weekend of the Spring Festival.
    clock(beijing(D(2027, 2, 4), 10))
    client.force_login(shao.holder)
    client.cookies["django_language"] = "en"
    page = client.get(f"/applications/{application.pk}/").content.decode()
    listing = client.get("/applications/").content.decode()

    assert '<span data-testid="due-on">2027-02-19</span>' in page
    assert calendar.working_days_left(D(2027, 2, 19), D(2027, 2, 4)) == 7
    assert '<span data-testid="days-left">7 working days left</span>' in page
    assert '<span data-testid="days-left">7 working days left</span>' in listing
    explained = (
        "Provisional: computed from the statutory holidays; the State Council's arrangement"
        " for 2027 (make-up working days, extra days off) may move it."
    )
    assert explained in page
    assert explained in listing  # as the title of "(provisional)"
    # A phone shows no hover text: the listing says it under the table, and the file marks it.
    assert f'data-testid="provisional-note">{explained}</p>' in listing
    learning_file = client.get(reverse("learning-file")).content.decode()
    assert 'data-testid="provisional-mark"' in learning_file
