from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import Role
from accounts.services import api_tokens_purge_expired
from tests.accounts.factories import UserFactory
from tests.people import PASSWORD, otp_code, token_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "identifier", ["alice", "alice@example.cn", "ALICE@Example.CN", "13900000000"]
)
def test_it_issues_a_token_for_username_email_or_phone(api_client, learner, identifier):
    learner.phone = "13900000000"
    learner.save()

    response = api_client.post(
        "/api/v1/auth/token/", {"username": identifier, "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert len(response.json()["token"]) >= 40
    assert response.json()["expiry"]


def test_the_token_authenticates_api_calls(api_client, reviewer):
    token = token_for(api_client, "rita")

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api_client.get("/api/v1/auth/user/")

    assert response.status_code == 200
    assert response.json()["role"] == "centre_reviewer"
    assert response.json()["centre"] == "渝中区学习成果认证分中心"


def test_the_token_is_not_stored_in_clear(api_client, reviewer):
    token = token_for(api_client, "rita")

    stored = AuthToken.objects.get(user=reviewer)
    assert stored.digest != token
    assert token not in stored.digest


def test_it_refuses_a_wrong_password_without_saying_which_part_was_wrong(api_client, reviewer):
    wrong_password = api_client.post(
        "/api/v1/auth/token/", {"username": "rita", "password": "nope-nope-nope"}, format="json"
    )
    unknown_user = api_client.post(
        "/api/v1/auth/token/", {"username": "nobody", "password": PASSWORD}, format="json"
    )

    assert wrong_password.status_code == unknown_user.status_code == 400
    assert wrong_password.json() == unknown_user.json()
    assert "non_field_errors" in wrong_password.json()
    assert not AuthToken.objects.exists()


def test_it_names_each_missing_field(api_client, db):
    response = api_client.post("/api/v1/auth/token/", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_it_refuses_an_inactive_user(api_client, reviewer):
    reviewer.is_active = False
    reviewer.save()

    response = api_client.post(
        "/api/v1/auth/token/", {"username": "rita", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400


def test_api_calls_without_a_token_are_refused(api_client, db):
    response = api_client.get("/api/v1/auth/user/")

    assert response.status_code == 401


def test_a_revoked_token_stops_working(api_client, reviewer):
    token = token_for(api_client, "rita")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert api_client.post("/api/v1/auth/logout/").status_code == 204
    assert api_client.get("/api/v1/auth/user/").status_code == 401


def test_an_expired_token_is_refused_and_then_purged(api_client, reviewer):
    token = token_for(api_client, "rita")
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert api_client.get("/api/v1/auth/user/").status_code == 401
    token_for(api_client, "rita")  # a fresh one, which must survive the purge
    assert api_tokens_purge_expired() <= 1
    assert AuthToken.objects.filter(expiry__gt=timezone.now()).count() == 1
    assert AuthToken.objects.filter(expiry__lt=timezone.now()).count() == 0


def test_token_requests_are_throttled(api_client, reviewer, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    body = {"username": "rita", "password": "wrong-password-1"}

    statuses = [
        api_client.post("/api/v1/auth/token/", body, format="json").status_code for _ in range(4)
    ]

    assert statuses == [400, 400, 400, 429]


def request_token(api_client, **body):
    return api_client.post("/api/v1/auth/token/", body, format="json")


def test_staff_need_a_code_from_their_authenticator(api_client, reviewer):
    without = request_token(api_client, username="rita", password=PASSWORD)
    wrong = request_token(api_client, username="rita", password=PASSWORD, otp_code="000000")

    assert without.status_code == wrong.status_code == 400
    assert "otp_code" in without.json()
    assert "otp_code" in wrong.json()
    assert not AuthToken.objects.exists()


def test_a_code_works_once(api_client, reviewer):
    code = otp_code(reviewer)

    first = request_token(api_client, username="rita", password=PASSWORD, otp_code=code)
    replay = request_token(api_client, username="rita", password=PASSWORD, otp_code=code)

    assert first.status_code == 200
    assert replay.status_code == 400
    assert AuthToken.objects.count() == 1


def test_staff_without_an_authenticator_are_sent_to_set_one_up(api_client, centre):
    UserFactory(username="newbie", role=Role.CENTRE_REVIEWER, centre=centre)

    response = request_token(api_client, username="newbie", password=PASSWORD)

    assert response.status_code == 400
    assert "Set up two-factor sign-in" in response.json()["otp_code"][0]


def test_repeated_wrong_passwords_lock_the_account_on_that_address_only(
    api_client, learner, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        request_token(api_client, username="alice", password="wrong-password")

    locked = request_token(api_client, username="alice@example.cn", password=PASSWORD)
    elsewhere = api_client.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.1.2.3",
    )

    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.json()["detail"]
    assert elsewhere.status_code == 200


def test_changing_the_password_revokes_every_api_token(api_client, learner):
    token = token_for(api_client, "alice")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    learner.set_password("A-brand-new-password")
    learner.save()

    assert api_client.get("/api/v1/auth/user/").status_code == 401


def test_a_staff_session_without_its_second_factor_cannot_use_the_api(client, reviewer):
    client.post("/login/", {"username": "rita", "password": PASSWORD})

    half_signed_in = client.get("/api/v1/auth/user/")
    client.post("/mfa/verify/", {"code": otp_code(reviewer), "next": "/"})
    signed_in = client.get("/api/v1/auth/user/")

    assert half_signed_in.status_code in (401, 403)
    assert signed_in.status_code == 200


def test_behind_the_proxy_lockout_follows_the_client_address_the_proxy_saw(
    api_client, learner, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 2

    def attempt(forwarded: str, password: str = "wrong-password"):  # noqa: S107
        return api_client.post(
            "/api/v1/auth/token/",
            {"username": "alice", "password": password},
            format="json",
            REMOTE_ADDR="10.0.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    # An attacker varies the part of the header they control; the proxy's entry stays theirs.
    attempt("1.1.1.1, 203.0.113.9")
    attempt("2.2.2.2, 203.0.113.9")
    attacker = attempt("3.3.3.3, 203.0.113.9", PASSWORD)
    learner_elsewhere = attempt("198.51.100.7", PASSWORD)

    assert attacker.status_code == 429
    assert learner_elsewhere.status_code == 200


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "Token"])
def test_the_token_is_accepted_as_a_bearer_token_too(api_client, reviewer, scheme):
    # Issue 22: generated clients send "Bearer"; it used to answer "credentials were not
    # provided".
    token = token_for(api_client, "rita")

    api_client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")
    response = api_client.get("/api/v1/auth/user/")

    assert response.status_code == 200
    assert response.json()["role"] == "centre_reviewer"


def test_a_wrong_bearer_token_is_refused(api_client, reviewer):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api_client.get("/api/v1/auth/user/")

    assert response.status_code == 401


def test_an_api_call_leaves_expired_tokens_to_the_periodic_purge(api_client, reviewer):
    """knox's own check deleted the user's expired tokens on every call (a query and writes
    on the hot path); the portal's refuses an expired token and leaves the deleting to the
    beat task, which still removes them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.tasks import purge_expired_tokens

    expired = token_for(api_client, "rita")
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    fresh = token_for(api_client, "rita")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {fresh}")

    with CaptureQueriesContext(connection) as queries:
        assert api_client.get("/api/v1/auth/user/").status_code == 200

    statements = [q["sql"] for q in queries.captured_queries]
    assert all(sql.startswith("SELECT") for sql in statements), statements
    assert len([sql for sql in statements if "knox_authtoken" in sql]) == 1, statements
    assert AuthToken.objects.filter(expiry__lt=timezone.now()).count() == 1
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {expired}")
    assert api_client.get("/api/v1/auth/user/").status_code == 401

    assert purge_expired_tokens() == 1
    assert AuthToken.objects.filter(expiry__lt=timezone.now()).count() == 0
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {fresh}")
    assert api_client.get("/api/v1/auth/user/").status_code == 200


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_a_token_header_with_bytes_that_are_not_utf8_is_refused_not_a_server_error(
    api_client, scheme
):
    api_client.credentials(HTTP_AUTHORIZATION=f"{scheme} ".encode() + b"\xe9\xff" * 8)

    response = api_client.get("/api/v1/auth/user/")

    assert response.status_code == 401


def test_each_token_reads_its_own_holder_when_calls_alternate(api_client, learner, reviewer):
    tokens = {"alice": token_for(api_client, "alice"), "rita": token_for(api_client, "rita")}

    roles = []
    for name in ("alice", "rita", "alice", "rita"):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[name]}")
        roles.append(api_client.get("/api/v1/auth/user/").json()["role"])

    assert roles == ["learner", "centre_reviewer", "learner", "centre_reviewer"]
