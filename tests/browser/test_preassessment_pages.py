"""Issue 24 in a real browser, at a phone's 390 px and a desktop's 1280 px, in Chinese: the
pre-assessment pages (asking, the question, the withdrawal's confirmation step, the officer's
queue, answer page and answered list, and the learning path showing the binding yes) fit the
screen with no horizontal scroll and axe-core finding no violation; the learner withdraws
only after confirming, and the officer's yes shows on her path."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.browser.axe import axe_violations
from tests.browser.test_people_pages import (  # noqa: F401
    NARROW_ROWS_JS,
    OVERFLOW_JS,
    VIEWPORTS,
    check,
    open_as,
)
from tests.transfers.test_preassessments import ask, world_make
from transfers.models import PreAssessment, PreAssessmentState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits(page, where: str) -> None:
    """The page shown now (after a click) fits the screen and axe-core finds nothing."""
    assert page.evaluate(OVERFLOW_JS) == {"wide": [], "scrolls": False}, where
    assert page.evaluate(NARROW_ROWS_JS) == [], where
    assert axe_violations(page) == [], where


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_pre_assessment_pages_fit_pass_axe_and_confirm_a_withdrawal(
    open_as,  # noqa: F811
    learner,
    institution_officer,
    viewport,
):
    world = world_make(learner, institution_officer)
    course = world["courses"][0]
    page = open_as(learner, viewport, "zh-hans")

    check(page, "/preassessments/")
    check(page, f"/preassessments/ask/{course.pk}/")
    page.select_option("#id_entry_version", str(world["version"].pk))
    page.get_by_test_id("ask").click()
    page.wait_for_url("**/preassessments/*/")
    asked = PreAssessment.objects.get()
    fits(page, "the question")
    assert "第1版" in page.get_by_test_id("preassessment").inner_text()

    # Withdrawing asks first; "no, keep it" keeps the question open.
    page.get_by_test_id("withdraw").click()
    page.get_by_test_id("withdraw-confirm").wait_for()
    fits(page, "the withdrawal's confirmation")
    asked.refresh_from_db()
    assert asked.state == PreAssessmentState.ASKED
    page.get_by_test_id("withdraw-confirm-button").click()
    page.wait_for_url(f"**/preassessments/{asked.pk}/")
    asked.refresh_from_db()
    assert asked.state == PreAssessmentState.WITHDRAWN

    # Asked again; the officer answers yes from the queue.
    again = ask(world)
    officer = open_as(institution_officer, viewport, "zh-hans")
    check(officer, "/institution/preassessments/")
    check(officer, f"/institution/preassessments/{again.pk}/")
    officer.get_by_label("是：予以认定（具有约束力）").check()
    until = timezone.localdate() + datetime.timedelta(days=400)
    officer.fill("#id_valid_until", until.isoformat())
    officer.get_by_test_id("answer").click()
    officer.wait_for_url(f"**/institution/preassessments/{again.pk}/")
    again.refresh_from_db()
    assert again.state == PreAssessmentState.YES
    check(officer, "/institution/preassessments/?show=answered")
    assert officer.get_by_test_id("preassessments-answered").locator("tbody tr").count() == 1

    # The binding on the learner's path wraps instead of widening the page (470 px on 390).
    check(page, f"/file/goals/{world['programme'].pk}/")
    assert page.get_by_test_id("binding").is_visible()
    check(page, f"/preassessments/{again.pk}/")
