"""Objects named in a request body, not only in the URL: a principal cannot act on another's
object by putting its id in the JSON (learner B naming A's outcome, a centre admin naming
another centre's reviewer), nor give itself a role by sending the field."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Notification, Role, User
from accreditation.models import Application
from tests.worlds import World
from transfers.models import TransferApplication

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(security_world_without_documents):
    return security_world_without_documents


def as_(world: World, principal: str) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[principal]}")
    return client


def test_learner_b_cannot_submit_learner_as_outcome_for_accreditation(world):
    before = Application.objects.count()

    response = as_(world, "learner_b").post(
        "/api/v1/applications/",
        {"outcome": world.objects["outcome"], "centre": world.objects["centre_x"]},
        format="json",
    )

    assert response.status_code in (400, 404)
    assert Application.objects.count() == before


def test_learner_b_cannot_transfer_learner_as_accredited_outcome(world):
    before = TransferApplication.objects.count()
    body: dict[str, Any] = {
        "programme": world.objects["programme"],
        "items": [
            {"course": world.objects["course"], "outcome": world.objects["accredited_outcome"]}
        ],
    }

    response = as_(world, "learner_b").post(
        "/api/v1/transfers/", body, format="json", HTTP_IDEMPOTENCY_KEY="b-takes-a"
    )

    assert response.status_code in (400, 404)
    assert TransferApplication.objects.count() == before


def test_learner_b_cannot_mark_learner_as_notice_read(world):
    response = as_(world, "learner_b").post(
        "/api/v1/notifications/read/", {"ids": [world.objects["notification"]]}, format="json"
    )

    assert response.status_code == 200
    assert Notification.objects.get(pk=world.objects["notification"]).read_at is None


def test_a_centre_admin_cannot_assign_to_a_reviewer_of_another_centre(world):
    reviewer_y = world.users["reviewer_y"]
    assert reviewer_y is not None

    response = as_(world, "centre_admin_x").post(
        f"/api/v1/applications/{world.objects['application']}/assign/",
        {"reviewer": reviewer_y.pk},
        format="json",
    )

    assert response.status_code == 400
    assert "reviewer" in response.json()
    assert Application.objects.get(pk=world.objects["application"]).assigned_to_id is None


def test_a_learner_cannot_give_themselves_a_role_or_another_account_number(world):
    learner_b = world.users["learner_b"]
    assert learner_b is not None
    number = learner_b.learning_account.number

    as_(world, "learner_b").patch(
        "/api/v1/accounts/me/",
        {
            "role": Role.MANAGEMENT_ADMIN,
            "is_staff": True,
            "is_superuser": True,
            "number": world.objects["account_number"],
            "password": "correct-horse-battery",
        },
        format="json",
    )

    learner_b = User.objects.get(pk=learner_b.pk)
    assert learner_b.role == Role.LEARNER
    assert not learner_b.is_staff
    assert not learner_b.is_superuser
    assert learner_b.learning_account.number == number


def test_registering_over_the_api_never_makes_staff(world):
    response = APIClient().post(
        "/api/v1/accounts/",
        {
            "name": "冒名者",
            "id_type": "resident_id",
            "id_number": "11010519491231002X",
            "phone": "13800000099",
            "email": "sneak@example.cn",
            "password": "Sneaky-Horse-2026",
            "role": Role.MANAGEMENT_ADMIN,
            "is_staff": True,
            "centre": world.objects["centre_x"],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    user = User.objects.get(email="sneak@example.cn")
    assert user.role == Role.LEARNER
    assert not user.is_staff
    assert user.centre_id is None
