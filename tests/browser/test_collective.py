import pytest

from tests.accounts.factories import CollectiveAccountFactory
from tests.accounts.helpers import csv_file, member
from tests.people import PASSWORD, otp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_institution_admin_imports_members_after_correcting_the_file(
    page, institution_admin, centre
):
    institution = institution_admin.institution
    institution.centre = centre
    institution.save()
    CollectiveAccountFactory.create(institution=institution, opened_by=institution_admin)

    page.goto("/login/")
    page.get_by_role("button", name="English").click()
    page.get_by_label("Account number, email or mobile phone").fill(institution_admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("6-digit code from your authenticator app").fill(otp_code(institution_admin))
    page.get_by_role("button", name="Continue").click()
    page.goto("/institution/")
    page.get_by_role("link", name="Import members").click()

    wrong = member(2, id_number=member(2)[2][:17] + "Y")
    upload = page.get_by_label("Member list (CSV or XLSX)")
    upload.set_input_files(
        {"name": "members.csv", "mimeType": "text/csv", "buffer": csv_file([member(1), wrong])}
    )
    page.get_by_role("button", name="Import", exact=True).click()

    problems = page.get_by_test_id("row-errors")
    assert "3" in problems.get_by_role("cell").first.inner_text()
    assert "证件号码" in problems.inner_text()

    page.get_by_label("Member list (CSV or XLSX)").set_input_files(
        {"name": "members.csv", "mimeType": "text/csv", "buffer": csv_file([member(1), member(2)])}
    )
    page.get_by_role("button", name="Import", exact=True).click()

    members = page.get_by_test_id("members").inner_text()
    assert "成员1" in members
    assert "成员2" in members
