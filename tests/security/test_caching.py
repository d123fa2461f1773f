"""Answers that carry personal data are never stored by a browser or a proxy: every answer to a
signed-in request, and every API answer, says ``Cache-Control: no-store`` (issue 17)."""

from __future__ import annotations

import datetime

import pytest

from creditbank.models import DataExport
from tests.people import login_verified, token_for
from transfers.certificates.issuing import certificate_request
from transfers.models import Certificate

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(certificate_world, django_capture_on_commit_callbacks) -> Certificate:
    account = certificate_world["account"]
    with django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_request(
            account=account,
            actor=account.holder,
            kind=Certificate.Kind.HOURS_CERTIFICATE,
            period_from=datetime.date(2024, 1, 1),
            period_to=datetime.date(2024, 12, 31),
        )
    certificate.refresh_from_db()
    return certificate


def not_stored(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives


def test_the_learner_s_pages_and_downloads_are_never_stored(
    client, learner, issued, django_capture_on_commit_callbacks
):
    client.force_login(learner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/file/export/")
    export = DataExport.objects.get(state=DataExport.State.READY)

    for address in (
        "/file/",
        "/file/statement/",
        "/file/pdf/",
        "/certificates/",
        f"/certificates/{issued.serial}/pdf/",
        f"/file/export/{export.token}/",
    ):
        response = client.get(address)
        assert response.status_code == 200, address
        assert not_stored(response), address


def test_the_api_s_answers_about_the_learner_are_never_stored(api_client, issued):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "alice"))

    for address in (
        "/api/v1/accounts/me/",
        "/api/v1/accounts/me/ledger/",
        f"/api/v1/certificates/{issued.serial}/pdf/",
        f"/api/v1/certificates/{issued.serial}/credential.json",
    ):
        response = api_client.get(address)
        assert response.status_code == 200, address
        assert not_stored(response), address


def test_staff_pages_showing_learners_are_never_stored(client, reviewer, certificate_world):
    login_verified(client, reviewer)
    number = certificate_world["account"].number

    found = client.get("/centre/learners/", {"q": number})
    opened = client.post(f"/centre/learners/{number}/", {"reason": "核对材料"})

    assert found.status_code == 200
    assert opened.status_code == 200
    assert not_stored(found)
    assert not_stored(opened)


def test_a_view_s_own_caching_rule_is_kept(client, learner):
    # The evidence download says "private, no-store" itself; the login page is Django's
    # never_cache. Neither is overwritten.
    response = client.get("/login/")

    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
