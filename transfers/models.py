"""Programmes and courses that institutions publish, and the learning goals learners set.

Conversion rules, transfer applications and certificates join these as the credit transfer
flow is built.
"""

from __future__ import annotations

import datetime
import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Institution, LearningAccount, User, WorkerStatusEvent, user_who
from accounts.services import erased_shown
from accreditation.models import (
    BilingualName,
    CatalogueEntry,
    Decision,
    ReviewEvent,
    VersionedRow,
)
from outcomes.models import LearningOutcome


class Programme(BilingualName):
    """A degree programme (a major) or a vocational certificate an institution offers."""

    class Kind(models.TextChoices):
        DEGREE = "degree", _("Degree programme")
        VOCATIONAL_CERTIFICATE = "vocational_certificate", _("Vocational certificate")

    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="programmes",
    )
    code = models.CharField(_("code"), max_length=30)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    level = models.CharField(_("level"), max_length=50, blank=True)
    credits_required = models.DecimalField(
        _("credits required"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    description = models.TextField(_("description"), blank=True)
    is_published = models.BooleanField(_("published"), default=True)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["institution__name", "code"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "code"], name="programme_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.institution})"


class Course(BilingualName):
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="courses"
    )
    code = models.CharField(_("code"), max_length=30)
    credits = models.DecimalField(_("credits"), max_digits=4, decimal_places=1)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["programme", "code"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="course_code_unique"),
            models.CheckConstraint(condition=Q(credits__gt=0), name="course_credits_positive"),
        ]

    def __str__(self) -> str:
        return self.display_name


class ConversionRule(VersionedRow):
    """A catalogue entry counts for a course of a programme, with credits.

    Each row is one version of the rule for its (entry, course) pair (see
    :class:`~accreditation.models.VersionedRow`); a transfer decision points at the version it
    used."""

    entry = models.ForeignKey(
        CatalogueEntry,
        verbose_name=_("catalogue entry"),
        on_delete=models.PROTECT,
        related_name="conversion_rules",
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="conversion_rules"
    )
    credits = models.DecimalField(_("credits"), max_digits=4, decimal_places=1)

    class Meta:
        verbose_name = _("conversion rule")
        verbose_name_plural = _("conversion rules")
        ordering = ["entry__code", "course__code", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "course", "version"], name="conversion_rule_version_once"
            ),
            models.CheckConstraint(condition=Q(credits__gt=0), name="conversion_credits_positive"),
            VersionedRow.period_in_order(name="conversion_period_in_order"),
        ]
        indexes = [models.Index(fields=["course", "entry"], name="conversion_course_entry")]

    def __str__(self) -> str:
        return f"{self.entry.code} -> {self.course} v{self.version}"


class ProgrammeRules(VersionedRow):
    """One version of what an institution allows a programme to take from the bank (issue 24):
    caps (credits recognised per calendar year, credits from one source, the largest share of
    the programme) and minimums (credits per course category, credits earned at the
    institution). An empty cap is no cap. Like a conversion rule, a change is a new version
    from a date on; the previous one ends the day before, and the past is never rewritten
    (``transfers.programme_rules``; ADR 0027)."""

    programme = models.ForeignKey(
        Programme,
        verbose_name=_("programme"),
        on_delete=models.PROTECT,
        related_name="rule_versions",
    )
    max_credits_per_year = models.DecimalField(
        _("most credits recognised per year"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
    )
    # A source is the issuing body of the catalogue entry version an outcome was accredited
    # against (ADR 0027).
    max_credits_per_source = models.DecimalField(
        _("most credits from one source"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    max_bank_share_percent = models.PositiveSmallIntegerField(
        _("largest share from the credit bank (%)"), null=True, blank=True
    )
    residency_credits = models.DecimalField(
        _("credits to be earned at the institution"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("programme rules")
        verbose_name_plural = _("programme rules")
        ordering = ["programme", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "version"], name="programme_rules_version_once"
            ),
            models.CheckConstraint(
                condition=Q(max_credits_per_year__isnull=True) | Q(max_credits_per_year__gt=0),
                name="programme_rules_year_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_credits_per_source__isnull=True) | Q(max_credits_per_source__gt=0),
                name="programme_rules_source_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_bank_share_percent__isnull=True)
                | Q(max_bank_share_percent__gte=1, max_bank_share_percent__lte=100),
                name="programme_rules_share_percent",
            ),
            models.CheckConstraint(
                condition=Q(residency_credits__isnull=True) | Q(residency_credits__gte=0),
                name="programme_rules_residency_not_neg",
            ),
            VersionedRow.period_in_order(name="programme_rules_period_in_order"),
        ]

    def __str__(self) -> str:
        return f"{self.programme.code} rules v{self.version}"


class CourseCategory(BilingualName):
    """A category of a programme's courses in one version of its rules (专业核心课, …), with
    the credits the programme asks for in it."""

    rules = models.ForeignKey(ProgrammeRules, on_delete=models.CASCADE, related_name="categories")
    min_credits = models.DecimalField(_("minimum credits"), max_digits=6, decimal_places=1)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("course category")
        verbose_name_plural = _("course categories")
        ordering = ["rules", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rules", "name"], name="course_category_name_once"),
            models.CheckConstraint(
                condition=Q(min_credits__gte=0), name="course_category_min_not_neg"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class CourseCategoryMember(models.Model):
    """A course in a category; ``rules`` repeats the category's version so that the database
    holds a course to at most one category per version."""

    rules = models.ForeignKey(ProgrammeRules, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(CourseCategory, on_delete=models.CASCADE, related_name="members")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rules", "course"], name="course_in_one_category_per_rules"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category_id} {self.course_id}"


class LearningGoal(models.Model):
    """A programme the learner aims at; the learning path compares it with their outcomes."""

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="learning_goals"
    )
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="goals"
    )
    created_at = models.DateTimeField(_("set on"), default=timezone.now)

    class Meta:
        verbose_name = _("learning goal")
        verbose_name_plural = _("learning goals")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "programme"], name="goal_once"),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.programme}"


# --- Credit transfer --------------------------------------------------------------------------


class TransferApplication(models.Model):
    """A learner asks an institution to count accredited outcomes for courses of a programme.
    Each course asked for is a :class:`TransferItem`, decided on its own."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DECIDED = "decided", pgettext_lazy("transfer state", "Decided")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="transfer_applications"
    )
    programme = models.ForeignKey(
        Programme,
        verbose_name=_("programme"),
        on_delete=models.PROTECT,
        related_name="transfer_applications",
    )
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.PENDING
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("transfer application")
        verbose_name_plural = _("transfer applications")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-submitted_at"], name="transfer_account_time"),
            models.Index(fields=["programme", "state"], name="transfer_programme_state"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.programme}"


class TransferItemState(models.TextChoices):
    PENDING = "pending", _("Pending")
    INFORMATION_REQUESTED = "information_requested", _("Information requested")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # Accepted, then undone by the institution because the accreditation it rested on was
    # revoked: the credits are reversed in the transferred book and the course is free again.
    RESCINDED = "rescinded", _("Rescinded")


# The reason written on a transfer item (and its event) that moves because the accreditation of
# its outcome was revoked; shown translated (``reason_shown``), kept as is for the API.
BASIS_REVOKED = "basis revoked"


# The reason written on an item withdrawn because the learner's account was closed.
ACCOUNT_CLOSED = "account_closed"


def reason_shown(reason: str) -> str:
    if reason == BASIS_REVOKED:
        return str(_("Basis revoked: the accreditation was revoked"))
    if reason == ACCOUNT_CLOSED:
        return str(_("The learner's account was closed."))
    return erased_shown(reason)


# An outcome in an item in one of these states is reserved: no other transfer may use it.
RESERVING_STATES = (TransferItemState.PENDING, TransferItemState.INFORMATION_REQUESTED)
# An item in one of these states counts (or may yet count) for its programme and course.
COUNTING_STATES = (*RESERVING_STATES, TransferItemState.ACCEPTED)
_RESERVING = Q(state__in=[s.value for s in RESERVING_STATES])
_COUNTING = Q(state__in=[s.value for s in COUNTING_STATES])


class TransferItem(models.Model):
    """One course of a transfer application and the accredited outcome offered for it.

    Its state changes only through the table of moves in :mod:`transfers.workflow`, each move
    appending a :class:`TransferEvent`. The partial unique indexes below are the last word on
    double counting, whatever the services check first."""

    application = models.ForeignKey(
        TransferApplication, on_delete=models.PROTECT, related_name="items"
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="transfer_items"
    )
    # Denormalised from the application and the course, for the constraints below.
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(LearningAccount, on_delete=models.PROTECT, related_name="+")
    outcome = models.ForeignKey(
        LearningOutcome,
        verbose_name=_("learning outcome"),
        on_delete=models.PROTECT,
        related_name="transfer_items",
    )
    # The rule version in effect when the learner applied; the decision is made under it.
    rule = models.ForeignKey(
        ConversionRule,
        verbose_name=_("conversion rule"),
        on_delete=models.PROTECT,
        related_name="transfer_items",
    )
    credits = models.DecimalField(_("credits"), max_digits=4, decimal_places=1)
    # The binding pre-assessment this course was applied for under (its rule version and
    # credits, whatever the rules say now); empty for a transfer under the rules in effect.
    preassessment = models.ForeignKey(
        "PreAssessment",
        verbose_name=_("pre-assessment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfer_items",
    )
    state = models.CharField(
        _("state"),
        max_length=30,
        choices=TransferItemState.choices,
        default=TransferItemState.PENDING,
    )
    reason = models.TextField(_("reason"), blank=True)
    decided_by = user_who(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # Set when the accreditation of the outcome is revoked after the item was accepted: the
    # institution then rescinds the transfer or keeps it with a reason (``basis_kept_at``).
    basis_revoked_at = models.DateTimeField(_("basis revoked at"), null=True, blank=True)
    basis_kept_at = models.DateTimeField(_("kept despite revocation at"), null=True, blank=True)

    class Meta:
        verbose_name = _("transfer item")
        verbose_name_plural = _("transfer items")
        ordering = ["application", "course__code", "id"]
        constraints = [
            # Reserved: an outcome is in at most one undecided item.
            models.UniqueConstraint(
                fields=["outcome"], condition=_RESERVING, name="transfer_outcome_reserved_once"
            ),
            # An outcome counts for a given programme at most once.
            models.UniqueConstraint(
                fields=["outcome", "programme"],
                condition=_COUNTING,
                name="transfer_outcome_once_per_programme",
            ),
            # A course is exempted for a learner at most once.
            models.UniqueConstraint(
                fields=["account", "course"],
                condition=_COUNTING,
                name="transfer_course_once_per_account",
            ),
            models.CheckConstraint(condition=Q(credits__gt=0), name="transfer_credits_positive"),
            models.CheckConstraint(
                condition=~Q(state__in=["rejected", "information_requested"]) | ~Q(reason=""),
                name="transfer_refusal_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="accepted") | Q(decided_by__isnull=False),
                name="transfer_accepted_has_officer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.course}"

    @property
    def is_reserving(self) -> bool:
        return self.state in RESERVING_STATES

    @property
    def basis_unsettled(self) -> bool:
        """Accepted on an accreditation since revoked, and neither rescinded nor kept yet."""
        return (
            self.state == TransferItemState.ACCEPTED
            and self.basis_revoked_at is not None
            and self.basis_kept_at is None
        )

    @property
    def reason_shown(self) -> str:
        return reason_shown(self.reason)


class TransferEvent(ReviewEvent):
    """One move of a transfer item: who, when, from which state to which, and why."""

    class Action(models.TextChoices):
        SUBMIT = "submit", _("Applied for")
        ACCEPT = "accept", _("Accepted")
        REJECT = "reject", _("Rejected")
        REQUEST_INFORMATION = "request_information", _("Information requested")
        RESPOND = "respond", _("Information provided")
        WITHDRAW = "withdraw", _("Withdrawn")
        BASIS_REVOKED = "basis_revoked", _("Accreditation revoked after acceptance")
        RESCIND = "rescind", _("Rescinded")
        KEEP = "keep", _("Kept despite the revocation")

    item = models.ForeignKey(TransferItem, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    from_state = models.CharField(_("from"), max_length=30, choices=TransferItemState.choices)
    to_state = models.CharField(_("to"), max_length=30, choices=TransferItemState.choices)

    class Meta(ReviewEvent.Meta):
        verbose_name = _("transfer event")
        verbose_name_plural = _("transfer events")
        indexes = [models.Index(fields=["item", "occurred_at"], name="transfer_event_item_time")]

    def __str__(self) -> str:
        return f"{self.item_id} {self.action}"

    @property
    def reason_shown(self) -> str:
        return reason_shown(self.reason)


# --- Binding pre-assessments (ADR 0028) ------------------------------------------------------

# Working days an institution has to answer a pre-assessment unless it set its own.
PREASSESSMENT_WORKING_DAYS = 10


class PreAssessmentPolicy(models.Model):
    """An institution's terms for pre-assessments: how many working days (on the portal's
    calendar) its officers have to answer one. An institution without a row answers within
    :data:`PREASSESSMENT_WORKING_DAYS`."""

    institution = models.OneToOneField(
        Institution,
        verbose_name=_("institution"),
        on_delete=models.CASCADE,
        related_name="preassessment_policy",
    )
    working_days = models.PositiveSmallIntegerField(
        _("working days to answer"), default=PREASSESSMENT_WORKING_DAYS
    )

    class Meta:
        verbose_name = _("pre-assessment terms")
        verbose_name_plural = _("pre-assessment terms")
        constraints = [
            models.CheckConstraint(
                condition=Q(working_days__gte=1, working_days__lte=60),
                name="preassessment_days_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.institution}: {self.working_days}"


class PreAssessmentState(models.TextChoices):
    ASKED = "asked", _("Asked")
    YES = "yes", _("Answered yes")
    NO = "no", _("Answered no")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # A yes whose validity period has ended: it binds nobody any more.
    EXPIRED = "expired", _("Expired")


class PreAssessment(models.Model):
    """A learner asks an institution: "if I obtain this catalogue entry (or have this saved
    outcome accredited against it), will it count for that course?". The institution answers
    by ``due_on`` (working days on the portal's calendar); a yes binds it until ``valid_until``
    under the conversion rule version in force at the answer (``rule``, ``credits``): a
    transfer of such an outcome to that course in that period is made under that version even
    if the rule changed or ended since (``transfers.services.transfer_apply``).

    Its state changes only through :data:`transfers.workflow.PREASSESSMENT`."""

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="preassessments"
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="preassessments"
    )
    # Denormalised from the course, for the officer's queue.
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey(
        CatalogueEntry,
        verbose_name=_("catalogue entry"),
        on_delete=models.PROTECT,
        related_name="preassessments",
    )
    # The version the learner asked about (what she would obtain).
    entry_version = models.ForeignKey(
        "accreditation.CatalogueEntryVersion",
        verbose_name=_("catalogue entry version"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Set when the learner asked about one of her saved outcomes: then only that outcome is
    # bound; otherwise any outcome of hers accredited against ``entry``.
    outcome = models.ForeignKey(
        LearningOutcome,
        verbose_name=_("learning outcome"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="preassessments",
    )
    question = models.TextField(_("question"), blank=True, default="", db_default="")
    state = models.CharField(
        _("state"),
        max_length=20,
        choices=PreAssessmentState.choices,
        default=PreAssessmentState.ASKED,
    )
    asked_at = models.DateTimeField(_("asked at"), default=timezone.now)
    working_days = models.PositiveSmallIntegerField(_("working days to answer"))
    due_on = models.DateField(_("answer due on"))
    remind_on = models.DateField(_("reminder on"))
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(null=True, blank=True, editable=False)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = user_who(_("answered by"))
    reason = models.TextField(_("reason"), blank=True, default="", db_default="")
    # A yes: binding until this date (inclusive), under this rule version, for these credits.
    valid_until = models.DateField(_("binding until"), null=True, blank=True)
    rule = models.ForeignKey(
        ConversionRule,
        verbose_name=_("conversion rule"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="preassessments",
    )
    credits = models.DecimalField(
        _("credits"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    # TODO(progrules): record the programme rules version in force at the answer too
    # (``programme_rules_in_force(programme, at)``) once that helper's work lands.

    class Meta:
        verbose_name = _("pre-assessment")
        verbose_name_plural = _("pre-assessments")
        ordering = ["-asked_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-asked_at"], name="prea_account_time"),
            # The officers' queue, by due date.
            models.Index(
                fields=["institution", "due_on"],
                name="prea_queue_due",
                condition=Q(state="asked"),
            ),
            # What the sweep scans.
            models.Index(
                fields=["remind_on"],
                name="prea_sweep_remind",
                condition=Q(state="asked", reminded_at__isnull=True),
            ),
            models.Index(
                fields=["due_on"],
                name="prea_sweep_escalate",
                condition=Q(state="asked", escalated_at__isnull=True),
            ),
            models.Index(
                fields=["valid_until"], name="prea_sweep_expire", condition=Q(state="yes")
            ),
        ]
        constraints = [
            # One open question per learner, course and entry.
            models.UniqueConstraint(
                fields=["account", "course", "entry"],
                condition=Q(state="asked"),
                name="prea_asked_once",
            ),
            models.CheckConstraint(
                condition=~Q(state="yes")
                | Q(
                    valid_until__isnull=False,
                    rule__isnull=False,
                    credits__gt=0,
                    answered_by__isnull=False,
                ),
                name="prea_yes_is_bound",
            ),
            models.CheckConstraint(
                condition=~Q(state="no") | ~Q(reason=""), name="prea_no_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.course}"

    def binds_on(self, day: datetime.date) -> bool:
        """A yes still in its validity period on ``day``."""
        return (
            self.state == PreAssessmentState.YES
            and self.valid_until is not None
            and day <= self.valid_until
        )


class PreAssessmentEvent(ReviewEvent):
    """One move of a pre-assessment."""

    class Action(models.TextChoices):
        ANSWER_YES = "answer_yes", _("Answered yes")
        ANSWER_NO = "answer_no", _("Answered no")
        WITHDRAW = "withdraw", _("Withdrawn")
        EXPIRE = "expire", _("Expired")

    preassessment = models.ForeignKey(
        PreAssessment, on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    from_state = models.CharField(_("from"), max_length=20, choices=PreAssessmentState.choices)
    to_state = models.CharField(_("to"), max_length=20, choices=PreAssessmentState.choices)
    # The sweep expires a yes: no person did.
    actor = models.ForeignKey(  # type: ignore[assignment]  # nullable here only
        User, verbose_name=_("by"), null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta(ReviewEvent.Meta):
        verbose_name = _("pre-assessment event")
        verbose_name_plural = _("pre-assessment events")
        indexes = [models.Index(fields=["preassessment", "occurred_at"], name="prea_event_time")]

    def __str__(self) -> str:
        return f"{self.preassessment_id} {self.action}"


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` for a request that creates something: the first request
    claims the key, a retry gets the first answer back (see :mod:`transfers.idempotency`)."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # sha256 of method, path and the canonical JSON body: the same key must mean the same request.
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=20, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.key}"


# --- Certificates -------------------------------------------------------------------------------


def certificate_path(instance: Certificate, filename: str) -> str:
    """A random name fixed when the certificate is requested: nothing about the learner appears
    in storage, and a render that is retried writes over the same name instead of adding one."""
    return f"certificates/{instance.file_token.hex}.pdf"


class Certificate(models.Model):
    """A certificate the bank issues: requested by the learner, rendered and signed by a worker,
    verifiable by anyone from its serial number (see :mod:`transfers.certificates`)."""

    class Kind(models.TextChoices):
        HOURS_CERTIFICATE = "hours_certificate", _("Certificate of learning hours")
        TRANSCRIPT = "transcript", _("Transcript of credits")
        LEARNING_FILE = "learning_file", _("Lifelong learning file")
        # For another credit bank: the accredited outcomes with their provenance (ADR 0022).
        TRANSFER_RECORD = "transfer_record", _("Transfer record")

    class State(models.TextChoices):
        REQUESTED = "requested", _("Being prepared")
        ISSUED = "issued", pgettext_lazy("certificate state", "Issued")
        FAILED = "failed", _("Could not be issued")

    # Random, at least 128 bits (secrets.token_urlsafe(18): 144 bits in 24 characters).
    serial = models.CharField(_("serial number"), max_length=40, unique=True)
    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="certificates"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    period_from = models.DateField(_("from"), null=True, blank=True)
    period_to = models.DateField(_("to"), null=True, blank=True)
    # What the public verification page may show besides the totals (see DISCLOSABLE).
    disclose = models.JSONField(_("shown on verification"), default=list, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.REQUESTED
    )
    # The signed payload; ``signature`` is Ed25519 over its canonical JSON bytes.
    content = models.JSONField(null=True, blank=True, editable=False)
    signature = models.CharField(max_length=120, blank=True, editable=False)
    key_id = models.CharField(max_length=32, blank=True, editable=False)
    file_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # A transfer record's claim code (ADR 0022): the secret its holder types at the bank she
    # moves to, hashed with her identity number into the record; never in the record itself.
    claim_code = models.CharField(
        max_length=19, blank=True, editable=False, default="", db_default=""
    )
    pdf = models.FileField(_("PDF"), upload_to=certificate_path, max_length=200, blank=True)
    vc_json = models.JSONField(null=True, blank=True, editable=False)
    decisions = models.ManyToManyField(
        Decision, related_name="certificates", blank=True, editable=False
    )
    requested_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["account", "-requested_at"], name="certificate_account")]
        constraints = [
            # One being made per account, kind and period: asking again while it is made gives
            # the same one. Empty periods compare equal (Coalesce), unlike NULLs.
            models.UniqueConstraint(
                "account",
                "kind",
                Coalesce("period_from", models.Value(datetime.date(1, 1, 1))),
                Coalesce("period_to", models.Value(datetime.date(1, 1, 1))),
                condition=Q(state="requested"),
                name="certificate_one_requested",
            ),
            models.CheckConstraint(
                condition=~Q(kind="hours_certificate")
                | Q(
                    period_from__isnull=False,
                    period_to__isnull=False,
                    period_to__gte=models.F("period_from"),
                ),
                name="certificate_hours_has_period",
            ),
            models.CheckConstraint(
                condition=~Q(state="issued")
                | Q(content__isnull=False, issued_at__isnull=False) & ~Q(signature=""),
                name="certificate_issued_is_signed",
            ),
        ]

    def __str__(self) -> str:
        return self.serial

    @property
    def is_issued(self) -> bool:
        return self.state == self.State.ISSUED


class CertificateEvent(WorkerStatusEvent):
    """One move of a certificate's status (see :mod:`transfers.workflow`). Only the worker moves
    a certificate (it issues it or gives up on it), so an event names no actor."""

    class Action(models.TextChoices):
        ISSUE = "issue", pgettext_lazy("certificate event", "Issued")
        FAIL = "fail", _("Could not be issued")

    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    from_state = models.CharField(_("from"), max_length=20, choices=Certificate.State.choices)
    to_state = models.CharField(_("to"), max_length=20, choices=Certificate.State.choices)

    class Meta(WorkerStatusEvent.Meta):
        indexes = [
            models.Index(fields=["certificate", "occurred_at"], name="certificate_event_time")
        ]

    def __str__(self) -> str:
        return f"{self.certificate_id} {self.action}"


class OriginStatusList(models.Model):
    """Another bank's status list that decisions recognised here rest on, as the periodic
    status check last read it (``transfers.recognitions``). ``claimed_until`` lets one worker
    at a time read it; ``next_check_at`` holds back a list that could not be read (the origin
    unreachable is never taken for a revocation)."""

    url = models.URLField(_("status list"), max_length=500, unique=True)
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    last_read_at = models.DateTimeField(_("last read"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    next_check_at = models.DateTimeField(_("next check"), null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("origin status list")
        verbose_name_plural = _("origin status lists")
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url
