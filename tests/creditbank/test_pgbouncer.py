"""The portal behind PgBouncer in transaction mode (docs/decisions/0029): .ci/run runs the whole
suite through it (.ci/pgbouncer, DATABASE_PGBOUNCER=1); these tests say that it did, and that an
Idempotency-Key's lock, the one lock a request holds across its work, ends with the request's
transaction instead of staying on a pooled server connection. Without PgBouncer they skip."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import connection, transaction
from psycopg.rows import dict_row
from rest_framework.test import APIClient

from tests import pooler
from tests.transfers.helpers import body
from transfers.idempotency import _lock_id
from transfers.models import TransferApplication

pytestmark = pytest.mark.postgres

URL = "/api/v1/transfers/"


@pytest.fixture
def pgbouncer(postgres) -> None:
    if not pooler.behind_pgbouncer():
        pytest.skip(
            "needs PgBouncer in transaction mode: DATABASE_URL through it and "
            "DATABASE_PGBOUNCER=1 (.ci/pgbouncer starts one, as .ci/run does)"
        )


def pools() -> dict[str, str]:
    """PgBouncer's admin console (SHOW POOLS): each database's pool mode."""
    with psycopg.connect(pooler.admin_url("pgbouncer"), autocommit=True) as admin:
        rows = admin.cursor(row_factory=dict_row).execute("SHOW POOLS").fetchall()
    return {row["database"]: row["pool_mode"] for row in rows}


@pytest.mark.django_db
def test_the_suite_reaches_its_database_through_pgbouncer_in_transaction_mode(pgbouncer):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]

    assert pools()[database] == "transaction"


def advisory_locks_held() -> int:
    """Advisory locks any server connection to this database holds (PgBouncer's pooled ones
    included)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND d.datname = current_database()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_request_holding_a_key_keeps_its_retry_out_and_leaves_no_lock_behind(
    pgbouncer, transfer_world, learner
):
    # transaction=True: each of the test's statements, as each request's transaction, goes to
    # whichever server connection PgBouncer has free, as in production.
    client = APIClient()
    client.force_authenticate(learner)
    held, finished = threading.Event(), threading.Event()

    def first_request() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(learner.pk, "k")])
                held.set()
                finished.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    assert held.wait(30)
    try:
        busy = client.post(URL, body(transfer_world), format="json", HTTP_IDEMPOTENCY_KEY="k")
    finally:
        finished.set()
        thread.join()
    done = client.post(URL, body(transfer_world), format="json", HTTP_IDEMPOTENCY_KEY="k")
    again = client.post(URL, body(transfer_world), format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert busy.status_code == 409
    assert done.status_code == 201, done.content
    assert again["Idempotent-Replayed"] == "true"
    assert TransferApplication.objects.count() == 1
    assert advisory_locks_held() == 0
