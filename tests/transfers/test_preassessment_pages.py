"""Pre-assessments over HTTP: the learner asks from her learning path (or the API, with an
Idempotency-Key), the officer answers from a queue ordered by due date, bad input gets a
field-level error, and the binding shows on the path and on the officer's transfer page."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from tests.people import login_verified
from tests.transfers.test_preassessments import answer_yes, ask, obtain, world_make
from transfers.models import PreAssessment, PreAssessmentState
from transfers.services import transfer_apply

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(learner, institution_officer) -> dict[str, Any]:
    return world_make(learner, institution_officer)


URL = "/api/v1/preassessments/"


def ask_body(world: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "course": world["courses"][0].pk,
        "entry_version": world["version"].pk,
        "question": "明年取得证书后能否免修？",
        **changes,
    }


# --- The API -------------------------------------------------------------------------------------


def test_a_learner_asks_over_the_api_and_a_retry_with_the_same_key_asks_once(api_client, world):
    api_client.force_authenticate(world["learner"])

    first = api_client.post(URL, ask_body(world), format="json", HTTP_IDEMPOTENCY_KEY="ask-1")
    retry = api_client.post(URL, ask_body(world), format="json", HTTP_IDEMPOTENCY_KEY="ask-1")

    assert first.status_code == 201, first.json()
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert first.json()["state"] == "asked"
    assert first.json()["working_days"] == 10
    assert PreAssessment.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"entry_version": None}, "entry_version"),
        ({"course": 999_999}, "course"),
        ({"entry_version": "x"}, "entry_version"),
        ({"question": "x" * 2001}, "question"),
    ],
)
def test_a_bad_question_is_a_400_keyed_by_its_field_and_writes_nothing(
    api_client, world, changes, field
):
    api_client.force_authenticate(world["learner"])

    response = api_client.post(URL, ask_body(world, **changes), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not PreAssessment.objects.exists()


def test_the_officer_answers_yes_over_the_api_and_the_learner_sees_the_binding(api_client, world):
    prea = ask(world)
    until = (timezone.localdate() + datetime.timedelta(days=200)).isoformat()
    api_client.force_authenticate(world["officer"])

    answered = api_client.post(
        f"{URL}{prea.pk}/answer/", {"answer": "yes", "valid_until": until}, format="json"
    )

    assert answered.status_code == 200, answered.json()
    api_client.force_authenticate(world["learner"])
    seen = api_client.get(f"{URL}{prea.pk}/").json()
    assert (seen["state"], seen["valid_until"], seen["rule_version"], seen["credits"]) == (
        "yes",
        until,
        1,
        "3.0",
    )


def test_a_no_without_a_reason_is_a_400_on_the_reason(api_client, world):
    prea = ask(world)
    api_client.force_authenticate(world["officer"])

    response = api_client.post(f"{URL}{prea.pk}/answer/", {"answer": "no"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["reason"]
    prea.refresh_from_db()
    assert prea.state == PreAssessmentState.ASKED


# --- The pages -----------------------------------------------------------------------------------


def test_the_learner_asks_from_the_course_row_of_her_learning_path(client, world):
    client.force_login(world["learner"])
    path = client.get(f"/file/goals/{world['programme'].pk}/").content.decode()
    assert f"/preassessments/ask/{world['courses'][0].pk}/" in path

    response = client.post(
        f"/preassessments/ask/{world['courses'][0].pk}/",
        {"entry_version": world["version"].pk, "question": ""},
    )

    prea = PreAssessment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/preassessments/{prea.pk}/"
    detail = client.get(response["Location"]).content.decode()
    assert prea.due_on.isoformat() in detail


def test_asking_about_nothing_shows_the_form_again_with_the_error_by_the_field(client, world):
    client.force_login(world["learner"])

    response = client.post(f"/preassessments/ask/{world['courses'][0].pk}/", {"question": ""})

    assert response.status_code == 400
    assert 'id="id_entry_version_errors"' in response.content.decode()
    assert not PreAssessment.objects.exists()


def test_the_officers_queue_lists_the_soonest_due_first(client, world):
    later = ask(world)
    sooner = ask(world, course=world["courses"][1])
    PreAssessment.objects.filter(pk=sooner.pk).update(due_on=later.due_on - datetime.timedelta(1))
    login_verified(client, world["officer"])

    page = client.get("/institution/preassessments/").content.decode()

    assert page.index(f"/institution/preassessments/{sooner.pk}/") < page.index(
        f"/institution/preassessments/{later.pk}/"
    )


def test_a_yes_without_a_date_on_the_answer_page_is_shown_again_and_changes_nothing(client, world):
    prea = ask(world)
    login_verified(client, world["officer"])

    response = client.post(f"/institution/preassessments/{prea.pk}/answer/", {"answer": "yes"})

    assert response.status_code == 400
    assert 'id="id_valid_until_errors"' in response.content.decode()
    prea.refresh_from_db()
    assert prea.state == PreAssessmentState.ASKED


def test_the_binding_shows_on_the_path_and_on_the_officers_transfer_page(client, world):
    prea = answer_yes(world, ask(world))
    outcome = obtain(world)
    client.force_login(world["learner"])
    path = client.get(f"/file/goals/{world['programme'].pk}/").content.decode()
    assert 'data-testid="binding"' in path
    application = transfer_apply(
        account=world["account"],
        programme=world["programme"],
        items=[(world["courses"][0], outcome)],
        actor=world["learner"],
    )
    login_verified(client, world["officer"])

    page = client.get(f"/institution/transfers/{application.pk}/").content.decode()

    assert 'data-testid="bound-by"' in page
    assert f"#{prea.pk}" in page
