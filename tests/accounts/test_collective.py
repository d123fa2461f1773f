"""Collective accounts: an institution applies, a centre administrator decides, and the
institution's administrator follows its members."""

from __future__ import annotations

import csv
import io
import threading
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from accounts.collective.services import (
    collective_account_decide,
    collective_invitation_accept,
    collective_members_import,
)
from accounts.models import (
    BusinessTransaction,
    CollectiveMembership,
    Institution,
    LearningAccount,
    LedgerEntry,
    User,
)
from accounts.services import personal_account_register
from accounts.validators import account_number_is_valid
from tests.accounts.factories import (
    CollectiveAccountFactory,
    InstitutionFactory,
    ManagementCentreFactory,
    UserFactory,
    credit_code,
)
from tests.accounts.helpers import csv_file, member, resident_id, upload
from tests.people import login_verified, token_for, with_totp

pytestmark = pytest.mark.django_db

PASSWORD = "Lifelong-learning-2026"
CREDIT_CODE = credit_code(4242)


def application(branch, **overrides: object) -> dict[str, object]:
    return {
        "name": "阳光职业培训学校",
        "kind": "training_organisation",
        "credit_code": CREDIT_CODE,
        "centre": branch.pk,
        "admin_name": "周管理",
        "admin_email": "admin@yangguang.cn",
        "admin_phone": "13600000001",
        "admin_password": PASSWORD,
        **overrides,
    }


def apply(api_client, centre, **overrides: object):
    # The API names a centre by its code (the page's form by its choice).
    body = application(centre, **{"centre": centre.code, **overrides})
    return api_client.post("/api/v1/institutions/", body, format="json")


def applied(api_client, centre, **overrides: object) -> Institution:
    response = apply(api_client, centre, **overrides)
    assert response.status_code == 201, response.json()
    return Institution.objects.get(pk=response.json()["id"])


def decide(api_client, institution: Institution, **body: str):
    return api_client.post(f"/api/v1/institutions/{institution.pk}/decision/", body, format="json")


def members_of(collective, rows) -> None:
    collective_members_import(
        collective=collective,
        uploaded_by=collective.opened_by,
        filename="members.csv",
        data=csv_file(rows),
    )


# --- End to end --------------------------------------------------------------------------------


def test_an_institution_applies_a_centre_approves_and_its_members_are_imported_and_followed(
    api_client, centre, centre_admin
):
    already_registered = personal_account_register(
        name="成员2",
        id_type="resident_id",
        id_number=resident_id(2),
        phone="13700000002",
        email="own2@example.cn",
        password=PASSWORD,
    )

    # The institution applies, without signing in.
    response = apply(api_client, centre)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["is_active"] is False
    assert account_number_is_valid(body["account_number"])
    assert body["account_number"].startswith("JT")
    admin = User.objects.get(email="admin@yangguang.cn")
    assert admin.role == "institution_admin"
    assert admin.institution_id == body["id"]
    institution = Institution.objects.get(pk=body["id"])
    assert institution.collective_account.opened_by == admin

    # The centre administrator finds it among the pending applications and approves it.
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(api_client, 'carl')}")
    pending = api_client.get("/api/v1/institutions/", {"status": "pending"}).json()
    assert [item["id"] for item in pending["results"]] == [institution.pk]
    assert pending["results"][0]["administrator"]["email"] == "admin@yangguang.cn"

    response = decide(api_client, institution, decision="approve")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "active"
    account = LearningAccount.objects.get(institution=institution)
    institution.refresh_from_db()
    assert institution.is_active
    assert (account.status, account.decided_by) == ("active", centre_admin)
    assert account.decided_at is not None
    applied_event, decided_event = BusinessTransaction.objects.filter(account=account).order_by(
        "id"
    )
    assert applied_event.kind == "collective_applied"
    assert (decided_event.kind, decided_event.actor) == ("account_opened", centre_admin)
    assert api_client.get("/api/v1/institutions/", {"status": "pending"}).json()["count"] == 0

    # The institution's administrator signs in with the second factor and imports members.
    with_totp(admin)
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_for(api_client, admin.username, PASSWORD)}"
    )
    response = upload(api_client, institution.pk, csv_file([member(1), member(2), member(3)]))

    assert response.status_code == 201, response.json()
    assert (response.json()["accounts_opened"], response.json()["accounts_linked"]) == (2, 1)

    # ... and follows their progress.
    LedgerEntry.objects.create(
        account=already_registered,
        hours=Decimal("12.5"),
        credits=Decimal("1.5"),
        cause_type="test",
        cause_id="1",
    )
    LedgerEntry.objects.create(
        account=already_registered, hours=Decimal("4"), credits=0, cause_type="test", cause_id="2"
    )
    # The learner who already had an account is invited, and accepts.
    invitation = CollectiveMembership.objects.get(member=already_registered)
    assert invitation.status == "invited"
    assert already_registered.holder is not None
    collective_invitation_accept(membership=invitation, actor=already_registered.holder)
    listing = api_client.get(f"/api/v1/institutions/{institution.pk}/members/").json()

    assert listing["count"] == 3
    by_name = {item["name"]: item for item in listing["results"]}
    assert set(by_name) == {"成员1", "成员2", "成员3"}
    assert by_name["成员2"]["account_number"] == already_registered.number
    assert (by_name["成员2"]["hours"], by_name["成员2"]["credits"]) == ("16.5", "1.5")
    assert (by_name["成员1"]["hours"], by_name["成员1"]["credits"]) == ("0.0", "0.0")
    assert (
        by_name["成员1"]["id_number_masked"] == resident_id(1)[:3] + "*" * 11 + resident_id(1)[-4:]
    )
    assert resident_id(1) not in str(listing)


# --- Applying ----------------------------------------------------------------------------------


def test_an_application_creates_an_inactive_institution_its_admin_and_a_pending_account(
    api_client, centre
):
    institution = applied(api_client, centre)

    assert not institution.is_active
    assert institution.kind == "training_organisation"
    assert institution.centre == centre
    account = institution.collective_account
    assert (account.kind, account.status) == ("collective", "pending")
    admin = User.objects.get(accounts_opened=account)
    assert (admin.name, admin.phone, admin.role) == ("周管理", "13600000001", "institution_admin")
    assert admin.check_password(PASSWORD)


def test_a_credit_code_already_registered_is_a_field_error(api_client, centre):
    applied(api_client, centre)

    response = apply(api_client, centre, admin_email="other@example.cn", admin_phone="13600000002")

    assert response.status_code == 400
    assert "already applied or holds an account" in response.json()["credit_code"][0]
    assert Institution.objects.count() == 1


def test_each_bad_field_of_an_application_is_reported_and_nothing_is_written(
    api_client, centre, learner
):
    management = ManagementCentreFactory.create()
    response = api_client.post(
        "/api/v1/institutions/",
        application(
            centre,
            kind="degree_institution",
            credit_code=CREDIT_CODE[:17] + ("0" if CREDIT_CODE[17] != "0" else "1"),
            centre=management.pk,
            admin_email=learner.email,
            admin_phone="123",
            admin_password="123",
        ),
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"kind", "credit_code", "centre", "admin_phone"}
    assert "check character" in response.json()["credit_code"][0]

    response = apply(api_client, centre, admin_email=learner.email.upper(), admin_password="123")

    assert response.status_code == 400
    assert set(response.json()) == {"admin_email", "admin_password"}
    assert not Institution.objects.filter(credit_code=CREDIT_CODE).exists()
    assert not User.objects.filter(role="institution_admin").exists()


def test_applying_on_the_page_signs_the_admin_in_and_asks_for_a_second_factor(client, centre):
    page = client.get("/institutions/apply/").content.decode()
    assert centre.name in page

    form = application(centre)
    form |= {"password1": PASSWORD, "password2": PASSWORD}
    response = client.post("/institutions/apply/", form, follow=True)

    assert response.redirect_chain[0][0] == "/institution/"
    assert response.redirect_chain[-1][0] == "/mfa/setup/?next=%2Finstitution%2F"
    assert Institution.objects.get().collective_account.status == "pending"


def test_the_application_page_marks_each_bad_field(client, centre):
    applied_before = application(centre) | {"password1": PASSWORD, "password2": "other"}
    response = client.post("/institutions/apply/", applied_before | {"credit_code": "123"})

    page = response.content.decode()
    assert 'id="id_credit_code_errors"' in page
    assert 'id="id_password2_errors"' in page
    assert not Institution.objects.exists()


# --- Deciding ---------------------------------------------------------------------------------


def test_a_rejection_needs_a_reason_which_the_institution_then_sees(
    api_client, client, centre, centre_admin
):
    institution = applied(api_client, centre)
    api_client.force_authenticate(centre_admin)

    response = decide(api_client, institution, decision="reject", reason="  ")
    assert response.status_code == 400
    assert response.json()["reason"] == [
        "Give the reason for the rejection; the institution will see it."
    ]

    response = decide(api_client, institution, decision="reject", reason="营业执照已过期。")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decision_note"]) == (
        "rejected",
        "营业执照已过期。",
    )
    institution.refresh_from_db()
    assert not institution.is_active
    assert list(
        BusinessTransaction.objects.order_by("id").values_list("kind", "details__reason")
    ) == [("collective_applied", None), ("collective_rejected", "营业执照已过期。")]

    admin = institution.collective_account.opened_by
    api_client.force_authenticate(admin)
    seen = api_client.get(f"/api/v1/institutions/{institution.pk}/").json()
    assert (seen["status"], seen["decision_note"]) == ("rejected", "营业执照已过期。")
    login_verified(client, with_totp(admin))
    page = client.get(f"/institutions/{institution.pk}/members/").content.decode()
    assert "营业执照已过期。" in page


def test_an_application_is_decided_only_once(api_client, centre, centre_admin):
    institution = applied(api_client, centre)
    api_client.force_authenticate(centre_admin)
    assert decide(api_client, institution, decision="approve").status_code == 200

    response = decide(api_client, institution, decision="reject", reason="改变主意")

    assert response.status_code == 400
    assert "already decided" in response.json()["decision"][0]
    account = institution.collective_account
    account.refresh_from_db()
    assert account.status == "active"
    assert BusinessTransaction.objects.filter(kind="account_opened").count() == 1
    assert not BusinessTransaction.objects.filter(kind="collective_rejected").exists()


def test_a_centre_admin_of_another_centre_neither_sees_nor_decides_the_application(
    api_client, client, centre, other_centre
):
    institution = applied(api_client, centre)
    stranger = with_totp(
        UserFactory.create(username="sam", role="centre_admin", centre=other_centre, name="沙主任")
    )
    api_client.force_authenticate(stranger)

    assert api_client.get("/api/v1/institutions/").json()["count"] == 0
    assert api_client.get(f"/api/v1/institutions/{institution.pk}/").status_code == 404
    assert decide(api_client, institution, decision="approve").status_code == 404
    login_verified(client, stranger)
    assert institution.name not in client.get("/centre/institutions/").content.decode()
    assert client.get(f"/centre/institutions/{institution.pk}/").status_code == 404
    response = client.post(f"/centre/institutions/{institution.pk}/", {"decision": "approve"})
    assert response.status_code == 404
    assert institution.collective_account.status == "pending"
    with pytest.raises(PermissionDenied):
        collective_account_decide(institution=institution, decided_by=stranger, approve=True)


def test_only_centre_admins_list_and_decide_applications(
    api_client, centre, reviewer, learner, institution_admin
):
    institution = applied(api_client, centre)

    assert api_client.get("/api/v1/institutions/").status_code == 401
    for user in (reviewer, learner, institution_admin):
        api_client.force_authenticate(user)
        assert api_client.get("/api/v1/institutions/").status_code == 403
        assert decide(api_client, institution, decision="approve").status_code == 403


def test_a_centre_admin_approves_on_the_page(client, api_client, centre, centre_admin):
    institution = applied(api_client, centre)
    login_verified(client, centre_admin)

    listing = client.get("/centre/institutions/").content.decode()
    assert institution.name in listing
    detail = client.get(f"/centre/institutions/{institution.pk}/").content.decode()
    assert CREDIT_CODE in detail
    assert "admin@yangguang.cn" in detail

    refused = client.post(f"/centre/institutions/{institution.pk}/", {"decision": "reject"})
    assert 'id="id_reason_errors"' in refused.content.decode()

    response = client.post(
        f"/centre/institutions/{institution.pk}/", {"decision": "approve"}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/centre/institutions/"
    assert 'data-testid="applications-empty"' in response.content.decode()
    account = institution.collective_account
    account.refresh_from_db()
    assert (account.status, account.decided_by) == ("active", centre_admin)


@pytest.mark.django_db(transaction=True)
def test_two_decisions_at_the_same_moment_decide_once(postgres, centre, centre_admin):
    other_admin = UserFactory.create(role="centre_admin", centre=centre)
    institution = InstitutionFactory.create(centre=centre, is_active=False)
    CollectiveAccountFactory.create(institution=institution, status="pending")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(admin: User, approve: bool) -> None:
        barrier.wait()
        try:
            collective_account_decide(
                institution=institution, decided_by=admin, approve=approve, reason="理由"
            )
            outcomes.append("decided")
        except ValidationError as exc:
            outcomes.append(f"refused: {next(iter(exc.message_dict))}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=(centre_admin, True)),
        threading.Thread(target=attempt, args=(other_admin, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["decided", "refused: decision"]
    account = LearningAccount.objects.get(institution=institution)
    institution.refresh_from_db()
    assert institution.is_active == (account.status == "active")
    decisions = BusinessTransaction.objects.filter(account=account).exclude(
        kind="collective_applied"
    )
    assert decisions.count() == 1


# --- Members ----------------------------------------------------------------------------------


def test_the_member_list_reads_every_total_in_one_query_and_pages(
    api_client, collective, institution_admin, django_assert_num_queries
):
    members_of(collective, [member(n) for n in range(25)])
    for account in LearningAccount.objects.filter(kind="personal"):
        LedgerEntry.objects.create(
            account=account, hours=2, credits=1, cause_type="t", cause_id="1"
        )
    api_client.force_authenticate(institution_admin)

    # The caller's collective account, the count, the page: never one query per member.
    with django_assert_num_queries(3):
        response = api_client.get(f"/api/v1/institutions/{collective.institution_id}/members/")

    body = response.json()
    assert body["count"] == 25
    assert len(body["results"]) == 20
    assert {(item["hours"], item["credits"]) for item in body["results"]} == {("2.0", "1.0")}
    assert body["next"]


def test_an_institution_admin_never_sees_a_learner_who_is_not_its_member(
    api_client, client, collective, institution_admin, learner
):
    members_of(collective, [member(1)])
    other = CollectiveAccountFactory.create(institution=InstitutionFactory.create(name="别家公司"))
    other.opened_by = UserFactory.create(role="institution_admin", institution=other.institution)
    members_of(other, [member(2)])
    api_client.force_authenticate(institution_admin)

    listing = api_client.get(f"/api/v1/institutions/{collective.institution_id}/members/").json()
    assert [item["name"] for item in listing["results"]] == ["成员1"]

    for path in [
        f"/api/v1/institutions/{other.institution_id}/",
        f"/api/v1/institutions/{other.institution_id}/members/",
        f"/api/v1/institutions/{other.institution_id}/members/export.csv",
        f"/api/v1/institutions/{other.institution_id}/members/export.xlsx",
    ]:
        assert api_client.get(path).status_code == 404, path

    login_verified(client, institution_admin)
    page = client.get(f"/institutions/{collective.institution_id}/members/").content.decode()
    assert "成员1" in page
    assert "成员2" not in page
    assert learner.name not in page
    for path in [
        f"/institutions/{other.institution_id}/members/",
        f"/institutions/{other.institution_id}/members/import/",
        f"/institutions/{other.institution_id}/members/export.csv",
    ]:
        assert client.get(path).status_code == 404, path


def test_the_member_pages_are_for_institution_admins(client, collective, learner, centre_admin):
    url = f"/institutions/{collective.institution_id}/members/"
    assert client.get(url)["Location"].startswith("/login/")
    client.force_login(learner)
    assert client.get(url).status_code == 403
    login_verified(client, centre_admin)
    assert client.get(url).status_code == 403


def test_the_institution_admin_lands_on_its_own_member_list(client, collective, institution_admin):
    login_verified(client, institution_admin)

    response = client.get("/institution/")

    assert response["Location"] == f"/institutions/{collective.institution_id}/members/"


DANGEROUS_NAMES = ['=HYPERLINK("http://evil.example")', "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def members_with_dangerous_names(collective) -> None:
    members_of(collective, [member(n) for n in range(len(DANGEROUS_NAMES))])
    for user, name in zip(
        User.objects.filter(role="learner").order_by("name"), DANGEROUS_NAMES, strict=True
    ):
        user.name = name
        user.save()


def test_the_csv_export_escapes_what_a_spreadsheet_would_run(client, collective, institution_admin):
    members_with_dangerous_names(collective)
    login_verified(client, institution_admin)

    response = client.get(f"/institutions/{collective.institution_id}/members/export.csv")

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    content = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content, newline="")))
    names = sorted(row[1] for row in rows[1:])
    assert names == sorted("'" + name for name in DANGEROUS_NAMES)


def test_the_xlsx_export_escapes_what_a_spreadsheet_would_run(
    api_client, collective, institution_admin
):
    members_with_dangerous_names(collective)
    LedgerEntry.objects.create(
        account=LearningAccount.objects.filter(kind="personal")[0],
        hours=Decimal("3.5"),
        credits=Decimal("0.5"),
        cause_type="t",
        cause_id="1",
    )
    api_client.force_authenticate(institution_admin)

    response = api_client.get(
        f"/api/v1/institutions/{collective.institution_id}/members/export.xlsx"
    )

    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Account number", "Name")
    # XML may turn a carriage return into a line feed (openpyxl writes with lxml when it is
    # installed, keeping it); what matters is the apostrophe before it.
    expected = sorted("'" + name.replace("\r", "\n") for name in DANGEROUS_NAMES)
    assert sorted(row[1].replace("\r", "\n") for row in rows[1:]) == expected
    assert all(cell.data_type == "s" for cell in sheet["B"])
    assert sorted(row[5] for row in rows[1:])[-1] == 3.5
    assert (
        api_client.get(
            f"/api/v1/institutions/{collective.institution_id}/members/export.pdf"
        ).status_code
        == 404
    )


def test_the_import_template_has_the_heading_row(client, institution_admin):
    login_verified(client, institution_admin)

    response = client.get("/institutions/import-template.csv")

    assert response.content.decode("utf-8-sig").splitlines() == [
        "姓名,证件类型,证件号码,手机号,电子邮箱"
    ]
    workbook = client.get("/institutions/import-template.xlsx").content
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).worksheets[0]
    assert next(sheet.iter_rows(values_only=True)) == (
        "姓名",
        "证件类型",
        "证件号码",
        "手机号",
        "电子邮箱",
    )


def test_memberships_are_unique_in_the_database(collective):
    members_of(collective, [member(1)])
    membership = CollectiveMembership.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        CollectiveMembership.objects.create(
            collective=collective, member=membership.member, added_by=collective.opened_by
        )


def test_the_member_page_pages_through_a_long_list(client, collective, institution_admin):
    members_of(collective, [member(n) for n in range(55)])
    login_verified(client, institution_admin)

    def member_rows(query: str = "") -> tuple[int, str]:
        url = f"/institutions/{collective.institution_id}/members/{query}"
        page = client.get(url).content.decode()
        table = page.split('data-testid="members"', 1)[1].split("</table>", 1)[0]
        return table.count("<tr>") - 1, page

    count, first = member_rows()
    assert count == 50
    assert 'href="?page=2"' in first
    assert member_rows("?page=2")[0] == 5
