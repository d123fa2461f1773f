"""The named people of the suite, in one place.

Staff and the default learner are made by the factories with ``PASSWORD``; learners who
register online (``shao``, ``wang``) go through the registration service with
``LEARNER_PASSWORD``, as the registration form would. The fixtures are made available to every
test by ``tests/conftest.py``; the helpers are imported from here.
"""

from __future__ import annotations

from typing import Any

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient
from stdnum.iso7064 import mod_11_2

from accounts.models import Role, User
from accounts.services import personal_account_register
from tests.accounts.factories import CentreFactory, InstitutionFactory, UserFactory

PASSWORD = "correct-horse-battery"
LEARNER_PASSWORD = "Lifelong-learning-2026"


def with_check(first17: str) -> str:
    """A resident ID number: the first 17 characters and their ISO 7064 check character."""
    return first17 + mod_11_2.calc_check_digit(first17)


RESIDENT = with_check("50010319850412123")  # Yuzhong, Chongqing; born 1985-04-12; male (3)
WANG_RESIDENT = with_check("50010619900101234")


# --- Signing in ----------------------------------------------------------------------------------


def with_totp(user):
    """Staff sign in with a second factor: give the user a confirmed authenticator."""
    TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return user


def otp_code(user) -> str:
    """A code the user's authenticator would show now. django-otp accepts each time step once
    and pauses a device briefly after a wrong code, so both memories are cleared first: tests
    may sign in repeatedly and straight after a deliberate mistake."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    TOTPDevice.objects.filter(pk=device.pk).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    return str(totp(device.bin_key)).zfill(6)


def login_verified(client, user) -> None:
    """A browser session that has given both factors."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()


def token_for(client: APIClient, username: str, password: str = PASSWORD) -> str:
    body = {"username": username, "password": password}
    user = User.objects.filter(username=username).first()
    if user is not None and TOTPDevice.objects.filter(user=user).exists():
        body["otp_code"] = otp_code(user)
    response = client.post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


# --- Learners who register online ----------------------------------------------------------------


def learner_register(name: str, id_number: str, phone: str, email: str | None = None) -> Any:
    """A learner with a personal account opened as online registration opens it."""
    return personal_account_register(
        name=name,
        id_type="resident_id",
        id_number=id_number,
        phone=phone,
        email=email or f"{phone}@example.cn",
        password=LEARNER_PASSWORD,
    )


def shao_register() -> Any:
    """邵涛涛, the learner of the source texts, registered online; returns the account."""
    return learner_register("邵涛涛", RESIDENT, "13912345678", email="shao@example.cn")


def wang_register() -> Any:
    """王另一, a second learner registered online; returns the account."""
    return learner_register("王另一", WANG_RESIDENT, "13911110000")


@pytest.fixture
def shao(db):
    return shao_register()


@pytest.fixture
def wang(db):
    return wang_register()


# --- Staff and the default learner ---------------------------------------------------------------


@pytest.fixture
def centre(db):
    return CentreFactory(name="渝中区学习成果认证分中心")


@pytest.fixture
def other_centre(db):
    return CentreFactory(name="沙坪坝区学习成果认证分中心")


@pytest.fixture
def institution(db):
    return InstitutionFactory(name="阳光幼教集团")


@pytest.fixture
def learner(db):
    return UserFactory(username="alice", name="李爱丽", role=Role.LEARNER)


@pytest.fixture
def reviewer(centre):
    return with_totp(
        UserFactory(username="rita", name="王审核", role=Role.CENTRE_REVIEWER, centre=centre)
    )


@pytest.fixture
def centre_admin(centre):
    return with_totp(
        UserFactory(username="carl", name="陈主任", role=Role.CENTRE_ADMIN, centre=centre)
    )


@pytest.fixture
def management_admin(db):
    return with_totp(
        UserFactory(username="mona", name="孟管理", role=Role.MANAGEMENT_ADMIN, is_staff=True)
    )


@pytest.fixture
def institution_admin(institution):
    return with_totp(
        UserFactory(
            username="ivan", name="赵机构", role=Role.INSTITUTION_ADMIN, institution=institution
        )
    )


@pytest.fixture
def institution_officer(db):
    university = InstitutionFactory(name="开放大学", kind="degree_institution")
    return with_totp(
        UserFactory(
            username="olga", name="刘老师", role=Role.INSTITUTION_OFFICER, institution=university
        )
    )
