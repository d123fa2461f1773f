"""The catalogue of accredited learning outcomes, the working-day calendar, and accreditation
applications with their review events and decisions.

An application's state changes only through :mod:`accreditation.workflow`, which holds the one
table of allowed moves and appends an :class:`ApplicationEvent` for each.
"""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import AppendOnlyModel, Centre, LearningAccount, StatusEvent, User, user_who
from accounts.services import erased_shown
from outcomes.models import LearningOutcome, OutcomeKind

# --- The working-day calendar -------------------------------------------------------------------


class CalendarYear(models.Model):
    """A year whose official arrangement (the State Council's notice on holidays) is known.

    Outside a published year the calendar counts the law's holidays alone
    (:mod:`accreditation.holiday_law`), and due dates that reach into it are marked provisional
    until the year is published."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=200)
    published_at = models.DateTimeField(_("entered at"), default=timezone.now)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """An exception to the Monday-Friday rule: a statutory holiday that falls on a weekday, or a
    weekend day the State Council makes a working day."""

    year = models.ForeignKey(
        CalendarYear, verbose_name=_("year"), on_delete=models.CASCADE, related_name="days"
    )
    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    name = models.CharField(_("occasion"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


# --- The catalogue ------------------------------------------------------------------------------


class CatalogueEntry(models.Model):
    """One accredited learning outcome, identified by its code across versions."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("catalogue entry")
        verbose_name_plural = _("catalogue entries")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class BilingualName(models.Model):
    """Names are data in Chinese; an English name, where the centre or the institution gives one,
    is shown to readers of the English portal (catalogue entries, programmes, courses)."""

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def display_name(self) -> str:
        if self.name_en and translation.get_language() == "en":
            return self.name_en
        return self.name


class VersionedRow(models.Model):
    """One version of a rule the bank publishes (a catalogue entry, a conversion rule): in
    effect from ``effective_from`` to ``effective_to`` (inclusive; open-ended while empty).

    Versions are never edited: a change is a new version, and the previous one gets its
    ``effective_to``. Decisions point at the version they used, so a later change does not
    rewrite them. A concrete model adds what it versions, the unique constraint on its
    ``version`` and :meth:`period_in_order` under its own name."""

    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    approving_body = models.CharField(_("approved by"), max_length=200)
    rationale = models.TextField(_("rationale"))
    created_by = models.ForeignKey(
        User, verbose_name=_("entered by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("entered at"), default=timezone.now)

    class Meta:
        abstract = True

    @staticmethod
    def period_in_order(*, name: str) -> models.CheckConstraint:
        """The constraint that a version does not end before it starts (named per table)."""
        return models.CheckConstraint(
            condition=Q(effective_to__isnull=True)
            | Q(effective_to__gte=models.F("effective_from")),
            name=name,
        )

    def is_effective_on(self, day: datetime.date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class CatalogueEntryVersion(BilingualName, VersionedRow):
    """What a catalogue entry says from one date on (see :class:`VersionedRow`)."""

    entry = models.ForeignKey(
        CatalogueEntry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="versions"
    )
    kind = models.CharField(_("kind"), max_length=40, choices=OutcomeKind.choices)
    issuing_body = models.CharField(_("issuing body"), max_length=200)
    level = models.CharField(_("level"), max_length=50, blank=True)
    hours = models.DecimalField(_("learning hours"), max_digits=7, decimal_places=1)
    credits = models.DecimalField(_("credits"), max_digits=5, decimal_places=1)
    validity_months = models.PositiveIntegerField(
        _("valid for (months)"), null=True, blank=True, help_text=_("Empty: does not expire.")
    )
    evidence_required = models.TextField(_("evidence required"))
    # Other names the outcome goes by, one per line; used to recognise a learner's outcome.
    aliases = models.TextField(_("other names"), blank=True)
    certificate_number_pattern = models.CharField(
        _("certificate number format"),
        max_length=200,
        blank=True,
        help_text=_("A regular expression the whole certificate number must match."),
    )

    class Meta:
        verbose_name = _("catalogue entry version")
        verbose_name_plural = _("catalogue entry versions")
        ordering = ["entry__code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "version"], name="catalogue_version_once"),
            models.CheckConstraint(condition=Q(hours__gt=0), name="catalogue_hours_positive"),
            models.CheckConstraint(condition=Q(credits__gte=0), name="catalogue_credits_not_neg"),
            VersionedRow.period_in_order(name="catalogue_period_in_order"),
        ]
        indexes = [models.Index(fields=["kind", "effective_from"], name="catalogue_kind_from")]

    def __str__(self) -> str:
        return f"{self.entry.code} v{self.version} {self.display_name}"


class CatalogueRevision(models.Model):
    """One row whose number goes up, in the same transaction, with every write to the catalogue
    (a version published, closed or changed; ``accreditation.catalogue.matching``). Caches of
    what the catalogue says about a learner's outcomes carry it in their keys, so a change is
    seen by the first request after its commit."""

    number = models.PositiveBigIntegerField(_("revision number"), default=0)

    class Meta:
        verbose_name = _("catalogue revision")
        verbose_name_plural = _("catalogue revisions")

    def __str__(self) -> str:
        return str(self.number)


# --- Applications -------------------------------------------------------------------------------


class ApplicationState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("Supplementary material requested")
    ACCREDITED = "accredited", _("Accredited")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# States in which the centre still owes a decision; the queue and the deadline sweep scan these.
OPEN_STATES = (ApplicationState.SUBMITTED, ApplicationState.IN_REVIEW)
# Not yet decided (the clock may be stopped).
UNDECIDED_STATES = (*OPEN_STATES, ApplicationState.SUPPLEMENT_REQUESTED)
_OPEN = Q(state__in=[s.value for s in OPEN_STATES])


class Application(models.Model):
    """A learning outcome submitted to a centre for accreditation."""

    outcome = models.ForeignKey(
        LearningOutcome,
        verbose_name=_("learning outcome"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    # Denormalised from the outcome: the learner's lists and the self-review ban read it.
    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="applications"
    )
    centre = models.ForeignKey(
        Centre, verbose_name=_("centre"), on_delete=models.PROTECT, related_name="applications"
    )
    # Denormalised from the outcome for the queue's filter.
    kind = models.CharField(_("kind"), max_length=40, choices=OutcomeKind.choices)
    # The catalogue entry the learner claims the outcome matches, if any.
    claimed_entry = models.ForeignKey(
        CatalogueEntry,
        verbose_name=_("claimed catalogue entry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    statement = models.TextField(_("statement"), blank=True)
    state = models.CharField(
        _("state"),
        max_length=30,
        choices=ApplicationState.choices,
        default=ApplicationState.SUBMITTED,
    )
    assigned_to = models.ForeignKey(
        User,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_applications",
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    # The clock: ``clock_days`` working days counted from the day after ``clock_started_on`` (the
    # submission date, or the date the learner provided supplementary material); the decision
    # is due at the end of ``due_on`` (Beijing time), which is derived from those two and
    # recomputed if the calendar changes. While the clock is stopped for supplementary material
    # ``due_on`` is empty and ``working_days_left`` holds what remains.
    clock_started_on = models.DateField(_("clock started on"), null=True, blank=True)
    clock_days = models.SmallIntegerField(_("working days on the clock"), null=True, blank=True)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    remind_on = models.DateField(_("remind on"), null=True, blank=True)
    working_days_left = models.SmallIntegerField(_("working days left"), null=True, blank=True)
    due_is_provisional = models.BooleanField(_("due date provisional"), default=False)
    # Each notice once: the sweep claims a row by setting these with a conditional UPDATE.
    reminded_at = models.DateTimeField(_("reviewer reminded at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # An individual accreditation waiting for a second reviewer's approval.
    proposed_hours = models.DecimalField(
        _("proposed hours"), max_digits=7, decimal_places=1, null=True, blank=True
    )
    proposed_credits = models.DecimalField(
        _("proposed credits"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    proposed_by = user_who(_("proposed by"))
    proposal_reason = models.TextField(_("reason for the proposal"), blank=True)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("accreditation application")
        verbose_name_plural = _("accreditation applications")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            # The centre's queue, first page sorted by due date, and its filters.
            models.Index(fields=["centre", "due_on", "id"], name="app_queue_due", condition=_OPEN),
            models.Index(fields=["centre", "state", "due_on"], name="app_centre_state_due"),
            models.Index(
                fields=["assigned_to", "due_on"], name="app_reviewer_due", condition=_OPEN
            ),
            # The deadline sweep: only rows still owing a notice are in these indexes.
            models.Index(
                fields=["remind_on"],
                name="app_sweep_remind",
                condition=_OPEN & Q(reminded_at__isnull=True),
            ),
            models.Index(
                fields=["due_on"],
                name="app_sweep_escalate",
                condition=_OPEN & Q(escalated_at__isnull=True),
            ),
            models.Index(fields=["account", "-submitted_at"], name="app_account_time"),
        ]
        constraints = [
            # One undecided application per outcome at a time.
            models.UniqueConstraint(
                fields=["outcome"],
                condition=Q(state__in=[s.value for s in UNDECIDED_STATES]),
                name="app_one_open_per_outcome",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[s.value for s in OPEN_STATES]) | Q(due_on__isnull=False),
                name="app_open_has_due_date",
            ),
            models.CheckConstraint(
                condition=Q(proposed_hours__isnull=True) | Q(proposed_hours__gt=0),
                name="app_proposed_hours_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.outcome}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def has_proposal(self) -> bool:
        return self.proposed_by_id is not None

    def clear_proposal(self) -> None:
        self.proposed_hours = self.proposed_credits = None
        self.proposed_by = None
        self.proposal_reason = ""


class ReviewEvent(StatusEvent):
    """A move in a review (of an application here, of a transfer item in ``transfers``): always
    made by someone, with a free-text reason; ordered by time, oldest first."""

    actor = models.ForeignKey(
        User, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["occurred_at", "id"]


class ApplicationEvent(ReviewEvent):
    """One move of an application: who, when, from which state to which, and why."""

    class Action(models.TextChoices):
        SUBMIT = "submit", _("Submitted")
        ASSIGN = "assign", _("Assigned")
        START_REVIEW = "start_review", _("Review started")
        REQUEST_SUPPLEMENT = "request_supplement", _("Supplementary material requested")
        RESUBMIT = "resubmit", _("Supplementary material provided")
        ACCREDIT = "accredit", _("Accredited against the catalogue")
        PROPOSE_INDIVIDUAL = "propose_individual", _("Individual accreditation proposed")
        APPROVE_INDIVIDUAL = "approve_individual", _("Individual accreditation approved")
        RETURN_PROPOSAL = "return_proposal", _("Individual accreditation not approved")
        REJECT = "reject", _("Rejected")
        WITHDRAW = "withdraw", _("Withdrawn")
        RECOGNISE = "recognise", _("Accredited by recognition of another credit bank's decision")

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    from_state = models.CharField(_("from"), max_length=30, choices=ApplicationState.choices)
    to_state = models.CharField(_("to"), max_length=30, choices=ApplicationState.choices)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta(ReviewEvent.Meta):
        verbose_name = _("application event")
        verbose_name_plural = _("application events")
        indexes = [models.Index(fields=["application", "occurred_at"], name="event_app_time")]

    def __str__(self) -> str:
        return f"{self.application_id} {self.action}"


class Decision(AppendOnlyModel):
    """The final decision on an application. Ledger entries of an accreditation point at it."""

    class Result(models.TextChoices):
        ACCREDITED = "accredited", _("Accredited")
        REJECTED = "rejected", _("Rejected")

    class Basis(models.TextChoices):
        CATALOGUE = "catalogue", _("Against the catalogue")
        INDIVIDUAL = "individual", _("Individually")
        RECOGNITION = "recognition", _("By recognition of another credit bank's decision")

    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="decision"
    )
    result = models.CharField(_("result"), max_length=20, choices=Result.choices)
    basis = models.CharField(_("basis"), max_length=20, choices=Basis.choices, blank=True)
    catalogue_version = models.ForeignKey(
        CatalogueEntryVersion,
        verbose_name=_("catalogue entry version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    hours = models.DecimalField(_("learning hours"), max_digits=7, decimal_places=1, default=0)
    credits = models.DecimalField(_("credits"), max_digits=5, decimal_places=1, default=0)
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(
        User, verbose_name=_("decided by"), on_delete=models.PROTECT, related_name="+"
    )
    approved_by = user_who(pgettext_lazy("person approving a decision", "approved by"))
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    on_time = models.BooleanField(_("on time"))
    # A decision by recognition: the agreement version it used and the origin decision's
    # provenance, as the learner's transfer record states it (accreditation.recognition).
    agreement_version = models.ForeignKey(
        "accreditation.AgreementVersion",
        verbose_name=_("recognition agreement version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    origin_bank = models.ForeignKey(
        "accreditation.TrustedBank",
        verbose_name=_("origin credit bank"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    origin_decision_id = models.CharField(
        _("origin decision"), max_length=200, blank=True, default="", db_default=""
    )
    origin_entry_code = models.CharField(
        _("origin catalogue entry"), max_length=60, blank=True, default="", db_default=""
    )
    origin_entry_version = models.CharField(
        _("origin entry version"), max_length=30, blank=True, default="", db_default=""
    )
    origin_centre = models.CharField(
        _("origin centre"), max_length=200, blank=True, default="", db_default=""
    )
    origin_decided_on = models.DateField(_("origin decision date"), null=True, blank=True)
    origin_status_list = models.URLField(
        _("origin status list"), max_length=500, blank=True, default="", db_default=""
    )
    origin_status_index = models.PositiveBigIntegerField(
        _("origin status index"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["-decided_at"]
        indexes = [models.Index(fields=["decided_at"], name="decision_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(result="rejected", hours=0, credits=0) & ~Q(reason="")
                | Q(result="accredited", basis="catalogue", catalogue_version__isnull=False)
                | Q(result="accredited", basis="individual", approved_by__isnull=False)
                | Q(
                    result="accredited",
                    basis="recognition",
                    agreement_version__isnull=False,
                    origin_bank__isnull=False,
                    origin_decided_on__isnull=False,
                    origin_status_index__isnull=False,
                )
                & ~Q(origin_decision_id="")
                & ~Q(origin_entry_code="")
                & ~Q(origin_entry_version="")
                & ~Q(origin_status_list=""),
                name="decision_is_complete",
            ),
            models.CheckConstraint(
                condition=Q(hours__gte=0) & Q(credits__gte=0), name="decision_amounts_not_neg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.result}"

    @property
    def is_recognition(self) -> bool:
        return self.basis == self.Basis.RECOGNITION

    @property
    def reason_shown(self) -> str:
        return erased_shown(self.reason)


class Revocation(AppendOnlyModel):
    """An accreditation withdrawn after the fact: the evidence proved false, the issuing body
    cancelled the certificate, or it was decided in error. The decision stays as it was; this
    row says it no longer holds, and certificates that relied on it show as revoked."""

    class ReasonCode(models.TextChoices):
        EVIDENCE_FALSE = "evidence_false", _("The evidence proved false")
        CERTIFICATE_CANCELLED = "certificate_cancelled", _("Cancelled by the issuing body")
        DECIDED_IN_ERROR = "decided_in_error", _("Decided in error")

    decision = models.OneToOneField(
        Decision, verbose_name=_("decision"), on_delete=models.PROTECT, related_name="revocation"
    )
    reason_code = models.CharField(_("reason code"), max_length=30, choices=ReasonCode.choices)
    reason = models.TextField(_("reason"))
    revoked_by = models.ForeignKey(
        User, verbose_name=_("revoked by"), on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), default=timezone.now)

    class Meta:
        verbose_name = _("revocation")
        verbose_name_plural = _("revocations")
        ordering = ["-revoked_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="revocation_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.decision_id} {self.reason_code}"


# Mutual recognition's models live in their own module (they need the catalogue and Decision
# above); imported here so that Django registers them with this app.
from .recognition.models import AgreementVersion as AgreementVersion  # noqa: E402
from .recognition.models import Recognition as Recognition  # noqa: E402
from .recognition.models import RecognitionAgreement as RecognitionAgreement  # noqa: E402
from .recognition.models import TrustedBank as TrustedBank  # noqa: E402
from .recognition.models import TrustedBankEvent as TrustedBankEvent  # noqa: E402
