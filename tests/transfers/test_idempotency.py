"""POST /api/v1/transfers/ honours the Idempotency-Key header: a retry gets the first answer and
creates nothing; the same key for another request is refused; a key in progress answers 409."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from tests.transfers.helpers import body
from transfers.idempotency import _lock_id, fingerprint, idempotency_keys_purge
from transfers.models import IdempotencyKey, TransferApplication
from transfers.tasks import purge_expired_idempotency_keys


@pytest.fixture
def world(transfer_world):
    return transfer_world


URL = "/api/v1/transfers/"


def post(client: APIClient, data: dict[str, Any], key: str):
    return client.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_a_retry_returns_the_first_answer_and_creates_nothing(api_client, world, learner):
    api_client.force_authenticate(learner)

    first = post(api_client, body(world), "key-1")
    retry = post(api_client, body(world), "key-1")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert TransferApplication.objects.count() == 1


@pytest.mark.django_db
def test_without_the_header_a_second_request_is_a_new_request(api_client, world, learner):
    api_client.force_authenticate(learner)

    first = api_client.post(URL, body(world), format="json")
    second = api_client.post(URL, body(world), format="json")

    assert first.status_code == 201
    # The outcome is reserved by the first: the second is refused, not replayed.
    assert second.status_code == 400
    assert TransferApplication.objects.count() == 1


@pytest.mark.django_db
def test_a_refusal_is_not_replayed_so_the_corrected_request_may_reuse_the_key(
    api_client, world, learner
):
    # Issue 22: a 400 used to be stored with the key, and the corrected request was then
    # refused with 422 ("used for a different request").
    api_client.force_authenticate(learner)
    bad = {"programme": world["programme"].pk, "items": []}

    first = post(api_client, bad, "key-bad")
    corrected = post(api_client, body(world), "key-bad")

    assert first.status_code == 400
    assert "Idempotent-Replayed" not in first
    assert corrected.status_code == 201
    assert TransferApplication.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused_with_422(api_client, world, learner):
    api_client.force_authenticate(learner)
    post(api_client, body(world), "key-2")

    other = post(api_client, body(world, course=world["courses"][1]), "key-2")

    assert other.status_code == 422
    assert "idempotency_key" in other.json()
    assert TransferApplication.objects.count() == 1


@contextmanager
def first_request_running(user, key: str) -> Iterator[None]:
    """The first request with ``key`` is running in another process: on PostgreSQL its
    transaction holds the key's advisory lock (on another connection) for as long as it runs."""
    if connection.vendor != "postgresql":
        yield
        return
    held, finished = threading.Event(), threading.Event()

    def run() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(user.pk, key)])
                held.set()
                finished.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert held.wait(30)
    try:
        yield
    finally:
        finished.set()
        thread.join()


@pytest.mark.django_db
def test_a_key_still_in_progress_answers_409(api_client, world, learner):
    api_client.force_authenticate(learner)
    IdempotencyKey.objects.create(
        user=learner, key="key-3", fingerprint=fingerprint("POST", URL, body(world))
    )

    with first_request_running(learner, "key-3"):
        busy = post(api_client, body(world), "key-3")

    assert busy.status_code == 409
    assert not TransferApplication.objects.exists()


@pytest.mark.django_db
def test_a_key_left_in_progress_by_a_request_that_died_is_taken_over_at_once(
    postgres, api_client, world, learner
):
    """A key left in progress (the first request's process was killed while it ran, under a
    version that committed the claim apart; now the claim goes with its transaction) that no
    request holds: the retry runs now instead of getting 409 for ten minutes."""
    api_client.force_authenticate(learner)
    IdempotencyKey.objects.create(
        user=learner, key="key-4", fingerprint=fingerprint("POST", URL, body(world))
    )

    retry = post(api_client, body(world), "key-4")

    assert retry.status_code == 201, retry.content
    assert TransferApplication.objects.count() == 1
    assert post(api_client, body(world), "key-4")["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_keys_are_per_user_and_expire_after_a_day(api_client, world, learner):
    api_client.force_authenticate(learner)
    IdempotencyKey.objects.create(
        user=learner,
        key="old",
        fingerprint="x" * 64,
        state="done",
        response_status=201,
        response_body={},
        created_at=timezone.now() - timedelta(hours=25),
    )

    fresh = post(api_client, body(world), "old")

    assert fresh.status_code == 201  # the expired key no longer binds
    assert idempotency_keys_purge() == 0
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_expired_idempotency_keys.delay().get() == 1
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_requests_with_one_key_create_exactly_one_transfer(
    postgres, world, learner
):
    data = body(world)
    start = threading.Barrier(20)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
            client.force_authenticate(learner)
            start.wait()
            response = post(client, data, "same-key")
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(learner)
    retry = post(client, data, "same-key")

    statuses = sorted(status for status, _body in answers)
    assert len(answers) == 20
    assert set(statuses) <= {201, 409}, statuses
    assert TransferApplication.objects.count() == 1
    created = [answer for status, answer in answers if status == 201]
    assert created
    assert all(answer == created[0] for answer in created)
    assert retry.status_code == 201
    assert retry.json() == created[0]


def test_a_stored_fingerprint_cannot_be_recomputed_without_the_secret_key(settings):
    # Bodies hold passwords and identity numbers: an unkeyed hash kept for a day would let
    # anyone with a copy of the table guess them offline.
    import hashlib

    body_with_password = {"password": "Correct-horse-9"}
    text = 'POST\n/api/v1/accounts/me/closure/\n{"password":"Correct-horse-9"}'
    stored = fingerprint("POST", "/api/v1/accounts/me/closure/", body_with_password)

    assert stored != hashlib.sha256(text.encode()).hexdigest()
    settings.SECRET_KEY = "another-secret-key-of-another-deployment-0123456789"
    assert fingerprint("POST", "/api/v1/accounts/me/closure/", body_with_password) != stored


def test_an_uploaded_file_counts_by_its_content_not_only_its_name():
    from django.core.files.uploadedfile import SimpleUploadedFile

    def with_file(content: bytes) -> str:
        upload = SimpleUploadedFile("members.csv", content, content_type="text/csv")
        return fingerprint("POST", "/api/v1/institutions/1/members/import/", {"file": [upload]})

    assert with_file(b"name,phone\n\xe5\xbc\xa0,13900000001\n") == with_file(
        b"name,phone\n\xe5\xbc\xa0,13900000001\n"
    )
    assert with_file(b"name,phone\n\xe5\xbc\xa0,13900000001\n") != with_file(
        b"name,phone\n\xe6\x9d\x8e,13900000002\n"
    )


@pytest.mark.django_db
def test_a_request_that_fails_half_way_leaves_nothing_and_its_retry_runs(
    api_client, world, learner, monkeypatch
):
    # The transfer is written, then the answer cannot be made: nothing of it stays, the key
    # neither (no 409 for the retry), whatever connection the next request gets.
    api_client.force_authenticate(learner)

    def broken(**kwargs: Any):
        raise RuntimeError("the answer could not be made")

    with monkeypatch.context() as patched:
        patched.setattr("transfers.transfer_api.transfers_visible_to", broken)
        with pytest.raises(RuntimeError):
            post(api_client, body(world), "key-5")

    assert not TransferApplication.objects.exists()
    assert not IdempotencyKey.objects.exists()
    retry = post(api_client, body(world), "key-5")
    assert retry.status_code == 201, retry.content
    assert TransferApplication.objects.count() == 1
