import pytest

from tests.people import PASSWORD, otp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_signs_in_through_the_browser_and_sees_their_dashboard(page, reviewer):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    page.get_by_role("banner").get_by_role("link", name="登录").click()
    page.get_by_label("账户号码、电子邮箱或手机号").fill("rita@example.cn")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_label("身份验证器应用中的6位验证码").fill(otp_code(reviewer))
    page.get_by_role("button", name="继续").click()

    assert page.get_by_test_id("role").inner_text() == "认证分中心审核员"
    assert "王审核" in page.get_by_test_id("whoami").inner_text()


def test_a_wrong_password_is_shown_beside_the_form_and_english_is_one_click_away(page, reviewer):
    page.goto("/login/")
    page.get_by_role("button", name="English").click()
    page.get_by_label("Account number, email or mobile phone").fill("rita")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    assert page.get_by_role("alert").inner_text().startswith("The account number, email or phone")


def test_the_portal_fits_a_phone_screen(browser, live_server, reviewer):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/login/")

    width = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    assert width <= 375
