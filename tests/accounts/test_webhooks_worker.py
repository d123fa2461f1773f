"""Webhooks are never lost when the receiver is down (issue 22, Done when): a real Celery worker
and beat send them to a real HTTP receiver, which checks every signature with the Standard
Webhooks reference library; the receiver is stopped mid-stream, and once it is back every event
arrives (at least once: the receiver deduplicates by ``webhook-id``).

On Redis, the broker of production, only: what is proved here (retries, the outbox sweep, the
receiver's deduplication) does not depend on the broker, and tests/creditbank/test_worker.py
proves that a worker and beat work with the embedded broker as well."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.db import transaction

from accounts.models import WebhookDelivery, WebhookEventType
from accounts.services import webhook_event_record
from accounts.webhooks import services as webhook_services
from accounts.webhooks.services import webhook_subscription_create
from tests.accounts.webhook_receiver import Received, Receiver
from tests.processes import process_env, resolve_broker, sender, start, stop_later

EVENTS = 4  # per phase


def wait_for(condition: Callable[[], bool], seconds: float, logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(logs())


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_every_event_reaches_a_receiver_that_was_down_for_a_while(
    request, tmp_path, monkeypatch, institution_admin
):
    redis_url = resolve_broker("redis", request)
    received = Received(secret="")
    receiver = Receiver(received)
    port = receiver.port
    subscription, received.secret = webhook_subscription_create(
        institution=institution_admin.institution,
        actor=institution_admin,
        url=receiver.url,
        event_types=list(WebhookEventType.values),
    )
    env = process_env(
        tmp_path,
        redis_url,
        WEBHOOKS_ALLOW_LOCAL_HTTP="1",
        WEBHOOK_RETRY_BASE_SECONDS="1",
        WEBHOOK_RETRY_CAP_SECONDS="2",
        WEBHOOK_MAX_ATTEMPTS="1000",
        WEBHOOK_TIMEOUT_SECONDS="2",
        WEBHOOK_SWEEP_INTERVAL_SECONDS="2",
    )
    # As in production: after the commit, the task goes to the broker the worker reads (the
    # suite's own Celery runs tasks eagerly, in this process, which would prove nothing).
    client = sender(tmp_path, redis_url)
    monkeypatch.setattr(
        webhook_services,
        "_enqueue",
        lambda message_id: transaction.on_commit(
            lambda: client.send_task(
                "accounts.tasks.deliver_webhook", kwargs={"message_id": message_id}
            )
        ),
    )
    worker = start(
        ["worker", "--loglevel", "INFO", "--concurrency", "2", "--hostname", "hooks@%h"],
        env,
        tmp_path / "worker.log",
    )
    beat = start(["beat", "--loglevel", "INFO"], env, tmp_path / "beat.log")

    def logs() -> str:
        rows = list(WebhookDelivery.objects.values_list("message_id", "status", "attempts"))
        return (
            f"{rows}\nreceived {sorted(received.messages)} refused {received.refused}\n"
            + (tmp_path / "worker.log").read_text()[-6000:]
        )

    def record(n: int) -> list[str]:
        ids = []
        for i in range(n):
            with transaction.atomic():
                [delivery] = webhook_event_record(
                    institution_id=institution_admin.institution_id,
                    event_type=WebhookEventType.TRANSFER_APPLIED,
                    data={"transfer": i},
                )
            ids.append(delivery.message_id)
        return ids

    try:
        first = record(EVENTS)
        wait_for(lambda: set(first) <= set(received.messages), 90, logs)

        receiver.stop()  # the institution's system goes down
        second = record(EVENTS)
        # Each of them is tried and fails (connection refused), and stays pending.
        wait_for(
            lambda: (
                WebhookDelivery.objects.filter(
                    message_id__in=second, status="pending", attempts__gte=1
                ).count()
                == EVENTS
            ),
            90,
            logs,
        )
        third = record(EVENTS)  # more while it is down

        receiver = Receiver(received, port=port)  # back, on the same address
        everything = set(first + second + third)
        wait_for(lambda: everything <= set(received.messages), 120, logs)
        wait_for(
            lambda: WebhookDelivery.objects.filter(status="delivered").count() == len(everything),
            30,
            logs,
        )

        assert received.refused == []  # every signature verified by the reference library
        assert set(received.messages) == everything
        # At least once, never a different id: every post carried one of our ids.
        assert {post["webhook-id"] for post in received.posts} == everything
        assert WebhookDelivery.objects.filter(subscription=subscription).count() == 3 * EVENTS
        assert not WebhookDelivery.objects.filter(message_id__in=second, attempts__lt=2).exists()
    finally:
        # Nothing of theirs is read once they are told to stop.
        stop_later(beat, worker)
        receiver.stop()
