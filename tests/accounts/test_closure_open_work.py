"""Closing an account with work still open (issue 17, item 2): the closure withdraws the open
applications and transfers, erases the free text of every layer, and nothing is decided for
or sent to the closed account; free text refuses an identity number written into it."""

from __future__ import annotations

import datetime
import io
import json
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import (
    CollectiveMembership,
    CorrectionRequest,
    LearningAccount,
    LedgerEntry,
    Notification,
    StaffAccess,
)
from accounts.rights import services as rights_services
from accounts.rights.services import account_close, account_closures_run
from accounts.services import (
    ERASED,
    notify,
    personal_account_register,
    staff_file_view_record,
)
from accreditation.models import Application, ApplicationEvent, Decision, Revocation
from outcomes.models import LearningOutcome
from tests.accounts.helpers import csv_file, member, resident_id, upload
from tests.outcomes.samples import pdf_bytes
from tests.people import PASSWORD, RESIDENT, login_verified, with_totp
from tests.worlds import OPEN_WORK_ID, OPEN_WORK_PHONE, OPEN_WORK_PHRASE
from transfers.models import BASIS_REVOKED, TransferEvent, TransferItem

pytestmark = pytest.mark.django_db

LATER = datetime.timedelta(days=16)
SPACED_ID = f"{RESIDENT[:6]} {RESIDENT[6:14]} {RESIDENT[14:]}"


def as_user(user) -> APIClient:
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(user)
    return api


def close(world: dict[str, Any], learner, django_capture_on_commit_callbacks) -> None:
    """The learner asks over the API, and is told what will be withdrawn; the retention job
    closes the account after the period."""
    asked = as_user(learner).post("/api/v1/accounts/me/closure/", {"password": PASSWORD})
    assert asked.status_code == 201, asked.content
    withdrawn = [work["link"] for work in asked.json()["withdraws"]]
    assert withdrawn == [
        reverse("application-detail", args=[world["application"].pk]),
        reverse("transfer-detail", args=[world["transfer"].pk]),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert account_closures_run(now=timezone.now() + LATER) == 1
    world["account"].refresh_from_db()
    assert world["account"].status == LearningAccount.Status.CLOSED


def test_the_closure_page_names_the_open_work_it_will_withdraw(client, open_work_world, learner):
    client.force_login(learner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # pages follow the switcher
    application, transfer = open_work_world["application"], open_work_world["transfer"]

    before = client.get(reverse("rights-closure"))
    client.post(reverse("rights-closure"), {"password": PASSWORD})
    pending = client.get(reverse("rights-closure"))

    for page in (before, pending):
        text = page.content.decode()
        assert "will be withdrawn" in text
        assert f"#{application.pk}" in text
        assert reverse("application-detail", args=[application.pk]) in text
        assert reverse("transfer-detail", args=[transfer.pk]) in text


def test_closing_withdraws_the_open_application_and_transfer(
    client,
    open_work_world,
    learner,
    reviewer,
    institution_officer,
    django_capture_on_commit_callbacks,
):
    application, item = open_work_world["application"], open_work_world["item"]

    close(open_work_world, learner, django_capture_on_commit_callbacks)

    application.refresh_from_db()
    assert application.state == "withdrawn"
    withdrawal = ApplicationEvent.objects.filter(application=application).latest("id")
    assert (withdrawal.action, withdrawal.reason) == ("withdraw", "account_closed")
    queue = as_user(reviewer).get("/api/v1/applications/").json()
    assert application.pk not in [row["id"] for row in queue["results"]]
    login_verified(client, reviewer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("centre-application", args=[application.pk])).content.decode()
    assert "account was closed." in page, page[page.find("timeline") :][:3000]
    item.refresh_from_db()
    assert item.state == "withdrawn"
    assert TransferEvent.objects.filter(item=item).latest("id").reason == "account_closed"
    assert open_work_world["transfer"].__class__.objects.get(pk=item.application_id).state == (
        "withdrawn"
    )
    refused = as_user(institution_officer).post(
        f"/api/v1/transfers/items/{item.pk}/decide/",
        {"decision": "reject", "reason": "不符合"},
        format="json",
    )
    assert refused.status_code == 400
    item.refresh_from_db()
    assert item.state == "withdrawn"


def test_a_closed_accounts_application_that_slipped_through_cannot_be_decided(
    open_work_world,
    learner,
    reviewer,
    institution_officer,
    django_capture_on_commit_callbacks,
):
    application, item = open_work_world["application"], open_work_world["item"]
    close(open_work_world, learner, django_capture_on_commit_callbacks)
    # As if the withdrawal had missed them (a closure from before it existed).
    Application.objects.filter(pk=application.pk).update(
        state="in_review", due_on=timezone.localdate() + LATER
    )
    TransferItem.objects.filter(pk=item.pk).update(state="pending")

    rejected = as_user(reviewer).post(
        f"/api/v1/applications/{application.pk}/reject/", {"reason": "材料不足"}, format="json"
    )
    decided = as_user(institution_officer).post(
        f"/api/v1/transfers/items/{item.pk}/decide/", {"decision": "accept"}, format="json"
    )

    assert rejected.status_code == 400
    assert "account has been closed" in str(rejected.json())
    assert decided.status_code == 400
    assert "account has been closed" in str(decided.json())
    assert not Decision.objects.filter(application=application).exists()
    assert not Notification.objects.filter(recipient=learner).exists()


def test_nothing_is_stored_or_sent_to_a_closed_account(
    open_work_world, learner, management_admin, django_capture_on_commit_callbacks
):
    # A notice stored before the closure, its email still queued when the account closes.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        notify(recipient=learner, kind="certificate_ready", params={"serial": "X1"}, key="q:1")
    close(open_work_world, learner, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    for callback in queued:
        callback()
    # After the closure the centre revokes an accreditation of the closed account.
    decision = Decision.objects.get(application__outcome=open_work_world["outcome"])
    revoked = as_user(management_admin).post(
        f"/api/v1/applications/{decision.application_id}/revoke/",
        {"reason_code": "decided_in_error", "reason": "误判"},
        format="json",
    )

    assert revoked.status_code in (200, 201), revoked.content
    assert not Notification.objects.filter(recipient=learner).exists()
    assert mail.outbox == []


def database_text() -> str:
    """Every row of every table, as text (a dump in the test's own database engine)."""
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return json.dumps(json.loads(out.getvalue()), ensure_ascii=False)


def test_closure_erases_the_free_text_of_every_layer(
    open_work_world, learner, reviewer, django_capture_on_commit_callbacks
):
    before = database_text()
    assert OPEN_WORK_PHRASE in before
    assert OPEN_WORK_ID in before

    close(open_work_world, learner, django_capture_on_commit_callbacks)

    after = database_text()
    for planted in (OPEN_WORK_PHRASE, OPEN_WORK_PHONE, OPEN_WORK_ID):
        assert planted not in after, after[max(0, after.find(planted) - 300) :][:400]
    # What the ledger needs stays: the rows, their numbers, dates and states.
    outcome = LearningOutcome.objects.get(pk=open_work_world["saved"].pk)
    assert (outcome.title, outcome.status) == ("", "saved")
    assert CorrectionRequest.objects.get(account=open_work_world["account"]).reason == "[erased]"
    item = TransferItem.objects.get(pk=open_work_world["item"].pk)
    assert item.credits > 0
    assert reviewer.notifications.filter(kind="application_assigned").exists()


@pytest.mark.parametrize(
    ("url", "data", "field"),
    [
        ("/api/v1/applications/", {"statement": f"身份证号 {RESIDENT} 请审核"}, "statement"),
        ("/api/v1/accounts/me/corrections/", {"reason": f"证件 {SPACED_ID.lower()}"}, "reason"),
        ("/api/v1/outcomes/", {"title": f"证书{RESIDENT}"}, "title"),
        ("respond", {"response": f"我的身份证是{RESIDENT}"}, "response"),
    ],
)
def test_free_text_refuses_an_identity_number_over_the_api(
    open_work_world, learner, centre, url, data, field
):
    world = open_work_world
    defaults = {
        "/api/v1/applications/": {"outcome": world["saved"].pk, "centre": centre.code},
        "/api/v1/accounts/me/corrections/": {"field": "name", "new_value": "李爱莉"},
        "/api/v1/outcomes/": {
            "kind": "vocational_qualification",
            "issuing_body": "重庆市教育委员会",
            "certificate_number": "YZ-2018-0099",
            "achieved_on": "2020-07-01",
        },
    }
    if url == "respond":
        url = f"/api/v1/transfers/items/{world['item'].pk}/respond/"
        # The officer asks again, so that an answer is awaited.
        TransferItem.objects.filter(pk=world["item"].pk).update(state="information_requested")
    counts = (Application.objects.count(), CorrectionRequest.objects.count())
    outcomes = LearningOutcome.objects.count()
    if url == "/api/v1/applications/":
        # The saved outcome is under review: withdraw it first so that it can be submitted.
        Application.objects.filter(pk=world["application"].pk).update(state="withdrawn")
        LearningOutcome.objects.filter(pk=world["saved"].pk).update(status="saved")

    body = {**defaults.get(url, {}), **data}
    if url == "/api/v1/outcomes/":
        # With its evidence, so that nothing but the title stands in the way.
        body["files"] = [SimpleUploadedFile("证书.pdf", pdf_bytes("证书"))]
        response = as_user(learner).post(url, body, format="multipart")
    else:
        response = as_user(learner).post(url, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.content
    assert "identity number" in " ".join(response.json()[field])
    assert (Application.objects.count(), CorrectionRequest.objects.count()) == counts
    assert LearningOutcome.objects.count() == outcomes


def test_the_statement_and_correction_pages_refuse_an_identity_number(
    client, open_work_world, learner, centre
):
    world = open_work_world
    Application.objects.filter(pk=world["application"].pk).update(state="withdrawn")
    LearningOutcome.objects.filter(pk=world["saved"].pk).update(status="saved")
    client.force_login(learner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # pages follow the switcher
    applications = Application.objects.count()

    statement = client.post(
        reverse("application-submit", args=[world["saved"].pk]),
        {"centre": centre.pk, "statement": f"我的身份证 {SPACED_ID}"},
    )
    correction = client.post(
        reverse("rights-corrections"),
        {"field": "name", "new_value": "李爱莉", "reason": f"户口本 {RESIDENT}"},
    )

    for page in (statement, correction):
        assert page.status_code == 200
        assert "Do not write an identity number here" in page.content.decode()
    assert Application.objects.count() == applications
    assert CorrectionRequest.objects.count() == 1  # the world's own


# --- Seams of the merge: what happens to a closed account after its closure -------------------


def closed_quietly(world: dict[str, Any], django_capture_on_commit_callbacks) -> None:
    """The retention job closes the account (whatever work is still open)."""
    with django_capture_on_commit_callbacks(execute=True):
        account_close(account=world["account"])
    world["account"].refresh_from_db()
    assert world["account"].status == LearningAccount.Status.CLOSED


def accept_the_transfer(world: dict[str, Any], officer) -> None:
    accepted = as_user(officer).post(
        f"/api/v1/transfers/items/{world['item'].pk}/decide/", {"decision": "accept"}, format="json"
    )
    assert accepted.status_code == 200, accepted.content


def revoke_the_transferred_outcome(world: dict[str, Any], admin) -> Any:
    decision = Decision.objects.get(application__outcome=world["outcome"])
    revoked = as_user(admin).post(
        f"/api/v1/applications/{decision.application_id}/revoke/",
        {"reason_code": "decided_in_error", "reason": f"学员{OPEN_WORK_PHRASE}误判"},
        format="json",
    )
    assert revoked.status_code in (200, 201), revoked.content
    return decision


@pytest.mark.parametrize("settle", ["rescind", "keep"])
def test_a_revocation_and_a_rescind_or_keep_after_closure_store_no_free_text(
    client,
    open_work_world,
    institution_officer,
    management_admin,
    django_capture_on_commit_callbacks,
    settle,
):
    world = open_work_world
    accept_the_transfer(world, institution_officer)
    closed_quietly(world, django_capture_on_commit_callbacks)
    transferred = LedgerEntry.objects.filter(account=world["account"], book="transferred")
    assert sum(entry.credits for entry in transferred) > 0

    # Allowed still: certificates must verify as revoked, the credits must be reversible.
    decision = revoke_the_transferred_outcome(world, management_admin)
    settled = as_user(institution_officer).post(
        f"/api/v1/transfers/items/{world['item'].pk}/{settle}/",
        {"reason": f"依据{OPEN_WORK_PHRASE}处理"},
        format="json",
    )

    assert settled.status_code == 200, settled.content
    assert Revocation.objects.get(decision=decision).reason == ERASED
    assert TransferItem.objects.get(pk=world["item"].pk).basis_revoked_at is not None
    if settle == "rescind":
        assert sum(entry.credits for entry in transferred.all()) == 0
    text = database_text()
    assert OPEN_WORK_PHRASE not in text, text[max(0, text.find(OPEN_WORK_PHRASE) - 300) :][:400]
    # The officer's page says what the marker means, in the officer's language.
    login_verified(client, institution_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("institution-transfer", args=[world["transfer"].pk]))
    assert page.status_code == 200
    assert ERASED not in page.content.decode()
    if settle == "rescind":
        assert "erased when the learner&#x27;s account was closed" in page.content.decode()


def test_closure_erases_the_staffs_free_text_reasons_in_the_access_list(
    open_work_world, learner, reviewer, django_capture_on_commit_callbacks
):
    world = open_work_world
    staff_file_view_record(
        staff=reviewer, account=world["account"], reason=f"学员来电说{OPEN_WORK_PHRASE}"
    )
    correction = CorrectionRequest.objects.get(account=world["account"])
    decided = as_user(reviewer).post(
        f"/api/v1/corrections/{correction.pk}/decision/",
        {"decision": "reject", "reason": f"户口本与{OPEN_WORK_PHRASE}不符"},
        format="json",
    )
    assert decided.status_code in (200, 201), decided.content
    kinds = set(StaffAccess.objects.filter(account=world["account"]).values_list("kind", flat=True))
    assert {"viewed_file", "decided_correction"} <= kinds

    closed_quietly(world, django_capture_on_commit_callbacks)

    text = database_text()
    assert OPEN_WORK_PHRASE not in text, text[max(0, text.find(OPEN_WORK_PHRASE) - 300) :][:400]
    decided_row = StaffAccess.objects.get(account=world["account"], kind="decided_correction")
    # Who, when, what kind and about what stay: the reference is a fixed label.
    assert decided_row.staff == reviewer
    assert decided_row.reference == f"更正申请 #{correction.pk}"


def test_a_pending_invitation_is_declined_and_the_listed_name_goes_on_closure(
    admin_client, collective, django_capture_on_commit_callbacks
):
    account = personal_account_register(
        name="成员1",
        id_type="resident_id",
        id_number=resident_id(1),
        phone="13700000001",
        email="own1@example.cn",
        password=PASSWORD,
    )
    uploaded = upload(admin_client, collective.institution_id, csv_file([member(1, name="邀请名")]))
    assert uploaded.status_code == 201, uploaded.content
    membership = CollectiveMembership.objects.get(member=account)
    assert (membership.status, membership.listed_name) == ("invited", "邀请名")

    with django_capture_on_commit_callbacks(execute=True):
        account_close(account=account)

    rows = admin_client.get(f"/api/v1/institutions/{collective.institution_id}/members/").json()
    [row] = [row for row in rows["results"] if row["status"] != "active"]
    assert row["status"] == "declined"
    assert "邀请名" not in json.dumps(rows, ensure_ascii=False)
    membership.refresh_from_db()
    assert (membership.status, membership.listed_name) == ("declined", "")
    assert membership.events.get().action == "decline"
    assert "邀请名" not in database_text()


def test_revealing_a_closed_accounts_identity_number_answers_404_and_records_nothing(
    open_work_world, reviewer, django_capture_on_commit_callbacks
):
    world = open_work_world
    closed_quietly(world, django_capture_on_commit_callbacks)
    # An application under review at the reviewer's centre (as if the withdrawal had missed
    # it), so that the reference itself holds.
    Application.objects.filter(pk=world["application"].pk).update(
        state="in_review", due_on=timezone.localdate() + LATER
    )
    accesses = StaffAccess.objects.count()

    revealed = as_user(reviewer).post(
        f"/api/v1/accounts/{world['account'].number}/identity-reveals/",
        {"reason": "application_review", "reference": str(world["application"].pk)},
        format="json",
    )

    assert revealed.status_code == 404, revealed.content
    assert StaffAccess.objects.count() == accesses


def test_the_transfer_erasers_keep_the_stored_reason_codes(
    client,
    open_work_world,
    institution_officer,
    management_admin,
    django_capture_on_commit_callbacks,
):
    world = open_work_world
    # The item waits for the institution when its basis is revoked: withdrawn with the code.
    revoke_the_transferred_outcome(world, management_admin)
    assert TransferItem.objects.get(pk=world["item"].pk).reason == BASIS_REVOKED

    closed_quietly(world, django_capture_on_commit_callbacks)

    assert TransferItem.objects.get(pk=world["item"].pk).reason == BASIS_REVOKED
    login_verified(client, institution_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("institution-transfer", args=[world["transfer"].pk]))
    assert "Basis revoked: the accreditation was revoked" in page.content.decode()


def test_the_centre_page_shows_an_erased_decision_reason_in_words(
    client, open_work_world, django_capture_on_commit_callbacks
):
    world = open_work_world
    decision = Decision.objects.get(application__outcome=world["outcome"])
    Decision.objects.filter(pk=decision.pk).update(reason=f"依据{OPEN_WORK_PHRASE}认定")
    closed_quietly(world, django_capture_on_commit_callbacks)

    login_verified(client, with_totp(decision.decided_by))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("centre-application", args=[decision.application_id]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "erased when the learner&#x27;s account was closed" in text
    assert ERASED not in text
    assert OPEN_WORK_PHRASE not in text


def test_the_api_shows_an_erased_reason_in_words_like_the_pages(
    open_work_world, institution_officer, management_admin, django_capture_on_commit_callbacks
):
    """After the closure, the decision's and the revocation's reasons and a rescinded transfer
    item's reason are the marker in the database; the API says what it means, in the reader's
    language, as the pages do, never the raw marker."""
    world = open_work_world
    accept_the_transfer(world, institution_officer)
    decision = Decision.objects.get(application__outcome=world["outcome"])
    Decision.objects.filter(pk=decision.pk).update(reason=f"依据{OPEN_WORK_PHRASE}认定")
    closed_quietly(world, django_capture_on_commit_callbacks)
    revoke_the_transferred_outcome(world, management_admin)
    rescinded = as_user(institution_officer).post(
        f"/api/v1/transfers/items/{world['item'].pk}/rescind/",
        {"reason": "依据撤销认定处理"},
        format="json",
    )
    assert rescinded.status_code == 200, rescinded.content
    words = "(erased when the learner's account was closed)"

    shown = as_user(management_admin).get(f"/api/v1/applications/{decision.application_id}/")
    assert shown.status_code == 200, shown.content
    assert shown.json()["decision"]["reason"] == words
    assert shown.json()["decision"]["revocation"]["reason"] == words
    transfer = as_user(institution_officer).get(f"/api/v1/transfers/{world['transfer'].pk}/")
    assert transfer.status_code == 200, transfer.content
    item = next(i for i in transfer.json()["items"] if i["id"] == world["item"].pk)
    assert item["reason"] == words
    assert ERASED not in shown.content.decode() + transfer.content.decode()


def test_closure_rerun_finishes_an_account_closed_before_the_layers_withdrew_and_erased(
    open_work_world, monkeypatch, django_capture_on_commit_callbacks
):
    """An account closed before this wave kept its open application and transfer and their
    text; ``closure_rerun`` withdraws and erases them as a closure does today, saying how
    many, and a second run changes nothing."""
    world = open_work_world
    with monkeypatch.context() as before_this_wave:
        before_this_wave.setattr(rights_services, "closure_withdrawals", {})
        before_this_wave.setattr(rights_services, "closure_erasers", [])
        closed_quietly(world, django_capture_on_commit_callbacks)
    assert Application.objects.get(pk=world["application"].pk).state != "withdrawn"
    assert OPEN_WORK_PHRASE in database_text()

    out = io.StringIO()
    call_command("closure_rerun", "--chunk", "1", stdout=out)

    assert Application.objects.get(pk=world["application"].pk).state == "withdrawn"
    assert TransferItem.objects.get(pk=world["item"].pk).state == "withdrawn"
    text = database_text()
    assert OPEN_WORK_PHRASE not in text, text[max(0, text.find(OPEN_WORK_PHRASE) - 300) :][:400]
    assert "on 1 closed account(s): withdrawn accreditation 1, transfers 1." in out.getvalue()

    again = io.StringIO()
    call_command("closure_rerun", stdout=again)
    assert "on 1 closed account(s): withdrawn accreditation 0, transfers 0." in again.getvalue()
    assert database_text() == text
