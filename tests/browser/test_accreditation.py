import datetime
from decimal import Decimal

import pytest

from accounts.services import personal_account_register
from accreditation.catalogue import catalogue_entry_publish
from accreditation.services import application_submit
from outcomes.services import Upload, outcome_save
from tests.outcomes.samples import pdf_bytes
from tests.people import LEARNER_PASSWORD, PASSWORD, RESIDENT, otp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Account number, email or mobile phone").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()


def test_a_reviewer_accredits_an_application_and_the_learner_sees_the_credits(
    page, reviewer, centre
):
    entry = catalogue_entry_publish(
        code="VQ-JY-001",
        name="幼儿园园长任职资格证书",
        name_en="Kindergarten principal qualification certificate",
        kind="vocational_qualification",
        issuing_body="重庆市教育委员会",
        hours=Decimal("120"),
        credits=Decimal("4"),
        evidence_required="证书原件扫描件",
        effective_from=datetime.date(2024, 1, 1),
        approving_body="重庆学分银行管理中心",
        rationale="园长任职资格培训 120 学时",
        actor=None,
    ).entry
    account = personal_account_register(
        name="邵涛涛",
        id_type="resident_id",
        id_number=RESIDENT,
        phone="13912345678",
        email="shao@example.cn",
        password=LEARNER_PASSWORD,
    )
    learner = account.holder
    assert learner is not None
    outcome = outcome_save(
        account=account,
        actor=learner,
        data={
            "kind": "vocational_qualification",
            "title": "幼儿园园长任职资格证书",
            "issuing_body": "重庆市教育委员会",
            "certificate_number": "YZ-2018-0042",
            "achieved_on": datetime.date(2018, 6, 30),
        },
        uploads=[Upload(name="园长资格证书.pdf", data=pdf_bytes())],
    )
    application = application_submit(
        outcome=outcome, centre=centre, actor=learner, claimed_entry=entry
    )

    page.goto("/login/")
    page.get_by_role("button", name="English").click()
    sign_in(page, "rita@example.cn", PASSWORD)
    page.get_by_label("6-digit code from your authenticator app").fill(otp_code(reviewer))
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("navigation").get_by_role("link", name="Review queue").click()
    queue = page.get_by_test_id("queue")
    assert account.number in queue.inner_text()
    assert f"{application.due_on:%Y-%m-%d}" in queue.inner_text()
    queue.get_by_role("link", name=f"#{application.pk}").click()

    assert "园长资格证书.pdf" in page.get_by_test_id("evidence").inner_text()
    page.get_by_role("button", name="Start the review").click()
    assert page.get_by_test_id("state").first.inner_text() == "In review"
    accredit = page.get_by_test_id("move-accredit")
    assert (
        "VQ-JY-001"
        in accredit.get_by_label("Catalogue entry").locator("option:checked").inner_text()
    )
    accredit.get_by_role("button", name="Accredit").click()

    assert page.get_by_test_id("state").first.inner_text() == "Accredited"
    assert "120.0 learning hours and 4.0 credits" in page.get_by_test_id("decision").inner_text()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, account.number, LEARNER_PASSWORD)
    assert Decimal(page.get_by_test_id("hours").inner_text()) == 120
    assert Decimal(page.get_by_test_id("credits").inner_text()) == 4
    page.get_by_role("navigation").get_by_role("link", name="My applications").click()
    applications = page.get_by_test_id("applications").inner_text()
    assert "Accredited" in applications
    assert "120.0 learning hours and 4.0 credits" in applications
    page.get_by_test_id("applications").get_by_role("link", name="幼儿园园长任职资格证书").click()
    assert page.get_by_test_id("state").inner_text() == "Accredited"
    page.get_by_role("navigation").get_by_role("link", name="My lifelong learning file").click()
    assert Decimal(page.get_by_test_id("credits").inner_text()) == 4
