"""Registration by phone in a real browser: the SMS code (through the in-memory backend), at a
phone's 390 px and a desktop's 1280 px, in Chinese and in English; then reset by SMS."""

import re

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.signin import sms
from tests.accounts.sms import sms_outbox  # noqa: F401 - fixture
from tests.browser.axe import axe_violations
from tests.people import LEARNER_PASSWORD as PASSWORD
from tests.people import RESIDENT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sms_outbox"),
]

PHONE = "13912345678"

# Elements whose box reaches past the right edge of the viewport (a 1 px rounding allowed),
# and the page's own width.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const element of document.querySelectorAll("body *")) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      wide.push(element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
        + (element.className ? "." + String(element.className).split(" ").join(".") : "")
        + " " + Math.round(box.right));
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


def fits(page) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["wide"] == [], found
    assert found["scroll"] <= found["width"], found
    assert axe_violations(page) == [], page.url


def test_a_learner_registers_through_the_page_and_sees_the_new_lifelong_learning_file(page):
    page.goto("/")
    page.get_by_role("main").get_by_role("link", name="开设学习账户").click()
    page.get_by_label("姓名").fill("邵涛涛")
    page.get_by_label("身份证件类型").select_option("resident_id")
    page.get_by_label("证件号码").fill(RESIDENT)
    page.get_by_label("手机号").fill("139 1234 5678")
    page.get_by_role("button", name="发送验证码").click()
    assert "139****5678" in page.get_by_test_id("code-sent").inner_text()
    page.get_by_label("短信验证码").fill(sms.outbox[-1].code)
    page.get_by_label(re.compile("^密码")).fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="开设账户").click()

    assert page.get_by_role("heading", name="我的终身学习档案").is_visible()
    assert page.get_by_test_id("account-number").inner_text().startswith("XF")
    assert page.get_by_test_id("id-number").inner_text() == RESIDENT[:3] + "*" * 11 + RESIDENT[-4:]
    assert page.get_by_test_id("hours").inner_text() == "0"
    assert "账户开设" in page.get_by_role("table").inner_text()


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize(
    ("language", "send", "opened"),
    [
        ("zh-hans", "发送验证码", "我的终身学习档案"),
        ("en", "Send the code", "My lifelong learning file"),
    ],
)
def test_registration_by_phone_fits_the_screen_in_both_languages(
    browser, live_server, width, language, send, opened
):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto("/register/")
        assert page.locator("html").get_attribute("lang") == language
        fits(page)
        page.locator("#id_name").fill("邵涛涛")
        page.locator("#id_id_number").fill(RESIDENT)
        page.locator("#id_phone").fill(PHONE)
        page.get_by_role("button", name=send).click()
        page.get_by_test_id("code-sent").wait_for()
        fits(page)

        # A wrong code first: refused beside the field, and the page still fits.
        page.locator("#id_code").fill("000000" if sms.outbox[-1].code != "000000" else "111111")
        page.locator("#id_password1").fill(PASSWORD)
        page.locator("#id_password2").fill(PASSWORD)
        page.locator("#id_password2").press("Enter")  # Enter opens the account, sends no code
        page.locator("#id_code_errors").wait_for()
        fits(page)
        assert len(sms.outbox) == 1

        page.locator("#id_code").fill(sms.outbox[-1].code)
        page.locator("#id_password1").fill(PASSWORD)
        page.locator("#id_password2").fill(PASSWORD)
        page.locator("form.sms-form button.button--primary").click()

        assert page.get_by_role("heading", name=opened).is_visible()
    finally:
        context.close()


def test_a_learner_resets_the_password_by_sms_from_the_sign_in_page(page, learner_by_phone):
    page.goto("/login/")
    page.get_by_role("link", name="通过短信重置").click()
    page.get_by_label("手机号").fill(PHONE)
    page.get_by_role("button", name="发送验证码").click()
    assert "139****5678" in page.get_by_test_id("code-sent").inner_text()
    page.get_by_label("短信验证码").fill(sms.outbox[-1].code)
    page.get_by_label(re.compile("^新密码")).fill("A-brand-new-password-1")
    page.get_by_label("再次输入新密码").fill("A-brand-new-password-1")
    page.get_by_role("button", name="保存新密码").click()
    page.get_by_role("link", name="登录").last.click()
    page.get_by_label("账户号码、电子邮箱或手机号").fill(PHONE)
    page.get_by_label("密码").fill("A-brand-new-password-1")
    page.get_by_role("main").get_by_role("button", name="登录").click()

    assert "邵涛涛" in page.get_by_test_id("whoami").inner_text()


@pytest.fixture
def learner_by_phone(db):
    from accounts.services import personal_account_register

    registered = personal_account_register(
        name="邵涛涛",
        id_type="resident_id",
        id_number=RESIDENT,
        phone=PHONE,
        email="",
        password=PASSWORD,
    )
    # Reset by SMS goes only to a phone proved by a code (as registration on the page does).
    User.objects.filter(phone=PHONE).update(phone_verified_at=timezone.now())
    return registered


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_reset_by_sms_pages_fit_a_phone(browser, live_server, language):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto("/login/")
        fits(page)
        page.goto("/password/reset/sms/")
        fits(page)
        page.locator("#id_phone").fill(PHONE)
        page.locator("form button.button--primary").click()
        page.get_by_test_id("code-sent").wait_for()
        fits(page)
    finally:
        context.close()
