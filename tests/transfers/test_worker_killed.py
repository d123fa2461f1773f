"""A real Celery worker SIGKILLed in the middle of rendering a certificate. ``make faults`` does
this ten times against the whole stack (gunicorn, beat, its own PostgreSQL and Redis); this is
one short round of it in the suite."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from celery.result import AsyncResult
from django.db import connection

from accounts.models import Notification, Role
from tests.accounts.factories import CentreFactory, PersonalAccountFactory, UserFactory
from tests.accreditation.factories import accredited_outcome, catalogue_version
from tests.processes import CELERY, ROOT, database_url, process_env, resolve_broker, sender
from transfers.models import Certificate

WORKER_NAME = "test-killed-worker"


def worker_start(env: dict[str, str], queue: str, log: Path) -> subprocess.Popen[bytes]:
    """A prefork worker in a process group of its own, so that a kill takes its pool child
    (which runs the task) with it, as when its container dies. It does not wait for its
    neighbours at start (mingle): it takes only its own queue."""
    return subprocess.Popen(
        [
            *[CELERY, "--app", "creditbank", "worker", "--loglevel", "INFO", "--concurrency", "1"],
            *["--queues", queue, "--hostname", f"{queue}-{time.monotonic_ns()}@%h"],
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def worker_is_rendering() -> bool:
    """The worker's transaction holds the certificate's row lock: it is inside the render."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.relation = 'transfers_certificate'::regclass AND l.mode = 'RowShareLock' "
            "AND a.application_name = %s",
            [WORKER_NAME],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def wait_until(check, seconds: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_rendering_leaves_one_certificate_and_one_file_after_redelivery(
    postgres, request, tmp_path, learner
):
    account = PersonalAccountFactory(holder=learner)
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    accredited_outcome(account, catalogue_version(), decider)
    # Requested as certificate_request stores it; its task goes to the real worker below.
    certificate = Certificate.objects.create(
        account=account, kind="transcript", serial=secrets.token_urlsafe(18), requested_by=learner
    )

    redis_url = resolve_broker("redis", request)
    env = process_env(tmp_path, redis_url)
    env["DATABASE_URL"] = database_url() + f"?application_name={WORKER_NAME}"
    run = uuid.uuid4().hex[:8]  # nothing left over reaches another run
    queue, again = f"killed-render-{run}", f"render-again-{run}"
    log = tmp_path / "worker.log"
    broker = sender(tmp_path, redis_url)

    def render(queue: str) -> AsyncResult:
        return broker.send_task(
            "transfers.tasks.render_certificate",
            kwargs={"certificate_id": certificate.pk},
            queue=queue,
        )

    worker = worker_start(env, queue, log)
    # The worker that takes over starts meanwhile (starting is most of the time), on a queue
    # of its own: it takes nothing until the first is dead.
    successor = worker_start(env, again, tmp_path / "successor.log")

    def logs() -> str:
        return log.read_text() + (tmp_path / "successor.log").read_text()

    try:
        render(queue)
        assert wait_until(worker_is_rendering, 60), logs()
        kill_group(worker)
        certificate.refresh_from_db()
        assert certificate.state == Certificate.State.REQUESTED  # killed before its commit

        # The message of a task that a killed worker held is delivered again (acks_late, after
        # the visibility timeout); sent again here, to the other worker, so as not to wait.
        rendered = render(again)
        assert wait_until(
            lambda: Certificate.objects.filter(pk=certificate.pk, state="issued").exists(),
            60,
            0.2,
        ), logs()
        # Stopped only once the task has returned: a SIGTERM between the server's commit and
        # the worker hearing of it would otherwise fail a render that did commit.
        assert rendered.get(timeout=60) == "issued", logs()
    finally:
        kill_group(worker)
        kill_group(successor, signal.SIGTERM)

    certificate.refresh_from_db()
    stored = sorted((tmp_path / "media" / "certificates").glob("*"))
    assert [p.name for p in stored] == [Path(str(certificate.pdf.name)).name]
    assert Certificate.objects.count() == 1
    assert Notification.objects.filter(kind=Notification.Kind.CERTIFICATE_READY).count() == 1
