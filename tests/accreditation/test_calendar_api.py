"""``GET /api/v1/calendar/<year>/``: the calendar that institutions' systems read (issue 18).
Open to anyone, cacheable; a published year from its arrangement, an unpublished one from the
law. Expected days are written by hand (2026: the State Council's notice as the package holds
it; 2027: the law)."""

from __future__ import annotations

import datetime

import pytest
from rest_framework.test import APIClient

from accreditation.calendar import calendar_year_publish

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def days(rows: list[dict]) -> list[tuple[str, str, str]]:
    return [(row["date"], row["name"], row["source"]) for row in rows]


def test_an_unpublished_year_is_served_from_the_law_to_anyone(anonymous):
    response = anonymous.get("/api/v1/calendar/2027/")

    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    assert "max-age=3600" in response["Cache-Control"]
    body = response.json()
    assert (body["year"], body["published"]) == (2027, False)
    assert body["make_up_working_days"] == []
    spring = [row for row in days(body["holidays"]) if row[0].startswith("2027-02")]
    # Eve Fri 5 Feb to Mon 8 Feb; Sat 6 and Sun 7 made up Tue 9 and Wed 10.
    assert spring == [
        ("2027-02-05", "春节", "law"),
        ("2027-02-06", "春节", "law"),
        ("2027-02-07", "春节", "law"),
        ("2027-02-08", "春节", "law"),
        ("2027-02-09", "春节补休", "law"),
        ("2027-02-10", "春节补休", "law"),
    ]
    assert ("2027-01-01", "元旦", "law") in days(body["holidays"])
    # The 13 statutory days: 7 on weekdays, 6 on weekends (Feb 6, 7; May 1, 2; Oct 2, 3), the
    # latter made up on 6 weekdays (Feb 9, 10; May 3, 4; Oct 4, 5).
    assert len(body["holidays"]) == 13 + 6


def test_a_published_year_gives_its_arrangement_and_the_weekend_holidays(anonymous):
    body = anonymous.get("/api/v1/calendar/2026/").json()

    assert body["published"] is True
    assert body["source"].startswith("chinesecalendar")
    holidays = days(body["holidays"])
    # Labour Day 2026: off Fri 05-01 to Tue 05-05 by the arrangement; Sat 05-02 is a
    # statutory holiday on a weekend (listed from the law), Sun 05-03 a plain Sunday.
    may = [row for row in holidays if row[0].startswith("2026-05")]
    assert may == [
        ("2026-05-01", "劳动节", "arrangement"),
        ("2026-05-02", "劳动节", "law"),
        ("2026-05-04", "劳动节", "arrangement"),
        ("2026-05-05", "劳动节", "arrangement"),
    ]
    assert ("2026-05-09", "劳动节调休上班", "arrangement") in days(body["make_up_working_days"])


def test_publishing_the_year_switches_it_to_the_arrangement(anonymous):
    calendar_year_publish(
        year=2027,
        days=[(D(2027, 1, 1), False, "元旦"), (D(2027, 2, 20), True, "春节调休上班")],
        source="国务院办公厅关于2027年部分节假日安排的通知",
    )

    body = anonymous.get("/api/v1/calendar/2027/").json()

    assert body["published"] is True
    assert body["source"] == "国务院办公厅关于2027年部分节假日安排的通知"
    assert ("2027-01-01", "元旦", "arrangement") in days(body["holidays"])
    assert ("2027-02-06", "春节", "law") in days(body["holidays"])  # a Saturday
    assert ("2027-02-09", "春节补休", "law") not in days(body["holidays"])
    assert days(body["make_up_working_days"]) == [("2027-02-20", "春节调休上班", "arrangement")]


@pytest.mark.parametrize("year", ["1999", "2019", "2101", "99999"])
def test_a_year_out_of_range_is_not_found_with_a_clear_error(anonymous, year):
    response = anonymous.get(f"/api/v1/calendar/{year}/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response.json() == {
        "detail": f"No working-day calendar for {year}: the portal has the years 2020 to 2100."
    }
    in_chinese = anonymous.get(f"/api/v1/calendar/{year}/").json()["detail"]
    assert in_chinese == f"没有{year}年的工作日历：本平台提供2020年至2100年的日历。"


def test_a_year_that_is_not_a_number_is_not_found(anonymous):
    assert anonymous.get("/api/v1/calendar/next/").status_code == 404


def test_the_route_is_in_the_schema(anonymous):
    schema = anonymous.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert "/api/v1/calendar/{year}/" in schema.content.decode()


def test_the_schema_describes_the_fields_in_english_whatever_the_readers_language(anonymous):
    # Issue 22: the schema is one document (generated clients must not depend on who downloaded
    # it); it used to follow Accept-Language. Answers still do.
    chinese = anonymous.get(
        "/api/v1/schema/", HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    english = anonymous.get(
        "/api/v1/schema/", HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert chinese.content == english.content
    year = chinese.json()["components"]["schemas"]["CalendarYear"]["properties"]
    assert year["holidays"]["description"] != "普通周末以外的休息日。"
    day = chinese.json()["components"]["schemas"]["CalendarDay"]["properties"]
    assert day["name"]["description"] == "The occasion, in Chinese (e.g. 春节, 国庆节补休)."
