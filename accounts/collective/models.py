"""Institutions' collective accounts: their members and the imports that added them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.core.events import AttributedStatusEvent
from accounts.core.models import User
from accounts.ledger.models import LearningAccount


class MemberImport(models.Model):
    """One accepted import of members into a collective account (refused imports write
    nothing)."""

    collective = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="member_imports"
    )
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(_("file"), max_length=255)
    rows = models.PositiveIntegerField(_("rows"))
    accounts_opened = models.PositiveIntegerField(_("accounts opened"))
    accounts_linked = models.PositiveIntegerField(_("accounts linked"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("member import")
        verbose_name_plural = _("member imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.collective} {self.filename}"


class CollectiveMembership(models.Model):
    """A personal learning account that belongs to an institution's collective account."""

    collective = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="memberships"
    )
    member = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="collective_memberships"
    )
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    added_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    member_import = models.ForeignKey(
        MemberImport, null=True, blank=True, on_delete=models.PROTECT, related_name="memberships"
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["collective", "member"], name="membership_once"),
        ]

    def __str__(self) -> str:
        return f"{self.member} in {self.collective}"


class CollectiveApplicationEvent(AttributedStatusEvent):
    """One decision on an institution's application for a collective account (see
    ``accounts.collective.workflow``); never changed."""

    class Action(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REJECT = "reject", _("Reject")

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="application_events"
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
