import re

import pytest

from tests.people import LEARNER_PASSWORD as PASSWORD
from tests.people import RESIDENT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_learner_registers_through_the_page_and_sees_the_new_lifelong_learning_file(page):
    page.goto("/")
    page.get_by_role("main").get_by_role("link", name="开设学习账户").click()
    page.get_by_label("姓名").fill("邵涛涛")
    page.get_by_label("身份证件类型").select_option("resident_id")
    page.get_by_label("证件号码").fill(RESIDENT)
    page.get_by_label("手机号").fill("13912345678")
    page.get_by_label("电子邮箱").fill("shao@example.cn")
    page.get_by_label(re.compile("^密码")).fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="开设账户").click()

    assert page.get_by_role("heading", name="我的终身学习档案").is_visible()
    assert page.get_by_test_id("account-number").inner_text().startswith("XF")
    assert page.get_by_test_id("id-number").inner_text() == RESIDENT[:3] + "*" * 11 + RESIDENT[-4:]
    assert page.get_by_test_id("hours").inner_text() == "0"
    assert "账户开设" in page.get_by_role("table").inner_text()
