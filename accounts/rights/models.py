"""The learner's rights over their file: closure, corrections, visits to a centre."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.core.events import AttributedStatusEvent
from accounts.core.models import Centre, user_who
from accounts.ledger.models import LearningAccount
from accounts.rights.kinds import record_field_label


class ClosureRequest(models.Model):
    """The learner asked to close the account. Until ``due_at`` they may cancel; then the
    retention job closes the account and removes personal data."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the confirmation period to end")
        CANCELLED = "cancelled", _("Cancelled")
        DONE = "done", _("Account closed")

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="closure_requests"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    due_at = models.DateTimeField(_("closes at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("closure request")
        verbose_name_plural = _("closure requests")
        ordering = ["-requested_at", "-id"]
        indexes = [
            # What the retention job scans.
            models.Index(
                fields=["due_at"], name="closure_pending_due", condition=Q(status="pending")
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(status="pending"), name="closure_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.status}"


class CorrectionRequest(models.Model):
    """The learner asks for a correction of basic information or of a decided record; a centre
    reviewer decides.

    A correction of basic information has an empty ``record_kind`` and ``field`` is one of
    :class:`Field`. A correction of a decided record names the kind (registered by the layer
    that owns it, see :mod:`accounts.rights.kinds`), the record's id and one of that kind's
    fields.
    """

    class Field(models.TextChoices):
        NAME = "name", _("Name")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a decision")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="correction_requests"
    )
    # The centre that decides: the one that decided the record, or for basic information the
    # learner's own centre (``accounts.rights.services.correction_centre_of``). Only its staff
    # see and decide the request.
    centre = models.ForeignKey(
        Centre,
        verbose_name=_("centre"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="correction_requests",
    )
    record_kind = models.CharField(_("kind of record"), max_length=30, blank=True)
    record_id = models.PositiveBigIntegerField(_("record"), null=True, blank=True)
    # What the record was called when the request was made (an outcome's title), for lists.
    record_label = models.CharField(_("record"), max_length=200, blank=True)
    field = models.CharField(_("what to correct"), max_length=30)
    old_value = models.CharField(_("current value"), max_length=200, blank=True)
    new_value = models.CharField(_("correct value"), max_length=200)
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = user_who(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("reason for the decision"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("correction request")
        verbose_name_plural = _("correction requests")
        ordering = ["-requested_at", "-id"]
        indexes = [
            # A centre's queue.
            models.Index(
                fields=["centre", "requested_at"],
                name="correction_centre_pending",
                condition=Q(status="pending"),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="correction_has_reason"),
            models.CheckConstraint(
                condition=Q(record_kind="", record_id__isnull=True)
                | (~Q(record_kind="") & Q(record_id__isnull=False)),
                name="correction_record_named",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.field}"

    @property
    def is_of_record(self) -> bool:
        return bool(self.record_kind)

    def get_field_display(self) -> str:
        """The corrected field's name in the active language, for basic information and for
        the fields of every registered kind of record."""
        return self.field_label(record_kind=self.record_kind, field=self.field)

    @classmethod
    def field_label(cls, *, record_kind: str, field: str) -> str:
        if not record_kind:
            if field in cls.Field.values:
                return str(cls.Field(field).label)
            return field
        return record_field_label(record_kind=record_kind, field=field)


class CentreVisit(models.Model):
    """The learner books a visit to a centre to review the paper file or to get a copy of it;
    centre staff record a certified copy handed over."""

    class Purpose(models.TextChoices):
        REVIEW = "review", _("Review the paper file")
        COPY = "copy", _("Get a certified copy")

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        HANDED_OVER = "handed_over", _("Certified copy handed over")

    account = models.ForeignKey(LearningAccount, on_delete=models.PROTECT, related_name="visits")
    centre = models.ForeignKey(
        Centre, verbose_name=_("centre"), on_delete=models.PROTECT, related_name="visits"
    )
    visit_on = models.DateField(_("date of the visit"))
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.BOOKED
    )
    booked_at = models.DateTimeField(_("booked at"), default=timezone.now)
    handed_over_by = user_who(_("handed over by"))
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    pages = models.CharField(_("pages"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("centre visit")
        verbose_name_plural = _("centre visits")
        ordering = ["visit_on", "id"]
        indexes = [models.Index(fields=["centre", "visit_on"], name="visit_centre_date")]

    def __str__(self) -> str:
        return f"{self.account} {self.visit_on}"


class ClosureEvent(AttributedStatusEvent):
    """One move of a closure request (see ``accounts.rights.workflow``); never changed."""

    class Action(models.TextChoices):
        CANCEL = "cancel", _("Cancelled")
        CLOSE = "close", _("Account closed")

    request = models.ForeignKey(ClosureRequest, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)


class CorrectionEvent(AttributedStatusEvent):
    """One move of a correction request (see ``accounts.rights.workflow``); never changed."""

    class Action(models.TextChoices):
        ACCEPT = "accept", _("Accept")
        REJECT = "reject", _("Reject")

    request = models.ForeignKey(CorrectionRequest, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
