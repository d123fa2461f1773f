"""The service accounts pages in a real browser (issue 22): the institution administrator
makes one, copies the secret shown once, makes a new secret and disables it; the list, the
account and its call log fit a phone's 390 px and a desktop in both languages with axe-core
finding no violation."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from accounts.models import ServiceAccount, ServiceCall, User
from accounts.serviceaccounts.services import service_account_create
from tests.browser.test_people_pages import COMBOS, check, open_as, seed  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def called(account: ServiceAccount, secret: str) -> None:
    """The system obtains a token and reads the member list once (one row in the log)."""
    basic = base64.b64encode(f"{account.client_id}:{secret}".encode()).decode()
    answer = Client().post(
        "/api/v1/oauth/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    token = answer.json()["access_token"]
    Client().get(
        f"/api/v1/institutions/{account.institution_id}/members/",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_the_admin_makes_a_service_account_sees_the_secret_once_rotates_and_disables_it(
    open_as,  # noqa: F811 - the fixture
):
    seed()
    admin = User.objects.get(username="inst.admin")
    page = open_as(admin, "phone", "zh-hans")
    page.goto(f"/institutions/{admin.institution_id}/service-accounts/")

    page.locator("#id_name").fill("人事系统")
    page.locator("input[name=scopes][value='members:import']").check()
    page.locator("input[name=scopes][value=read]").check()
    page.get_by_role("button", name="创建服务账号").click()

    account = ServiceAccount.objects.get(institution=admin.institution)
    secret = page.get_by_test_id("service-account-secret").locator("code").inner_text()
    assert secret.startswith("cbss_")
    assert page.get_by_test_id("client-id").inner_text() == account.client_id
    called(account, secret)
    page.reload()
    assert page.get_by_test_id("service-account-secret").count() == 0
    assert page.get_by_test_id("service-calls").locator("tbody tr").count() == 1

    # One click does nothing: the tick says what will happen first.
    page.get_by_role("button", name="生成新密钥").click()
    assert page.get_by_test_id("service-account-secret").count() == 0
    page.get_by_test_id("rotate").get_by_label("我已了解，正在使用的系统将立即失效。").check()
    page.get_by_role("button", name="生成新密钥").click()
    new_secret = page.get_by_test_id("service-account-secret").locator("code").inner_text()
    assert new_secret != secret
    page.get_by_test_id("disable").get_by_label("我已了解，正在使用的系统将立即失效。").check()
    page.get_by_role("button", name="停用此服务账号").click()
    account.refresh_from_db()
    assert not account.is_active
    assert page.get_by_test_id("service-account-status").inner_text().endswith("停用")
    assert page.get_by_role("button", name="生成新密钥").count() == 0


@pytest.mark.parametrize(("viewport", "language"), COMBOS)
def test_the_service_account_pages_fit_and_pass_axe(open_as, viewport, language):  # noqa: F811
    seed()
    admin = User.objects.get(username="inst.admin")
    assert admin.institution is not None
    account, secret = service_account_create(
        institution=admin.institution,
        actor=admin,
        name="重庆市阳光幼教集团人事管理系统",
        scopes=["members:import", "batches:write", "read"],
    )
    called(account, secret)
    assert ServiceCall.objects.count() == 1
    page = open_as(admin, viewport, language)
    check(page, f"/institutions/{admin.institution_id}/service-accounts/")
    check(page, f"/institutions/{admin.institution_id}/service-accounts/{account.pk}/")
