import json
import zipfile

import pytest
from playwright.sync_api import expect

from outcomes.models import LearningOutcome
from tests.outcomes.factories import certificate_save
from tests.people import LEARNER_PASSWORD, RESIDENT, learner_register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_role("button", name="English").click()
    page.get_by_label("Account number, email or mobile phone").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()


def test_a_learner_searches_their_file_and_downloads_the_export_of_their_data(page, tmp_path):
    account = learner_register(name="邵涛涛", id_number=RESIDENT, phone="13800000001")
    principal = certificate_save(account, title="幼儿园园长任职资格证书")
    teacher = certificate_save(account, title="教师资格证书")
    LearningOutcome.objects.filter(pk=teacher.pk).update(issuing_body="重庆市人力资源和社会保障局")

    sign_in(page, account.number, LEARNER_PASSWORD)
    page.goto("/file/inquiry/")
    results = page.get_by_test_id("inquiry-results")
    expect(results).to_contain_text(principal.title)
    expect(results).to_contain_text(teacher.title)
    page.get_by_label("Provider or issuing body").fill("人力资源")
    page.get_by_test_id("inquiry-form").get_by_role("button", name="Filter").click()
    expect(results).to_contain_text(teacher.title)
    expect(results).not_to_contain_text(principal.title)

    page.goto("/file/export/")
    page.get_by_role("button", name="Ask for an export").click()
    link = page.get_by_test_id("exports").get_by_role("link", name="Download the ZIP file")
    with page.expect_download() as info:
        link.first.click()
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    path = tmp_path / "export.zip"
    download.save_as(path)

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert {"account.json", "outcomes.json", "applications.json"} <= set(names)
        outcomes = json.loads(archive.read("outcomes.json"))
    titles = json.dumps(outcomes, ensure_ascii=False)
    assert principal.title in titles
    assert teacher.title in titles
