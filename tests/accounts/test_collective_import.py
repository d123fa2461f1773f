"""Importing members into a collective account: opening accounts, linking existing ones,
all-or-nothing, and the speed of a 10,000-row file."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts.models import (
    BusinessTransaction,
    CollectiveMembership,
    LearningAccount,
    LifelongLearningFile,
    MemberImport,
    User,
)
from accounts.services import collective_members_import, personal_account_register
from tests.accounts.factories import CollectiveAccountFactory, InstitutionFactory, UserFactory
from tests.accounts.helpers import csv_file, member, resident_id, upload
from tests.people import login_verified, with_totp

pytestmark = pytest.mark.django_db

PASSWORD = "Lifelong-learning-2026"


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "accounts": LearningAccount.objects.count(),
        "files": LifelongLearningFile.objects.count(),
        "transactions": BusinessTransaction.objects.count(),
        "memberships": CollectiveMembership.objects.count(),
        "imports": MemberImport.objects.count(),
    }


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


def ten_thousand_members() -> list[list[str]]:
    return [member(n) for n in range(10_000)]


# --- 10,000 rows -------------------------------------------------------------------------------


def test_one_bad_row_among_10000_is_reported_and_nothing_is_written(
    admin_client,
    collective,
):
    rows = ten_thousand_members()
    good = rows[4998][2]  # spreadsheet row 5,000: the heading is row 1
    rows[4998][2] = good[:17] + ("0" if good[17] != "0" else "1")
    before = counts()

    response = upload(admin_client, collective.institution_id, csv_file(rows))

    assert response.status_code == 400
    assert response.json()["rows"] == [
        {
            "row": 5000,
            "column": "id_number",
            "heading": "证件号码",
            "message": "The check digit does not match: please check the number for a typo.",
        }
    ]
    assert response.json()["detail"].startswith("The file has 1 problem. Nothing was imported")
    assert counts() == before


def test_bad_rows_at_the_end_of_a_long_file_are_reported_and_nothing_is_written(
    admin_client,
    collective,
):
    # The rows are checked and looked up a few thousand at a time: the last ones are read
    # long after the first were checked, and still nothing of the first is written.
    register(90_000, email="taken@example.cn")
    rows = [member(n) for n in range(6_000)]
    rows[-2] = member(5_998, email="Taken@example.cn")  # spreadsheet row 6,000
    rows[-1] = member(5_999, id_number=resident_id(0))  # row 6,001, the person of row 2
    before = counts()

    response = upload(admin_client, collective.institution_id, csv_file(rows))

    assert response.status_code == 400
    assert [(p["row"], p["column"], p["message"]) for p in response.json()["rows"]] == [
        (6000, "email", "This email address is already used by another person's account."),
        (6001, "id_number", "This identity number is also on row 2; list each person once."),
    ]
    assert response.json()["detail"].startswith("The file has 2 problems. Nothing was imported")
    assert counts() == before


def test_a_member_list_is_read_from_an_open_file_which_is_left_open(
    collective,
    institution_admin,
):
    # A long upload is spooled to a temporary file; the import reads it from there instead of
    # holding it whole.
    upload_file = io.BytesIO(csv_file([member(1), member(2)]))

    result = collective_members_import(
        collective=collective, uploaded_by=institution_admin, filename="m.csv", data=upload_file
    )

    assert (result.rows, result.accounts_opened) == (2, 2)
    assert set(User.objects.filter(role="learner").values_list("name", flat=True)) == {
        "成员1",
        "成员2",
    }
    assert not upload_file.closed


def test_10000_new_members_are_imported_at_once_in_a_few_queries(
    admin_client,
    collective,
    institution_admin,
    django_assert_max_num_queries,
):
    data = csv_file(ten_thousand_members())

    started = time.perf_counter()
    # Batched, never one query per row: SQLite takes at most 999 parameters an insert, so its
    # inserts come in batches of some dozens of rows (fewer as the user row gains columns:
    # with phone_verified_at it is 505 on SQLite); PostgreSQL's in batches of 1,000.
    with django_assert_max_num_queries(550 if connection.vendor == "sqlite" else 100):
        response = upload(admin_client, collective.institution_id, data)
    elapsed = time.perf_counter() - started
    print(f"\n10,000-row import on {connection.vendor}: {elapsed:.2f} s")

    assert response.status_code == 201, response.content[:2000]
    body = response.json()
    assert (body["rows"], body["accounts_opened"], body["accounts_linked"]) == (10_000, 10_000, 0)
    accounts = LearningAccount.objects.filter(kind="personal")
    assert accounts.count() == 10_000
    assert accounts.filter(identity_check="reported_by_institution", opened_by=institution_admin)
    assert accounts.filter(learning_file__isnull=False).count() == 10_000
    assert collective.memberships.count() == 10_000
    assert BusinessTransaction.objects.filter(kind="account_opened").count() == 10_000
    assert len(set(accounts.values_list("number", flat=True))) == 10_000
    assert not any(u.has_usable_password() for u in User.objects.filter(role="learner")[:50])
    assert MemberImport.objects.get().filename == "members.csv"


# --- Opening and linking ------------------------------------------------------------------------


def test_a_new_member_gets_an_account_reported_by_the_institution(
    admin_client,
    collective,
    institution_admin,
):
    response = upload(admin_client, collective.institution_id, csv_file([member(1)]))

    assert response.status_code == 201, response.json()
    account = LearningAccount.objects.select_related("holder").get(kind="personal")
    holder = User.objects.get(learning_account=account)
    assert (holder.name, holder.email, holder.phone) == (
        "成员1",
        "member1@example.cn",
        "13800000001",
    )
    assert holder.username == account.number
    assert account.id_number_masked == resident_id(1)[:3] + "*" * 11 + resident_id(1)[-4:]
    assert account.identity_check == "reported_by_institution"
    assert account.opened_by == institution_admin
    assert account.learning_file is not None
    [event] = account.transactions.all()
    assert (event.kind, event.actor) == ("account_opened", institution_admin)
    membership = CollectiveMembership.objects.get()
    assert (membership.collective, membership.member) == (collective, account)
    assert membership.member_import == MemberImport.objects.get()


def test_an_existing_account_is_invited_not_opened_again(
    admin_client,
    collective,
):
    existing = register(1)
    # The institution may know other contact details; the learner's own are kept.
    row = member(1, phone="13900000001", email="work1@example.cn")

    response = upload(admin_client, collective.institution_id, csv_file([row, member(2)]))

    assert response.status_code == 201, response.json()
    assert (response.json()["accounts_opened"], response.json()["accounts_linked"]) == (1, 1)
    membership = CollectiveMembership.objects.get(collective=collective, member=existing)
    assert membership.status == "invited"
    assert User.objects.get(learning_account=existing).email == "own1@example.cn"
    assert existing.transactions.filter(kind="collective_invited").exists()
    assert not existing.transactions.filter(kind="joined_collective").exists()


def test_names_match_whatever_the_width_spacing_and_middle_dot(
    admin_client,
    collective,
):
    register(1, name="阿依古丽·买买提")

    response = upload(
        admin_client, collective.institution_id, csv_file([member(1, name=" 阿依古丽 • 买买提 ")])
    )

    assert response.status_code == 201, response.json()


def test_a_person_already_a_member_is_reported(
    admin_client,
    collective,
):
    assert upload(admin_client, collective.institution_id, csv_file([member(1)])).status_code == 201

    response = upload(admin_client, collective.institution_id, csv_file([member(2), member(1)]))

    assert response.status_code == 400
    assert [(p["row"], p["column"], p["message"]) for p in response.json()["rows"]] == [
        (3, "id_number", "This person is already a member.")
    ]
    assert MemberImport.objects.count() == 1


def test_a_closed_learning_account_is_not_invited(
    admin_client,
    collective,
):
    closed = register(1)
    LearningAccount.objects.filter(pk=closed.pk).update(status="closed")

    response = upload(admin_client, collective.institution_id, csv_file([member(1)]))

    assert response.status_code == 400
    [problem] = response.json()["rows"]
    assert (problem["row"], problem["column"]) == (2, "id_number")
    # Nothing about the state of someone else's account.
    assert "closed" not in problem["message"]
    assert "accreditation centre" in problem["message"]
    assert not CollectiveMembership.objects.exists()


def test_an_email_or_phone_of_another_person_is_reported(
    admin_client,
    collective,
):
    register(50, email="taken@example.cn", phone="13700000050")
    rows = [
        member(1, email="TAKEN@example.cn"),
        member(2, phone="137-0000-0050"),
        member(3, email="", phone=""),
    ]

    response = upload(admin_client, collective.institution_id, csv_file(rows))

    assert response.status_code == 400
    assert [(p["row"], p["column"]) for p in response.json()["rows"]] == [
        (2, "email"),
        (3, "phone"),
        (4, "phone"),
        (4, "email"),
    ]
    messages = [p["message"] for p in response.json()["rows"]]
    assert messages[0] == "This email address is already used by another person's account."
    assert messages[2] == "A new learning account needs the person's mobile phone number."


def test_only_the_institutions_own_administrator_imports_and_only_when_approved(
    api_client, collective, institution_admin, centre_admin, learner
):
    data = csv_file([member(1)])
    other = CollectiveAccountFactory.create()

    assert upload(api_client, collective.institution_id, data).status_code == 401
    for user in (centre_admin, learner):
        api_client.force_authenticate(user)
        assert upload(api_client, collective.institution_id, data).status_code == 403
    api_client.force_authenticate(institution_admin)
    assert upload(api_client, other.institution_id, data).status_code == 404

    collective.status = "pending"
    collective.save()
    response = upload(api_client, collective.institution_id, data)
    assert response.status_code == 400
    assert "once the centre has approved" in response.json()["file"][0]
    assert not LearningAccount.objects.filter(kind="personal").exists()


def test_an_imported_learner_chooses_a_password_through_password_reset(
    admin_client, collective, client, django_capture_on_commit_callbacks
):
    upload(admin_client, collective.institution_id, csv_file([member(1)]))

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password/reset/", {"email": "member1@example.cn"})

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["member1@example.cn"]


# --- The page ---------------------------------------------------------------------------------


def test_the_import_page_shows_every_problem_in_a_table(
    client,
    collective,
    institution_admin,
):
    login_verified(client, institution_admin)

    rows = [member(1), member(2, id_number="123"), member(3, email="nope")]
    response = client.post(
        f"/institutions/{collective.institution_id}/members/import/",
        {"file": SimpleUploadedFile("members.csv", csv_file(rows))},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="row-errors"' in page
    assert '<td data-label="行号">3</td><td data-label="列">证件号码</td>' in page
    assert '<td data-label="行号">4</td><td data-label="列">电子邮箱</td>' in page
    assert not LearningAccount.objects.filter(kind="personal").exists()

    response = client.post(
        f"/institutions/{collective.institution_id}/members/import/",
        {"file": SimpleUploadedFile("members.csv", csv_file([member(1), member(2)]))},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == f"/institutions/{collective.institution_id}/members/"
    assert "成员2" in response.content.decode()
    assert LearningAccount.objects.filter(kind="personal").count() == 2


def test_a_refused_file_is_explained_beside_the_upload_field(
    client,
    collective,
    institution_admin,
):
    login_verified(client, institution_admin)

    response = client.post(
        f"/institutions/{collective.institution_id}/members/import/",
        {"file": SimpleUploadedFile("members.pdf", b"%PDF-1.4\x00\x01\x02")},
    )

    page = response.content.decode()
    assert 'id="id_file_errors"' in page
    assert not LearningAccount.objects.filter(kind="personal").exists()


def test_another_institution_cannot_import_into_this_collective_on_the_page(
    client,
    collective,
):
    stranger = with_totp(
        UserFactory.create(
            role="institution_admin", institution=InstitutionFactory.create(name="别家")
        )
    )
    login_verified(client, stranger)

    assert (
        client.get(f"/institutions/{collective.institution_id}/members/import/").status_code == 404
    )
