"""Revealing a learner's identity number takes a reason from a fixed list and a reference to
the centre's own business with the learner (an application, a visit, a counter opening, a
correction request); a reveal opens no evidence files; past the daily number per staff member
the centre admin is alerted once and further reveals are refused."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Notification, Role, StaffAccess
from accreditation.models import ApplicationState
from outcomes.models import EvidenceFile
from tests.accounts.factories import UserFactory
from tests.accreditation.factories import ApplicationFactory
from tests.outcomes.factories import certificate_save
from tests.people import RESIDENT, login_verified, with_totp

pytestmark = pytest.mark.django_db


def reveals(number: str) -> str:
    return f"/api/v1/accounts/{number}/identity-reveals/"


@pytest.fixture
def application(shao, centre):
    """Shao's certificate, under review at the reviewer's centre."""
    outcome = certificate_save(shao, "幼儿园园长任职资格证书")
    return ApplicationFactory(outcome=outcome, centre=centre, state=ApplicationState.IN_REVIEW)


@pytest.fixture
def reviewer_elsewhere(other_centre):
    return with_totp(
        UserFactory(username="yan", name="严审核", role=Role.CENTRE_REVIEWER, centre=other_centre)
    )


def reveal(api_client, staff, number: str, **body: Any):
    api_client.force_authenticate(staff)
    return api_client.post(reveals(number), body, format="json")


def test_a_reveal_takes_a_listed_reason_and_an_application_at_the_centre(
    api_client, reviewer, shao, application
):
    revealed = reveal(
        api_client, reviewer, shao.number, reason="application_review", reference=application.pk
    )
    api_client.force_authenticate(shao.holder)
    accesses = api_client.get("/api/v1/accounts/me/staff-accesses/").json()["results"]

    assert revealed.status_code == 200, revealed.content
    assert revealed.json()["id_number"] == RESIDENT
    [access] = accesses
    assert (access["staff"], access["kind"]) == ("王审核", "revealed_identity")
    assert access["reason"] == "核实正在审核的认证申请中的身份"
    assert access["reference"] == f"认证申请 #{application.pk}"


def test_a_reason_not_in_the_list_is_refused(api_client, reviewer, shao, application):
    refused = reveal(api_client, reviewer, shao.number, reason="x", reference=application.pk)

    assert refused.status_code == 400
    assert "reason" in refused.json()
    assert RESIDENT not in refused.content.decode()
    assert not StaffAccess.objects.exists()


def test_a_reviewer_of_another_centre_is_refused_a_reveal(
    api_client, reviewer_elsewhere, shao, application
):
    refused = reveal(
        api_client,
        reviewer_elsewhere,
        shao.number,
        reason="application_review",
        reference=application.pk,
    )
    no_reference = reveal(api_client, reviewer_elsewhere, shao.number, reason="centre_visit")

    assert refused.status_code == 400
    assert "reference" in refused.json()
    assert no_reference.status_code == 400
    assert "reference" in no_reference.json()
    assert RESIDENT not in refused.content.decode() + no_reference.content.decode()
    assert not StaffAccess.objects.exists()


def test_a_reference_to_another_learners_application_is_refused(
    api_client, reviewer, shao, wang, centre
):
    theirs = ApplicationFactory(outcome=certificate_save(wang), centre=centre)

    refused = reveal(
        api_client, reviewer, shao.number, reason="application_review", reference=theirs.pk
    )

    assert refused.status_code == 400
    assert "reference" in refused.json()
    assert not StaffAccess.objects.exists()


def test_the_page_offers_the_reasons_and_refuses_a_bad_reference_on_its_field(
    client, reviewer, shao, application
):
    login_verified(client, reviewer)
    url = f"/centre/learners/{shao.number}/reveal/"

    opened = client.post(f"/centre/learners/{shao.number}/", {"reason": "审核认证申请"})
    refused = client.post(url, {"reason": "application_review", "reference": "999999"})
    revealed = client.post(url, {"reason": "application_review", "reference": str(application.pk)})

    assert 'name="reference"' in opened.content.decode()
    assert 'value="centre_visit"' in opened.content.decode()
    assert 'id="id_reference_errors"' in refused.content.decode()
    assert RESIDENT not in refused.content.decode()
    assert RESIDENT in revealed.content.decode()
    assert StaffAccess.objects.filter(kind="revealed_identity").count() == 1


def test_past_the_daily_number_the_centre_admin_is_alerted_once_and_reveals_are_refused(
    api_client, settings, reviewer, centre_admin, shao, application
):
    settings.IDENTITY_REVEALS_PER_DAY = 2
    body = {"reason": "application_review", "reference": application.pk}

    answers = [reveal(api_client, reviewer, shao.number, **body).status_code for _ in range(4)]

    assert answers == [200, 200, 400, 400]
    assert StaffAccess.objects.filter(kind="revealed_identity").count() == 2
    alerts = Notification.objects.filter(recipient=centre_admin, kind="identity_reveal_limit")
    assert alerts.count() == 1
    assert not Notification.objects.filter(recipient=reviewer).exists()


def test_a_reveal_opens_no_evidence_but_an_application_at_the_centre_does(
    client, reviewer, shao, application
):
    elsewhere = certificate_save(shao, "保育员职业资格证书")
    not_applied = EvidenceFile.objects.get(outcome=elsewhere)
    under_review = EvidenceFile.objects.get(outcome=application.outcome)
    login_verified(client, reviewer)

    client.post(
        f"/centre/learners/{shao.number}/reveal/",
        {"reason": "application_review", "reference": str(application.pk)},
    )

    assert StaffAccess.objects.filter(kind="revealed_identity").exists()
    assert client.get(f"/evidence/{not_applied.pk}/").status_code == 404
    assert client.get(f"/evidence/{under_review.pk}/").status_code == 200


def test_evidence_follows_the_application_not_the_file_view(
    client, reviewer, reviewer_elsewhere, shao, application
):
    evidence = EvidenceFile.objects.get(outcome=application.outcome)
    login_verified(client, reviewer_elsewhere)

    client.post(f"/centre/learners/{shao.number}/", {"reason": "核对资料"})
    elsewhere = client.get(f"/evidence/{evidence.pk}/")
    application.state = ApplicationState.WITHDRAWN
    application.save()
    login_verified(client, reviewer)
    withdrawn = client.get(f"/evidence/{evidence.pk}/")

    assert elsewhere.status_code == 404
    assert withdrawn.status_code == 404


def test_a_refused_reveal_shows_no_file_to_staff_who_did_not_open_it(
    client, reviewer_elsewhere, shao, application
):
    login_verified(client, reviewer_elsewhere)

    refused = client.post(
        f"/centre/learners/{shao.number}/reveal/",
        {"reason": "application_review", "reference": str(application.pk)},
    )

    assert refused.status_code == 400
    assert 'id="id_reference_errors"' in refused.content.decode()
    assert "账户开设" not in refused.content.decode()
    assert RESIDENT not in refused.content.decode()
    assert not StaffAccess.objects.exists()


def test_the_management_admin_opens_a_file_but_is_not_offered_a_reveal(
    api_client, client, management_admin, shao, application
):
    body = {"reason": "application_review", "reference": str(application.pk)}
    over_the_api = reveal(api_client, management_admin, shao.number, **body)
    login_verified(client, management_admin)

    opened = client.post(f"/centre/learners/{shao.number}/", {"reason": "核查学习档案"})
    on_the_page = client.post(f"/centre/learners/{shao.number}/reveal/", body)

    assert over_the_api.status_code == 403
    assert opened.status_code == 200
    assert 'name="reference"' not in opened.content.decode()
    assert on_the_page.status_code == 403
    assert not StaffAccess.objects.filter(kind="revealed_identity").exists()
