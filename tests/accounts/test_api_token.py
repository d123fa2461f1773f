from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.throttling import ScopedRateThrottle

from accounts.services import api_tokens_purge_expired
from tests.conftest import PASSWORD, token_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "identifier", ["rita", "rita@example.cn", "RITA@Example.CN", "13900000000"]
)
def test_it_issues_a_token_for_username_email_or_phone(api_client, reviewer, identifier):
    reviewer.phone = "13900000000"
    reviewer.save()

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
