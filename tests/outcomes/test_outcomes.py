import datetime

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import BusinessTransaction, StaffAccess
from outcomes.models import EvidenceFile, LearningOutcome
from tests.accreditation.factories import ApplicationFactory
from tests.outcomes.helpers import certificate, stored_files
from tests.people import login_verified

from .samples import jpeg_bytes, pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(wang):
    return wang


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def add(client, **overrides):
    files = overrides.pop("files", None) or [upload("证书.pdf", pdf_bytes())]
    return client.post(
        "/outcomes/add/", {**certificate(**overrides), "evidence": files}, follow=True
    )


def test_adding_results_saves_the_outcome_in_the_file_with_its_evidence(client, shao):
    client.force_login(shao.holder)

    response = add(client)

    outcome = LearningOutcome.objects.get()
    evidence = outcome.evidence.get()
    assert outcome.status == "saved"
    assert response.redirect_chain[-1][0] == f"/outcomes/{outcome.pk}/"
    assert evidence.original_name == "证书.pdf"
    assert "证书" not in str(evidence.file.name)  # stored under a random name
    assert shao.transactions.filter(kind=BusinessTransaction.Kind.OUTCOME_SAVED).exists()
    file_page = client.get("/file/").content.decode()
    assert "幼儿园园长资格证书" in file_page
    assert "已保存" in file_page


def test_each_missing_or_impossible_detail_is_named_and_nothing_is_written(client, shao):
    client.force_login(shao.holder)
    tomorrow = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()

    response = add(client, kind="training", achieved_on=tomorrow, provider="", hours="")

    page = response.content.decode()
    for field in ("achieved_on", "provider", "hours", "started_on"):
        assert f'id="id_{field}_errors"' in page, field
    assert not LearningOutcome.objects.exists()
    assert stored_files() == []


# A one-month training: 31 days of at most 24 hours.
MONTH = {
    "kind": "training",
    "provider": "重庆开放大学",
    "started_on": "2026-05-01",
    "ended_on": "2026-05-31",
    "achieved_on": "2026-05-31",
}


def test_hours_beyond_24_a_day_of_the_period_are_refused_on_the_hours_field(client, shao):
    client.force_login(shao.holder)

    refused = add(client, **MONTH, hours="999999.9")
    add(client, **MONTH, hours="744")  # 31 x 24

    page = refused.content.decode()
    assert 'id="id_hours_errors"' in page
    assert "744" in page
    assert LearningOutcome.objects.get().hours == 744


def test_the_api_refuses_more_hours_than_the_period_or_the_reviewers_allow(api_client, shao):
    api_client.force_authenticate(shao.holder)

    def post(**overrides):
        return api_client.post(
            "/api/v1/outcomes/",
            {**certificate(**overrides), "files": [upload("a.pdf", pdf_bytes())]},
            format="multipart",
        )

    too_many_for_a_month = post(**MONTH, hours="999999.9")
    too_many_for_a_reviewer = post(
        kind="training",
        provider="重庆开放大学",
        started_on="2020-01-01",
        ended_on="2025-12-31",
        achieved_on="2025-12-31",
        hours="10000.1",
    )

    assert too_many_for_a_month.status_code == 400
    assert list(too_many_for_a_month.json()) == ["hours"]
    assert too_many_for_a_reviewer.status_code == 400
    assert list(too_many_for_a_reviewer.json()) == ["hours"]
    assert "10,000" in too_many_for_a_reviewer.json()["hours"][0]
    assert not LearningOutcome.objects.exists()


def test_an_outcome_without_evidence_is_refused(client, shao):
    client.force_login(shao.holder)

    response = client.post("/outcomes/add/", certificate())

    assert 'id="id_evidence_errors"' in response.content.decode()
    assert not LearningOutcome.objects.exists()


def test_a_bad_file_among_good_ones_leaves_no_outcome_and_no_stored_file(client, shao):
    client.force_login(shao.holder)
    files = [
        upload("a.pdf", pdf_bytes()),
        upload("b.png", png_bytes()),
        upload("c.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),
    ]

    response = add(client, files=files)

    assert 'id="id_evidence_errors"' in response.content.decode()
    assert not LearningOutcome.objects.exists()
    assert not EvidenceFile.objects.exists()
    assert stored_files() == []


def test_a_failure_while_storing_deletes_the_files_already_stored(client, shao, monkeypatch):
    from outcomes import services

    client.force_login(shao.holder)

    def fail(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "transaction_record", fail)
    with pytest.raises(RuntimeError):
        add(client, files=[upload("a.pdf", pdf_bytes()), upload("b.jpg", jpeg_bytes())])

    assert not LearningOutcome.objects.exists()
    assert stored_files() == []


def test_the_same_file_uploaded_again_is_named(client, shao):
    client.force_login(shao.holder)
    same = pdf_bytes("同一份证书")
    add(client, files=[upload("first.pdf", same)])

    response = add(client, title="另一条", files=[upload("again.pdf", same)])

    assert "again.pdf" in response.content.decode()
    assert LearningOutcome.objects.count() == 1


def test_the_storage_quota_is_kept(client, shao, settings):
    settings.EVIDENCE_QUOTA_BYTES = len(pdf_bytes()) + 10
    client.force_login(shao.holder)
    add(client)

    response = add(client, title="第二条", files=[upload("x.png", png_bytes())])

    assert "quota" in response.content.decode() or "存储空间" in response.content.decode()
    assert LearningOutcome.objects.count() == 1


def test_a_saved_outcome_can_be_changed_and_withdrawn(
    client, shao, django_capture_on_commit_callbacks
):
    client.force_login(shao.holder)
    add(client)
    outcome = LearningOutcome.objects.get()
    old = outcome.evidence.get()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/outcomes/{outcome.pk}/edit/",
            {
                **certificate(title="幼儿园园长任职资格证书"),
                "remove_evidence": [old.pk],
                "evidence": [upload("new.png", png_bytes())],
            },
        )
    outcome.refresh_from_db()
    assert outcome.title == "幼儿园园长任职资格证书"
    assert [e.original_name for e in outcome.evidence.all()] == ["new.png"]
    assert not default_storage.exists(str(old.file.name))

    client.post(f"/outcomes/{outcome.pk}/withdraw/", {"confirm": "yes"})
    outcome.refresh_from_db()
    assert outcome.status == "withdrawn"
    assert 'data-testid="programmes-empty"' in client.get("/file/").content.decode()
    kinds = set(shao.transactions.values_list("kind", flat=True))
    assert {"outcome_saved", "outcome_changed", "outcome_withdrawn"} <= kinds


def test_deleting_a_saved_outcome_asks_first_and_says_delete(client, shao):
    client.force_login(shao.holder)
    add(client)
    outcome = LearningOutcome.objects.get()

    detail = client.get(f"/outcomes/{outcome.pk}/").content.decode()
    asked = client.post(f"/outcomes/{outcome.pk}/withdraw/")
    refused_get = client.get(f"/outcomes/{outcome.pk}/withdraw/")
    outcome.refresh_from_db()

    # A never-submitted result is deleted, not "withdrawn", and in its own section apart from 修改.
    assert "撤回" not in detail
    assert 'data-testid="remove"' in detail
    assert "删除" in detail
    # Neither a GET nor the first POST deletes: the first POST shows a confirmation step.
    assert refused_get.status_code == 405
    assert asked.status_code == 200
    assert 'data-testid="remove-confirm"' in asked.content.decode()
    assert "是的，删除" in asked.content.decode()
    assert "不删除" in asked.content.decode()
    assert outcome.status == "saved"

    done = client.post(f"/outcomes/{outcome.pk}/withdraw/", {"confirm": "yes"}, follow=True)
    outcome.refresh_from_db()
    assert outcome.status == "withdrawn"
    assert "已删除" in done.content.decode()


def test_a_submitted_outcome_is_frozen(client, api_client, shao):
    client.force_login(shao.holder)
    add(client)
    outcome = LearningOutcome.objects.get()
    LearningOutcome.objects.filter(pk=outcome.pk).update(status="submitted")

    page = client.post(f"/outcomes/{outcome.pk}/edit/", certificate(title="改"), follow=True)
    api_client.force_authenticate(shao.holder)
    patched = api_client.patch(f"/api/v1/outcomes/{outcome.pk}/", {"title": "改"}, format="json")
    withdrawn = api_client.post(f"/api/v1/outcomes/{outcome.pk}/withdraw/")

    outcome.refresh_from_db()
    assert outcome.title == "幼儿园园长资格证书"
    assert "不能再修改" in page.content.decode()
    assert patched.status_code == withdrawn.status_code == 400


def test_outcomes_over_the_api_with_several_files(api_client, shao):
    api_client.force_authenticate(shao.holder)

    created = api_client.post(
        "/api/v1/outcomes/",
        {**certificate(), "files": [upload("a.pdf", pdf_bytes()), upload("b.jpg", jpeg_bytes())]},
        format="multipart",
    )
    listed = api_client.get("/api/v1/outcomes/").json()

    assert created.status_code == 201, created.json()
    assert len(created.json()["evidence"]) == 2
    assert listed["results"][0]["title"] == "幼儿园园长资格证书"


def test_the_api_names_bad_fields_and_bad_files(api_client, shao):
    api_client.force_authenticate(shao.holder)

    response = api_client.post(
        "/api/v1/outcomes/",
        {
            **certificate(certificate_number="", achieved_on="not a date"),
            "files": [upload("x.pdf", b"MZ\x90\x00 not a pdf")],
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert "achieved_on" in response.json()


def test_only_the_owner_downloads_evidence_as_an_attachment(client, api_client, shao, other):
    client.force_login(shao.holder)
    add(client)
    evidence = EvidenceFile.objects.get()

    own = client.get(f"/evidence/{evidence.pk}/")
    assert own.status_code == 200
    assert own["Content-Disposition"].startswith("attachment")
    assert own["X-Content-Type-Options"] == "nosniff"
    assert b"".join(own.streaming_content).startswith(b"%PDF-")

    client.force_login(other.holder)
    assert client.get(f"/evidence/{evidence.pk}/").status_code == 404
    api_client.force_authenticate(other.holder)
    assert api_client.get(f"/api/v1/evidence/{evidence.pk}/download/").status_code == 404
    client.logout()
    assert client.get(f"/evidence/{evidence.pk}/").status_code == 404


def test_staff_see_evidence_only_for_their_centres_application_of_it(client, shao, reviewer):
    client.force_login(shao.holder)
    add(client)
    evidence = EvidenceFile.objects.get()
    login_verified(client, reviewer)

    client.post(f"/centre/learners/{shao.number}/", {"reason": "审核认证申请"})
    after_opening_the_file = client.get(f"/evidence/{evidence.pk}/")
    ApplicationFactory(outcome=evidence.outcome, centre=reviewer.centre)
    with_an_application = client.get(f"/evidence/{evidence.pk}/")

    assert after_opening_the_file.status_code == 404
    assert with_an_application.status_code == 200
    assert StaffAccess.objects.filter(staff=reviewer).count() == 1


def test_the_storage_path_itself_is_never_served(client, shao):
    client.force_login(shao.holder)
    add(client)
    evidence = EvidenceFile.objects.get()

    name = str(evidence.file.name)
    assert client.get("/media-not-served/" + name).status_code == 404
    assert client.get("/media/" + name).status_code == 404


def test_a_remove_box_with_a_strange_digit_is_ignored_not_a_500(client, shao):
    client.force_login(shao.holder)
    add(client)
    outcome = LearningOutcome.objects.get()

    response = client.post(
        f"/outcomes/{outcome.pk}/edit/", {**certificate(), "remove_evidence": ["²", "x"]}
    )

    assert response.status_code == 302
    assert outcome.evidence.count() == 1


def test_an_oversized_upload_is_refused_having_read_only_its_first_bytes(client, shao, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    client.force_login(shao.holder)

    response = add(client, files=[upload("big.pdf", b"%PDF-1.4\n" + b"0" * 50_000)])

    assert 'id="id_evidence_errors"' in response.content.decode()
    assert not LearningOutcome.objects.exists()


@pytest.mark.parametrize(
    ("kind", "example"),
    [
        ("vocational_qualification", "例如：幼儿园园长资格证书。"),
        ("training", "例如：幼儿园安全管理培训。"),
        ("online_course", "例如：在线课程《幼儿游戏化学习》。"),
        ("competition_award", "例如：全市幼儿园教师技能大赛一等奖。"),
        ("academic_course", "例如：学前教育心理学（3 学分）。"),
    ],
)
def test_add_results_gives_a_name_example_that_fits_the_kind(client, shao, kind, example):
    client.force_login(shao.holder)

    page = client.get(f"/outcomes/add/?kind={kind}").content.decode()

    assert example in page
    if kind != "vocational_qualification":
        assert "幼儿园园长资格证书" not in page
    # The content's help no longer just repeats its label (学习内容).
    assert "学习的内容：主题、技能、模块等。" not in page


def test_a_competition_award_asks_for_the_organiser_not_the_issuer(client, shao):
    client.force_login(shao.holder)

    award = client.get("/outcomes/add/?kind=competition_award").content.decode()
    certificate_page = client.get("/outcomes/add/?kind=skill_level").content.decode()

    assert "主办或颁奖机构" in award
    assert "发证机构" not in award
    assert "发证机构" in certificate_page
