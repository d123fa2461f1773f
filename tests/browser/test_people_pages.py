"""Issue 21 in a real browser, at a phone's 390 px and a desktop's 1280 px, in Chinese and in
English: each role's home page, "Add results", the learning path and the review queue fit the
screen (no element wider than the viewport, no horizontal scroll) with axe-core finding no
violation; and the flows complete (saved result -> apply in one click; the demo institution
admin -> member import). One browser for the module (the session's); the demo data is loaded
once per test (tests/demo.py: run once a session, copied back after)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from tests.accounts.helpers import csv_file, member
from tests.browser.axe import axe_violations
from tests.demo import demo_seed
from tests.outcomes.factories import certificate_save
from tests.outcomes.samples import pdf_bytes
from tests.people import login_verified

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
COMBOS = [(v, lang) for v in VIEWPORTS for lang in ("zh-hans", "en")]

# Every element's box inside the viewport; the skip link waits off-screen until focused, and
# the table headings kept for screen readers are 1 px boxes.
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.skip-link')) continue;
    const head = el.closest('thead');
    if (head && getComputedStyle(head).position === 'absolute') continue;  // screen readers only
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.right > width + 1 || box.left < -1) {
      wide.push(`${el.tagName}.${el.className} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return {wide: wide.slice(0, 8), scrolls: document.documentElement.scrollWidth > width};
}"""


# On a phone every table is a stack of cards: each row (thead's, tbody's and tfoot's alike) as
# wide as its table, so no label is squeezed to a character a line (the deadlines' totals row).
NARROW_ROWS_JS = """() => {
  if (document.documentElement.clientWidth >= 600) return [];
  const narrow = [];
  for (const row of document.querySelectorAll('table tbody tr, table tfoot tr')) {
    const table = row.closest('table').getBoundingClientRect();
    const box = row.getBoundingClientRect();
    if (box.width < table.width * 0.9) {
      const text = row.textContent.trim().slice(0, 20);
      narrow.push(`${row.parentElement.tagName} ${text} ${Math.round(box.width)}/${table.width}`);
    }
  }
  return narrow.slice(0, 8);
}"""


# The smallest rendered size of the yearly charts' text, in CSS pixels (SVG text scales with
# its drawing).
CHART_TEXT_JS = """() => {
  const sizes = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    for (const text of svg.querySelectorAll('text')) {
      sizes.push(parseFloat(text.getAttribute('font-size')) * scale);
    }
  }
  return sizes.length ? Math.min(...sizes) : null;
}"""


# The gap in CSS pixels between the holiday banner and what follows it (None: no banner).
BANNER_GAP_JS = """() => {
  const banner = document.querySelector('[data-testid=calendar-unpublished]');
  if (!banner || !banner.nextElementSibling) return null;
  const next = banner.nextElementSibling.getBoundingClientRect();
  return next.top - banner.getBoundingClientRect().bottom;
}"""


def seed() -> None:
    demo_seed()


@pytest.fixture
def open_as(browser, live_server):
    """``open_as(username_or_user, viewport, language)``: a page signed in as that user (both
    factors, through the test client's session), at the viewport, in the language."""
    contexts: list[Any] = []

    def opener(who: str | User, viewport: str, language: str):
        user = who if isinstance(who, User) else User.objects.get(username=who)
        client = Client()
        if user.role == "learner":
            client.force_login(user)
        else:
            login_verified(client, user)
        context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[viewport])
        contexts.append(context)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                },
                {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
            ]
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield opener
    for context in contexts:
        context.close()


def check(page, path: str) -> None:
    """Open ``path``: it fits the screen and axe-core finds nothing."""
    response = page.goto(path)
    assert response is not None, path
    assert response.status == 200, path
    fit = page.evaluate(OVERFLOW_JS)
    assert fit == {"wide": [], "scrolls": False}, (path, fit)
    assert page.evaluate(NARROW_ROWS_JS) == [], path
    assert axe_violations(page) == [], path


@pytest.mark.parametrize(("viewport", "language"), COMBOS)
def test_each_roles_home_fits_the_screen_and_passes_axe(open_as, viewport, language):
    seed()
    for username in (
        "reviewer.yuzhong",
        "admin.yuzhong",
        "officer.cqou",
        "inst.admin",
        "manager",
    ):
        page = open_as(username, viewport, language)
        check(page, "/")
        assert page.get_by_test_id("role-home").is_visible(), username
        gap = page.evaluate(BANNER_GAP_JS)
        assert gap is None or gap >= 12, (username, gap)  # was 7.5, tight on the heading
        menu = page.get_by_test_id("menu")
        assert menu.is_visible() == (viewport == "phone")
    learner = User.objects.get(phone="13800000001")
    check(open_as(learner, viewport, language), "/")


@pytest.mark.parametrize(("viewport", "language"), COMBOS)
def test_add_results_the_learning_path_and_the_queue_fit_and_pass_axe(open_as, viewport, language):
    from transfers.models import Programme

    seed()
    learner = User.objects.get(phone="13800000001")
    page = open_as(learner, viewport, language)
    check(page, "/outcomes/add/")
    check(page, "/outcomes/add/?kind=training")
    check(page, f"/file/goals/{Programme.objects.get(code='PRE-ZK').pk}/")
    check(page, "/file/")
    saved = certificate_save(learner.learning_account, title="电工职业技能等级证书")
    saved.hours = 40
    saved.save(update_fields=["hours"])
    page.goto("/file/")
    smallest = page.evaluate(CHART_TEXT_JS)
    assert smallest is not None
    assert smallest >= 11, smallest  # legible on a phone (was 6 px)
    check(page, "/applications/")
    reviewer = open_as("reviewer.yuzhong", viewport, language)
    check(reviewer, "/centre/queue/")
    if viewport == "desktop":
        # Readable at 1280: no badge of the queue wraps onto two lines.
        heights = reviewer.eval_on_selector_all(
            "[data-testid=queue] .badge", "els => els.map(e => e.getClientRects().length)"
        )
        assert heights
        assert set(heights) == {1}


@pytest.mark.parametrize(("viewport", "language"), COMBOS)
def test_a_saved_results_delete_step_and_the_webhooks_page_fit_and_pass_axe(
    open_as, viewport, language
):
    from outcomes.models import LearningOutcome
    from tests.outcomes.factories import LearningOutcomeFactory

    seed()
    learner = User.objects.get(phone="13800000001")
    outcome = LearningOutcomeFactory(account=learner.learning_account, status="saved")
    page = open_as(learner, viewport, language)
    check(page, f"/outcomes/{outcome.pk}/")

    # Deleting asks first: the confirmation step fits too, and nothing is deleted yet.
    page.get_by_test_id("remove").get_by_role("button").click()
    assert page.get_by_test_id("remove-confirm").is_visible()
    assert page.evaluate(OVERFLOW_JS) == {"wide": [], "scrolls": False}
    assert axe_violations(page) == []
    assert LearningOutcome.objects.get(pk=outcome.pk).status == "saved"

    admin = open_as("inst.admin", viewport, language)
    institution = User.objects.get(username="inst.admin").institution_id
    check(admin, f"/institutions/{institution}/webhooks/")


def test_the_phone_menu_opens_without_script(open_as):
    seed()
    page = open_as(User.objects.get(phone="13800000001"), "phone", "zh-hans")
    page.goto("/")
    menu = page.get_by_test_id("menu")
    link = menu.get_by_role("link", name="添加成果")
    assert not link.is_visible()

    menu.locator("summary").click()

    assert link.is_visible()


def test_a_saved_result_is_applied_for_in_one_click(open_as, tmp_path):
    from accreditation.models import Application

    seed()
    learner = User.objects.get(phone="13800000001")
    page = open_as(learner, "phone", "zh-hans")
    evidence = tmp_path / "培训证明.pdf"
    evidence.write_bytes(pdf_bytes("training"))

    page.goto("/outcomes/add/")
    page.get_by_label("培训经历").check()
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("名称").fill("学前教育安全培训")
    page.get_by_label("取得日期").fill("2025-06-30")
    page.get_by_label("证明材料").set_input_files(str(evidence))
    page.get_by_role("button", name="保存成果").click()
    # Refused (no provider, hours or start date): the summary says so, the file is kept.
    assert page.get_by_test_id("error-summary").is_visible()
    assert "培训证明.pdf" in page.get_by_test_id("pending-evidence").inner_text()
    page.locator("#id_provider").fill("重庆市幼教培训中心")
    page.locator("#id_hours").fill("24")
    page.locator("#id_started_on").fill("2025-06-01")
    page.get_by_role("button", name="保存成果").click()
    assert page.get_by_test_id("status").inner_text() == "已保存"
    assert page.get_by_test_id("evidence").inner_text().startswith("培训证明.pdf")

    page.get_by_test_id("apply").click()
    page.get_by_label("学习成果认证中心").select_option(label="渝中区学习成果认证分中心")
    page.get_by_role("button", name="提交认证").click()

    assert Application.objects.filter(outcome__title="学前教育安全培训").exists()


def test_the_demo_institution_admin_imports_members_from_the_home_page(open_as):
    seed()
    page = open_as("inst.admin", "phone", "en")
    page.goto("/")

    page.get_by_test_id("action-import").click()
    page.get_by_label("Member list (CSV or XLSX)").set_input_files(
        {
            "name": "members.csv",
            "mimeType": "text/csv",
            "buffer": csv_file([member(101), member(102)]),
        }
    )
    page.get_by_role("button", name="Import", exact=True).click()

    members = page.get_by_test_id("members").inner_text()
    assert "成员101" in members
    assert "成员102" in members
    assert page.evaluate(OVERFLOW_JS) == {"wide": [], "scrolls": False}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_other_pages_of_each_role_fit_a_phone(open_as, language):
    from accounts.models import Institution
    from accreditation.models import Application

    seed()
    learner = open_as(User.objects.get(phone="13800000001"), "phone", language)
    for path in (
        "/catalogue/",
        "/file/statement/",
        "/file/inquiry/",
        "/transfers/",
        "/notifications/",
        "/account/closure/",
    ):
        check(learner, path)
    reviewer = open_as("reviewer.yuzhong", "phone", language)
    check(reviewer, f"/centre/applications/{Application.objects.get().pk}/")
    admin = open_as("admin.yuzhong", "phone", language)
    for path in ("/centre/deadlines/", "/centre/institutions/"):
        check(admin, path)
    check(open_as("officer.cqou", "phone", language), "/institution/transfers/")
    group = Institution.objects.get(name__startswith="重庆市阳光幼教集团")
    institution_admin = open_as("inst.admin", "phone", language)
    for path in (f"/institutions/{group.pk}/members/", f"/institutions/{group.pk}/batches/"):
        check(institution_admin, path)
    manager = open_as("manager", "phone", language)
    for path in ("/calendar/manage/", "/catalogue/manage/", "/centre/deadlines/"):
        check(manager, path)
