"""Every entry of beat's schedule names a task the worker has registered: a name the worker
does not know is sent every period and refused each time ("Received unregistered task")."""

from django.conf import settings

from creditbank.celery import app


def registered_tasks() -> set[str]:
    # What the worker does as it starts: import every installed app's tasks module.
    app.loader.import_default_modules()
    return set(app.tasks)


def test_every_beat_entry_names_a_registered_task():
    registered = registered_tasks()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule, "beat has nothing to schedule"
    unknown = {
        name: entry["task"] for name, entry in schedule.items() if entry["task"] not in registered
    }
    assert unknown == {}


def test_the_lost_export_builds_are_sent_again_by_beat():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "creditbank.tasks.resend_stale_data_exports" in tasks
