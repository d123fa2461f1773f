"""The learner's rights: closing the account (with a confirmation period and a retention job)
and correcting basic information."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    BusinessTransaction,
    CentreVisit,
    ClosureRequest,
    CorrectionRequest,
    LearningAccount,
    User,
)
from accounts.rights.services import (
    account_closures_run,
    closure_cancel,
    closure_request,
    correction_decide,
    correction_request,
    visit_book,
    visit_copy_record,
)
from accounts.services import personal_account_find
from accounts.tasks import close_due_accounts
from outcomes.models import EvidenceFile, LearningOutcome
from tests.accounts.factories import UserFactory
from tests.people import LEARNER_PASSWORD as PASSWORD
from tests.people import RESIDENT, login_verified, token_for
from transfers.certificates.verification import certificate_verify
from transfers.models import Certificate

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(closure_world):
    return closure_world


NAME = "邵涛涛"
PHONE = "13912345678"
LATER = datetime.timedelta(days=16)


def close_now(world, django_capture_on_commit_callbacks) -> None:
    closure_request(user=world["account"].holder, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        assert account_closures_run(now=timezone.now() + LATER) == 1


def snapshot(account: LearningAccount) -> dict[str, Any]:
    account.refresh_from_db()
    holder = User.objects.get(learning_account=account)
    return {
        "user": model_to_dict(holder),
        "account": model_to_dict(account),
        "outcomes": list(LearningOutcome.objects.filter(account=account).values()),
        "evidence": list(EvidenceFile.objects.filter(account=account).values()),
        "transactions": list(BusinessTransaction.objects.filter(account=account).values()),
        "closures": list(ClosureRequest.objects.filter(account=account).values()),
        "files": sorted(default_storage.listdir("evidence")[0]),
    }


def test_the_account_stays_open_during_the_confirmation_period(world):
    closure_request(user=world["account"].holder, password=PASSWORD)

    assert account_closures_run(now=timezone.now() + datetime.timedelta(days=14)) == 0
    world["account"].refresh_from_db()
    assert world["account"].status == LearningAccount.Status.ACTIVE


def test_it_refuses_a_closure_request_with_a_wrong_password(world):
    with pytest.raises(ValidationError) as caught:
        closure_request(user=world["account"].holder, password="not-my-password")

    assert "password" in caught.value.message_dict
    assert not ClosureRequest.objects.exists()


def test_a_cancelled_closure_never_closes_the_account(world):
    closure_request(user=world["account"].holder, password=PASSWORD)
    closure_cancel(user=world["account"].holder)

    assert account_closures_run(now=timezone.now() + LATER) == 0
    world["account"].refresh_from_db()
    assert world["account"].status == LearningAccount.Status.ACTIVE
    assert world["account"].transactions.filter(kind="closure_cancelled").exists()


def test_closure_removes_personal_data_from_the_database(world, django_capture_on_commit_callbacks):
    account = world["account"]
    close_now(world, django_capture_on_commit_callbacks)

    account.refresh_from_db()
    holder = User.objects.get(learning_account=account)
    assert account.status == LearningAccount.Status.CLOSED
    assert (holder.name, holder.email, holder.phone) == ("", "", "")
    assert PHONE not in holder.username
    assert not holder.is_active
    assert not holder.has_usable_password()
    assert account.id_number_encrypted == ""
    assert account.id_number_masked == ""
    assert account.birth_date is None
    outcome = LearningOutcome.objects.get(pk=world["saved"].pk)
    assert (outcome.certificate_number, outcome.result) == ("", "")
    assert not EvidenceFile.objects.filter(account=account).exclude(file="").exists()
    # Nothing in any text column of these rows still holds the name or the phone number.
    for rows in snapshot(account).values():
        assert NAME not in str(rows)
        assert PHONE not in str(rows)


def test_closure_deletes_the_evidence_files_from_storage(world, django_capture_on_commit_callbacks):
    name = world["saved"].evidence.get().file.name
    assert default_storage.exists(name)

    close_now(world, django_capture_on_commit_callbacks)

    assert not default_storage.exists(name)


def test_a_closed_account_is_no_longer_found_by_its_identity_number(
    world, django_capture_on_commit_callbacks
):
    assert personal_account_find(id_type="resident_id", id_number=RESIDENT) == world["account"]

    close_now(world, django_capture_on_commit_callbacks)

    assert personal_account_find(id_type="resident_id", id_number=RESIDENT) is None


def test_a_certificate_issued_before_closure_still_verifies_without_personal_data(
    world, django_capture_on_commit_callbacks
):
    serial = world["certificate"].serial
    before = certificate_verify(serial=serial)
    assert before is not None
    assert before.disclosed["name"] == NAME

    close_now(world, django_capture_on_commit_callbacks)

    after = certificate_verify(serial=serial)
    assert after is not None
    assert after.genuine
    assert after.totals == before.totals
    assert "name" not in after.disclosed
    assert "id_number_masked" not in after.disclosed
    assert "account_number" not in after.disclosed


def test_the_verification_page_of_a_closed_account_does_not_show_the_name(
    client, world, django_capture_on_commit_callbacks
):
    close_now(world, django_capture_on_commit_callbacks)

    page = client.get(f"/verify/{world['certificate'].serial}/")

    assert page.status_code == 200
    assert NAME not in page.content.decode()


def test_the_retention_job_run_twice_gives_the_same_state(
    world, django_capture_on_commit_callbacks
):
    close_now(world, django_capture_on_commit_callbacks)
    first = snapshot(world["account"])

    with django_capture_on_commit_callbacks(execute=True):
        assert close_due_accounts() == 0
        # Even a forced second closure of the same account changes nothing.
        from accounts.rights.services import account_close

        account_close(account=world["account"])

    assert snapshot(world["account"]) == first


def test_the_ledger_and_the_certificate_stay_after_closure(
    world, django_capture_on_commit_callbacks
):
    entries = world["account"].ledger.count()
    close_now(world, django_capture_on_commit_callbacks)

    assert world["account"].ledger.count() == entries > 0
    assert Certificate.objects.filter(pk=world["certificate"].pk).exists()


def test_the_learner_asks_for_closure_and_cancels_it_in_the_browser(client, world):
    holder = world["account"].holder
    client.force_login(holder)

    refused = client.post(reverse("rights-closure"), {"password": "wrong"})
    assert refused.status_code == 200
    assert not ClosureRequest.objects.exists()

    client.post(reverse("rights-closure"), {"password": PASSWORD})
    assert ClosureRequest.objects.get().status == ClosureRequest.Status.PENDING

    client.post(reverse("rights-closure-cancel"))
    assert ClosureRequest.objects.get().status == ClosureRequest.Status.CANCELLED


def test_the_learner_asks_for_closure_over_the_api(api_client, world):
    token = token_for(api_client, PHONE, PASSWORD)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    refused = api_client.post("/api/v1/accounts/me/closure/", {"password": "x"}, format="json")
    asked = api_client.post("/api/v1/accounts/me/closure/", {"password": PASSWORD}, format="json")
    cancelled = api_client.delete("/api/v1/accounts/me/closure/")

    assert refused.status_code == 400
    assert "password" in refused.json()
    assert asked.status_code == 201
    assert asked.json()["status"] == "pending"
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"


# --- Corrections ----------------------------------------------------------------------------


def test_an_accepted_correction_keeps_the_old_name_in_the_history(world, reviewer):
    holder = world["account"].holder
    request = correction_request(
        user=holder, field="name", new_value="邵涛", reason="Typed twice by mistake"
    )

    correction_decide(request_id=request.pk, reviewer=reviewer, accept=True, reason="Seen")

    holder.refresh_from_db()
    assert holder.name == "邵涛"
    change = world["account"].transactions.get(kind=BusinessTransaction.Kind.CORRECTED)
    assert (change.details["old"], change.details["new"]) == (NAME, "邵涛")
    assert world["account"].transactions.filter(kind="correction_requested").exists()


def test_a_rejected_correction_changes_nothing(world, reviewer):
    holder = world["account"].holder
    request = correction_request(user=holder, field="name", new_value="别人", reason="Because")

    correction_decide(request_id=request.pk, reviewer=reviewer, accept=False, reason="No proof")

    holder.refresh_from_db()
    assert holder.name == NAME
    assert CorrectionRequest.objects.get().status == CorrectionRequest.Status.REJECTED


def test_an_identity_number_cannot_be_corrected_online(world):
    with pytest.raises(ValidationError) as caught:
        correction_request(
            user=world["account"].holder, field="id_number", new_value="x", reason="Wrong"
        )

    assert "centre" in str(caught.value.message_dict["field"])
    assert not CorrectionRequest.objects.exists()


def test_a_correction_is_asked_and_decided_in_the_browser(client, world, reviewer):
    client.force_login(world["account"].holder)
    client.post(
        reverse("rights-corrections"),
        {"field": "name", "new_value": "邵涛", "reason": "Typed twice"},
    )
    request = CorrectionRequest.objects.get()

    login_verified(client, reviewer)
    queue = client.get(reverse("rights-correction-queue"))
    assert "邵涛" in queue.content.decode()
    # In Chinese, the labels take the full-width colon.
    assert "姓名：" in queue.content.decode()
    assert "事由：Typed twice" in queue.content.decode()
    client.post(
        reverse("rights-correction-decide", args=[request.pk]),
        {"decision": "accept", "reason": "Document seen"},
    )

    assert User.objects.get(pk=world["account"].holder_id).name == "邵涛"


def test_a_decision_without_a_reason_is_refused_over_the_api(api_client, world, reviewer):
    request = correction_request(
        user=world["account"].holder, field="name", new_value="邵涛", reason="Typed twice"
    )
    api_client.force_authenticate(reviewer)

    answer = api_client.post(
        f"/api/v1/corrections/{request.pk}/decision/",
        {"decision": "accept", "reason": ""},
        format="json",
    )

    assert answer.status_code == 400
    assert "reason" in answer.json()
    assert CorrectionRequest.objects.get().status == CorrectionRequest.Status.PENDING


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("证件\u202e已核验", "Invisible control characters are not allowed."),
        (f"证件 {RESIDENT} 已核验", "Do not write an identity number here"),
    ],
    ids=["right-to-left-override", "identity-number"],
)
def test_a_decision_reason_with_hidden_characters_or_an_identity_number_is_refused(
    api_client, world, reviewer, reason, message
):
    request = correction_request(
        user=world["account"].holder, field="name", new_value="邵涛", reason="Typed twice"
    )
    api_client.force_authenticate(reviewer)

    answer = api_client.post(
        f"/api/v1/corrections/{request.pk}/decision/",
        {"decision": "accept", "reason": reason},
        format="json",
    )

    assert answer.status_code == 400
    assert message in answer.json()["reason"][0]
    assert CorrectionRequest.objects.get().status == CorrectionRequest.Status.PENDING


# --- Visits for the paper file --------------------------------------------------------------


def test_a_certified_copy_handed_over_becomes_a_business_transaction(world, reviewer, centre):
    visit = visit_book(
        user=world["account"].holder,
        centre_id=centre.pk,
        visit_on=timezone.localdate() + datetime.timedelta(days=3),
        purpose="copy",
    )

    visit_copy_record(staff=reviewer, visit_id=visit.pk, pages="1-4, 7")

    event = world["account"].transactions.get(kind="certified_copy_handed_over")
    assert event.actor == reviewer
    assert event.details["pages"] == "1-4, 7"
    assert world["account"].transactions.filter(kind="visit_booked").exists()


def test_staff_of_another_centre_cannot_record_a_copy(world, centre, other_centre):
    visit = visit_book(
        user=world["account"].holder,
        centre_id=centre.pk,
        visit_on=timezone.localdate() + datetime.timedelta(days=3),
        purpose="review",
    )
    stranger: Any = UserFactory(role="centre_reviewer", centre=other_centre)

    with pytest.raises(ValidationError):
        visit_copy_record(staff=stranger, visit_id=visit.pk, pages="1")

    assert not world["account"].transactions.filter(kind="certified_copy_handed_over").exists()


def test_a_visit_in_the_past_is_refused(world, centre):
    with pytest.raises(ValidationError) as caught:
        visit_book(
            user=world["account"].holder,
            centre_id=centre.pk,
            visit_on=timezone.localdate(),
            purpose="review",
        )

    assert "visit_on" in caught.value.message_dict


def test_a_visit_is_booked_and_its_copy_recorded_in_the_browser(client, world, reviewer, centre):
    client.force_login(world["account"].holder)
    day = timezone.localdate() + datetime.timedelta(days=5)
    client.post(
        reverse("rights-visits"),
        {"centre": centre.pk, "visit_on": day.isoformat(), "purpose": "copy"},
    )
    visit = CentreVisit.objects.get()

    login_verified(client, reviewer)
    assert world["account"].number in client.get(reverse("rights-centre-visits")).content.decode()
    client.post(reverse("rights-centre-visits"), {"visit": visit.pk, "pages": "1-3"})

    visit.refresh_from_db()
    assert (visit.status, visit.pages, visit.handed_over_by) == ("handed_over", "1-3", reviewer)


def test_a_copy_without_pages_is_refused_over_the_api(api_client, world, reviewer, centre):
    visit = visit_book(
        user=world["account"].holder,
        centre_id=centre.pk,
        visit_on=timezone.localdate() + datetime.timedelta(days=3),
        purpose="copy",
    )
    api_client.force_authenticate(reviewer)

    answer = api_client.post(f"/api/v1/visits/{visit.pk}/copy/", {"pages": ""}, format="json")

    assert answer.status_code == 400
    assert "pages" in answer.json()
    visit.refresh_from_db()
    assert visit.status == "booked"


def test_the_learner_pages_show_in_english(client, world):
    client.force_login(world["account"].holder)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # pages follow the switcher

    texts = [client.get(reverse(name)).content.decode() for name in RIGHTS_PAGES]

    assert "Close my account" in texts[0]
    assert "Ask for a correction" in texts[1]
    assert "Visit a centre" in texts[2]


RIGHTS_PAGES = ["rights-closure", "rights-corrections", "rights-visits"]


def test_the_learner_pages_show_in_chinese_by_default(client, world):
    client.force_login(world["account"].holder)
    texts = [client.get(reverse(name)).content.decode() for name in RIGHTS_PAGES]
    assert "注销我的账户" in texts[0]
    assert "更正" in texts[1]
    assert "预约" in texts[2]
