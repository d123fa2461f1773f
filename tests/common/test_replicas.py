"""The read-replica router in one process (common/replicas.py): a replica alias that is a second
connection to the test database, so that where each query went can be counted. The real hot
standby is in tests/creditbank/test_read_replicas.py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import OperationalError, connections, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Centre
from common import replicas
from common.replicas import PIN_COOKIE, ReplicaSample, replica_lag_of, replica_reads
from tests.people import PASSWORD

REPLICA = "replica_1"


def routed_to(settings, database: dict) -> Iterator[str]:
    # Made from settings and then forgotten by them: Django's test case then takes it for a
    # connection made during the test (allowed), not for an alias it was not told about.
    connections.settings[REPLICA] = database
    connections[REPLICA]
    del connections.settings[REPLICA]
    settings.DATABASE_REPLICAS = [REPLICA]
    settings.DATABASE_ROUTERS = ["common.replicas.ReplicaRouter"]
    settings.REPLICA_LAG_SAMPLE_SECONDS = 0
    replicas.replica_health_forget()
    yield REPLICA
    connections[REPLICA].close()
    del connections[REPLICA]
    replicas.replica_health_forget()


@pytest.fixture
def replica(settings, transactional_db) -> Iterator[str]:
    """``replica_1``: the test database again, through a connection of its own, routed to.
    Transactional: inside the test case's transaction every read would go to the primary."""
    yield from routed_to(settings, {**connections.settings["default"]})


@pytest.fixture
def unreachable_replica(settings, transactional_db) -> Iterator[str]:
    database = {
        **connections.settings["default"],
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": "1",  # nothing listens there
        "NAME": "creditbank",
        "OPTIONS": {"connect_timeout": 1},
    }
    yield from routed_to(settings, database)


def test_without_replicas_every_read_goes_to_the_primary(db):
    with replica_reads():
        assert Centre.objects.all().db == "default"


def test_reads_go_to_the_replica_only_inside_replica_reads(replica):
    assert Centre.objects.all().db == "default"
    with replica_reads():
        assert Centre.objects.all().db == replica
    assert Centre.objects.all().db == "default"


def test_writes_locking_reads_and_reads_inside_a_transaction_go_to_the_primary(replica):
    with replica_reads():
        assert Centre.objects.select_for_update().db == "default"
        with transaction.atomic():
            assert Centre.objects.all().db == "default"
        centre = Centre(code="RR", name="只读测试中心", kind=Centre.Kind.MANAGEMENT)
        centre.save()
        assert centre._state.db == "default"


def test_a_replica_further_behind_than_the_bound_is_not_read(replica, settings, monkeypatch):
    settings.REPLICA_MAX_LAG_SECONDS = 10
    monkeypatch.setattr(replicas, "replica_lag_measure", lambda alias: 11.0)
    with replica_reads():
        assert Centre.objects.all().db == "default"
    monkeypatch.setattr(replicas, "replica_lag_measure", lambda alias: 9.0)
    with replica_reads():
        assert Centre.objects.all().db == replica


def standby(**reading) -> ReplicaSample:
    """A streaming standby that has replayed all it received and heard from its primary a
    second ago, unless told otherwise."""
    return ReplicaSample(
        **{
            "in_recovery": True,
            "replayed_all_received": True,
            "replay_age": 3600.0,  # an idle primary: the last commit is an hour old
            "receiver_status": "streaming",
            "receipt_age": 1.0,
            **reading,
        }
    )


def test_a_standby_cut_off_from_its_primary_counts_as_too_stale_however_caught_up_it_looks():
    # Nothing arrives, so what it received is all replayed: it looked caught up forever.
    assert replica_lag_of(standby(receiver_status=None, receipt_age=None)) == float("inf")
    assert replica_lag_of(standby(receiver_status="waiting", receipt_age=None)) == float("inf")
    # Still "streaming" but silent (the primary's host gone without closing the connection):
    # as stale as the last message it received.
    assert replica_lag_of(standby(receipt_age=3600.0)) == 3600.0
    # Its role cannot read pg_stat_wal_receiver: unknown, so not read.
    hidden = standby(receiver_status=None, receipt_age=None, receiver_hidden=True)
    assert replica_lag_of(hidden) == float("inf")


def test_a_streaming_standby_is_as_stale_as_its_last_message_or_its_replay_backlog():
    assert replica_lag_of(standby()) == 1.0  # idle and caught up: not an hour late
    assert replica_lag_of(standby(replayed_all_received=False, replay_age=42.0)) == 42.0
    unknown = standby(replayed_all_received=False, replay_age=None)
    assert replica_lag_of(unknown) == float("inf")
    primary = standby(in_recovery=False, receiver_status=None, receipt_age=None)
    assert replica_lag_of(primary) == 0.0


def test_reads_leave_a_replica_whose_wal_receiver_stopped_streaming(replica, monkeypatch):
    reading = standby()
    monkeypatch.setattr(replicas.connections[replica], "vendor", "postgresql")
    monkeypatch.setattr(replicas, "replica_sample", lambda alias: reading)
    with replica_reads():
        assert Centre.objects.all().db == replica
    reading = standby(receiver_status=None, receipt_age=None)
    with replica_reads():
        assert Centre.objects.all().db == "default"


def test_a_replica_hiding_its_wal_receiver_from_the_portal_is_not_read_and_says_why(
    replica, monkeypatch, caplog
):
    hidden = standby(receiver_status=None, receipt_age=None, receiver_hidden=True)
    monkeypatch.setattr(replicas.connections[replica], "vendor", "postgresql")
    monkeypatch.setattr(replicas, "replica_sample", lambda alias: hidden)
    for _ in range(3):
        with replica_reads():
            assert Centre.objects.all().db == "default"
    warnings = [r.getMessage() for r in caplog.records if "pg_read_all_stats" in r.getMessage()]
    assert len(warnings) == 1  # once per process, not every sample


def test_the_lag_is_measured_at_most_once_per_sample_period(replica, settings, monkeypatch):
    settings.REPLICA_LAG_SAMPLE_SECONDS = 60
    measured: list[str] = []

    def measure(alias: str) -> float:
        measured.append(alias)
        return 0.0

    monkeypatch.setattr(replicas, "replica_lag_measure", measure)
    with replica_reads():
        for _ in range(5):
            list(Centre.objects.all())
    assert measured == [replica]


def test_an_unreachable_replica_is_left_alone_and_the_primary_answers(unreachable_replica):
    with replica_reads():
        assert list(Centre.objects.filter(code="RR")) == []
        assert Centre.objects.all().db == "default"
    # Marked down for a while: not even a connection attempt for the next read.
    started = time.monotonic()
    with replica_reads():
        assert Centre.objects.all().db == "default"
    assert replicas._state(unreachable_replica).down_until > started


def test_the_public_centre_list_is_read_from_the_replica(replica):
    Centre.objects.create(code="RR", name="只读测试中心", kind=Centre.Kind.MANAGEMENT)
    client = APIClient()
    with (
        CaptureQueriesContext(connections[replica]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = client.get("/api/v1/centres/")
    assert response.status_code == 200
    assert "RR" in [c["code"] for c in response.json()]
    assert any("accounts_centre" in q["sql"] for q in on_replica.captured_queries)
    assert not any("accounts_centre" in q["sql"] for q in on_primary.captured_queries)


def centre_reads_on_replica(client: APIClient) -> int:
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        assert client.get("/api/v1/centres/").status_code == 200
    return sum("accounts_centre" in q["sql"] for q in on_replica.captured_queries)


def test_after_a_write_the_visitor_reads_the_primary_for_the_pin_period(
    replica, learner, settings, monkeypatch
):
    settings.REPLICA_PIN_SECONDS = 5
    client = APIClient()
    assert centre_reads_on_replica(client) == 1

    refused = client.post("/api/v1/auth/token/", {"username": "alice", "password": "wrong"})
    assert refused.status_code == 400
    assert PIN_COOKIE not in refused.cookies
    assert centre_reads_on_replica(client) == 1

    # A POST answered below 400 may have written: its answer pins the visitor to the primary.
    written = client.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD})
    assert written.status_code == 200
    assert written.cookies[PIN_COOKIE]["max-age"] == 5
    assert centre_reads_on_replica(client) == 0
    assert centre_reads_on_replica(APIClient()) == 1  # another visitor is not pinned

    # The cookie is signed with its time: kept past the period, it no longer pins.
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 6)
    assert centre_reads_on_replica(client) == 1


def test_a_replica_that_dies_mid_view_is_replaced_by_the_primary_without_an_error(
    replica, settings, monkeypatch
):
    settings.REPLICA_LAG_SAMPLE_SECONDS = 60  # the failure comes in the view, not the sample
    Centre.objects.create(code="RR", name="只读测试中心", kind=Centre.Kind.MANAGEMENT)

    def dies(execute, sql, params, many, context):
        # The server goes away: this query fails, and the connection no longer answers.
        monkeypatch.setattr(connections[replica], "is_usable", lambda: False)
        raise OperationalError("server closed the connection unexpectedly")

    client = APIClient()
    client.get("/api/v1/centres/")  # the replica is connected and sampled
    with connections[replica].execute_wrapper(dies):
        response = client.get("/api/v1/centres/")
    assert response.status_code == 200
    assert "RR" in [c["code"] for c in response.json()]
