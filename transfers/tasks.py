from dataclasses import asdict

from celery import shared_task
from celery.app.task import Task
from django.db import OperationalError

from .certificates.issuing import certificate_fail, certificate_render, certificates_resend_stale
from .idempotency import idempotency_keys_purge
from .preassessments import preassessment_sweep
from .recognitions import recognised_statuses_check

RENDER_RETRIES = 5


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def preassessment_sweep_task() -> dict[str, int]:
    """Periodic (beat, with the deadline sweep): reminders and escalations of pre-assessments
    not answered, and expiry of yes answers past their validity. A retry sends nothing twice."""
    return preassessment_sweep()._asdict()


@shared_task
def purge_expired_idempotency_keys() -> int:
    """Periodic (beat, hourly): forget Idempotency-Keys older than 24 hours."""
    return idempotency_keys_purge()


@shared_task
def resend_stale_certificate_requests() -> int:
    """Periodic (beat): certificates whose render task was lost are queued again."""
    return certificates_resend_stale()


@shared_task(bind=True, max_retries=RENDER_RETRIES, acks_late=True)
def render_certificate(self: Task, certificate_id: int) -> str:
    """Render, sign and store a requested certificate. A retry or a redelivered message makes
    nothing new (the service returns an issued certificate as it is); a failure stores nothing
    and is retried with backoff, and after the last retry the certificate is marked failed."""
    try:
        return certificate_render(certificate_id=certificate_id).state
    except Exception as exc:
        if self.request.retries >= RENDER_RETRIES:
            certificate_fail(certificate_id=certificate_id)
            raise
        raise self.retry(exc=exc, countdown=min(600, 30 * 2**self.request.retries)) from exc


@shared_task
def check_recognised_decisions() -> dict[str, int]:
    """Periodic (beat, hourly): reverse what other banks revoked of the decisions recognised
    here (:func:`transfers.recognitions.recognised_statuses_check`)."""
    return asdict(recognised_statuses_check())
