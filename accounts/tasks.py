import smtplib

from celery import shared_task
from django.conf import settings
from django.utils import timezone, translation

from accounts.core.models import User
from accounts.notifications.services import notification_emails_resend, notification_emails_send
from accounts.rights.services import account_closures_run
from accounts.serviceaccounts.services import service_calls_purge
from accounts.signin.services import (
    api_tokens_purge_expired,
    password_reset_emails_send,
    password_setup_email_send,
)
from accounts.signin.sms import SmsTransientError
from accounts.signin.sms_codes import sms_code_send, sms_codes_purge
from accounts.webhooks.models import WebhookDelivery
from accounts.webhooks.services import webhook_deliver, webhook_deliveries_resend


@shared_task
def purge_expired_tokens() -> int:
    """Periodic (beat): expired API tokens (knox's and the service accounts'), SMS codes
    expired for a day, and service account calls beyond their log's bounds are removed so that
    the tables stay small."""
    return api_tokens_purge_expired() + sms_codes_purge() + service_calls_purge()


@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=10,
)
def send_password_setup_email(*, user_id: int, domain: str = "", use_https: bool = True) -> None:
    """The link a learner opened at a centre uses to choose a password; retried while the mail
    server is unreachable. Sent in the portal's default language, on the portal's own address
    (``domain`` and ``use_https`` are ignored: tasks queued before PORTAL_URL decided the link
    still carry them)."""
    user = User.objects.get(pk=user_id)
    with translation.override("zh-hans"):
        password_setup_email_send(user=user)


@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=10,
)
def send_password_reset_email(*, email: str, language: str) -> int:
    """The reset link asked for on the password reset page, in the page's language: queued
    for every address asked for, known or not, so the page's answer and timing tell nothing;
    the worker looks the address up. Retried while the mail server is unreachable."""
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        return password_reset_emails_send(email=email)


@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=10,
)
def send_notification_emails(*, notification_ids: list[int]) -> int:
    """Email notices after they are stored. Each notice is claimed before it is sent, so a
    retried or redelivered task sends only the emails not sent yet."""
    return notification_emails_send(notification_ids=notification_ids)


@shared_task
def resend_lost_notification_emails() -> int:
    """Periodic (beat): queue again the emails whose task was lost (the broker was down at
    commit, or a worker died before sending). Each is still sent at most once per claim."""
    return notification_emails_resend()


@shared_task
def close_due_accounts() -> int:
    """Periodic (beat): accounts whose closure confirmation period has ended are closed and
    their personal data removed. Safe to run again: a closed account is not closed twice."""
    return account_closures_run()


@shared_task(
    autoretry_for=(SmsTransientError,),
    retry_backoff=10,
    retry_backoff_max=120,
    max_retries=5,
)
def send_sms_code(*, phone: str, purpose: str, language: str) -> bool:
    """A one-time code asked for on a page: queued for every number asked for, registered or
    not, so the page's answer and timing tell nothing; the worker decides whether it goes.
    Retried (a new code each time, replacing the undelivered one) while the provider is down
    or throttles; a code lives five minutes, so retries stop within two."""
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        return sms_code_send(phone=phone, purpose=purpose)


@shared_task
def deliver_webhook(*, message_id: str) -> str:
    """One attempt at a webhook (accounts.webhooks); on failure the next attempt is queued with
    its backoff, and the periodic re-send finds it again should that message be lost."""
    status = webhook_deliver(message_id=message_id)
    if status == WebhookDelivery.Status.PENDING:
        due = (
            WebhookDelivery.objects.filter(message_id=message_id)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if due is not None:
            countdown = max(0.0, (due - timezone.now()).total_seconds())
            deliver_webhook.apply_async(kwargs={"message_id": message_id}, countdown=countdown)
    return status


@shared_task
def resend_due_webhooks() -> int:
    """Periodic (beat): every pending webhook that is due and held by no worker is queued
    again (its task was lost: the broker was down at commit, or a worker died)."""
    due = webhook_deliveries_resend()
    for message_id in due:
        deliver_webhook.delay(message_id=message_id)
    return len(due)
