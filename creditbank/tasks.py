from celery import shared_task
from celery.app.task import Task


@shared_task
def ping() -> str:
    """Answers "pong": lets operators and tests see that a worker takes tasks from the broker."""
    return "pong"


EXPORT_RETRIES = 3


@shared_task(bind=True, max_retries=EXPORT_RETRIES, acks_late=True)
def build_data_export(self: Task, export_id: int) -> str:
    """Build a learner's data export; retried with backoff, marked failed after the last try."""
    from .export import data_export_build, data_export_fail

    try:
        return data_export_build(export_id=export_id).state
    except Exception as exc:
        if self.request.retries >= EXPORT_RETRIES:
            data_export_fail(export_id=export_id)
            raise
        raise self.retry(exc=exc, countdown=min(600, 30 * 2**self.request.retries)) from exc


@shared_task
def purge_expired_data_exports() -> int:
    """Delete expired export ZIPs from storage (beat runs it hourly); idempotent."""
    from .export import data_exports_purge_expired

    return data_exports_purge_expired()


@shared_task
def resend_stale_data_exports() -> int:
    """Periodic (beat): exports whose build task was lost are queued again."""
    from .export import data_exports_resend_stale

    return data_exports_resend_stale()


@shared_task
def partitions_ahead_task() -> list[str]:
    """Periodic (beat, daily): the history tables' partitions are made ahead of the rows."""
    from .partitions import partitions_ahead_create

    return partitions_ahead_create()
