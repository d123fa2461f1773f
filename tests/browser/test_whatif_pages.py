"""Issue 24 in a real browser, at 390 and 1280 px, in Chinese and in English: the what-if across
programmes and the plan to one fit the screen (no element wider than the viewport) with
axe-core finding no violation; the learner filters the ranking, and follows a row to its plan
and from the plan to the path."""

from __future__ import annotations

import pytest

from accounts.models import Role, User
from accreditation.catalogue import catalogue_current
from tests.accounts.factories import CentreFactory, UserFactory
from tests.accreditation.factories import accredited_outcome
from tests.browser.test_people_pages import COMBOS, check, open_as, seed  # noqa: F401
from transfers.models import Programme

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("viewport", "language"), COMBOS)
def test_the_what_if_and_the_plan_fit_pass_axe_and_lead_to_each_other(
    open_as,  # noqa: F811
    viewport,
    language,
):
    seed()
    learner = User.objects.get(phone="13800000001")
    # The demo learner's principal certificate accredited: it covers a course of PRE-ZK.
    accredited_outcome(
        learner.learning_account,
        catalogue_current().get(entry__code="CQ-ZG-001"),
        UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory()),
    )
    preschool = Programme.objects.get(code="PRE-ZK")
    page = open_as(learner, viewport, language)

    check(page, "/file/what-if/")
    rows = page.get_by_test_id("what-if").locator("tbody tr")
    assert rows.count() == Programme.objects.filter(is_published=True).count()
    # The programme the accredited certificate counts for comes first.
    assert rows.first.get_attribute("data-testid") == f"programme-{preschool.pk}"
    assert rows.first.get_by_test_id("share-now").inner_text() != "0%"

    # Filtering by kind keeps the degree programmes only (a page, not a 400).
    page.select_option("#id_kind", "degree")
    page.get_by_test_id("what-if-form").get_by_role("button").click()
    page.wait_for_url("**/file/what-if/?*kind=degree*")
    degrees = Programme.objects.filter(is_published=True, kind="degree").values_list(
        "pk", flat=True
    )
    testids = page.locator("[data-testid=what-if] tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.testid)"
    )
    assert {int(t.removeprefix("programme-")) for t in testids} == set(degrees)

    page.get_by_test_id(f"programme-{preschool.pk}").get_by_test_id("plan-link").click()
    page.wait_for_url(f"**/file/goals/{preschool.pk}/plan/")
    check(page, page.url)
    assert page.get_by_test_id("done-PRE101").is_visible()
    assert page.get_by_test_id("plan-steps").locator("tbody tr").count() > 0
    path_link = "学习路径" if language == "zh-hans" else "Learning path"
    page.get_by_role("link", name=path_link, exact=True).click()
    page.wait_for_url(f"**/file/goals/{preschool.pk}/")
