"""Users and their roles, accreditation centres and institutions.

Staff and collective accounts hang on centres and institutions, so these live in the bottom
layer of the house.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from accounts.validators import validate_unified_social_credit_code

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Role(models.TextChoices):
    LEARNER = "learner", _("Learner")
    INSTITUTION_ADMIN = "institution_admin", _("Institution administrator")
    CENTRE_REVIEWER = "centre_reviewer", _("Centre reviewer")
    CENTRE_ADMIN = "centre_admin", _("Centre administrator")
    MANAGEMENT_ADMIN = "management_admin", _("Management administrator")
    INSTITUTION_OFFICER = "institution_officer", _("Institution officer")
    # Not a person: an institution's system calling the API with OAuth client credentials
    # (accounts.serviceaccounts); it never signs in with a password.
    SERVICE_ACCOUNT = "service_account", _("Service account")


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
    # When the holder of ``phone`` proved it with an SMS code; empty when never, or when the
    # number changed since.
    phone_verified_at = models.DateTimeField(_("phone verified at"), null=True, blank=True)
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
            models.CheckConstraint(
                condition=~Q(role="service_account") | Q(institution__isnull=False),
                name="user_service_account_has_institution",
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


def user_who(verbose_name: StrOrPromise) -> models.ForeignKey[User | None, User | None]:
    """The person who did something to a row (decided it, handed it over, made the move), empty
    until someone has: kept while the row lives (``PROTECT``) and with no reverse accessor on
    :class:`User`, who is named by many such columns."""
    return models.ForeignKey(
        User,
        verbose_name=verbose_name,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
