"""What a person types into the sign-in box is recorded for lockout, but never in clear when it
names no account: it may be an identity number or a password."""

import pytest
from axes.models import AccessAttempt

from tests.people import PASSWORD, RESIDENT

pytestmark = pytest.mark.django_db


def sign_in(api_client, username: str, password: str = "wrong-password"):  # noqa: S107
    return api_client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )


def recorded_names() -> str:
    return " ".join(AccessAttempt.objects.values_list("username", flat=True))


def test_an_identity_number_typed_at_sign_in_is_not_recorded_in_clear(api_client, client):
    sign_in(api_client, RESIDENT)
    client.post("/login/", {"username": RESIDENT.lower(), "password": "wrong-password"})

    assert AccessAttempt.objects.count() >= 1
    assert RESIDENT not in recorded_names()
    assert RESIDENT.lower() not in recorded_names()


def test_a_password_typed_into_the_name_box_is_not_recorded_in_clear(api_client, learner):
    sign_in(api_client, PASSWORD, PASSWORD)

    assert AccessAttempt.objects.exists()
    assert PASSWORD not in recorded_names()
    assert PASSWORD.lower() not in recorded_names()


def test_repeated_tries_with_the_same_unknown_name_are_still_locked_out(api_client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        sign_in(api_client, RESIDENT)

    assert sign_in(api_client, RESIDENT).status_code == 429
    assert sign_in(api_client, RESIDENT.lower()).status_code == 429
