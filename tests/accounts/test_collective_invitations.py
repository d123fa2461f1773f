"""A learner who already has an account is invited to an institution's member list, never put
on it: the institution sees "invited" and nothing of the account until the learner accepts, on
the file page or over the API; declined, it never does. The import's row messages say the same
whatever the name written beside a number that has an account."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import (
    CollectiveMembership,
    LearningAccount,
    LedgerEntry,
    Notification,
)
from accounts.services import personal_account_register
from tests.accounts.helpers import csv_file, member, resident_id, upload
from tests.outcomes.helpers import report, results_csv, row
from tests.people import login_verified

pytestmark = pytest.mark.django_db

PASSWORD = "Lifelong-learning-2026"


def register(n: int, **overrides: str) -> LearningAccount:
    data: dict[str, Any] = {
        "name": f"成员{n}",
        "id_type": "resident_id",
        "id_number": resident_id(n),
        "phone": f"137{n:08d}",
        "email": f"own{n}@example.cn",
        "password": PASSWORD,
        **overrides,
    }
    return personal_account_register(**data)


def with_hours(account: LearningAccount) -> LearningAccount:
    LedgerEntry.objects.create(
        account=account, hours=Decimal("12.5"), credits=Decimal("1.5"), cause_type="t", cause_id="1"
    )
    return account


def listing(admin_client, collective) -> dict[str, dict[str, Any]]:
    response = admin_client.get(f"/api/v1/institutions/{collective.institution_id}/members/")
    assert response.status_code == 200
    return {item["id_number_masked"][-4:]: item for item in response.json()["results"]}


def masked_tail(n: int) -> str:
    return resident_id(n)[-4:]


def invited(admin_client, collective, *rows: list[str]) -> None:
    response = upload(admin_client, collective.institution_id, csv_file(list(rows)))
    assert response.status_code == 201, response.json()


def test_an_existing_learner_is_invited_and_the_institution_sees_only_that(
    admin_client, client, collective, institution_admin
):
    existing = with_hours(register(1))

    response = upload(admin_client, collective.institution_id, csv_file([member(1), member(2)]))

    assert response.status_code == 201, response.json()
    assert (response.json()["accounts_opened"], response.json()["accounts_linked"]) == (1, 1)
    # The API: "invited", the name the institution wrote, nothing of the account.
    rows = listing(admin_client, collective)
    assert rows[masked_tail(1)] == {
        "status": "invited",
        "account_number": None,
        "name": "成员1",
        "id_type": "resident_id",
        "id_number_masked": existing.id_number_masked,
        "joined_at": None,
        "hours": None,
        "credits": None,
    }
    assert rows[masked_tail(2)]["status"] == "active"  # the account the import opened
    assert rows[masked_tail(2)]["account_number"] is not None
    # The page and the export neither.
    login_verified(client, institution_admin)
    page = client.get(f"/institutions/{collective.institution_id}/members/").content.decode()
    assert 'data-status="invited"' in page
    assert existing.number not in page
    assert "12.5" not in page
    export = client.get(f"/institutions/{collective.institution_id}/members/export.csv")
    content = export.content.decode("utf-8-sig")
    assert existing.number not in content
    assert "12.5" not in content
    # The learner is told, and finds the invitation on the file page.
    [notice] = Notification.objects.filter(recipient=existing.holder)
    assert notice.kind == "collective_invitation"
    assert notice.link == "/file/#collective-invitations"
    assert existing.transactions.filter(kind="collective_invited").exists()
    client.force_login(existing.holder)
    file_page = client.get("/file/").content.decode()
    assert 'data-testid="collective-invitations"' in file_page
    assert collective.institution.name in file_page


def test_the_learner_accepts_on_the_file_page_and_the_institution_then_sees_the_account(
    admin_client, client, collective
):
    existing = with_hours(register(1))
    invited(admin_client, collective, member(1))
    invitation = CollectiveMembership.objects.get(member=existing)
    client.force_login(existing.holder)

    response = client.post(f"/collective-invitations/{invitation.pk}/accept/")

    assert response.status_code == 302
    assert response["Location"] == "/file/#collective-invitations"
    row = listing(admin_client, collective)[masked_tail(1)]
    assert (row["status"], row["account_number"], row["name"]) == (
        "active",
        existing.number,
        "成员1",
    )
    assert (row["hours"], row["credits"]) == ("12.5", "1.5")
    assert row["joined_at"] is not None
    assert existing.transactions.filter(kind="joined_collective").exists()
    [event] = invitation.events.all()
    assert (event.action, event.actor, event.to_state) == ("accept", existing.holder, "active")
    # Answered, the invitation leaves the file page.
    assert 'data-testid="collective-invitations"' not in client.get("/file/").content.decode()


def test_the_learner_declines_over_the_api_and_the_institution_sees_nothing_of_the_account(
    admin_client, client, collective, institution_admin
):
    existing = with_hours(register(1))
    invited(admin_client, collective, member(1))
    # Not the api_client fixture: admin_client is that client, signed in as the institution.
    api_client = APIClient()
    api_client.force_authenticate(existing.holder)
    [invitation] = api_client.get("/api/v1/collective-invitations/").json()["results"]
    assert (invitation["institution"], invitation["status"]) == (
        collective.institution.name,
        "invited",
    )

    response = api_client.post(f"/api/v1/collective-invitations/{invitation['id']}/decline/")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "declined"
    # Answered once: accepting afterwards is refused, by field.
    again = api_client.post(f"/api/v1/collective-invitations/{invitation['id']}/accept/")
    assert again.status_code == 400
    assert "status" in again.json()
    row = listing(admin_client, collective)[masked_tail(1)]
    assert (row["status"], row["account_number"], row["hours"], row["credits"]) == (
        "declined",
        None,
        None,
        None,
    )
    login_verified(client, institution_admin)
    page = client.get(f"/institutions/{collective.institution_id}/members/").content.decode()
    assert 'data-status="declined"' in page
    assert existing.number not in page
    # Nor is the learner invited again by the next list that names them.
    response = upload(admin_client, collective.institution_id, csv_file([member(1)]))
    assert response.status_code == 400
    [problem] = response.json()["rows"]
    assert problem["column"] == "id_number"
    assert "declined" in problem["message"]
    assert existing.transactions.filter(kind="collective_declined").exists()


def test_a_number_with_an_account_gets_the_same_answer_whatever_the_name_beside_it(
    admin_client, collective
):
    register(1, name="王小明")
    register(2)
    same_name, other_name = member(2), member(1, name="王小红")
    # A third row, to be refused, shows every message the first two get: none.
    refused_row = member(3, email="")

    refused = upload(
        admin_client, collective.institution_id, csv_file([other_name, same_name, refused_row])
    )

    assert refused.status_code == 400
    assert [(p["row"], p["column"]) for p in refused.json()["rows"]] == [(4, "email")]
    assert "王小明" not in str(refused.json())
    # Without it, both are invited alike.
    response = upload(admin_client, collective.institution_id, csv_file([other_name, same_name]))
    assert response.status_code == 201, response.json()
    assert (response.json()["accounts_opened"], response.json()["accounts_linked"]) == (0, 2)
    rows = listing(admin_client, collective)
    assert [rows[masked_tail(n)]["status"] for n in (1, 2)] == ["invited", "invited"]
    assert rows[masked_tail(1)]["name"] == "王小红"  # what the institution wrote, not the holder's
    assert "王小明" not in str(rows)


def test_the_member_export_says_invited_and_leaves_the_account_out(
    admin_client, client, collective, institution_admin
):
    existing = with_hours(register(1))
    invited(admin_client, collective, member(1))
    login_verified(client, institution_admin)

    response = client.get(f"/institutions/{collective.institution_id}/members/export.csv")

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    [row] = rows[1:]
    # Account number, name, document, masked number, joined, hours, credits, status.
    assert row[0] == ""
    assert row[1] == "成员1"
    assert row[3] == existing.id_number_masked
    assert row[4:7] == ["", "", ""]
    assert row[7] in {"Invited", "已邀请"}


def test_no_result_is_reported_for_a_person_who_has_not_accepted(admin_client, collective):
    existing = register(1)
    invited(admin_client, collective, member(1))
    by_number = row(account_number=existing.number, name="成员1")
    by_identity = row(name="成员1", id_type="居民身份证", id_number=resident_id(1))

    response = report(
        admin_client, collective.institution_id, results_csv([by_number, by_identity])
    )

    assert response.status_code == 400
    assert [(p["row"], p["column"]) for p in response.json()["rows"]] == [
        (2, "account_number"),
        (3, "id_number"),
    ]
    assert not existing.outcomes.exists()
