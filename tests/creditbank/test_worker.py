"""A real Celery worker and beat, started as the Procfile starts them, against the broker the
settings choose: the embedded file-system broker without REDIS_URL, Redis with it.

One worker and one beat per broker prove both things (starting them is most of the time): the
worker takes the tasks sent to the broker, and runs the one beat schedules through it."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken

from tests.accounts.factories import UserFactory
from tests.processes import brokers, process_env, resolve_broker, sender, start, stop_later


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", brokers())
def test_a_worker_takes_tasks_from_the_broker_and_runs_the_token_purge_beat_schedules(
    broker, request, tmp_path
):
    redis_url = resolve_broker(broker, request)
    user = UserFactory()
    expired, _ = AuthToken.objects.create(user=user)
    AuthToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(minutes=1))
    current, _ = AuthToken.objects.create(user=user)
    env = process_env(tmp_path, redis_url, TOKEN_PURGE_INTERVAL_SECONDS="1")
    worker = start(
        ["worker", "--loglevel", "INFO", "--concurrency", "1", "--hostname", f"test-{broker}@%h"],
        env,
        tmp_path / "worker.log",
    )
    beat = start(["beat", "--loglevel", "INFO"], env, tmp_path / "beat.log")

    def logs() -> str:
        return (tmp_path / "worker.log").read_text() + (tmp_path / "beat.log").read_text()

    try:
        client = sender(tmp_path, redis_url)
        result = client.send_task("creditbank.tasks.ping")
        assert result.get(timeout=60) == "pong", logs()
        # The periodic re-send of lost export builds is a task the worker runs (it was once a
        # plain function: beat sent it every 5 minutes and the worker refused it as unknown).
        result = client.send_task("creditbank.tasks.resend_stale_data_exports")
        assert result.get(timeout=60) == 0, logs()

        deadline = time.monotonic() + 60
        while AuthToken.objects.filter(pk=expired.pk).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not AuthToken.objects.filter(pk=expired.pk).exists(), logs()
        assert AuthToken.objects.filter(pk=current.pk).exists()
        # Purged by the task beat sent, not by anything this test sent.
        assert "accounts.tasks.purge_expired_tokens" in (tmp_path / "beat.log").read_text()
    finally:
        # Nothing of theirs is read once they are told to stop.
        stop_later(beat, worker)
