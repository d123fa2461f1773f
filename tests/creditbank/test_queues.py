"""Queues per kind of work (ADR 0025): every task is routed by name, every queue has a worker in
the deployment, and a slow export on its queue does not hold up a reminder on another."""

import datetime
import fnmatch
import shlex
import time
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from accounts.models import Notification
from accreditation import calendar
from creditbank.celery import app
from creditbank.models import DataExport
from tests.accounts.factories import PersonalAccountFactory
from tests.accreditation.factories import ApplicationFactory
from tests.processes import free_port, process_env, sender, start, start_redis, stop_later

ROOT = Path(settings.BASE_DIR)
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def route_of(name: str) -> str | None:
    for pattern, route in settings.CELERY_TASK_ROUTES.items():
        if fnmatch.fnmatchcase(name, pattern):
            return route["queue"]
    return None


def queues_of(command: list[str]) -> list[str]:
    if "--queues" not in command:
        return []
    return command[command.index("--queues") + 1].split(",")


def test_every_task_a_worker_knows_is_routed_to_a_declared_queue_by_name():
    # What a worker does at start: import each installed app's tasks module.
    app.loader.import_default_modules()

    names = [str(name) for name in app.tasks]
    unrouted = [name for name in names if route_of(name) is None]
    assert unrouted == [], "add them to CELERY_TASK_ROUTES (and to ADR 0025's table)"
    queues = {route_of(name) for name in names}
    assert queues <= set(settings.TASK_QUEUE_NAMES)


def test_every_task_beat_sends_has_a_route():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert route_of(str(entry["task"])) is not None, entry["task"]


def test_the_reminders_the_exports_and_the_certificates_go_to_queues_of_their_own():
    assert route_of("accreditation.tasks.deadline_sweep_task") == "deadlines"
    assert route_of("accounts.tasks.send_notification_emails") == "notifications"
    assert route_of("accounts.tasks.send_sms_code") == "notifications"
    assert route_of("creditbank.tasks.build_data_export") == "exports"
    assert route_of("transfers.tasks.render_certificate") == "certificates"


def test_every_queue_has_a_worker_service_in_the_deployment_and_only_one():
    taken: list[str] = []
    for name, service in COMPOSE["services"].items():
        command = service.get("command") or []
        if command[:4] == ["celery", "--app", "creditbank", "worker"]:
            assert "healthcheck" in service, name
            assert queues_of(command), f"{name} would take every queue"
            taken += queues_of(command)
    assert sorted(taken) == sorted(settings.TASK_QUEUE_NAMES)


def test_the_development_worker_takes_every_queue():
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile.dev").read_text().splitlines() if line
    )
    command = shlex.split(procfile["worker"])
    # Without --queues a worker consumes every queue of CELERY_TASK_QUEUES.
    assert "worker" in command
    assert "--queues" not in command
    assert "-Q" not in command
    assert [queue.name for queue in settings.CELERY_TASK_QUEUES] == list(settings.TASK_QUEUE_NAMES)


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_slow_export_does_not_hold_up_a_reminder(tmp_path, centre, reviewer):
    """Two workers as the deployment runs them: one for exports, one for deadlines and
    notifications. An export that is still running does not keep the reminder from its
    reviewer's mailbox."""
    # A Redis of the test's own: a worker of another test taking every queue would otherwise
    # be free to take the export.
    port = free_port()
    redis_server = start_redis(port)
    redis_url = f"redis://127.0.0.1:{port}/0"
    export = DataExport.objects.create(account=PersonalAccountFactory())
    today = calendar.local_date(datetime.datetime.now(datetime.UTC))
    application = ApplicationFactory(
        centre=centre,
        assigned_to=reviewer,
        remind_on=today,
        due_on=today + datetime.timedelta(days=5),
    )
    gate = tmp_path / "gate"
    env = process_env(tmp_path, redis_url, SLOW_EXPORT_GATE=str(gate))
    # Neither waits for neighbours at start (mingle): the two know nothing of each other.
    worker = ["worker", "--loglevel", "INFO", "--concurrency", "1", "--without-mingle"]
    slowly = ["--include", "tests.creditbank.slow_export"]
    exports = start(
        [*worker, "--queues", "exports", "--hostname", "exports@%h", *slowly],
        env,
        tmp_path / "exports.log",
    )
    notices = start(
        [*worker, "--queues", "notifications,deadlines", "--hostname", "notices@%h"],
        env,
        tmp_path / "notices.log",
    )

    def logs() -> str:
        return "".join((tmp_path / f"{name}.log").read_text() for name in ("exports", "notices"))

    def wait_until(condition) -> bool:
        deadline = time.monotonic() + 60
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.2)
        return condition()

    def export_state() -> str:
        export.refresh_from_db()
        return export.state

    reminder = Notification.objects.filter(
        kind=Notification.Kind.DEADLINE_REMINDER, recipient=reviewer
    )
    try:
        client = sender(tmp_path, redis_url)
        client.send_task("creditbank.tasks.build_data_export", kwargs={"export_id": export.pk})
        assert wait_until(lambda: export_state() == DataExport.State.RUNNING), logs()

        client.send_task("accreditation.tasks.deadline_sweep_task")
        assert wait_until(lambda: reminder.filter(emailed_at__isnull=False).exists()), logs()
        assert reminder.get().key == f"application:{application.pk}:reminder:{application.due_on}"
        # The reminder reached the reviewer's mailbox while the export was still being made.
        assert export_state() == DataExport.State.RUNNING

        gate.touch()
        assert wait_until(lambda: export_state() == DataExport.State.READY), logs()
    finally:
        gate.touch()
        # Nothing of theirs is read once they are told to stop.
        stop_later(exports, notices, redis_server)
