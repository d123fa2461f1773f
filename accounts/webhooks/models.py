"""Webhooks: an institution's subscriptions to events, and the outbox of their deliveries.

They belong with the institution (``accounts``, low in the layers): the apps above record an
event through ``accounts.services.webhook_event_record`` in the transaction of their change, and
the worker sends the outbox rows (see ``accounts.webhooks.services``)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.core.models import Institution, User


class EventType(models.TextChoices):
    """What an institution may subscribe to; the value is the ``type`` of the JSON body."""

    TRANSFER_APPLIED = "transfer.applied", _("A learner applied for a credit transfer")
    TRANSFER_DECIDED = "transfer.decided", _("A course of a credit transfer was decided")
    BATCH_RESULT_CONFIRMED = (
        "batch_result.confirmed",
        _("A member confirmed a training result you reported"),
    )
    BATCH_RESULT_DECLINED = (
        "batch_result.declined",
        _("A member declined a training result you reported"),
    )
    MEMBER_INVITATION_ANSWERED = (
        "member_invitation.answered",
        _("A person answered your invitation to the collective account"),
    )
    CERTIFICATE_REVOKED = (
        "certificate.revoked",
        _("An accreditation was revoked: certificates relying on it verify as revoked"),
    )


class WebhookSubscription(models.Model):
    """An institution's endpoint: an URL, the event types it wants and the signing secret
    (``whsec_`` and base64, encrypted at rest; shown once when made or rotated)."""

    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
    )
    url = models.URLField(_("URL"), max_length=500)
    event_types = models.JSONField(_("events"), default=list)
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    secret_rotated_at = models.DateTimeField(_("secret made at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.institution_id} {self.url}"

    def event_labels(self) -> list[str]:
        return [str(EventType(t).label) for t in self.event_types if t in EventType.values]


class WebhookDelivery(models.Model):
    """One message to one subscription: the outbox row, written in the transaction of the
    change it tells of. ``message_id`` is the ``webhook-id`` header, the receiver's idempotency
    key: the same on every retry and on a replay. ``body`` is kept as sent (the signature
    covers these exact bytes)."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("webhook delivery", "Waiting to be sent")
        DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
        FAILED = "failed", pgettext_lazy("webhook delivery", "Failed")

    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("webhook subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    message_id = models.CharField(_("message id"), max_length=40, unique=True)
    event_type = models.CharField(_("event"), max_length=40, choices=EventType.choices)
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # A worker that takes the row holds it until then; a second worker (the on-commit task and
    # the periodic re-send at once) finds it taken and sends nothing.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last response code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    replays = models.PositiveIntegerField(_("replays"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            # What the periodic re-send scans: the pending rows by their due time.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.event_type} {self.status}"
