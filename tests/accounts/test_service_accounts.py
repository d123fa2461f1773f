"""Service accounts (issue 22): an institution's systems call the API with OAuth 2.0 client
credentials, bound to the institution and to the scopes its administrator gave them; every
call is logged for the administrator; a rotated secret or a disabled account stops working."""

from __future__ import annotations

import base64
import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from accounts.models import Role, ServiceAccount, ServiceCall, User
from accounts.serviceaccounts.oauth import TokenRateThrottle
from accounts.serviceaccounts.services import (
    MAX_SERVICE_ACCOUNTS,
    service_account_create,
    service_account_disable,
    service_calls_purge,
)
from tests.accounts.factories import CollectiveAccountFactory, InstitutionFactory, UserFactory
from tests.accounts.helpers import csv_file, member, upload
from tests.outcomes.helpers import members_of, report, results_csv, row
from tests.people import login_verified, with_totp
from transfers.models import TransferItem
from transfers.services import transfer_apply

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/oauth/token/"
ALL = ["members:import", "batches:write", "transfers:decide", "read"]


def make(admin: User, scopes: list[str], name: str = "人事系统") -> tuple[ServiceAccount, str]:
    assert admin.institution is not None
    return service_account_create(
        institution=admin.institution, actor=admin, name=name, scopes=scopes
    )


def token_answer(account: ServiceAccount, secret: str, **form: str) -> Any:
    basic = base64.b64encode(f"{account.client_id}:{secret}".encode()).decode()
    return APIClient().post(
        TOKEN_URL,
        {"grant_type": "client_credentials", **form},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )


def token_of(account: ServiceAccount, secret: str, **form: str) -> str:
    answer = token_answer(account, secret, **form)
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def system(token: str) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


# --- Tokens ------------------------------------------------------------------------------------


def test_a_system_obtains_a_short_lived_token_with_its_client_credentials(
    institution_admin, collective
):
    account, secret = make(institution_admin, ["read", "members:import"])

    answer = token_answer(account, secret)

    body = answer.json()
    assert answer.status_code == 200, body
    assert body["token_type"] == "Bearer"
    assert body["access_token"].startswith("cbsa_")
    assert 0 < body["expires_in"] <= 600
    assert sorted(body["scope"].split()) == ["members:import", "read"]
    # Neither the secret nor the token is kept in clear.
    application = Application.objects.get(pk=account.application_id)
    assert application.client_secret != secret
    assert application.client_secret.startswith(("pbkdf2_", "md5$", "argon2", "bcrypt"))
    assert not AccessToken.objects.filter(token=body["access_token"]).exists()
    members = system(body["access_token"]).get(
        f"/api/v1/institutions/{collective.institution_id}/members/"
    )
    assert members.status_code == 200, members.content


def test_a_system_may_ask_for_fewer_scopes_but_not_for_more(institution_admin, collective):
    account, secret = make(institution_admin, ["read"])

    assert token_answer(account, secret, scope="read").json()["scope"] == "read"
    refused = token_answer(account, secret, scope="read members:import")

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


def test_a_wrong_secret_and_other_grants_get_no_token(institution_admin, collective):
    account, secret = make(institution_admin, ["read"])

    assert token_answer(account, secret + "x").status_code == 401
    password_grant = APIClient().post(
        TOKEN_URL,
        {
            "grant_type": "password",
            "username": institution_admin.username,
            "password": "x",
            "client_id": account.client_id,
            "client_secret": secret,
        },
    )
    assert password_grant.status_code == 400
    assert password_grant.json()["error"] == "unsupported_grant_type"
    assert AccessToken.objects.count() == 0


def test_a_rotated_secret_and_its_tokens_stop_working_at_once(
    client, institution_admin, collective
):
    account, secret = make(institution_admin, ["read"])
    old_token = token_of(account, secret)
    login_verified(client, institution_admin)
    pk = institution_admin.institution_id

    rotated = client.post(
        f"/institutions/{pk}/service-accounts/{account.pk}/rotate/", {"rotate-confirm": "on"}
    )

    assert rotated.status_code == 302
    page = client.get(rotated["Location"]).content.decode()
    new_secret = re.search(r"<code[^>]*>(cbss_[^<]+)</code>", page)
    assert new_secret is not None
    assert token_answer(account, secret).status_code == 401
    members = f"/api/v1/institutions/{pk}/members/"
    assert system(old_token).get(members).status_code == 401
    assert system(token_of(account, new_secret.group(1))).get(members).status_code == 200
    # Shown once: the next visit does not show it again.
    assert "cbss_" not in client.get(rotated["Location"]).content.decode()


def test_a_disabled_service_account_gets_no_token_and_its_tokens_are_refused(
    institution_admin, collective
):
    account, secret = make(institution_admin, ["read"])
    token = token_of(account, secret)

    service_account_disable(account=account, actor=institution_admin)

    assert token_answer(account, secret).status_code == 401
    refused = system(token).get(f"/api/v1/institutions/{collective.institution_id}/members/")
    assert refused.status_code == 401
    assert set(refused.json()) == {"detail"}


def test_an_expired_token_is_refused(institution_admin, collective):
    account, secret = make(institution_admin, ["read"])
    token = token_of(account, secret)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))

    answer = system(token).get(f"/api/v1/institutions/{collective.institution_id}/members/")

    assert answer.status_code == 401


# --- Scopes and the institution ------------------------------------------------------------------


def test_the_import_scope_imports_members_and_nothing_else(institution_admin, collective):
    account, secret = make(institution_admin, ["members:import"])
    api = system(token_of(account, secret))
    pk = collective.institution_id

    imported = upload(api, pk, csv_file([member(1), member(2)]))

    assert imported.status_code == 201, imported.content
    assert imported.json()["rows"] == 2
    assert collective.member_imports.get().uploaded_by_id == account.principal_id
    refused = api.get(f"/api/v1/institutions/{pk}/members/")
    assert refused.status_code == 403
    assert "scopes" in refused.json()["detail"]
    assert report(api, pk, results_csv([])).status_code == 403


def test_the_batch_scope_reports_results_and_the_read_scope_lists_them(
    institution_admin, admin_client, collective
):
    first, second = members_of(admin_client, collective, 2)
    pk = collective.institution_id
    writer, writer_secret = make(institution_admin, ["batches:write"], name="培训系统")
    reader, reader_secret = make(institution_admin, ["read"], name="报表系统")
    writes, reads = system(token_of(writer, writer_secret)), system(token_of(reader, reader_secret))

    reported = report(writes, pk, results_csv([row(first), row(second)]))

    assert reported.status_code == 201, reported.content
    assert reads.get(f"/api/v1/institutions/{pk}/batches/").json()["count"] == 1
    assert writes.get(f"/api/v1/institutions/{pk}/batches/").status_code == 403
    assert report(reads, pk, results_csv([row(first)])).status_code == 403
    assert upload(writes, pk, csv_file([member(9)])).status_code == 403
    # The business transactions name the service account as who reported the results.
    reported_by = first.transactions.get(kind="outcome_reported")
    assert reported_by.actor_id == writer.principal_id
    assert str(writer.principal) == "培训系统"


def test_a_service_account_cannot_reach_another_institutions_members(institution_admin, collective):
    account, secret = make(institution_admin, ALL)
    api = system(token_of(account, secret))
    theirs = CollectiveAccountFactory.create(institution=InstitutionFactory(name="别家"))

    assert api.get(f"/api/v1/institutions/{theirs.institution_id}/members/").status_code == 404
    imported = upload(api, theirs.institution_id, csv_file([member(3)]))
    assert imported.status_code == 404
    assert not theirs.memberships.exists()


def test_a_service_account_cannot_manage_webhooks_or_service_accounts(
    institution_admin, collective
):
    account, secret = make(institution_admin, ALL)
    api = system(token_of(account, secret))
    pk = collective.institution_id

    for path in (
        f"/api/v1/institutions/{pk}/webhooks/",
        f"/api/v1/institutions/{pk}/service-accounts/",
    ):
        assert api.get(path).status_code == 403
        assert api.post(path, {"name": "x", "scopes": ["read"]}, format="json").status_code == 403
    assert ServiceAccount.objects.count() == 1
    assert api.get("/api/v1/accounts/me/").status_code == 403


def test_the_decide_scope_decides_a_transfer_to_its_institution_attributably(
    transfer_world, learner, institution_officer
):
    university = institution_officer.institution
    admin = with_totp(
        UserFactory(username="uni.admin", role=Role.INSTITUTION_ADMIN, institution=university)
    )
    application = transfer_apply(
        account=transfer_world["account"],
        programme=transfer_world["programme"],
        items=[(transfer_world["courses"][0], transfer_world["outcome"])],
        actor=learner,
    )
    item = application.items.get()
    decider, decider_secret = make(admin, ["transfers:decide"], name="教务系统")
    reader, reader_secret = make(admin, ["read"], name="教务查询")
    decides = system(token_of(decider, decider_secret))
    reads = system(token_of(reader, reader_secret))

    assert reads.get("/api/v1/transfers/").json()["count"] == 1
    assert reads.get(f"/api/v1/transfers/{application.pk}/").status_code == 200
    refused = reads.post(f"/api/v1/transfers/items/{item.pk}/decide/", {"decision": "accept"})
    assert refused.status_code == 403
    decided = decides.post(
        f"/api/v1/transfers/items/{item.pk}/decide/", {"decision": "accept"}, format="json"
    )

    assert decided.status_code == 200, decided.content
    item = TransferItem.objects.get(pk=item.pk)
    assert item.state == "accepted"
    assert item.decided_by_id == decider.principal_id
    call = ServiceCall.objects.get(service_account=decider)
    assert (call.scope, call.method, call.status_code) == ("transfers:decide", "POST", 200)
    assert call.path == f"/api/v1/transfers/items/{item.pk}/decide/"


# --- The call log ---------------------------------------------------------------------------------


def test_every_call_is_logged_with_its_scope_and_status(institution_admin, collective):
    account, secret = make(institution_admin, ["read"])
    api = system(token_of(account, secret))
    pk = collective.institution_id

    api.get(f"/api/v1/institutions/{pk}/members/")
    api.post(f"/api/v1/institutions/{pk}/members/import/", {}, format="multipart")
    api.get(f"/api/v1/institutions/{pk}/webhooks/")

    calls = list(
        ServiceCall.objects.order_by("at", "pk").values_list("scope", "method", "status_code")
    )
    assert calls == [("read", "GET", 200), ("members:import", "POST", 403), ("", "GET", 403)]


def test_the_call_log_is_kept_bounded(institution_admin, collective):
    account, _secret = make(institution_admin, ["read"])
    now = timezone.now()
    ServiceCall.objects.bulk_create(
        [
            ServiceCall(
                service_account=account,
                method="GET",
                path="/api/v1/transfers/",
                status_code=200,
                at=now - timedelta(minutes=n),
            )
            for n in range(8)
        ]
        + [
            ServiceCall(
                service_account=account,
                method="GET",
                path="/old/",
                status_code=200,
                at=now - timedelta(days=400),
            )
        ]
    )

    with override_settings(SERVICE_CALL_LOG_KEEP=5, SERVICE_CALL_LOG_DAYS=90):
        service_calls_purge(now=now)

    kept = list(ServiceCall.objects.order_by("-at").values_list("at", flat=True))
    assert kept == [now - timedelta(minutes=n) for n in range(5)]


# --- The administrator's pages and API ----------------------------------------------------------


def test_the_admin_creates_a_service_account_and_sees_its_secret_once(
    client, institution_admin, collective
):
    login_verified(client, institution_admin)
    pk = institution_admin.institution_id

    created = client.post(
        f"/institutions/{pk}/service-accounts/",
        {"name": "人事系统", "scopes": ["read", "members:import"]},
    )

    account = ServiceAccount.objects.get(institution_id=pk)
    assert created.status_code == 302
    assert created["Location"] == f"/institutions/{pk}/service-accounts/{account.pk}/"
    page = client.get(created["Location"]).content.decode()
    secret = re.search(r"<code[^>]*>(cbss_[^<]+)</code>", page)
    assert secret is not None
    assert account.client_id in page
    assert account.scopes == ["members:import", "read"]
    assert account.principal.role == Role.SERVICE_ACCOUNT
    assert not account.principal.has_usable_password()
    assert "cbss_" not in client.get(created["Location"]).content.decode()
    # The system's call appears in the admin's log.
    system(token_of(account, secret.group(1))).get(f"/api/v1/institutions/{pk}/members/")
    listing = client.get(f"/institutions/{pk}/service-accounts/").content.decode()
    assert f"GET /api/v1/institutions/{pk}/members/" in listing


def test_the_page_shows_field_errors_and_writes_nothing(client, institution_admin, collective):
    login_verified(client, institution_admin)
    pk = institution_admin.institution_id

    refused = client.post(
        f"/institutions/{pk}/service-accounts/", {"name": "", "scopes": ["everything"]}
    )

    assert refused.status_code == 400
    errors = refused.context["form"].errors
    assert set(errors) == {"name", "scopes"}
    assert not ServiceAccount.objects.exists()
    assert not Application.objects.exists()


def test_the_admin_disables_a_service_account_on_its_page(client, institution_admin, collective):
    account, secret = make(institution_admin, ["read"])
    login_verified(client, institution_admin)
    pk = institution_admin.institution_id

    disabled = client.post(
        f"/institutions/{pk}/service-accounts/{account.pk}/disable/",
        {"disable-confirm": "on"},
        follow=True,
    )

    assert disabled.status_code == 200
    account.refresh_from_db()
    assert not account.is_active
    assert account.disabled_at is not None
    assert token_answer(account, secret).status_code == 401


def test_another_institutions_admin_does_not_find_the_service_account(
    client, institution_admin, collective
):
    account, _secret = make(institution_admin, ["read"])
    stranger = with_totp(
        UserFactory(
            username="stranger", role=Role.INSTITUTION_ADMIN, institution=InstitutionFactory()
        )
    )
    login_verified(client, stranger)
    pk = institution_admin.institution_id

    assert client.get(f"/institutions/{pk}/service-accounts/").status_code == 404
    assert (
        client.post(f"/institutions/{pk}/service-accounts/{account.pk}/rotate/").status_code == 404
    )


def test_the_admin_manages_service_accounts_over_the_api(admin_client, collective):
    pk = collective.institution_id
    base = f"/api/v1/institutions/{pk}/service-accounts/"

    bad = admin_client.post(base, {"name": "", "scopes": ["root"]}, format="json")
    created = admin_client.post(base, {"name": "人事系统", "scopes": ["read"]}, format="json")

    assert bad.status_code == 400
    assert {"name", "scopes[0]"} <= set(bad.json()) or {"name", "scopes"} <= set(bad.json())
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["client_secret"].startswith("cbss_")
    account = ServiceAccount.objects.get(pk=body["id"])
    assert body["client_id"] == account.client_id
    assert "client_secret" not in admin_client.get(f"{base}{account.pk}/").json()
    rotated = admin_client.post(f"{base}{account.pk}/rotate/")
    assert rotated.status_code == 200
    assert token_answer(account, body["client_secret"]).status_code == 401
    token = token_of(account, rotated.json()["client_secret"])
    system(token).get(f"/api/v1/institutions/{pk}/members/")
    calls = admin_client.get(f"{base}calls/").json()["results"]
    assert [(c["client_id"], c["scope"], c["status_code"]) for c in calls] == [
        (account.client_id, "read", 200)
    ]
    disabled = admin_client.post(f"{base}{account.pk}/disable/")
    assert disabled.json()["is_active"] is False
    assert system(token).get(f"/api/v1/institutions/{pk}/members/").status_code == 401


# --- The schema -----------------------------------------------------------------------------------


def test_the_schema_documents_the_client_credentials_flow_and_each_operations_scope(client):
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()

    validate(schema)
    scheme = schema["components"]["securitySchemes"]["oauth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert scheme["type"] == "oauth2"
    assert flow["tokenUrl"] == TOKEN_URL
    assert set(flow["scopes"]) == set(ALL)
    paths = schema["paths"]
    members = "/api/v1/institutions/{id}/members/"
    assert {"oauth2": ["members:import"]} in paths[members + "import/"]["post"]["security"]
    assert {"oauth2": ["read"]} in paths[members]["get"]["security"]
    decide = paths["/api/v1/transfers/items/{id}/decide/"]["post"]["security"]
    assert {"oauth2": ["transfers:decide"]} in decide
    webhooks = paths["/api/v1/institutions/{id}/webhooks/"]["get"]["security"]
    assert not any("oauth2" in requirement for requirement in webhooks)


def test_the_token_endpoint_slows_down_a_flood_of_guesses(
    institution_admin, collective, monkeypatch
):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"oauth_token": "3/min"})
    account, secret = make(institution_admin, ["read"])

    answers = [token_answer(account, secret + "wrong").status_code for _ in range(3)]
    flooded = token_answer(account, secret)

    assert answers == [401, 401, 401]
    assert flooded.status_code == 429
    assert int(flooded["Retry-After"]) > 0
    assert AccessToken.objects.count() == 0


# --- Two administrators at once (PostgreSQL) ------------------------------------------------------


def _race(*calls: Any) -> list[Any]:
    start = threading.Barrier(len(calls))
    results: list[Any] = []

    def run(call: Any) -> None:
        try:
            start.wait()
            results.append(call())
        except ValidationError as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_creations_at_the_limit_make_one_account(postgres, institution_admin):
    for n in range(MAX_SERVICE_ACCOUNTS - 1):
        make(institution_admin, ["read"], name=f"系统{n}")

    results = _race(
        lambda: make(institution_admin, ["read"], name="甲"),
        lambda: make(institution_admin, ["read"], name="乙"),
    )

    assert sum(isinstance(r, ValidationError) for r in results) == 1
    assert ServiceAccount.objects.count() == MAX_SERVICE_ACCOUNTS
    assert Application.objects.count() == MAX_SERVICE_ACCOUNTS


def test_a_new_secret_or_disabling_waits_for_the_ticked_confirmation(
    client, institution_admin, collective
):
    account, secret = make(institution_admin, ["read"])
    login_verified(client, institution_admin)
    base = f"/institutions/{institution_admin.institution_id}/service-accounts/{account.pk}/"

    page = client.get(base).content.decode()
    rotated = client.post(f"{base}rotate/")
    disabled = client.post(f"{base}disable/")

    assert "我已了解，正在使用的系统将立即失效。" in page
    assert "当前密钥及用它取得的访问令牌将立即失效" in page
    assert rotated.status_code == 400
    assert "请勾选此项以确认。" in rotated.content.decode()
    assert disabled.status_code == 400
    account.refresh_from_db()
    assert account.is_active
    assert token_answer(account, secret).status_code == 200


def test_the_service_account_pages_speak_plainly_and_offer_copy_buttons(
    client, institution_admin, collective
):
    account, secret = make(institution_admin, ["read"])
    system(token_of(account, secret)).get(
        f"/api/v1/institutions/{institution_admin.institution_id}/members/"
    )
    login_verified(client, institution_admin)
    pk = institution_admin.institution_id

    listing = client.get(f"/institutions/{pk}/service-accounts/").content.decode()
    detail = client.get(f"/institutions/{pk}/service-accounts/{account.pk}/").content.decode()
    home = client.get("/").content.decode()

    assert "名称" in listing
    assert "姓名" not in listing
    assert "查看成员、批次和学分转换" in listing.split('data-testid="service-calls"')[1]
    assert "成功 (200)" in listing
    assert "<code>read</code>" not in listing
    assert 'data-copy="client-id"' in detail
    assert f'href="/institutions/{pk}/service-accounts/"' in home
