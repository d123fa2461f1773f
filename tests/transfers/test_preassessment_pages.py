"""Pre-assessments over HTTP: the learner asks from her learning path (or the API, with an
Idempotency-Key), the officer answers from a queue ordered by due date, bad input gets a
field-level error, and the binding shows on the path and on the officer's transfer page."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from tests.creditbank.test_people_pages import tile, tile_link
from tests.people import login_verified
from tests.transfers.test_preassessments import answer_yes, ask, obtain, world_make
from transfers.models import PreAssessment, PreAssessmentState
from transfers.preassessments import preassessment_answer
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


# --- Issue 24: what a tester saw on these pages -------------------------------------------------


def test_asking_about_both_an_entry_and_an_outcome_is_refused_on_the_outcome(
    client, api_client, world
):
    outcome = obtain(world)
    both = {"entry_version": world["version"].pk, "outcome": outcome.pk, "question": ""}
    client.force_login(world["learner"])
    api_client.force_authenticate(world["learner"])

    with translation.override("zh-hans"):
        page = client.post(f"/preassessments/ask/{world['courses'][0].pk}/", both)
        api = api_client.post(URL, ask_body(world, outcome=outcome.pk), format="json")
        with pytest.raises(ValidationError) as service:
            ask(world, outcome=outcome)

    assert page.status_code == 400
    assert 'id="id_outcome_errors"' in page.content.decode()
    assert api.status_code == 400
    assert list(api.json()) == ["outcome"]
    assert service.value.message_dict == {
        "outcome": ["目录条目和您的学习成果只能选择其一，不能同时选择。"]
    }
    assert not PreAssessment.objects.exists()


def test_the_path_offers_the_question_only_where_a_conversion_rule_exists(client, world):
    client.force_login(world["learner"])

    path = client.get(f"/file/goals/{world['programme'].pk}/").content.decode()

    # The first course has a conversion rule, the second none: a yes could not be given.
    assert f"/preassessments/ask/{world['courses'][0].pk}/" in path
    assert f"/preassessments/ask/{world['courses'][1].pk}/" not in path


def test_the_path_shows_an_open_question_and_a_no_with_its_reason(client, world):
    asked = ask(world)
    client.force_login(world["learner"])

    open_path = client.get(f"/file/goals/{world['programme'].pk}/").content.decode()
    preassessment_answer(
        preassessment=asked, actor=world["officer"], answer="no", reason="课程内容不对应"
    )
    refused_path = client.get(f"/file/goals/{world['programme'].pk}/").content.decode()

    assert 'data-testid="question-asked"' in open_path
    assert f"/preassessments/{asked.pk}/" in open_path
    assert f"/preassessments/ask/{world['courses'][0].pk}/" not in open_path
    assert 'data-testid="question-no"' in refused_path
    assert "课程内容不对应" in refused_path
    # After a no the learner may ask again (about another outcome, say).
    assert f"/preassessments/ask/{world['courses'][0].pk}/" in refused_path


def test_withdrawing_asks_first_and_only_the_confirmation_withdraws(client, world):
    prea = ask(world)
    client.force_login(world["learner"])

    first = client.post(f"/preassessments/{prea.pk}/withdraw/")
    prea.refresh_from_db()
    assert first.status_code == 200
    assert 'data-testid="withdraw-confirm"' in first.content.decode()
    assert prea.state == PreAssessmentState.ASKED

    confirmed = client.post(f"/preassessments/{prea.pk}/withdraw/", {"confirm": "yes"})
    prea.refresh_from_db()
    assert confirmed.status_code == 302
    assert prea.state == PreAssessmentState.WITHDRAWN


def test_the_officer_finds_an_answered_yes_again_and_counts_the_open_ones_at_home(client, world):
    answered = answer_yes(world, ask(world))
    waiting = ask(world, course=world["courses"][1])
    PreAssessment.objects.filter(pk=waiting.pk).update(
        due_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    login_verified(client, world["officer"])

    queue = client.get("/institution/preassessments/").content.decode()
    done = client.get("/institution/preassessments/?show=answered").content.decode()
    home = client.get("/").content.decode()

    assert f"/institution/preassessments/{waiting.pk}/" in queue
    assert f"/institution/preassessments/{answered.pk}/" not in queue
    assert f"/institution/preassessments/{answered.pk}/" in done
    assert f"/institution/preassessments/{waiting.pk}/" not in done
    assert tile(home, "preassessments") == "1"
    assert tile(home, "preassessments-overdue") == "1"
    assert tile_link(home, "preassessments") == "/institution/preassessments/"


def test_the_pages_speak_chinese_dates_and_versions(client, world):
    prea = answer_yes(world, ask(world))
    client.force_login(world["learner"])

    with translation.override("zh-hans"):
        detail = client.get(f"/preassessments/{prea.pk}/").content.decode()
        form = client.get(f"/preassessments/ask/{world['courses'][0].pk}/").content.decode()

    assert f"{world['version'].entry.code} 第1版 " in form

    due = prea.due_on
    assert f"{due.year}年{due.month}月{due.day}日" in detail
    assert "第1版" in detail
    assert " v1" not in detail
    assert "3.0学分" in detail
    assert "转换规则" in detail


def test_learners_find_their_pre_assessments_in_the_menu(client, world):
    client.force_login(world["learner"])

    page = client.get("/preassessments/").content.decode()

    assert 'href="/preassessments/" aria-current="page"' in page
    # The empty list leads to where questions are asked.
    assert 'href="/file/what-if/"' in page
