"""Notifications shown in the portal and sent by email."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.core.models import User


class Notification(models.Model):
    """A notice to one user, shown in the portal and sent by email.

    The text is rendered when it is read, in the reader's language, from ``kind`` and
    ``params`` (see :mod:`accounts.notifications.services`). ``key`` makes a notice
    idempotent: the same key for the same user is stored once, whatever retries or racing
    workers do."""

    class Kind(models.TextChoices):
        APPLICATION_SUBMITTED = "application_submitted", _("Application received")
        APPLICATION_ASSIGNED = "application_assigned", _("Application assigned to you")
        SUPPLEMENT_REQUESTED = "supplement_requested", _("Supplementary material requested")
        APPLICATION_ACCREDITED = "application_accredited", _("Outcome accredited")
        APPLICATION_REJECTED = "application_rejected", _("Outcome not accredited")
        APPROVAL_REQUESTED = "approval_requested", _("Individual accreditation to approve")
        DEADLINE_REMINDER = "deadline_reminder", _("Decision due soon")
        DEADLINE_ESCALATION = "deadline_escalation", _("Decision overdue")
        DEADLINE_MOVED = "deadline_moved", _("Decision due dates moved")
        OUTCOME_REPORTED = "outcome_reported", _("Learning outcome reported for you")
        COLLECTIVE_INVITATION = (
            "collective_invitation",
            _("An institution invites you to its member list"),
        )
        CATALOGUE_MATCH = "catalogue_match", _("Your outcome can now be accredited")
        ACCREDITATION_REVOKED = "accreditation_revoked", _("Accreditation revoked")
        CERTIFICATE_READY = "certificate_ready", _("Certificate ready")
        CORRECTION_ACCEPTED = "correction_accepted", _("Correction accepted")
        CORRECTION_REJECTED = "correction_rejected", _("Correction not accepted")
        IDENTITY_REVEAL_LIMIT = (
            "identity_reveal_limit",
            _("Identity numbers revealed past the daily number"),
        )
        TRANSFER_ACCEPTED = "transfer_accepted", _("Credit transfer accepted")
        TRANSFER_REJECTED = "transfer_rejected", _("Credit transfer not accepted")
        TRANSFER_INFORMATION_REQUESTED = (
            "transfer_information_requested",
            _("Information requested for a credit transfer"),
        )
        TRANSFER_BASIS_WITHDRAWN = (
            "transfer_basis_withdrawn",
            _("Credit transfer withdrawn: accreditation revoked"),
        )
        TRANSFER_BASIS_REVOKED = (
            "transfer_basis_revoked",
            _("Accepted credit transfer rests on a revoked accreditation"),
        )
        TRANSFER_RESCINDED = "transfer_rescinded", _("Credit transfer rescinded")
        TRANSFER_KEPT = "transfer_kept", _("Credit transfer kept")
        CALENDAR_UNPUBLISHED = (
            "calendar_unpublished",
            _("Working-day calendar not entered"),
        )
        PREASSESSMENT_ASKED = "preassessment_asked", _("Pre-assessment asked")
        PREASSESSMENT_YES = "preassessment_yes", _("Pre-assessment answered: yes")
        PREASSESSMENT_NO = "preassessment_no", _("Pre-assessment answered: no")
        PREASSESSMENT_REMINDER = "preassessment_reminder", _("Pre-assessment answer due soon")
        PREASSESSMENT_ESCALATION = "preassessment_escalation", _("Pre-assessment answer overdue")

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    key = models.CharField(max_length=120)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    # A worker sending the email holds this claim (a lease) until it has sent it and set
    # ``emailed_at``; a claim older than the lease belongs to a worker that died, and the
    # periodic re-send takes the notice over (accounts.notifications.services).
    email_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notice_recipient_time"),
            models.Index(
                fields=["recipient"], name="notice_unread", condition=Q(read_at__isnull=True)
            ),
            # What the periodic re-send of lost emails scans.
            models.Index(
                fields=["created_at"],
                name="notice_email_pending",
                condition=Q(emailed_at__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.kind}"
