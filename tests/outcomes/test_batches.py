"""Institution batches: an institution administrator reports a training programme's results
for many members at once; each member confirms or declines what was reported."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts.models import BusinessTransaction, LearningAccount, Role
from outcomes.models import EvidenceFile, InstitutionBatch, LearningOutcome
from outcomes.services import outcome_update, outcomes_in_file
from outcomes.storage import Upload
from tests.accounts.factories import InstitutionFactory, UserFactory
from tests.accounts.helpers import resident_id
from tests.outcomes.helpers import members_of, programme, report, results_csv, row, stored_files
from tests.people import login_verified

from .samples import pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db


def nothing_written() -> bool:
    return (
        not InstitutionBatch.objects.exists()
        and not LearningOutcome.objects.exists()
        and not EvidenceFile.objects.exists()
        and not BusinessTransaction.objects.filter(kind="outcome_reported").exists()
        and stored_files() == []
    )


def test_a_batch_asks_every_member_to_confirm_and_only_confirmed_results_enter_the_file(
    admin_client, api_client, collective, client, institution_admin
):
    first, second, third = members_of(admin_client, collective, 3)
    data = results_csv([row(first), row(second, certificate_number="AQ-2"), row(third)])

    response = report(admin_client, collective.institution_id, data)

    assert response.status_code == 201, response.content
    assert response.json()["rows"] == 3
    assert response.json()["pending"] == 3
    outcomes = LearningOutcome.objects.filter(batch__isnull=False)
    assert sorted(o.account_id for o in outcomes) == sorted([first.pk, second.pk, third.pk])
    assert {o.status for o in outcomes} == {"pending_confirmation"}
    # One stored file, named by every member's evidence row.
    assert len(stored_files()) == 1
    assert EvidenceFile.objects.values("file").distinct().count() == 1
    assert EvidenceFile.objects.count() == 3
    assert first.transactions.filter(kind="outcome_reported").exists()

    assert list(outcomes_in_file(account=first)) == []
    api_client.force_authenticate(first.holder)
    pending = api_client.get("/api/v1/outcomes/?status=pending_confirmation").json()["results"]
    assert [o["title"] for o in pending] == ["幼儿园安全管理培训"]
    assert pending[0]["reported_by"] == collective.institution.name
    assert api_client.get("/api/v1/outcomes/?status=saved").json()["results"] == []

    mine = LearningOutcome.objects.get(account=first)
    confirmed = api_client.post(f"/api/v1/outcomes/{mine.pk}/confirm/")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["status"] == "saved"
    assert first.transactions.filter(kind="outcome_confirmed").exists()
    assert first.transactions.filter(kind="outcome_confirmed").count() == 1

    client.force_login(second.holder)
    theirs = LearningOutcome.objects.get(account=second)
    response = client.post(f"/outcomes/{theirs.pk}/decline/", follow=True)
    assert response.status_code == 200
    theirs.refresh_from_db()
    assert theirs.status == "declined"
    assert second.transactions.filter(kind="outcome_declined").exists()
    assert list(outcomes_in_file(account=second)) == []
    assert list(outcomes_in_file(account=first)) == [mine]

    admin_client.force_authenticate(institution_admin)
    batches = admin_client.get(f"/api/v1/institutions/{collective.institution_id}/batches/")
    assert [(b["confirmed"], b["declined"], b["pending"]) for b in batches.json()["results"]] == [
        (1, 1, 1)
    ]


def test_the_file_page_lists_pending_results_apart_from_the_file(admin_client, collective, client):
    (only,) = members_of(admin_client, collective, 1)
    assert (
        report(admin_client, collective.institution_id, results_csv([row(only)])).status_code == 201
    )
    client.force_login(only.holder)

    page = client.get("/file/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    pending_part, _, file_part = page.partition('data-testid="programmes')
    assert "幼儿园安全管理培训" in pending_part
    assert "awaiting-confirmation" in pending_part
    assert "幼儿园安全管理培训" not in file_part


def test_a_row_naming_a_non_member_refuses_the_whole_batch(admin_client, collective):
    member_account, *_ = members_of(admin_client, collective, 2)
    stranger = resident_id(9_999)
    data = results_csv(
        [
            row(member_account),
            row(name="陌生人", id_type="居民身份证", id_number=stranger),
            row(member_account, achieved_on="yesterday"),
        ]
    )
    LearningOutcome.objects.all().delete()
    BusinessTransaction.objects.filter(kind="outcome_reported").delete()

    response = report(admin_client, collective.institution_id, data)

    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("The file has 3 problems. Nothing was reported")
    assert [(r["row"], r["column"], r["heading"]) for r in body["rows"]] == [
        (3, "id_number", "证件号码"),
        (4, "name", "姓名"),
        (4, "achieved_on", "取得日期"),
    ]
    assert "No member of your collective account" in body["rows"][0]["message"]
    assert nothing_written()


def test_a_bad_evidence_file_refuses_the_batch(admin_client, collective):
    (only,) = members_of(admin_client, collective, 1)
    fake = SimpleUploadedFile("证书.pdf", b"MZ\x90\x00 not a pdf at all")

    response = report(admin_client, collective.institution_id, results_csv([row(only)]), [fake])

    assert response.status_code == 400
    assert "evidence" in response.json()
    assert nothing_written()


def test_a_batch_declaring_more_hours_than_its_period_holds_is_refused_on_hours(
    admin_client, collective
):
    (only,) = members_of(admin_client, collective, 1)

    # 1 to 20 June: at most 480 hours.
    response = report(
        admin_client, collective.institution_id, results_csv([row(only)]), hours="999999.9"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["hours"]
    assert "480" in response.json()["hours"][0]
    assert nothing_written()


def test_another_institutions_admin_gets_404(api_client, collective, admin_client):
    (only,) = members_of(admin_client, collective, 1)
    other = UserFactory(
        username="olaf", role=Role.INSTITUTION_ADMIN, institution=InstitutionFactory(name="别家")
    )
    api_client.force_authenticate(other)

    listing = api_client.get(f"/api/v1/institutions/{collective.institution_id}/batches/")
    posted = report(api_client, collective.institution_id, results_csv([row(only)]))

    assert listing.status_code == 404
    assert posted.status_code == 404
    assert nothing_written()


def test_a_learner_cannot_confirm_someone_elses_outcome(admin_client, collective, api_client):
    first, second = members_of(admin_client, collective, 2)
    report(admin_client, collective.institution_id, results_csv([row(first), row(second)]))
    theirs = LearningOutcome.objects.get(account=second)
    api_client.force_authenticate(first.holder)

    assert api_client.post(f"/api/v1/outcomes/{theirs.pk}/confirm/").status_code == 404
    assert api_client.post(f"/api/v1/outcomes/{theirs.pk}/decline/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "pending_confirmation"


def test_confirming_twice_or_after_declining_is_refused(admin_client, collective, api_client):
    first, second = members_of(admin_client, collective, 2)
    report(admin_client, collective.institution_id, results_csv([row(first), row(second)]))
    api_client.force_authenticate(first.holder)
    mine = LearningOutcome.objects.get(account=first)

    assert api_client.post(f"/api/v1/outcomes/{mine.pk}/confirm/").status_code == 200
    again = api_client.post(f"/api/v1/outcomes/{mine.pk}/confirm/")
    declined_after = api_client.post(f"/api/v1/outcomes/{mine.pk}/decline/")

    assert again.status_code == 400
    assert "status" in again.json()
    assert declined_after.status_code == 400
    assert first.transactions.filter(kind="outcome_confirmed").count() == 1


def test_removing_one_members_shared_evidence_keeps_the_file_for_the_others(
    admin_client, collective, api_client, django_capture_on_commit_callbacks
):
    first, second = members_of(admin_client, collective, 2)
    report(admin_client, collective.institution_id, results_csv([row(first), row(second)]))
    mine = LearningOutcome.objects.get(account=first)
    api_client.force_authenticate(first.holder)
    api_client.post(f"/api/v1/outcomes/{mine.pk}/confirm/")
    shared = mine.evidence.get()

    with django_capture_on_commit_callbacks(execute=True):
        outcome_update(
            outcome=mine,
            actor=first.holder,  # type: ignore[arg-type]
            data={},
            uploads=[Upload("照片.png", png_bytes())],
            remove_evidence=[shared.pk],
        )

    theirs = EvidenceFile.objects.get(account=second)
    assert theirs.file.name == shared.file.name
    assert not mine.evidence.filter(pk=shared.pk).exists()
    assert default_storage.exists(str(theirs.file.name))


def test_members_are_found_by_identity_document_too(admin_client, collective):
    (only,) = members_of(admin_client, collective, 1)
    data = results_csv(
        [row(name=only.holder.name, id_type="居民身份证", id_number=resident_id(0))]  # type: ignore[union-attr]
    )

    response = report(admin_client, collective.institution_id, data)

    assert response.status_code == 201, response.content
    assert LearningOutcome.objects.get().account == only


def test_the_batch_page_shows_every_problem_in_a_table(
    client, institution_admin, collective, admin_client
):
    (only,) = members_of(admin_client, collective, 1)
    login_verified(client, institution_admin)
    url = f"/institutions/{collective.institution_id}/batches/new/"

    response = client.post(
        url,
        {
            **programme(),
            "file": SimpleUploadedFile(
                "r.csv", results_csv([row(only), row(account_number="XF0")])
            ),
            "evidence": [SimpleUploadedFile("记录.pdf", pdf_bytes())],
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="row-errors"' in page
    assert "账户号码" in page
    assert nothing_written()
    members_page = client.get(
        f"/institutions/{collective.institution_id}/members/"
    ).content.decode()
    assert f"/institutions/{collective.institution_id}/batches/" in members_page


def test_2000_members_are_reported_in_a_few_queries(
    admin_client, collective, django_assert_max_num_queries
):
    members = members_of(admin_client, collective, 2_000)
    data = results_csv([row(m) for m in members])

    with django_assert_max_num_queries(150 if connection.vendor == "sqlite" else 40):
        response = report(
            admin_client,
            collective.institution_id,
            data,
            [
                SimpleUploadedFile("记录.pdf", pdf_bytes()),
                SimpleUploadedFile("合影.png", png_bytes()),
            ],
        )

    assert response.status_code == 201, response.content[:2000]
    assert LearningOutcome.objects.filter(status="pending_confirmation").count() == 2_000
    assert EvidenceFile.objects.count() == 4_000
    assert len(stored_files()) == 2


def test_an_xlsx_list_with_date_cells_and_english_headings_is_read(admin_client, collective):
    first, second = members_of(admin_client, collective, 2)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["2026年度培训结果"])  # a title row above the headings
    sheet.append(["account_number", "name", "result", "certificate_number", "achieved_on"])
    sheet.append([first.number, first.holder.name, "优秀", "C-1", datetime.datetime(2026, 6, 30)])  # type: ignore[union-attr]
    sheet.append([second.number, second.holder.name, "合格", None, "2026年6月30日"])  # type: ignore[union-attr]
    buffer = io.BytesIO()
    workbook.save(buffer)

    response = report(admin_client, collective.institution_id, buffer.getvalue())

    assert response.status_code == 201, response.content
    mine = LearningOutcome.objects.get(account=first)
    assert (mine.result, mine.certificate_number, mine.achieved_on) == (
        "优秀",
        "C-1",
        datetime.date(2026, 6, 30),
    )


def test_results_wait_for_the_centre_to_approve_the_collective_account(admin_client, collective):
    (only,) = members_of(admin_client, collective, 1)
    LearningAccount.objects.filter(pk=collective.pk).update(status="pending")

    response = report(admin_client, collective.institution_id, results_csv([row(only)]))

    assert response.status_code == 400
    assert "approved" in response.json()["file"][0]
    assert nothing_written()
