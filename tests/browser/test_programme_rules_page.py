"""The programme rules page on a phone (390 px, Chinese): the officer publishes a version,
a bad line of categories is explained next to its field, and the learner's path then shows
each rule's state; no page wider than the screen, no axe-core violation."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.browser.axe import axe_violations
from tests.people import login_verified
from transfers.models import LearningGoal, ProgrammeRules

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_as(browser, live_server, user, *, verified: bool):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="zh-CN"
    )
    client = Client()
    if verified:
        login_verified(client, user)
    else:
        client.force_login(user)
    cookies = [
        {"name": settings.LANGUAGE_COOKIE_NAME, "value": "zh-hans"},
        {
            "name": settings.SESSION_COOKIE_NAME,
            "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        },
    ]
    context.add_cookies([{**c, "url": live_server.url} for c in cookies])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def assert_fits(page, name: str) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], (name, widths)
    assert axe_violations(page) == [], (name, axe_violations(page))


def test_the_officer_publishes_rules_on_a_phone_and_the_learner_sees_them(
    browser, live_server, transfer_world, institution_officer, learner
):
    programme = transfer_world["programme"]
    LearningGoal.objects.create(account=transfer_world["account"], programme=programme)
    context, page = open_as(browser, live_server, institution_officer, verified=True)

    page.goto("/")
    page.get_by_role("link", name="专业规则").click()
    page.get_by_role("link", name="学前教育（专科）").click()
    assert_fits(page, "rules-empty")
    page.get_by_label("每年认可学分上限").fill("42")
    page.get_by_label("课程类别").fill("专业核心课 | 6 | PRE-ZK-1 NOPE")
    page.get_by_label("批准机构").fill("开放大学教务处")
    page.get_by_label("依据").fill("学分银行转换规定")
    page.get_by_role("button", name="发布").click()

    errors = page.locator("#id_categories_errors")
    assert "“NOPE”不是本专业的课程。" in errors.inner_text()
    assert_fits(page, "rules-refused")
    page.get_by_label("课程类别").fill("专业核心课 | 6 | PRE-ZK-1 PRE-ZK-2")
    page.get_by_role("button", name="发布").click()

    assert page.get_by_test_id("rules-v1").get_attribute("data-in-force") == "true"
    assert ProgrammeRules.objects.get().max_credits_per_year == 42
    # With the one-time notice on the page (the messages list is inside a status region).
    assert_fits(page, "rules-published")
    context.close()

    context, page = open_as(browser, live_server, learner, verified=False)
    page.goto(f"/file/goals/{programme.pk}/")
    rules = page.get_by_test_id("programme-rules")
    assert "专业核心课还需 6.0 学分（已有 0 学分，最低 6.0 学分）。" in rules.inner_text()
    assert page.get_by_test_id("rule-per_year").get_attribute("data-state") == "met"
    assert_fits(page, "path-with-rules")
    context.close()
