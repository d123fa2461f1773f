"""The management admin's pages and API of mutual recognition, and what the learner's file and
ledger show of a decision by recognition."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from accreditation.models import AgreementVersion, TrustedBank, TrustedBankEvent
from tests.accounts.factories import ManagementCentreFactory
from tests.accreditation.factories import principal_entry_publish
from tests.accreditation.recognition_fixtures import (
    RECORD,
    SHANGHAI,
    agreement_publish,
    entry,
    key_document,
    shanghai_trust,
)
from tests.people import RESIDENT, login_verified, token_for
from tests.people import learner_register as register

pytestmark = pytest.mark.django_db

AGREEMENT = {
    "issuer": SHANGHAI,
    "origin_code": "SH-JY-01",
    "origin_version_from": "1",
    "origin_version_to": "",
    "entry_code": "VQ-JY-001",
    "hours": "100",
    "credits": "3",
    "effective_from": "2024-01-01",
    "approving_body": "重庆学分银行管理中心",
    "rationale": "长三角互认",
}


@pytest.fixture
def api(api_client, management_admin):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "mona"))
    return api_client


# --- API --------------------------------------------------------------------------------------


def test_the_api_adds_shows_and_removes_a_trusted_bank(api):
    added = api.post(
        "/api/v1/recognition/banks/",
        {"name": "上海", "issuer": SHANGHAI, "key_document": key_document(), "reason": "互认"},
        format="json",
    )
    assert added.status_code == 201, added.content
    pk = added.json()["id"]
    no_reason = api.post(f"/api/v1/recognition/banks/{pk}/remove/", {}, format="json")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()
    removed = api.post(f"/api/v1/recognition/banks/{pk}/remove/", {"reason": "到期"}, format="json")
    assert removed.status_code == 200
    assert removed.json()["is_active"] is False
    detail = api.get(f"/api/v1/recognition/banks/{pk}/").json()
    assert [(e["action"], e["reason"], e["actor"]) for e in detail["history"]] == [
        ("remove", "到期", "mona"),
        ("add", "互认", "mona"),
    ]
    assert api.get("/api/v1/recognition/banks/999999/").status_code == 404


def test_the_api_refuses_a_bad_key_document_by_field(api):
    refused = api.post(
        "/api/v1/recognition/banks/",
        {"name": "上海", "issuer": SHANGHAI, "key_document": {"id": "x"}, "reason": "互认"},
        format="json",
    )
    assert refused.status_code == 400
    assert "key_document" in refused.json()
    assert not TrustedBank.objects.exists()


def test_the_api_publishes_imports_and_exports_agreements(api, management_admin):
    shanghai_trust(management_admin)
    principal_entry_publish(management_admin)
    published = api.post("/api/v1/recognition/agreements/", AGREEMENT, format="json")
    again = api.post("/api/v1/recognition/agreements/", AGREEMENT, format="json")
    assert (published.status_code, again.status_code) == (201, 200)
    listed = api.get("/api/v1/recognition/agreements/").json()
    assert [(a["origin_code"], a["entry_code"], a["version"]) for a in listed] == [
        ("SH-JY-01", "VQ-JY-001", 1)
    ]
    before = api.get("/api/v1/recognition/agreements/", {"on": "2023-12-31"})
    assert before.json() == []
    assert api.get("/api/v1/recognition/agreements/", {"on": "soon"}).status_code == 400
    exported = api.get("/api/v1/recognition/agreements/export/", {"format": "csv"})
    assert exported.status_code == 200
    imported = api.post(
        "/api/v1/recognition/agreements/import/",
        {"file": SimpleUploadedFile("a.csv", exported.content)},
        format="multipart",
    )
    assert imported.json() == {"rows": 1, "created": 0, "revised": 0, "unchanged": 1}
    bad = exported.content.replace(b"VQ-JY-001", b"NOPE")
    refused = api.post(
        "/api/v1/recognition/agreements/import/",
        {"file": SimpleUploadedFile("a.csv", bad)},
        format="multipart",
    )
    assert refused.status_code == 400
    assert [(r["row"], r["column"]) for r in refused.json()["rows"]] == [(2, "entry_code")]
    assert AgreementVersion.objects.count() == 1


def test_a_learner_cannot_reach_the_recognition_api(api_client, learner):
    api_client.force_authenticate(learner)
    assert api_client.get("/api/v1/recognition/banks/").status_code == 403
    assert api_client.post("/api/v1/recognition/agreements/", AGREEMENT).status_code == 403


# --- Pages ------------------------------------------------------------------------------------


def test_the_trust_list_page_adds_from_an_uploaded_key_document_and_removes_with_a_reason(
    client, management_admin
):
    login_verified(client, management_admin)
    page = client.get("/recognition/banks/")
    assert page.status_code == 200
    assert "可信学分银行" in page.content.decode()
    added = client.post(
        "/recognition/banks/",
        {
            "action": "add",
            "name": "上海终身教育学分银行",
            "issuer": SHANGHAI,
            "key_file": SimpleUploadedFile("did.json", json.dumps(key_document()).encode()),
            "reason": "长三角互认",
        },
    )
    assert added.status_code == 302
    bank = TrustedBank.objects.get()
    refused = client.post("/recognition/banks/", {"action": "remove", "bank": bank.pk})
    assert refused.status_code == 400
    bank.refresh_from_db()
    assert bank.is_active
    removed = client.post(
        "/recognition/banks/",
        {"action": "remove", "bank": bank.pk, "reason": "协议到期", "confirm": "on"},
    )
    assert removed.status_code == 302
    bank.refresh_from_db()
    assert not bank.is_active
    history = client.get("/recognition/banks/").content.decode()
    assert "协议到期" in history
    assert "长三角互认" in history


def test_the_trust_list_page_shows_a_bad_key_document_beside_its_field(client, management_admin):
    login_verified(client, management_admin)
    refused = client.post(
        "/recognition/banks/",
        {"action": "add", "name": "上海", "issuer": SHANGHAI, "key_document": "{", "reason": "r"},
    )
    assert refused.status_code == 400
    assert "id_key_document_errors" in refused.content.decode()
    assert not TrustedBank.objects.exists()


def test_the_agreements_page_adds_a_version(client, management_admin):
    bank = shanghai_trust(management_admin)
    principal_entry_publish(management_admin)
    login_verified(client, management_admin)
    added = client.post(
        "/recognition/agreements/", {**AGREEMENT, "action": "publish", "bank": bank.pk}
    )
    assert added.status_code == 302
    page = client.get("/recognition/agreements/").content.decode()
    assert "SH-JY-01" in page
    assert "VQ-JY-001" in page
    export = client.get("/recognition/agreements/export.csv")
    assert export.status_code == 200
    assert b"SH-JY-01" in export.content


# --- What the learner sees --------------------------------------------------------------------


@pytest.fixture
def recognised(management_admin):
    ManagementCentreFactory()
    principal_entry_publish(management_admin)
    bank = shanghai_trust(management_admin)
    agreement_publish(management_admin, bank=bank, effective_from=datetime.date(2024, 1, 1))
    account = register("邵涛涛", RESIDENT, "13912345678")
    from accreditation import services

    services.recognition_book(
        account=account,
        actor=account.holder,
        entries=[entry("urn:uuid:sh-42")],
        evidence_name="record.json",
        evidence_bytes=RECORD,
    )
    return account


def test_the_file_and_the_ledger_show_where_a_recognised_decision_comes_from(client, recognised):
    client.force_login(recognised.holder)
    with translation.override("zh-hans"):
        file_page = client.get("/file/").content.decode()
        statement = client.get("/file/statement/").content.decode()
    for page in (file_page, statement):
        assert 'data-testid="provenance"' in page
        assert "上海终身教育学分银行" in page
        assert "urn:uuid:sh-42" in page
        assert "SH-JY-01" in page


def test_the_ledger_api_gives_the_provenance(api_client, recognised):
    api_client.force_authenticate(recognised.holder)
    [row] = api_client.get("/api/v1/accounts/me/ledger/").json()["results"]
    assert row["recognition"] == {
        "origin_bank": "上海终身教育学分银行",
        "origin_issuer": SHANGHAI,
        "origin_decision": "urn:uuid:sh-42",
        "origin_entry_code": "SH-JY-01",
        "origin_entry_version": "2",
        "origin_centre": "上海市学习成果认证中心",
        "origin_decided_on": "2025-03-14",
        "agreement": "SH-JY-01",
        "agreement_version": 1,
    }
    assert TrustedBankEvent.objects.count() == 1


def test_the_application_page_of_a_recognition_shows_its_provenance_and_timeline(
    client, recognised
):
    from accreditation.models import Application

    application = Application.objects.get(account=recognised)
    client.force_login(recognised.holder)
    with translation.override("zh-hans"):
        page = client.get(f"/applications/{application.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "依据他行学分银行决定互认" in html
    assert "urn:uuid:sh-42" in html


def test_removing_a_bank_names_the_missing_reason_and_confirmation_in_its_row(
    client, management_admin
):
    login_verified(client, management_admin)
    client.post(
        "/recognition/banks/",
        {
            "action": "add",
            "name": "上海终身教育学分银行",
            "issuer": SHANGHAI,
            "key_file": SimpleUploadedFile("did.json", json.dumps(key_document()).encode()),
            "reason": "长三角互认",
        },
    )
    bank = TrustedBank.objects.get()

    refused = client.post("/recognition/banks/", {"action": "remove", "bank": bank.pk})
    unconfirmed = client.post(
        "/recognition/banks/", {"action": "remove", "bank": bank.pk, "reason": "协议到期"}
    )

    assert refused.status_code == 400
    page = refused.content.decode()
    row = page[page.index(f'data-testid="bank-{bank.pk}"') :]
    assert "请填写移出原因" in row
    assert "该字段是必填项" not in page
    assert 'id="remove-errors"' not in page
    assert unconfirmed.status_code == 400
    again = unconfirmed.content.decode()
    assert "请勾选此项以确认移出" in again
    assert 'value="协议到期"' in again  # the reason typed is kept
    bank.refresh_from_db()
    assert bank.is_active


def test_the_agreements_page_shows_every_version_and_a_removed_bank(client, management_admin):
    bank = shanghai_trust(management_admin)
    principal_entry_publish(management_admin)
    agreement_publish(management_admin, bank=bank, effective_from=datetime.date(2024, 1, 1))
    coming = datetime.date.today() + datetime.timedelta(days=400)
    agreement_publish(
        management_admin, bank=bank, hours="120", version_to="", effective_from=coming
    )
    login_verified(client, management_admin)

    page = client.get("/recognition/agreements/").content.decode()

    assert "第 1 版" in page
    assert "第 2 版" in page
    assert "尚未生效" in page
    assert f"自 {coming.isoformat()} 起" in page
    assert "1 及以后各版" in page
    assert "1–…" not in page
    assert "该学分银行已移出可信名单" not in page
    client.post(
        "/recognition/banks/",
        {"action": "remove", "bank": bank.pk, "reason": "协议到期", "confirm": "on"},
    )
    assert "该学分银行已移出可信名单" in client.get("/recognition/agreements/").content.decode()


def test_a_new_agreement_is_said_to_be_created_and_its_form_names_every_problem_at_once(
    client, management_admin
):
    bank = shanghai_trust(management_admin)
    principal_entry_publish(management_admin)
    login_verified(client, management_admin)

    refused = client.post(
        "/recognition/agreements/",
        {
            **AGREEMENT,
            "action": "publish",
            "bank": bank.pk,
            "hours": "x",
            "origin_version_from": "v1",
            "entry_code": "NO-SUCH",
        },
    )
    nothing_written = not AgreementVersion.objects.exists()
    added = client.post(
        "/recognition/agreements/",
        {**AGREEMENT, "action": "publish", "bank": bank.pk},
        follow=True,
    )

    errors = refused.context["publish_form"].errors
    assert {"hours", "origin_version_from", "entry_code"} <= set(errors)
    assert nothing_written
    assert "已新建 SH-JY-01 的协议，第 1 版" in added.content.decode()
