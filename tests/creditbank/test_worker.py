"""A real Celery worker and beat, started as the Procfile starts them, against the broker the
settings choose: the embedded file-system broker without REDIS_URL, Redis with it."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken

from tests.accounts.factories import UserFactory
from tests.processes import brokers, process_env, resolve_broker, sender, start, stop


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", brokers())
def test_a_worker_takes_tasks_from_the_broker(broker, request, tmp_path):
    redis_url = resolve_broker(broker, request)
    worker = start(
        ["worker", "--loglevel", "INFO", "--concurrency", "1", "--hostname", f"test-{broker}@%h"],
        process_env(tmp_path, redis_url),
        tmp_path / "worker.log",
    )
    try:
        client = sender(tmp_path, redis_url)
        result = client.send_task("creditbank.tasks.ping")
        assert result.get(timeout=60) == "pong", (tmp_path / "worker.log").read_text()
        # The periodic re-send of lost export builds is a task the worker runs (it was once a
        # plain function: beat sent it every 5 minutes and the worker refused it as unknown).
        result = client.send_task("creditbank.tasks.resend_stale_data_exports")
        assert result.get(timeout=60) == 0, (tmp_path / "worker.log").read_text()
    finally:
        stop(worker)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", brokers())
def test_beat_schedules_the_token_purge_and_the_worker_runs_it(broker, request, tmp_path):
    redis_url = resolve_broker(broker, request)
    user = UserFactory()
    expired, _ = AuthToken.objects.create(user=user)
    AuthToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(minutes=1))
    current, _ = AuthToken.objects.create(user=user)
    env = process_env(tmp_path, redis_url, TOKEN_PURGE_INTERVAL_SECONDS="1")
    worker = start(
        ["worker", "--loglevel", "INFO", "--concurrency", "1", "--hostname", f"beat-{broker}@%h"],
        env,
        tmp_path / "worker.log",
    )
    beat = start(["beat", "--loglevel", "INFO"], env, tmp_path / "beat.log")
    try:
        deadline = time.monotonic() + 60
        while AuthToken.objects.filter(pk=expired.pk).exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        logs = (tmp_path / "worker.log").read_text() + (tmp_path / "beat.log").read_text()
        assert not AuthToken.objects.filter(pk=expired.pk).exists(), logs
        assert AuthToken.objects.filter(pk=current.pk).exists()
    finally:
        stop(beat, worker)
