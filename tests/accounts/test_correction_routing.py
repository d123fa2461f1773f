"""A correction request goes to the centre that decided the record (for basic information,
the learner's own centre): only that centre's staff see and decide it, each look and decision
is recorded as staff access, and a new value with control characters is refused."""

from __future__ import annotations

import pytest

from accounts.models import CorrectionRequest, Role, StaffAccess
from tests.accounts.factories import UserFactory
from tests.accreditation.factories import accredited_outcome, catalogue_version
from tests.people import login_verified, with_check, with_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_elsewhere(other_centre):
    return with_totp(
        UserFactory(username="yan", name="严审核", role=Role.CENTRE_REVIEWER, centre=other_centre)
    )


@pytest.fixture
def decided_here(shao, reviewer):
    """Shao's certificate, accredited by the reviewer's centre."""
    return accredited_outcome(shao, catalogue_version(), reviewer)


def ask(api_client, shao, outcome, new_value: str = "幼儿园园长任职资格证书（修订）"):
    api_client.force_authenticate(shao.holder)
    return api_client.post(
        "/api/v1/accounts/me/corrections/",
        {
            "record_kind": "outcome",
            "record_id": outcome.pk,
            "field": "title",
            "new_value": new_value,
            "reason": "证书上的名称不同",
        },
        format="json",
    )


def test_a_reviewer_of_another_centre_neither_sees_nor_decides_it(
    api_client, client, shao, reviewer, reviewer_elsewhere, decided_here
):
    asked = ask(api_client, shao, decided_here)
    pk = asked.json()["id"]

    api_client.force_authenticate(reviewer_elsewhere)
    their_list = api_client.get("/api/v1/corrections/").json()["results"]
    their_decision = api_client.post(
        f"/api/v1/corrections/{pk}/decision/",
        {"decision": "accept", "reason": "核对原件"},
        format="json",
    )
    login_verified(client, reviewer_elsewhere)
    their_page = client.get("/centre/corrections/").content.decode()
    their_page_decision = client.post(
        f"/centre/corrections/{pk}/decide/", {"decision": "accept", "reason": "核对原件"}
    )

    assert asked.status_code == 201
    assert their_list == []
    assert their_decision.status_code == 404
    assert "证书上的名称不同" not in their_page
    assert their_page_decision.status_code == 404
    assert CorrectionRequest.objects.get().status == "pending"
    assert not StaffAccess.objects.filter(staff=reviewer_elsewhere).exists()


def test_the_deciding_centre_sees_decides_and_the_looks_are_recorded(
    api_client, shao, reviewer, decided_here
):
    pk = ask(api_client, shao, decided_here).json()["id"]

    api_client.force_authenticate(reviewer)
    listed = api_client.get("/api/v1/corrections/").json()["results"]
    decided = api_client.post(
        f"/api/v1/corrections/{pk}/decision/",
        {"decision": "accept", "reason": "核对原件"},
        format="json",
    )
    api_client.force_authenticate(shao.holder)
    accesses = api_client.get("/api/v1/accounts/me/staff-accesses/").json()["results"]

    assert [item["id"] for item in listed] == [pk]
    assert decided.status_code == 200
    assert decided.json()["status"] == "accepted"
    assert sorted(a["kind"] for a in accesses) == ["decided_correction", "viewed_correction"]
    assert {a["reference"] for a in accesses} == {f"更正申请 #{pk}"}


def test_a_name_correction_goes_to_the_centre_that_opened_the_account(
    api_client, client, reviewer, reviewer_elsewhere
):
    login_verified(client, reviewer)
    client.post(
        "/centre/accounts/new/",
        {
            "name": "周到访",
            "id_type": "resident_id",
            "id_number": with_check("11010119900307013"),
            "phone": "13811112222",
            "email": "visitor@example.cn",
            "document_note": "居民身份证原件",
        },
    )
    holder = UserFactory._meta.model.objects.get(name="周到访")
    api_client.force_authenticate(holder)
    asked = api_client.post(
        "/api/v1/accounts/me/corrections/",
        {"field": "name", "new_value": "周道访", "reason": "户籍登记更正"},
        format="json",
    )

    api_client.force_authenticate(reviewer_elsewhere)
    elsewhere = api_client.get("/api/v1/corrections/").json()["results"]
    api_client.force_authenticate(reviewer)
    here = api_client.get("/api/v1/corrections/").json()["results"]

    assert asked.status_code == 201, asked.content
    assert elsewhere == []
    assert [item["id"] for item in here] == [asked.json()["id"]]


@pytest.mark.parametrize(
    "value",
    ["李\u202e丽", "李\x07丽", "李\n丽", "李\u200b丽"],
    ids=["right-to-left-override", "bell", "newline", "zero-width-space"],
)
def test_control_characters_in_the_new_value_are_refused_on_its_field(
    api_client, shao, decided_here, value
):
    asked = ask(api_client, shao, decided_here, new_value=value)
    named = api_client.post(
        "/api/v1/accounts/me/corrections/",
        {"field": "name", "new_value": value, "reason": "户籍登记更正"},
        format="json",
    )

    assert asked.status_code == 400
    assert "new_value" in asked.json()
    assert named.status_code == 400
    assert "new_value" in named.json()
    assert not CorrectionRequest.objects.exists()
