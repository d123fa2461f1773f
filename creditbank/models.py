"""Records of the wiring app: the learner's data exports (see :mod:`creditbank.export`)."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import LearningAccount, WorkerStatusEvent


def export_path(instance: DataExport, filename: str) -> str:
    """A random name: nothing about the learner appears in storage."""
    return f"exports/{uuid.uuid4().hex}.zip"


def export_token() -> str:
    # 128 random bits: the download link cannot be guessed.
    return secrets.token_hex(16)


class DataExport(models.Model):
    """A machine-readable copy of everything the portal holds about a learner, made as a ZIP by
    a worker; downloadable by its owner from a link that expires."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        RUNNING = "running", _("Being made")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Could not be made")

    IN_PROGRESS = (State.REQUESTED, State.RUNNING)

    account = models.ForeignKey(
        LearningAccount, on_delete=models.CASCADE, related_name="data_exports"
    )
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.REQUESTED
    )
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    file = models.FileField(_("file"), upload_to=export_path, max_length=200, blank=True)
    token = models.CharField(max_length=32, unique=True, default=export_token, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One export being made per learner: asking again while it runs gives the same one.
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(state__in=["requested", "running"]),
                name="data_export_one_in_progress",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="data_export_progress_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def in_progress(self) -> bool:
        return self.state in self.IN_PROGRESS

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class DataExportEvent(WorkerStatusEvent):
    """One move of an export's status (see :mod:`creditbank.workflow`)."""

    class Action(models.TextChoices):
        START = "start", _("Being made")
        FINISH = "finish", _("Ready")
        FAIL = "fail", _("Could not be made")

    # The events go with their export (an export goes with its account).
    export = models.ForeignKey(DataExport, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    from_state = models.CharField(_("from"), max_length=20, choices=DataExport.State.choices)
    to_state = models.CharField(_("to"), max_length=20, choices=DataExport.State.choices)

    class Meta(WorkerStatusEvent.Meta):
        indexes = [models.Index(fields=["export", "occurred_at"], name="data_export_event_time")]

    def __str__(self) -> str:
        return f"{self.export_id} {self.action}"
