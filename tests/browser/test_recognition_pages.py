"""Mutual recognition in a real browser at a phone's 390 px, in Chinese and English: the trust
list and the agreements pages, and the learner's file and ledger with a decision by
recognition, fit the screen with axe-core finding nothing; a bank is added by pasting its key
document and removed with a reason."""

from __future__ import annotations

import datetime
import json

import pytest

from accounts.models import User
from accreditation import services
from accreditation.models import TrustedBank
from tests.accounts.factories import ManagementCentreFactory
from tests.accreditation.factories import principal_entry_publish
from tests.accreditation.recognition_fixtures import (
    RECORD,
    agreement_publish,
    entry,
    key_document,
    shanghai_trust,
)
from tests.browser.test_people_pages import check, open_as  # noqa: F401 (a fixture)
from tests.people import RESIDENT
from tests.people import learner_register as register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def recognised_learner(manager: User) -> User:
    ManagementCentreFactory()
    principal_entry_publish(manager)
    bank = shanghai_trust(manager)
    agreement_publish(manager, bank=bank, effective_from=datetime.date(2024, 1, 1))
    account = register("邵涛涛", RESIDENT, "13912345678")
    services.recognition_book(
        account=account,
        actor=account.holder,
        entries=[entry("urn:uuid:sh-42"), entry("urn:uuid:sh-43", code="SH-OTHER")],
        evidence_name="record.json",
        evidence_bytes=RECORD,
    )
    return account.holder


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_recognition_pages_fit_a_phone_and_pass_axe(open_as, management_admin, language):  # noqa: F811
    learner = recognised_learner(management_admin)
    manager = open_as(management_admin, "phone", language)
    for path in ("/recognition/banks/", "/recognition/agreements/"):
        check(manager, path)
    page = open_as(learner, "phone", language)
    for path in ("/file/", "/file/statement/"):
        check(page, path)
        assert "urn:uuid:sh-42" in page.get_by_test_id("provenance").first.inner_text()


def test_a_bank_is_added_by_pasting_its_key_document_and_removed_with_a_reason(
    open_as,  # noqa: F811
    management_admin,
):
    page = open_as(management_admin, "phone", "zh-hans")
    page.goto("/recognition/banks/")
    page.get_by_label("学分银行名称").fill("上海终身教育学分银行")
    page.get_by_label("签发方标识").fill("did:web:shcb.example.cn")
    page.get_by_label("验证密钥文档（JSON）").fill(json.dumps(key_document()))
    page.locator("#id_reason").fill("长三角学分互认")
    page.get_by_role("button", name="加入可信名单").click()
    assert "上海终身教育学分银行" in page.get_by_test_id("trusted-banks").inner_text()
    bank = TrustedBank.objects.get()
    page.get_by_label("移出原因").fill("协议到期")
    page.get_by_label("我已了解：移出后，该学分银行签发的学分转移记录将立即不再被认可。").check()
    page.get_by_role("button", name="移除").click()
    page.wait_for_url("**/recognition/banks/")
    bank.refresh_from_db()
    assert not bank.is_active
    assert "协议到期" in page.get_by_test_id("trust-history").inner_text()
