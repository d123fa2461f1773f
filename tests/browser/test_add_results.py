import pytest

from accounts.services import personal_account_register
from tests.outcomes.samples import pdf_bytes
from tests.people import LEARNER_PASSWORD as PASSWORD
from tests.people import RESIDENT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_learner_adds_a_result_with_a_pdf_and_sees_it_saved_in_the_file(page, tmp_path):
    account = personal_account_register(
        name="邵涛涛",
        id_type="resident_id",
        id_number=RESIDENT,
        phone="13912345678",
        email="shao@example.cn",
        password=PASSWORD,
    )
    evidence = tmp_path / "园长资格证书.pdf"
    evidence.write_bytes(pdf_bytes())

    page.goto("/login/")
    page.get_by_label("账户号码、电子邮箱或手机号").fill(account.number)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="登录").click()
    page.get_by_role("navigation").get_by_role("link", name="添加成果").click()

    page.get_by_label("职业资格证书").check()
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("名称").fill("幼儿园园长资格证书")
    page.get_by_label("发证机构").fill("重庆市教育委员会")
    page.get_by_label("证书编号").fill("YZ-2018-0042")
    page.get_by_label("取得日期").fill("2018-06-30")
    page.get_by_label("证明材料").set_input_files(str(evidence))
    page.get_by_role("button", name="保存成果").click()

    assert page.get_by_test_id("status").inner_text() == "已保存"
    assert page.get_by_test_id("evidence").inner_text().startswith("园长资格证书.pdf")
    page.get_by_role("link", name="返回我的终身学习档案").click()
    programmes = page.get_by_test_id("programmes").inner_text()
    assert "幼儿园园长资格证书" in programmes
    assert "已保存" in programmes
