import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import ClosureRequest, LearningAccount
from tests.people import LEARNER_PASSWORD as PASSWORD
from tests.people import RESIDENT, learner_register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13800000002"


def sign_in(page) -> None:
    """Signs in on the Chinese page, the default language."""
    page.goto("/login/")
    page.get_by_label("账户号码、电子邮箱或手机号").fill(PHONE)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="登录").click()


def test_a_learner_asks_to_close_the_account_sees_the_confirmation_period_and_cancels(page):
    account = learner_register(name="邵涛涛", id_number=RESIDENT, phone=PHONE)
    sign_in(page)

    # In Chinese, by default: from the file page, a wrong password first, then the right one.
    page.goto("/file/")
    page.get_by_test_id("danger-zone").get_by_role("link", name="注销我的账户").click()
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_have_text("注销我的账户")
    expect(main).to_contain_text("您可在15天内撤回")
    main.get_by_label("您的密码").fill("not-my-password")
    main.get_by_role("button", name="注销我的账户").click()
    expect(main).to_contain_text("密码不正确")
    assert not ClosureRequest.objects.exists()

    main.get_by_label("您的密码").fill(PASSWORD)
    main.get_by_role("button", name="注销我的账户").click()
    closure = ClosureRequest.objects.get()
    due = timezone.localtime(closure.due_at).date()
    expect(main).to_contain_text("您的账户将于")
    expect(main).to_contain_text(f"{due.year}年{due.month}月{due.day}日")
    assert (due - timezone.localdate()).days == 15

    main.get_by_role("button", name="保留我的账户").click()
    expect(page.get_by_text("已取消注销您的账户。")).to_be_visible()
    expect(main.get_by_label("您的密码")).to_be_visible()
    closure.refresh_from_db()
    assert closure.status == ClosureRequest.Status.CANCELLED

    # Once in English, through the switcher.
    page.get_by_role("button", name="English").click()
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_have_text("Close my account")
    expect(main).to_contain_text("You can cancel within 15 days.")
    main.get_by_label("Your password").fill(PASSWORD)
    main.get_by_role("button", name="Close my account").click()
    expect(main).to_contain_text("Your account will be closed on")
    expect(main).to_contain_text("Until then you can change your mind.")
    main.get_by_role("button", name="Keep my account").click()
    expect(page.get_by_text("The closure of your account is cancelled.")).to_be_visible()

    statuses = list(ClosureRequest.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["cancelled", "cancelled"]
    account.refresh_from_db()
    assert account.status == LearningAccount.Status.ACTIVE
    assert account.transactions.filter(kind="closure_cancelled").count() == 2
