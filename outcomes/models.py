"""Learning outcomes and their evidence files.

An outcome is *saved* in its original, unaccredited state as soon as the learner adds it; it is
frozen once submitted for accreditation, and corrected only by a new version.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import LearningAccount, User


class OutcomeKind(models.TextChoices):
    VOCATIONAL_QUALIFICATION = "vocational_qualification", _("Vocational qualification certificate")
    SKILL_LEVEL = "skill_level", _("Skill level certificate")
    ACADEMIC_COURSE = "academic_course", _("Academic course")
    TRAINING = "training", _("Training experience")
    ONLINE_COURSE = "online_course", _("Proof of online-course attendance")
    COMPETITION_AWARD = "competition_award", _("Competition award")
    OTHER = "other", _("Other")


class LearningMode(models.TextChoices):
    FACE_TO_FACE = "face_to_face", _("Face to face")
    ONLINE = "online", _("Online")
    BLENDED = "blended", _("Blended")
    WORKPLACE = "workplace", _("At the workplace")
    SELF_STUDY = "self_study", _("Self-study")


class InstitutionBatch(models.Model):
    """One accepted report of a training programme's results for many members of a collective
    account (refused reports write nothing). Each member's outcome points back at it."""

    collective = models.ForeignKey(
        LearningAccount,
        verbose_name=_("collective account"),
        on_delete=models.PROTECT,
        related_name="outcome_batches",
    )
    uploaded_by = models.ForeignKey(
        User, verbose_name=_("reported by"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    filename = models.CharField(_("file"), max_length=255)
    rows = models.PositiveIntegerField(_("members"))
    evidence_files = models.PositiveIntegerField(_("evidence files"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("institution batch")
        verbose_name_plural = _("institution batches")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["collective", "-created_at"], name="batch_collective_time")]

    def __str__(self) -> str:
        return self.title


class LearningOutcome(models.Model):
    class Status(models.TextChoices):
        SAVED = "saved", _("Saved")
        PENDING_CONFIRMATION = "pending_confirmation", _("Awaiting your confirmation")
        DECLINED = "declined", _("Declined")
        SUBMITTED = "submitted", _("Submitted for accreditation")
        ACCREDITED = "accredited", _("Accredited")
        NOT_ACCREDITED = "not_accredited", _("Not accredited")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        SUPERSEDED = "superseded", _("Replaced by a newer version")

    # What the learner may still change: nothing once it has gone to a centre.
    EDITABLE = (Status.SAVED,)
    # What the lifelong learning file lists.
    IN_FILE = (Status.SAVED, Status.SUBMITTED, Status.ACCREDITED, Status.NOT_ACCREDITED)

    account = models.ForeignKey(LearningAccount, on_delete=models.PROTECT, related_name="outcomes")
    kind = models.CharField(_("kind"), max_length=40, choices=OutcomeKind.choices)
    title = models.CharField(_("title"), max_length=200)
    issuing_body = models.CharField(_("issuing body"), max_length=200, blank=True)
    certificate_number = models.CharField(_("certificate number"), max_length=60, blank=True)
    achieved_on = models.DateField(_("date achieved"))
    content = models.TextField(_("learning content"), blank=True)
    mode = models.CharField(_("mode"), max_length=20, choices=LearningMode.choices, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    provider = models.CharField(_("provider"), max_length=200, blank=True)
    started_on = models.DateField(_("from"), null=True, blank=True)
    ended_on = models.DateField(_("to"), null=True, blank=True)
    hours = models.DecimalField(
        _("learning hours"), max_digits=7, decimal_places=1, null=True, blank=True
    )
    result = models.CharField(_("result"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=30, choices=Status.choices, default=Status.SAVED, db_index=True
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    previous = models.OneToOneField(
        "self",
        verbose_name=_("previous version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next_version",
    )
    created_at = models.DateTimeField(_("added at"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)
    # Set when an institution reported the outcome for its member, who then confirms it.
    batch = models.ForeignKey(
        InstitutionBatch,
        verbose_name=_("reported in batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outcomes",
    )

    class Meta:
        verbose_name = _("learning outcome")
        verbose_name_plural = _("learning outcomes")
        ordering = ["-achieved_on", "-id"]
        indexes = [
            models.Index(
                fields=["account", "status", "-achieved_on"], name="outcome_account_status"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(hours__isnull=True) | Q(hours__gt=0), name="outcome_hours_positive"
            ),
            models.CheckConstraint(
                condition=Q(started_on__isnull=True)
                | Q(ended_on__isnull=True)
                | Q(ended_on__gte=F("started_on")),
                name="outcome_period_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE


def evidence_path(instance: EvidenceFile, filename: str) -> str:
    """A random name: nothing about the learner or the original name appears in storage."""
    suffix = PurePosixPath(filename).suffix.lower()
    now = timezone.now()
    return f"evidence/{now:%Y/%m}/{uuid.uuid4().hex}{suffix}"


class EvidenceFile(models.Model):
    outcome = models.ForeignKey(LearningOutcome, on_delete=models.PROTECT, related_name="evidence")
    # Denormalised from the outcome: the per-account quota and the "same file twice" check are
    # queries on it.
    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="evidence_files"
    )
    file = models.FileField(_("file"), upload_to=evidence_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        ordering = ["uploaded_at", "id"]
        indexes = [models.Index(fields=["account", "sha256"], name="evidence_account_hash")]

    def __str__(self) -> str:
        return self.original_name


class StagedUpload(models.Model):
    """Evidence uploaded over the API ahead of the outcome it proves
    (``POST /api/v1/evidence/uploads/``), waiting under ``pending-evidence/`` for a day. The
    row is the upload's claim: an outcome takes it with a conditional delete in its own
    transaction, under the account's lock, so a token names one outcome's file even when two
    requests send it at once, and the per-account cap is counted on rows, not on files a
    parallel upload is still writing (docs/decisions/0014). Only the token's SHA-256 is kept."""

    account = models.ForeignKey(
        LearningAccount, on_delete=models.CASCADE, related_name="staged_uploads"
    )
    token_sha256 = models.CharField(max_length=64, unique=True)
    path = models.CharField(max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("staged upload")
        verbose_name_plural = _("staged uploads")

    def __str__(self) -> str:
        return self.name
