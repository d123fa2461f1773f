"""The learner's inquiry: their own outcomes filtered by period, kind, status and provider, with
yearly totals and a chart drawn by the server."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from tests.accounts.factories import PersonalAccountFactory, UserFactory
from tests.outcomes.factories import LearningOutcomeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(statement_history):
    return statement_history


def outcome(account, title: str, year: int, **fields):
    return LearningOutcomeFactory(
        account=account, title=title, achieved_on=datetime.date(year, 5, 1), **fields
    )


def test_the_learner_filters_their_own_outcomes(client, learner):
    account = PersonalAccountFactory(holder=learner)
    outcome(account, "茶艺培训", 2020, kind="training", provider="重庆茶艺学校")
    outcome(account, "园长证书", 2023, kind="vocational_qualification", issuing_body="市教委")
    other = PersonalAccountFactory(holder=UserFactory(role=Role.LEARNER))
    outcome(other, "别人的培训", 2020, kind="training", provider="重庆茶艺学校")
    client.force_login(learner)

    page = client.get("/file/inquiry/", {"provider": "茶艺", "achieved_to": "2021-12-31"})
    text = page.content.decode()
    assert "茶艺培训" in text
    assert "园长证书" not in text
    assert "别人的培训" not in text

    by_body = client.get(
        "/file/inquiry/", {"provider": "市教委", "kind": "vocational_qualification"}
    )
    assert "园长证书" in by_body.content.decode()
    assert "茶艺培训" not in by_body.content.decode()


def test_bad_filters_are_named_never_a_500(client, api_client, learner):
    PersonalAccountFactory(holder=learner)
    client.force_login(learner)
    page = client.get("/file/inquiry/", {"achieved_from": "yesterday", "kind": "nonsense"})
    assert page.status_code == 200
    assert b"field__errors" in page.content

    api_client.force_authenticate(learner)
    response = api_client.get(
        "/api/v1/accounts/me/outcomes/search/",
        {"achieved_from": "2024-01-01", "achieved_to": "2023-01-01", "status": "x"},
    )
    assert response.status_code == 400
    assert {"achieved_to", "status"} <= set(response.json())


def test_the_totals_per_year_come_from_the_ledger_and_the_outcomes(api_client, learner, history):
    api_client.force_authenticate(learner)

    body = api_client.get("/api/v1/accounts/me/outcomes/search/").json()

    this_year = datetime.date.today().year
    booked = next(t for t in body["totals"] if t["year"] == this_year)
    assert (booked["accredited_hours"], booked["accredited_credits"]) == ("240.0", "12.0")
    assert body["count"] == 2


def test_the_page_draws_the_chart_in_a_constant_number_of_queries(client, learner, history):
    client.force_login(learner)
    client.get("/file/inquiry/")
    with CaptureQueriesContext(connection) as few:
        page = client.get("/file/inquiry/")
    for i in range(10):
        outcome(history["account"], f"培训{i}", 2015 + i, hours=10)
    with CaptureQueriesContext(connection) as many:
        client.get("/file/inquiry/")

    assert len(many) == len(few)
    assert b'data-testid="totals-chart"' in page.content
    assert b"<script" not in page.content.split(b"totals-chart")[1].split(b"</svg>")[0]


def test_the_file_page_leads_to_every_right_over_the_file(client, learner):
    account = PersonalAccountFactory(holder=learner)
    client.force_login(learner)
    assert "<svg" not in client.get("/file/").content.decode()
    outcome(account, "茶艺培训", 2020, kind="training", hours=Decimal("16"))
    page = client.get("/file/").content.decode()
    for name in ("file-inquiry", "file-export", "rights-corrections", "rights-visits"):
        assert f'href="{reverse(name)}"' in page
    assert f'href="{reverse("rights-closure")}"' in page
    assert "<svg" in page
