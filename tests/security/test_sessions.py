"""Signing out and changing the password end the server session: a session cookie copied
before (from a shared computer, a proxy log) opens nothing afterwards. Every test runs with the
database sessions (no Redis) and with the cached ones production uses (``cached_db``: read from
the cache, written through to the database)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from knox.models import AuthToken

from accounts.services import api_token_create
from tests.people import PASSWORD, login_verified

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-Horse-battery-77"


@pytest.fixture(autouse=True, params=["db", "cached_db"])
def session_engine(request, settings):
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    return request.param


def signed_in(username: str) -> Client:
    """A browser that signed in through the sign-in page with the password."""
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def session_cookie(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def replayed(cookie: str, path: str = "/account/details/") -> str:
    """Where a fresh browser carrying only ``cookie`` ends up when it asks for ``path``."""
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = client.get(path)
    return response.headers.get("Location", str(response.status_code))


def test_a_session_cookie_replayed_after_sign_out_is_sent_to_sign_in(learner):
    browser = signed_in("alice")
    cookie = session_cookie(browser)
    assert replayed(cookie) == "200"

    browser.post("/logout/")

    assert replayed(cookie).startswith("/login/")
    assert not Session.objects.filter(session_key=cookie).exists()


def test_a_staff_session_replayed_after_sign_out_is_sent_to_sign_in(reviewer):
    browser = Client()
    login_verified(browser, reviewer)
    cookie = session_cookie(browser)
    assert replayed(cookie, "/centre/queue/") == "200"

    browser.post("/logout/")

    assert replayed(cookie, "/centre/queue/").startswith("/login/")


def test_signing_out_needs_a_post_so_a_link_or_image_cannot_sign_anyone_out(learner):
    browser = signed_in("alice")

    response = browser.get("/logout/")

    assert response.status_code == 405
    assert replayed(session_cookie(browser)) == "200"


def test_changing_the_password_ends_the_old_session_cookie_and_every_other_session(learner):
    here = signed_in("alice")
    elsewhere = signed_in("alice")
    old_here, old_elsewhere = session_cookie(here), session_cookie(elsewhere)

    response = here.post(
        "/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    # The browser that changed it stays signed in, under a new session key.
    assert session_cookie(here) != old_here
    assert here.get("/account/details/").status_code == 200
    assert replayed(old_here).startswith("/login/")
    assert replayed(old_elsewhere).startswith("/login/")


def test_changing_the_password_revokes_the_api_tokens(learner, api_client):
    token, _expiry = api_token_create(user=learner)
    here = signed_in("alice")

    here.post(
        "/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/accounts/me/").status_code == 401
    assert not AuthToken.objects.filter(user=learner).exists()


def test_a_token_is_refused_after_the_api_sign_out(learner, api_client):
    token, _expiry = api_token_create(user=learner)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert api_client.post("/api/v1/auth/logout/").status_code == 204

    assert api_client.get("/api/v1/accounts/me/").status_code == 401


def test_a_deactivated_user_s_session_opens_nothing_even_when_the_session_is_cached(learner):
    browser = signed_in("alice")
    cookie = session_cookie(browser)
    assert replayed(cookie) == "200"

    learner.is_active = False
    learner.save(update_fields=["is_active"])

    assert replayed(cookie).startswith("/login/")
