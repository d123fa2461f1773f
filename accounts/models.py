"""Users and their roles, accreditation centres and institutions.

Staff and collective accounts hang on centres and institutions, so these live in the bottom
layer of the house.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .identity import Gender, IdType
from .validators import validate_unified_social_credit_code


class Role(models.TextChoices):
    LEARNER = "learner", _("Learner")
    INSTITUTION_ADMIN = "institution_admin", _("Institution administrator")
    CENTRE_REVIEWER = "centre_reviewer", _("Centre reviewer")
    CENTRE_ADMIN = "centre_admin", _("Centre administrator")
    MANAGEMENT_ADMIN = "management_admin", _("Management administrator")
    INSTITUTION_OFFICER = "institution_officer", _("Institution officer")


CENTRE_ROLES = frozenset({Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN})
INSTITUTION_ROLES = frozenset({Role.INSTITUTION_ADMIN, Role.INSTITUTION_OFFICER})
# Roles that act on other people's records; they will sign in with a second factor.
STAFF_ROLES = frozenset(set(Role) - {Role.LEARNER})


class Centre(models.Model):
    """The management centre of the credit bank and its accreditation branch centres."""

    class Kind(models.TextChoices):
        MANAGEMENT = "management", _("Management centre")
        BRANCH = "branch", _("Accreditation branch centre")

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("management centre"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="branches",
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("centre")
        verbose_name_plural = _("centres")
        ordering = ["code"]
        constraints = [
            # A branch centre answers to a management centre; a management centre to no one.
            models.CheckConstraint(
                condition=Q(kind="management", parent__isnull=True)
                | Q(kind="branch", parent__isnull=False),
                name="centre_branch_has_parent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Institution(models.Model):
    """An organisation known to the bank: one that holds a collective account for its members
    (enterprise, school, training organisation) or one that receives credit transfers (degree
    institution, vocational-certificate body)."""

    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise")
        SCHOOL = "school", _("School")
        TRAINING_ORGANISATION = "training_organisation", _("Training organisation")
        DEGREE_INSTITUTION = "degree_institution", _("Degree-granting institution")
        CERTIFICATE_BODY = "certificate_body", _("Vocational certificate body")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_unified_social_credit_code],
    )
    centre = models.ForeignKey(
        Centre,
        verbose_name=_("centre"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="institutions",
        help_text=_("The accreditation centre that serves this institution."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. For a learner the username is the learning account number; staff
    have a centre or an institution according to their role."""

    # One full name instead of first and last names, which do not fit Chinese names.
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]

    name = models.CharField(_("name"), max_length=150, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    role = models.CharField(
        _("role"), max_length=30, choices=Role.choices, default=Role.LEARNER, db_index=True
    )
    centre = models.ForeignKey(
        Centre,
        verbose_name=_("centre"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )

    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # Email and phone are login identifiers, so each may belong to one user only.
            models.UniqueConstraint(
                Lower("email"), condition=~Q(email=""), name="user_email_unique_ci"
            ),
            models.UniqueConstraint(
                fields=["phone"], condition=~Q(phone=""), name="user_phone_unique"
            ),
            models.CheckConstraint(
                condition=~Q(role__in=sorted(CENTRE_ROLES)) | Q(centre__isnull=False),
                name="user_centre_staff_have_centre",
            ),
            models.CheckConstraint(
                condition=~Q(role__in=sorted(INSTITUTION_ROLES)) | Q(institution__isnull=False),
                name="user_institution_staff_have_institution",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.username

    def save(self, *args: Any, **kwargs: Any) -> None:
        # set_password() leaves the new clear password in _password until the save.
        password_changed = getattr(self, "_password", None) is not None and not self._state.adding
        super().save(*args, **kwargs)
        if password_changed:
            # Browser sessions end by themselves (their hash of the password no longer
            # matches); API tokens must be revoked, so a new password locks out every device.
            from knox.models import AuthToken

            AuthToken.objects.filter(user=self).delete()

    def get_full_name(self) -> str:
        return self.name or self.username

    def get_short_name(self) -> str:
        return self.name or self.username

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles

    @property
    def is_learner(self) -> bool:
        return self.role == Role.LEARNER

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES


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


class AppendOnlyModel(models.Model):
    """Rows are written once: an update or delete through the ORM is refused."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError(f"{type(self).__name__} rows are append-only")


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

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="transactions"
    )
    kind = models.CharField(_("event"), max_length=40, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        User,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
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


class StaffAccess(AppendOnlyModel):
    """A member of staff looked at a learner's file or revealed their identity number: who,
    when and why. The learner sees this list."""

    class Kind(models.TextChoices):
        VIEWED_FILE = "viewed_file", _("Viewed the lifelong learning file")
        REVEALED_IDENTITY = "revealed_identity", _("Revealed the identity number")

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="staff_accesses"
    )
    staff = models.ForeignKey(
        User, verbose_name=_("staff member"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("access"), max_length=30, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=300)
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


class Notification(models.Model):
    """A notice to one user, shown in the portal and sent by email.

    The text is rendered when it is read, in the reader's language, from ``kind`` and
    ``params`` (see :mod:`accounts.notifications`). ``key`` makes a notice idempotent: the same
    key for the same user is stored once, whatever retries or racing workers do."""

    class Kind(models.TextChoices):
        APPLICATION_SUBMITTED = "application_submitted", _("Application received")
        APPLICATION_ASSIGNED = "application_assigned", _("Application assigned to you")
        SUPPLEMENT_REQUESTED = "supplement_requested", _("Supplementary material requested")
        APPLICATION_ACCREDITED = "application_accredited", _("Outcome accredited")
        APPLICATION_REJECTED = "application_rejected", _("Outcome not accredited")
        APPROVAL_REQUESTED = "approval_requested", _("Individual accreditation to approve")
        DEADLINE_REMINDER = "deadline_reminder", _("Decision due soon")
        DEADLINE_ESCALATION = "deadline_escalation", _("Decision overdue")
        OUTCOME_REPORTED = "outcome_reported", _("Learning outcome reported for you")
        CATALOGUE_MATCH = "catalogue_match", _("Your outcome can now be accredited")
        ACCREDITATION_REVOKED = "accreditation_revoked", _("Accreditation revoked")
        CERTIFICATE_READY = "certificate_ready", _("Certificate ready")
        CORRECTION_ACCEPTED = "correction_accepted", _("Correction accepted")
        CORRECTION_REJECTED = "correction_rejected", _("Correction not accepted")
        TRANSFER_ACCEPTED = "transfer_accepted", _("Credit transfer accepted")
        TRANSFER_REJECTED = "transfer_rejected", _("Credit transfer not accepted")
        TRANSFER_INFORMATION_REQUESTED = (
            "transfer_information_requested",
            _("Information requested for a credit transfer"),
        )

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
    # periodic re-send takes the notice over (accounts.notifications).
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
    that owns it, see :mod:`accounts.rights`), the record's id and one of that kind's fields.
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
    decided_by = models.ForeignKey(
        User,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("reason for the decision"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("correction request")
        verbose_name_plural = _("correction requests")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(
                fields=["requested_at"],
                name="correction_pending",
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
        from .rights import correction_field_label

        return correction_field_label(record_kind=self.record_kind, field=self.field)


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
    handed_over_by = models.ForeignKey(
        User,
        verbose_name=_("handed over by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    pages = models.CharField(_("pages"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("centre visit")
        verbose_name_plural = _("centre visits")
        ordering = ["visit_on", "id"]
        indexes = [models.Index(fields=["centre", "visit_on"], name="visit_centre_date")]

    def __str__(self) -> str:
        return f"{self.account} {self.visit_on}"
