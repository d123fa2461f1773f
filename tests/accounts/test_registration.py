import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts.identity import crypto
from accounts.models import (
    BusinessTransaction,
    LearningAccount,
    LedgerEntry,
    LifelongLearningFile,
    User,
)
from accounts.services import personal_account_register
from accounts.validators import account_number_is_valid
from tests.people import LEARNER_PASSWORD as PASSWORD
from tests.people import RESIDENT, token_for, with_check

pytestmark = pytest.mark.django_db

HONG_KONG = with_check("81000019900101002")  # female (2)
FOREIGN_18 = with_check("95084019800101001")  # accepted in Chongqing, nationality 840 (USA)
FOREIGN_15 = "USA500180080112"  # accepted in Chongqing (5001), born 1980-08-01


def registration(**overrides: str) -> dict[str, str]:
    return {
        "name": "邵涛涛",
        "id_type": "resident_id",
        "id_number": RESIDENT,
        "phone": "13912345678",
        "email": "shao@example.cn",
        "password": PASSWORD,
        **overrides,
    }


def register(api_client, **overrides: str):
    return api_client.post("/api/v1/accounts/", registration(**overrides), format="json")


def test_a_resident_registers_online_and_gets_an_account_number_and_a_file(api_client):
    response = register(api_client)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert account_number_is_valid(body["account_number"])
    assert body["id_number_masked"] == RESIDENT[:3] + "*" * 11 + RESIDENT[-4:]
    assert body["birth_date"] == "1985-04-12"
    assert body["gender"] == "male"
    assert body["identity_check"] == "online_self_declared"
    account = LearningAccount.objects.get(number=body["account_number"])
    assert LifelongLearningFile.objects.filter(account=account).exists()
    assert account.holder is not None
    assert account.holder.username == body["account_number"]
    assert list(account.transactions.values_list("kind", flat=True)) == ["account_opened"]


@pytest.mark.parametrize(
    ("id_type", "number", "birth_date"),
    [
        ("hmt_residence_permit", HONG_KONG, "1990-01-01"),
        ("foreign_permanent_resident", FOREIGN_18, "1980-01-01"),
        ("foreign_permanent_resident", FOREIGN_15, "1980-08-01"),
    ],
)
def test_residents_of_hong_kong_macao_taiwan_and_foreigners_register_too(
    api_client, id_type, number, birth_date
):
    response = register(api_client, id_type=id_type, id_number=number)

    assert response.status_code == 201, response.json()
    assert response.json()["birth_date"] == birth_date


def test_the_identity_number_is_stored_only_encrypted(api_client):
    register(api_client)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_learningaccount")
        row = cursor.fetchone()
    assert not any(RESIDENT in str(value) for value in row)
    account = LearningAccount.objects.get()
    assert crypto.decrypt(account.id_number_encrypted) == RESIDENT
    assert account.id_number_index == crypto.blind_index(RESIDENT)


def test_one_person_gets_one_account_however_the_number_is_typed(api_client):
    assert register(api_client).status_code == 201

    again = register(
        api_client,
        id_number=" " + RESIDENT.lower() + " ",
        phone="13900000000",
        email="other@example.cn",
    )

    assert again.status_code == 400
    assert "already exists" in again.json()["id_number"][0]
    assert LearningAccount.objects.count() == User.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id_number": RESIDENT[:-1] + ("0" if RESIDENT[-1] != "0" else "1")}, "id_number"),
        ({"id_type": "passport"}, "id_type"),
        ({"phone": "12345"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "12345678901"}, "password"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_is_refused_field_by_field_and_writes_nothing(api_client, overrides, field):
    response = register(api_client, **overrides)

    assert response.status_code == 400
    assert field in response.json()
    assert not User.objects.exists()
    assert not LearningAccount.objects.exists()


def test_an_email_or_phone_already_used_is_named(api_client, learner):
    response = register(api_client, email=learner.email.upper(), phone=learner.phone)

    assert response.status_code == 400
    assert set(response.json()) == {"email", "phone"}


def test_the_learner_signs_in_with_the_account_number_in_any_case(api_client):
    number = register(api_client).json()["account_number"]

    assert token_for(api_client, number.lower(), PASSWORD)
    assert token_for(api_client, "13912345678", PASSWORD)


def test_me_shows_the_masked_number_and_the_ledger_totals(api_client):
    number = register(api_client).json()["account_number"]
    account = LearningAccount.objects.get(number=number)
    LedgerEntry.objects.create(
        account=account, hours=Decimal("36"), credits=Decimal("2"), cause_type="test", cause_id="1"
    )
    LedgerEntry.objects.create(
        account=account,
        hours=Decimal("12.5"),
        credits=Decimal("0.5"),
        cause_type="test",
        cause_id="2",
    )
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, number, PASSWORD))

    response = api_client.get("/api/v1/accounts/me/")

    body = response.json()
    assert response.status_code == 200
    assert body["account_number"] == number
    assert body["hours"] == "48.5"
    assert body["credits"] == "2.5"
    assert RESIDENT not in response.content.decode()
    assert body["id_number_masked"].count("*") == 11


def test_me_counts_each_book_apart_and_shows_zero_for_an_empty_ledger(api_client):
    number = register(api_client).json()["account_number"]
    account = LearningAccount.objects.get(number=number)
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, number, PASSWORD))

    empty = api_client.get("/api/v1/accounts/me/").json()
    LedgerEntry.objects.create(
        account=account,
        book=LedgerEntry.Book.TRANSFERRED,
        credits=Decimal("3"),
        cause_type="test",
        cause_id="1",
    )
    LedgerEntry.objects.create(
        account=account, hours=Decimal("0.3"), credits=Decimal("0.1"), cause_type="t", cause_id="2"
    )
    LedgerEntry.objects.create(
        account=account, hours=Decimal("0.3"), credits=Decimal("0.2"), cause_type="t", cause_id="3"
    )
    after = api_client.get("/api/v1/accounts/me/").json()

    assert (empty["hours"], empty["credits"], empty["transferred_credits"]) == ("0.0", "0.0", "0.0")
    assert (after["hours"], after["credits"], after["transferred_credits"]) == ("0.6", "0.3", "3.0")
    assert after["account_number"] == number


def test_me_is_for_learners(api_client, reviewer):
    assert api_client.get("/api/v1/accounts/me/").status_code == 401
    api_client.force_authenticate(reviewer)
    assert api_client.get("/api/v1/accounts/me/").status_code == 403


def test_the_ledger_and_the_history_are_append_only(api_client):
    register(api_client)
    account = LearningAccount.objects.get()
    entry = LedgerEntry.objects.create(
        account=account, hours=1, credits=0, cause_type="test", cause_id="1"
    )
    event = BusinessTransaction.objects.get()

    for row in (entry, event):
        with pytest.raises(ValueError, match="append-only"):
            row.save()
        with pytest.raises(ValueError, match="append-only"):
            row.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            account=account, hours=0, credits=0, cause_type="test", cause_id="2"
        )


@pytest.mark.django_db(transaction=True)
def test_two_registrations_of_one_identity_at_the_same_moment_open_one_account(postgres):
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            personal_account_register(
                name="并发",
                id_type="resident_id",
                id_number=RESIDENT,
                phone=f"1391234567{n}",
                email=f"race{n}@example.cn",
                password=PASSWORD,
            )
            outcomes.append("opened")
        except ValidationError as exc:
            outcomes.append(f"refused: {exc.error_dict['id_number'][0].code}")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes)[0] == "opened"
    assert sorted(outcomes)[1] == "refused: duplicate"
    assert LearningAccount.objects.count() == 1
    assert User.objects.count() == 1


def test_the_learner_changes_contact_details_with_the_password_and_it_is_in_the_history(
    api_client,
):
    number = register(api_client).json()["account_number"]
    account = LearningAccount.objects.get(number=number)
    api_client.force_authenticate(account.holder)

    wrong = api_client.patch(
        "/api/v1/accounts/me/",
        {"email": "new@example.cn", "phone": "13912345678", "password": "nope"},
    )
    right = api_client.patch(
        "/api/v1/accounts/me/",
        {"email": "new@example.cn", "phone": "13912345678", "password": PASSWORD},
    )

    assert wrong.status_code == 400
    assert "password" in wrong.json()
    assert right.json()["email"] == "new@example.cn"
    change = account.transactions.get(kind="details_changed")
    assert change.details == {"changed": ["email"]}
    assert "new@example.cn" not in str(change.details)
    assert token_for(api_client, "new@example.cn", PASSWORD)


def test_contact_details_taken_by_someone_else_are_refused_on_the_page(client, learner):
    account = personal_account_register(
        name="邵涛涛",
        id_type="resident_id",
        id_number=RESIDENT,
        phone="13912345678",
        email="shao@example.cn",
        password=PASSWORD,
    )
    holder = User.objects.get(learning_account=account)
    client.force_login(holder)

    response = client.post(
        "/account/details/",
        {"email": learner.email, "phone": learner.phone, "password": PASSWORD},
    )

    page = response.content.decode()
    assert 'id="id_email_errors"' in page
    assert 'id="id_phone_errors"' in page
    holder.refresh_from_db()
    assert holder.email == "shao@example.cn"


@pytest.mark.django_db(transaction=True)
def test_postgresql_itself_refuses_to_change_or_delete_a_ledger_entry(postgres, api_client):
    from django.db import connection

    register(api_client)
    account = LearningAccount.objects.get()
    entry = LedgerEntry.objects.create(
        account=account, hours=3, credits=1, cause_type="test", cause_id="1"
    )
    for sql in (
        "UPDATE accounts_ledgerentry SET hours = 300 WHERE id = %s",
        "DELETE FROM accounts_ledgerentry WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    assert LedgerEntry.objects.filter(pk=entry.pk, hours=3).exists()


def test_a_correction_is_a_reversing_entry_booked_once(api_client):
    from accounts.services import account_totals, ledger_reverse

    register(api_client)
    account = LearningAccount.objects.get()
    staff = User.objects.create_user(username="corrector", role="management_admin")
    entry = LedgerEntry.objects.create(
        account=account, hours=40, credits=2, cause_type="accreditation_decision", cause_id="7"
    )
    with pytest.raises(ValidationError) as exc:
        ledger_reverse(entry=entry, actor=staff, reason=" ")
    assert "reason" in exc.value.message_dict

    reversal = ledger_reverse(entry=entry, actor=staff, reason="证书被注销")

    assert (reversal.hours, reversal.credits) == (-40, -2)
    assert (reversal.cause_type, reversal.cause_id) == ("reversal", str(entry.pk))
    assert account_totals(account=account) == (0, 0)
    assert LedgerEntry.objects.filter(pk=entry.pk, hours=40).exists()  # the original stays
    for again in (entry, reversal):
        with pytest.raises(ValidationError):
            ledger_reverse(entry=again, actor=staff, reason="再次")
    assert LedgerEntry.objects.count() == 2
    assert BusinessTransaction.objects.filter(kind="ledger_corrected").count() == 1
