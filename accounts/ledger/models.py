"""Learning accounts, the lifelong learning file record, business transactions, the ledger of
hours and credits, and the record of staff looking at a learner's file."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.core.erasure import erased_shown
from accounts.core.events import AppendOnlyModel
from accounts.core.models import Centre, Institution, User, user_who
from accounts.identity.numbers import Gender, IdType


class LearningAccount(models.Model):
    """A credit bank learning account: personal (one per natural person, keyed by a verified
    identity document) or collective (one per institution)."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Personal")
        COLLECTIVE = "collective", _("Collective")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        ACTIVE = "active", _("Active")
        REJECTED = "rejected", _("Rejected")
        CLOSED = "closed", _("Closed")

    class IdentityCheck(models.TextChoices):
        ONLINE_SELF_DECLARED = "online_self_declared", _("Declared online by the learner")
        IN_PERSON_AT_CENTRE = "in_person_at_centre", _("Checked in person at a centre")
        REPORTED_BY_INSTITUTION = "reported_by_institution", _("Reported by an institution")

    number = models.CharField(_("account number"), max_length=16, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    holder = models.OneToOneField(
        User,
        verbose_name=_("holder"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="learning_account",
    )
    institution = models.OneToOneField(
        Institution,
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="collective_account",
    )
    id_type = models.CharField(
        _("identity document"), max_length=40, choices=IdType.choices, blank=True
    )
    # Never in clear: the Fernet token, the HMAC blind index used for uniqueness, and the masked
    # form shown on screen.
    id_number_encrypted = models.TextField(editable=False, blank=True)
    id_number_index = models.CharField(max_length=64, editable=False, blank=True)
    id_number_masked = models.CharField(_("identity number"), max_length=32, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    identity_check = models.CharField(
        _("identity checked"), max_length=30, choices=IdentityCheck.choices, blank=True
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_at_centre = models.ForeignKey(
        Centre,
        verbose_name=_("opened at centre"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opened_accounts",
    )
    opened_by = models.ForeignKey(
        User,
        verbose_name=_("opened by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts_opened",
    )
    document_note = models.CharField(_("document seen"), max_length=300, blank=True)
    # A collective account is applied for and then decided by a centre administrator.
    decided_by = models.ForeignKey(
        User,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts_decided",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("learning account")
        verbose_name_plural = _("learning accounts")
        constraints = [
            # One natural person, one personal account: enforced by the database, so that two
            # registrations arriving at the same moment cannot both succeed.
            models.UniqueConstraint(
                fields=["id_number_index"],
                condition=Q(kind="personal"),
                name="account_one_personal_per_identity",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="personal", holder__isnull=False, institution__isnull=True)
                    & ~Q(id_number_index="")
                )
                | Q(kind="collective", institution__isnull=False, holder__isnull=True),
                name="account_kind_matches_owner",
            ),
            models.CheckConstraint(
                condition=~Q(identity_check="in_person_at_centre")
                | Q(opened_at_centre__isnull=False, opened_by__isnull=False),
                name="account_in_person_check_names_centre_and_staff",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class LifelongLearningFile(models.Model):
    """Created with the account, in the same transaction; the learner's record of learning
    programmes is read from the outcomes that hang on the account."""

    account = models.OneToOneField(
        LearningAccount, on_delete=models.PROTECT, related_name="learning_file"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("lifelong learning file")
        verbose_name_plural = _("lifelong learning files")

    def __str__(self) -> str:
        return str(self.account)


class BusinessTransaction(AppendOnlyModel):
    """One business event on an account, shown to the learner as their account history."""

    class Kind(models.TextChoices):
        ACCOUNT_OPENED = "account_opened", _("Account opened")
        DETAILS_CHANGED = "details_changed", _("Details changed")
        OUTCOME_SAVED = "outcome_saved", _("Learning outcome saved")
        OUTCOME_CHANGED = "outcome_changed", _("Learning outcome changed")
        OUTCOME_WITHDRAWN = "outcome_withdrawn", _("Learning outcome withdrawn")
        APPLICATION_SUBMITTED = "application_submitted", _("Accreditation applied for")
        APPLICATION_DECIDED = "application_decided", _("Accreditation decided")
        TRANSFER = "transfer", _("Credit transfer")
        CERTIFICATE_ISSUED = "certificate_issued", _("Certificate issued")
        FILE_DOWNLOADED = "file_downloaded", _("Lifelong learning file downloaded")
        COLLECTIVE_APPLIED = "collective_applied", _("Collective account applied for")
        COLLECTIVE_REJECTED = "collective_rejected", _("Collective account application rejected")
        JOINED_COLLECTIVE = "joined_collective", _("Joined an institution's collective account")
        COLLECTIVE_INVITED = (
            "collective_invited",
            _("Invited to join an institution's collective account"),
        )
        COLLECTIVE_INVITATION_DECLINED = (
            "collective_declined",
            _("Declined an institution's invitation to its collective account"),
        )
        GOAL_SET = "goal_set", _("Learning goal set")
        GOAL_REMOVED = "goal_removed", _("Learning goal removed")
        OUTCOME_REPORTED = "outcome_reported", _("Learning outcome reported by an institution")
        OUTCOME_CONFIRMED = "outcome_confirmed", _("Reported learning outcome confirmed")
        OUTCOME_DECLINED = "outcome_declined", _("Reported learning outcome declined")
        SUPPLEMENT_REQUESTED = "supplement_requested", _("Supplementary material requested")
        SUPPLEMENT_PROVIDED = "supplement_provided", _("Supplementary material provided")
        APPLICATION_WITHDRAWN = "application_withdrawn", _("Accreditation application withdrawn")
        LEDGER_CORRECTED = "ledger_corrected", _("Ledger entry reversed")
        ACCREDITATION_REVOKED = "accreditation_revoked", _("Accreditation revoked")
        CLOSURE_REQUESTED = "closure_requested", _("Account closure requested")
        CLOSURE_CANCELLED = "closure_cancelled", _("Account closure cancelled")
        ACCOUNT_CLOSED = "account_closed", _("Account closed")
        CORRECTION_REQUESTED = "correction_requested", _("Correction requested")
        CORRECTION_REJECTED = "correction_rejected", _("Correction rejected")
        CORRECTED = "corrected", _("Basic information corrected")
        RECORD_CORRECTED = "record_corrected", _("Decided record corrected")
        DATA_EXPORT_REQUESTED = "data_export_requested", _("Export of my data requested")
        VISIT_BOOKED = "visit_booked", _("Visit to a centre booked")
        CERTIFIED_COPY_HANDED_OVER = "certified_copy_handed_over", _("Certified copy handed over")
        PREASSESSMENT = "preassessment", _("Pre-assessment of a credit transfer")

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="transactions"
    )
    kind = models.CharField(_("event"), max_length=40, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    actor = user_who(_("by"))
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("business transaction")
        verbose_name_plural = _("business transactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["account", "-occurred_at"], name="txn_account_time")]

    def __str__(self) -> str:
        return f"{self.account} {self.kind}"


class LedgerEntry(AppendOnlyModel):
    """Hours and credits added to (or, by a reversing entry, taken from) an account. Balances
    are sums of entries; a correction is a new entry, never an edit."""

    class Book(models.TextChoices):
        # Hours and credits the learner has accumulated in the bank (accreditation decisions).
        ACCUMULATED = "accumulated", _("Accumulated")
        # Credits an institution has recognised for a course (transfer decisions). They are
        # kept apart, so the same credits are never added to the bank balance twice.
        TRANSFERRED = "transferred", _("Transferred")

    account = models.ForeignKey(LearningAccount, on_delete=models.PROTECT, related_name="ledger")
    book = models.CharField(
        _("book"), max_length=20, choices=Book.choices, default=Book.ACCUMULATED
    )
    hours = models.DecimalField(_("learning hours"), max_digits=8, decimal_places=1, default=0)
    credits = models.DecimalField(_("credits"), max_digits=6, decimal_places=1, default=0)
    cause_type = models.CharField(_("cause"), max_length=40)
    cause_id = models.CharField(max_length=40)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(hours=0) | ~Q(credits=0), name="ledger_entry_not_empty"
            ),
            # Whatever retries a decision, its cause is booked once.
            models.UniqueConstraint(
                fields=["account", "cause_type", "cause_id"], name="ledger_cause_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.hours}h {self.credits}cr"


class RevealReason(models.TextChoices):
    """Why a member of staff may see a learner's identity number in clear: each names the
    centre's own business with the learner, given as a reference (see
    ``accounts.ledger.reveals``)."""

    APPLICATION_REVIEW = (
        "application_review",
        _("Verifying identity for an application under review"),
    )
    CENTRE_VISIT = "centre_visit", _("The learner's visit to the centre")
    COUNTER_OPENING = "counter_opening", _("An account opened at the centre's counter")
    CORRECTION_REQUEST = "correction_request", _("A correction request the centre decides")


class StaffAccess(AppendOnlyModel):
    """A member of staff looked at a learner's file, revealed their identity number, or opened
    or decided one of their correction requests: who, when, why and about what. The learner
    sees this list."""

    class Kind(models.TextChoices):
        VIEWED_FILE = "viewed_file", _("Viewed the lifelong learning file")
        REVEALED_IDENTITY = "revealed_identity", _("Revealed the identity number")
        VIEWED_CORRECTION = "viewed_correction", _("Viewed a correction request")
        DECIDED_CORRECTION = "decided_correction", _("Decided a correction request")
        # Opening an application under review: the learner's file is seen through it. Its
        # ``reason`` is a code and ``reference`` the application's number, worded on display
        # in the reader's language.
        REVIEWED_APPLICATION = "reviewed_application", _("Reviewed an accreditation application")

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="staff_accesses"
    )
    staff = models.ForeignKey(
        User, verbose_name=_("staff member"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("access"), max_length=30, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=300)
    # What the access was about at the staff member's centre (an application, a visit, a
    # correction request...), as text: empty for a look at the file.
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("staff access")
        verbose_name_plural = _("staff accesses")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["account", "-occurred_at"], name="access_account_time")]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="staff_access_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.staff} {self.kind} {self.account}"

    @property
    def reason_shown(self) -> str:
        """The reason in the reader's language where the portal wrote it (an application
        review, a reason for a reveal from the list); a reason staff typed, as they typed it."""
        return access_reason_shown(self.kind, erased_shown(self.reason), self.reference)

    @property
    def reference_shown(self) -> str:
        """The reference beside the reason, unless the reason already names it."""
        return "" if self.kind == self.Kind.REVIEWED_APPLICATION else self.reference


# The code an application review is recorded with, and the wording of the ones recorded as
# text before it (in either language), e.g. "审核认证申请 #12".
APPLICATION_REVIEW_REASON = "application_review"
_OLD_REVIEW_REASON = re.compile(r"^(?:审核认证申请|Review of accreditation application) #(\d+)$")


def _reveal_reasons_by_label() -> dict[str, str]:
    """Each reveal reason's label, in every language of the portal, to its code (a reveal
    records the label in the portal's language)."""
    labels: dict[str, str] = {}
    for code, _label in settings.LANGUAGES:
        with translation.override(code):
            labels.update({str(reason.label): reason.value for reason in RevealReason})
    return labels


def access_reason_shown(kind: str, reason: str, reference: str) -> str:
    """The reason of a staff access in the active language (see ``StaffAccess.reason_shown``)."""
    if kind == StaffAccess.Kind.REVIEWED_APPLICATION and reference.isdigit():
        return translation.gettext("Review of accreditation application #%(id)d") % {
            "id": int(reference)
        }
    old_review = _OLD_REVIEW_REASON.match(reason)
    if old_review:
        return translation.gettext("Review of accreditation application #%(id)d") % {
            "id": int(old_review.group(1))
        }
    if kind == StaffAccess.Kind.REVEALED_IDENTITY:
        code = reason if reason in RevealReason.values else _reveal_reasons_by_label().get(reason)
        if code is not None:
            return str(RevealReason(code).label)
    return reason
