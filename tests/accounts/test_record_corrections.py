"""Corrections of a decided record: the learner asks a centre to correct an accredited or
rejected outcome's recorded facts; the old value stays in the history, and the hours and credits
accredited are never changed by a correction (ADR 0007)."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import (
    BusinessTransaction,
    CorrectionRequest,
    LearningAccount,
    LedgerEntry,
    Notification,
)
from accounts.rights.services import correction_decide, correction_request, corrections_pending
from accounts.services import account_totals
from accreditation.models import ApplicationState
from outcomes.models import LearningOutcome
from tests.accounts.factories import UserFactory
from tests.accreditation.factories import ApplicationFactory
from tests.outcomes.factories import LearningOutcomeFactory
from tests.people import LEARNER_PASSWORD as PASSWORD
from tests.people import RESIDENT, learner_register, login_verified, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(correction_world):
    return correction_world


PHONE = "13912345679"
TITLE = "幼儿园园长任职资格证书"


def ask(world: dict[str, Any], field: str, new_value: str, **kwargs: Any) -> CorrectionRequest:
    return correction_request(
        user=world["learner"],
        record_kind="outcome",
        record_id=kwargs.pop("record_id", world["accredited"].pk),
        field=field,
        new_value=new_value,
        reason=kwargs.pop("reason", "证书上的名称不同"),
    )


def test_an_accepted_correction_of_a_decided_outcome_keeps_the_old_value_in_the_history(
    world, reviewer
):
    request = ask(world, "issuing_body", "重庆市教育委员会（更正）")

    correction_decide(request_id=request.pk, reviewer=reviewer, accept=True, reason="核对原件")

    world["accredited"].refresh_from_db()
    assert world["accredited"].issuing_body == "重庆市教育委员会（更正）"
    history = world["account"].transactions
    asked = history.get(kind=BusinessTransaction.Kind.CORRECTION_REQUESTED)
    change = history.get(kind=BusinessTransaction.Kind.RECORD_CORRECTED)
    assert asked.actor == world["learner"]
    assert asked.details["record"] == world["accredited"].pk
    assert change.actor == reviewer
    assert (change.details["field"], change.details["new"]) == (
        "issuing_body",
        "重庆市教育委员会（更正）",
    )
    assert change.details["old"] == asked.details["old"] != change.details["new"]
    assert change.details["reason"] == "核对原件"


def test_a_correction_of_a_date_is_applied_as_a_date(world, reviewer):
    request = ask(world, "achieved_on", "2023-05-04")

    correction_decide(request_id=request.pk, reviewer=reviewer, accept=True, reason="见原件")

    world["accredited"].refresh_from_db()
    assert world["accredited"].achieved_on == datetime.date(2023, 5, 4)


def test_a_rejected_outcome_can_be_corrected_too(world, reviewer):
    request = ask(world, "certificate_number", "YY-2024-002", record_id=world["rejected"].pk)

    correction_decide(request_id=request.pk, reviewer=reviewer, accept=True, reason="见原件")

    world["rejected"].refresh_from_db()
    assert world["rejected"].certificate_number == "YY-2024-002"


def test_the_stated_hours_are_corrected_without_touching_the_ledger(world, reviewer):
    before = account_totals(account=world["account"])
    entries = LedgerEntry.objects.filter(account=world["account"]).count()
    request = ask(world, "hours", "48")

    correction_decide(request_id=request.pk, reviewer=reviewer, accept=True, reason="见原件")

    world["accredited"].refresh_from_db()
    assert world["accredited"].hours == Decimal("48.0")
    assert account_totals(account=world["account"]) == before
    assert LedgerEntry.objects.filter(account=world["account"]).count() == entries


def test_a_correction_of_the_accredited_amounts_is_refused_pointing_to_revocation(world):
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as caught:
            ask(world, "accredited_amounts", "12")
        message = str(caught.value.message_dict["field"])

    assert "撤销" in message  # revoke, in the default language
    assert not CorrectionRequest.objects.exists()


def test_a_learner_cannot_ask_to_correct_another_learners_record(world):
    with pytest.raises(Http404):
        ask(world, "title", "我的标题", record_id=world["theirs"].pk)

    assert not CorrectionRequest.objects.exists()


def test_another_learners_record_is_404_on_the_page_and_over_the_api(client, api_client, world):
    client.force_login(world["learner"])
    theirs = world["theirs"].pk

    page = client.get(reverse("rights-record-correction", args=["outcome", theirs]))
    posted = client.post(
        reverse("rights-record-correction", args=["outcome", theirs]),
        {"field": "title", "new_value": "我的标题", "reason": "想改"},
    )
    api_client.force_authenticate(world["learner"])
    answer = api_client.post(
        "/api/v1/accounts/me/corrections/",
        {
            "record_kind": "outcome",
            "record_id": theirs,
            "field": "title",
            "new_value": "我的标题",
            "reason": "想改",
        },
        format="json",
    )

    assert (page.status_code, posted.status_code, answer.status_code) == (404, 404, 404)
    assert not CorrectionRequest.objects.exists()


def test_a_saved_outcome_is_not_corrected_by_a_centre(world):
    with pytest.raises(ValidationError) as caught:
        ask(world, "title", "新标题", record_id=world["saved"].pk)

    assert "record_id" in caught.value.message_dict


def test_a_decided_correction_cannot_be_decided_twice(world, reviewer, centre):
    request = ask(world, "title", "幼儿园园长任职资格证书（新版）")
    correction_decide(request_id=request.pk, reviewer=reviewer, accept=False, reason="无依据")
    second: Any = UserFactory(role="centre_reviewer", centre=centre)

    with pytest.raises(ValidationError) as caught:
        correction_decide(request_id=request.pk, reviewer=second, accept=True, reason="有依据")

    assert "request" in caught.value.message_dict
    world["accredited"].refresh_from_db()
    assert world["accredited"].title == TITLE
    assert CorrectionRequest.objects.get().status == CorrectionRequest.Status.REJECTED


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("achieved_on", "2024-13-40", "new_value"),
        ("achieved_on", "2999-01-01", "new_value"),
        ("hours", "-3", "new_value"),
        ("hours", "1.25", "new_value"),
        ("hours", "many", "new_value"),
        ("title", "", "new_value"),
        ("title", "x" * 151, "new_value"),
        ("kind", "training", "field"),
        ("nonsense", "x", "field"),
    ],
)
def test_bad_input_gets_a_field_error_and_writes_nothing(world, field, value, error):
    with pytest.raises(ValidationError) as caught:
        ask(world, field, value)

    assert error in caught.value.message_dict
    assert not CorrectionRequest.objects.exists()
    assert not world["account"].transactions.filter(kind="correction_requested").exists()


def test_a_date_that_breaks_the_order_of_the_period_is_refused(world):
    LearningOutcome.objects.filter(pk=world["accredited"].pk).update(
        started_on=datetime.date(2022, 1, 1), ended_on=datetime.date(2022, 6, 1)
    )

    with pytest.raises(ValidationError) as caught:
        ask(world, "ended_on", "2021-12-31")

    assert "new_value" in caught.value.message_dict


def test_asking_twice_for_the_same_field_while_one_waits_is_refused(world):
    ask(world, "title", "新标题一")

    with pytest.raises(ValidationError) as caught:
        ask(world, "title", "新标题二")

    assert "field" in caught.value.message_dict
    assert CorrectionRequest.objects.count() == 1


def test_the_api_lists_the_correctable_records_and_takes_a_request(api_client, world):
    token = token_for(api_client, PHONE, PASSWORD)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    records = api_client.get("/api/v1/accounts/me/correctable-records/").json()
    answer = api_client.post(
        "/api/v1/accounts/me/corrections/",
        {
            "record_kind": "outcome",
            "record_id": world["accredited"].pk,
            "field": "title",
            "new_value": "幼儿园园长任职资格证书（更正）",
            "reason": "证书原文如此",
        },
        format="json",
    )
    refused = api_client.post(
        "/api/v1/accounts/me/corrections/",
        {
            "record_kind": "outcome",
            "record_id": world["accredited"].pk,
            "field": "accredited_amounts",
            "new_value": "12",
            "reason": "太少",
        },
        format="json",
    )

    assert {(r["kind"], r["id"]) for r in records} == {
        ("outcome", world["accredited"].pk),
        ("outcome", world["rejected"].pk),
    }
    fields = {f["name"]: f["value"] for f in records[0]["fields"]} | {
        f["name"]: f["value"] for f in records[1]["fields"]
    }
    assert "title" in fields
    assert answer.status_code == 201
    assert answer.json()["old_value"] == TITLE
    assert answer.json()["record_label"] == TITLE
    assert refused.status_code == 400
    assert "field" in refused.json()


def test_a_correction_of_a_record_is_asked_and_decided_in_the_browser(client, world, reviewer):
    client.force_login(world["learner"])
    listing = client.get(reverse("rights-corrections")).content.decode()
    url = reverse("rights-record-correction", args=["outcome", world["accredited"].pk])
    assert url in listing
    assert TITLE in client.get(url).content.decode()

    bad = client.post(url, {"field": "achieved_on", "new_value": "yesterday", "reason": "错了"})
    assert bad.status_code == 400
    assert "YYYY-MM-DD" in bad.content.decode()
    client.post(url, {"field": "provider", "new_value": "重庆开放大学", "reason": "见证书"})
    request = CorrectionRequest.objects.get()

    login_verified(client, reviewer)
    assert TITLE in client.get(reverse("rights-correction-queue")).content.decode()
    client.post(
        reverse("rights-correction-decide", args=[request.pk]),
        {"decision": "accept", "reason": "核对原件"},
    )

    world["accredited"].refresh_from_db()
    assert world["accredited"].provider == "重庆开放大学"


@pytest.mark.parametrize("accept", [True, False])
def test_the_learner_is_told_once_when_a_correction_is_decided(world, reviewer, accept):
    request = ask(world, "title", "新标题")

    correction_decide(request_id=request.pk, reviewer=reviewer, accept=accept, reason="核对原件")
    with pytest.raises(ValidationError):
        correction_decide(request_id=request.pk, reviewer=reviewer, accept=accept, reason="再来")

    notice = Notification.objects.get(recipient=world["learner"])
    assert notice.kind == ("correction_accepted" if accept else "correction_rejected")
    assert notice.params["reason"] == "核对原件"
    assert notice.link == reverse("rights-corrections")


def test_a_reviewer_cannot_decide_a_correction_of_their_own(world, centre):
    account = world["account"]
    holder = account.holder
    holder.role = "centre_reviewer"
    holder.centre = centre
    holder.save()
    request = CorrectionRequest.objects.create(
        account=account,
        centre=centre,
        record_kind="outcome",
        record_id=world["accredited"].pk,
        field="title",
        old_value=TITLE,
        new_value="我自己改的",
        reason="自己",
    )

    with pytest.raises(ValidationError):
        correction_decide(request_id=request.pk, reviewer=holder, accept=True, reason="自己")

    world["accredited"].refresh_from_db()
    assert world["accredited"].title == TITLE


def test_the_list_of_correctable_records_takes_the_same_queries_for_1_or_20(api_client, world):
    api_client.force_authenticate(world["learner"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get("/api/v1/accounts/me/correctable-records/").status_code == 200
        return len(captured)

    few = queries()
    for n in range(18):
        LearningOutcomeFactory(
            account=world["account"], title=f"证书{n}", status=LearningOutcome.Status.ACCREDITED
        )
    many = queries()

    assert few == many


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_deciding_at_the_same_moment_decide_once(postgres, centre):
    account = learner_register("邵涛涛", RESIDENT, PHONE)
    outcome = LearningOutcomeFactory(account=account, status=LearningOutcome.Status.ACCREDITED)
    # Decided at ``centre``: the request goes to the centre that decided the outcome.
    ApplicationFactory(outcome=outcome, centre=centre, state=ApplicationState.ACCREDITED)
    request = ask({"learner": account.holder, "accredited": outcome}, "title", "更正后的标题")
    first: Any = UserFactory(role="centre_reviewer", centre=centre)
    second: Any = UserFactory(role="centre_reviewer", centre=centre)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def attempt(reviewer: Any, accept: bool) -> None:
        barrier.wait()
        try:
            correction_decide(request_id=request.pk, reviewer=reviewer, accept=accept, reason="r")
            results.append("decided")
        except ValidationError as exc:
            results.append(f"refused: {next(iter(exc.message_dict))}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=(first, True)),
        threading.Thread(target=attempt, args=(second, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["decided", "refused: request"]
    decided = account.transactions.filter(kind__in=["record_corrected", "correction_rejected"])
    assert decided.count() == 1
    assert Notification.objects.filter(recipient=account.holder).count() == 1


def test_a_decided_outcome_links_to_its_correction_and_a_saved_one_does_not(client, world):
    client.force_login(world["learner"])

    decided = client.get(reverse("outcome-detail", args=[world["accredited"].pk])).content
    saved = client.get(reverse("outcome-detail", args=[world["saved"].pk])).content

    url = reverse("rights-record-correction", args=["outcome", world["accredited"].pk])
    assert url.encode() in decided
    assert b'data-testid="ask-correction"' not in saved


def test_a_correction_of_a_closed_account_leaves_the_queue_and_cannot_be_decided(world, reviewer):
    request = ask(world, "title", "新标题")
    LearningAccount.objects.filter(pk=world["account"].pk).update(
        status=LearningAccount.Status.CLOSED
    )

    with pytest.raises(ValidationError) as caught:
        correction_decide(request_id=request.pk, reviewer=reviewer, accept=True, reason="核对")

    assert "request" in caught.value.message_dict
    assert request not in corrections_pending(staff=reviewer)
    world["accredited"].refresh_from_db()
    assert world["accredited"].title == TITLE


def test_the_record_correction_page_is_in_chinese_by_default_and_in_english(client, world):
    client.force_login(world["learner"])
    url = reverse("rights-record-correction", args=["outcome", world["accredited"].pk])

    chinese = client.get(url).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url).content.decode()
    refused = client.post(url, {"field": "accredited_amounts", "new_value": "9", "reason": "少"})

    assert "当前记录" in chinese
    assert "认定的学时或学分" in chinese
    assert "Recorded now" in english
    assert "Hours or credits accredited" in english
    assert "revoke the accreditation" in refused.content.decode()


def test_the_correction_page_of_a_saved_outcome_is_404_not_an_error(client, world):
    client.force_login(world["learner"])

    response = client.get(reverse("rights-record-correction", args=["outcome", world["saved"].pk]))
    unknown = client.get(reverse("rights-record-correction", args=["nothing", 1]))

    assert (response.status_code, unknown.status_code) == (404, 404)
