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
    """A personal learning account on an institution's member list.

    An account the institution's import opened is a member at once (the institution reported
    the person). A person who already had an account is only invited: the institution sees
    nothing of the account (number, holder's name, hours, credits) until the learner accepts;
    a learner who declines stays on the list as "declined", with only what the institution
    itself wrote (see ``accounts.collective.workflow.INVITATION``).
    """

    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACTIVE = "active", _("Member")
        DECLINED = "declined", _("Declined")

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
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    # The name as the institution's list gave it: all the institution sees of a person who has
    # not accepted (never the account holder's own name).
    listed_name = models.CharField(_("name on the list"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["collective", "member"], name="membership_once"),
        ]

    def __str__(self) -> str:
        return f"{self.member} in {self.collective}"

    @property
    def is_member(self) -> bool:
        """True once the person is a member (opened by the import, or invited and accepted):
        only then does the institution see their account."""
        return self.status == self.Status.ACTIVE


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


class CollectiveMembershipEvent(AttributedStatusEvent):
    """A learner's answer to an institution's invitation (see
    ``accounts.collective.workflow.INVITATION``); never changed."""

    class Action(models.TextChoices):
        ACCEPT = "accept", _("Accept")
        DECLINE = "decline", _("Decline")

    membership = models.ForeignKey(
        CollectiveMembership, on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
