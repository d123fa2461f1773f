import pytest
from playwright.sync_api import expect

from accounts.models import User
from accreditation.models import Application, CatalogueEntry
from accreditation.services import accredit_against_catalogue, review_start
from creditbank.management.commands.seed_demo import DEMO_PASSWORD
from tests.demo import demo_seed
from tests.people import otp_code
from transfers.models import Programme, TransferApplication

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, identifier: str) -> None:
    page.goto("/login/")
    page.get_by_label("账户号码、电子邮箱或手机号").fill(identifier)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="登录").click()


def sign_out(page) -> None:
    page.get_by_role("banner").get_by_role("button", name="退出").click()


def test_a_learner_transfers_the_credits_of_an_accredited_certificate_to_a_course(page):
    demo_seed()
    learner = User.objects.get(phone="13800000001")
    account = learner.learning_account
    reviewer = User.objects.get(username="reviewer.yuzhong")
    officer = User.objects.get(username="officer.cqou")
    programme = Programme.objects.get(code="PRE-ZK", institution__name="重庆开放大学")
    certificate = Application.objects.get(account=account, centre__code="CQ-YZ")
    review_start(application=certificate, actor=reviewer)
    accredit_against_catalogue(
        application=certificate, actor=reviewer, entry=CatalogueEntry.objects.get(code="CQ-ZG-001")
    )

    # The learner sets the programme as a goal and opens the learning path to it.
    sign_in(page, "13800000001")
    page.get_by_role("navigation").get_by_role("link", name="我的终身学习档案").click()
    page.get_by_label("专业或证书").select_option(label="学前教育（专科） · 重庆开放大学")
    page.get_by_role("button", name="设为学习目标").click()
    expect(page.get_by_role("status")).to_contain_text("学习目标已设定。")
    page.get_by_test_id("goals").get_by_role("link", name="学前教育（专科）").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("学前教育（专科）学习路径")
    pre101 = page.get_by_test_id("course-PRE101")
    assert pre101.get_attribute("data-status") == "match"
    assert "幼儿园教研工作管理" in pre101.inner_text()
    assert "可抵免" in pre101.inner_text()
    assert "幼儿园园长任职资格证书" in pre101.inner_text()
    assert page.get_by_test_id("covered").inner_text() == "3.0"
    assert page.get_by_test_id("still-needed").inner_text() == "73.0"
    assert page.get_by_test_id("course-PRE104").get_attribute("data-status") == "miss"
    assert pre101.get_by_role("checkbox", name="申请学分转换").is_checked()
    page.get_by_test_id("apply-transfer").click()

    expect(page.get_by_role("status")).to_contain_text("您的学分转换申请已发送至院校。")
    transfer = TransferApplication.objects.get(account=account, programme=programme)
    assert page.url.endswith(f"/transfers/{transfer.pk}/")
    assert page.get_by_test_id("status").inner_text() == "待审核"
    assert page.get_by_test_id("item-PRE101").get_by_test_id("item-state").inner_text() == "待审核"
    sign_out(page)

    # The institution's officer accepts the course.
    sign_in(page, "officer.cqou")
    page.get_by_label("身份验证器应用中的6位验证码").fill(otp_code(officer))
    page.get_by_role("button", name="继续").click()
    page.get_by_role("navigation").get_by_role("link", name="学分转换").click()
    queue = page.get_by_test_id("transfer-queue")
    assert "邵涛涛" in queue.inner_text()
    assert account.number in queue.inner_text()
    queue.get_by_role("link", name=str(transfer.pk), exact=True).click()

    items = page.get_by_test_id("transfer-items")
    assert "幼儿园园长任职资格证书" in items.get_by_test_id("item-PRE101").inner_text()
    items.get_by_label("同意：免修该课程").check()
    items.get_by_role("button", name="提交审批决定").click()

    expect(page.get_by_role("status")).to_contain_text("决定已记录。")
    assert page.get_by_test_id("item-PRE101").get_by_test_id("item-state").inner_text() == "已同意"
    assert page.get_by_test_id("transfer-items").get_by_role("button").count() == 0
    sign_out(page)

    # The learner sees the course accepted, in Chinese and then in English, and the credits on
    # the ledger statement.
    sign_in(page, "13800000001")
    page.get_by_role("navigation").get_by_role("link", name="我的学分转换").click()
    page.get_by_test_id("transfers").get_by_role("link", name="学前教育（专科）").click()
    assert page.get_by_test_id("item-PRE101").get_by_test_id("item-state").inner_text() == "已同意"
    assert "已同意" in page.get_by_test_id("transfer-events").inner_text()

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Credit transfer #{transfer.pk}")
    assert page.get_by_test_id("status").inner_text() == "Decided"
    accepted = page.get_by_test_id("item-PRE101")
    assert "Teaching and research work management" in accepted.inner_text()
    assert accepted.get_by_test_id("item-state").inner_text() == "Accepted"

    page.get_by_role("link", name="Learning path").click()
    pre101 = page.get_by_test_id("course-PRE101")
    assert "Exempted" in pre101.inner_text()
    assert pre101.get_by_role("checkbox").count() == 0
    assert page.get_by_test_id("still-needed").inner_text() == "73.0"

    page.get_by_role("navigation").get_by_role("link", name="Ledger statement").click()
    rows = page.get_by_test_id("statement").locator("tbody tr")
    assert rows.count() == 2
    last = rows.last
    assert "Transferred" in last.inner_text()
    assert last.get_by_role("link", name=f"Credit transfer #{transfer.pk}").is_visible()
    assert last.get_by_test_id("running-transferred").inner_text() == "3.0"
    assert last.get_by_test_id("running-credits").inner_text() == "6.0"
