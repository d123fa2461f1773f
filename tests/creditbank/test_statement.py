"""The ledger statement: the learner's entries oldest first with running totals per book and
what caused each, on a page and over the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test.utils import CaptureQueriesContext

from accounts.models import LedgerEntry, Role
from creditbank.statement import ledger_statement
from tests.accounts.factories import PersonalAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(statement_history):
    return statement_history


def test_the_statement_has_running_totals_per_book_and_the_causes_in_one_query(history):
    with CaptureQueriesContext(connection) as queries:
        entries: list[Any] = list(ledger_statement(account=history["account"]))

    assert len(queries) == 1
    assert [(e.running_hours, e.running_credits, e.running_transferred) for e in entries] == [
        (Decimal("120"), Decimal("6"), Decimal("0")),
        (Decimal("240"), Decimal("12"), Decimal("0")),
        (Decimal("240"), Decimal("12"), Decimal("3")),
    ]
    assert entries[0].application_id == history["outcome"].applications.get().pk
    assert entries[2].transfer_id == history["transfer"].pk
    assert entries[2].application_id is None


def test_the_learner_reads_the_statement_page_with_links_to_the_causes(client, history, learner):
    client.force_login(learner)

    page = client.get("/file/statement/").content.decode()

    assert f'href="/transfers/{history["transfer"].pk}/"' in page
    application = history["outcome"].applications.get()
    assert f'href="/applications/{application.pk}/"' in page
    assert "240.0" in page


def test_the_api_pages_the_statement_with_running_totals(api_client, history, learner):
    api_client.force_authenticate(learner)

    first = api_client.get("/api/v1/accounts/me/ledger/?page_size=2").json()
    second = api_client.get("/api/v1/accounts/me/ledger/?page_size=2&page=2").json()

    assert first["count"] == 3
    assert [e["running_credits"] for e in first["results"]] == ["6.0", "12.0"]
    # The running totals carry over from the earlier page.
    assert second["results"][0]["running_hours"] == "240.0"
    assert second["results"][0]["running_transferred"] == "3.0"
    assert second["results"][0]["transfer"] == history["transfer"].pk
    assert second["results"][0]["link"] == f"/transfers/{history['transfer'].pk}/"


def test_another_learner_sees_only_their_own_empty_statement(api_client, history):
    other = UserFactory(role=Role.LEARNER)
    PersonalAccountFactory(holder=other)
    api_client.force_authenticate(other)

    assert api_client.get("/api/v1/accounts/me/ledger/").json()["count"] == 0


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_to_update_or_delete_a_ledger_entry(postgres, history):
    entry = LedgerEntry.objects.filter(book="transferred").get()

    for sql in (
        "UPDATE accounts_ledgerentry SET credits = 99 WHERE id = %s",
        "DELETE FROM accounts_ledgerentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])

    assert LedgerEntry.objects.get(pk=entry.pk).credits == Decimal("3")
