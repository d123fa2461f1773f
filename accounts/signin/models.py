"""One-time codes sent by SMS: to prove a phone number at registration, and to reset a
password with the phone instead of the email."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SmsCode(models.Model):
    """A 6-digit code sent to a phone number for one purpose.

    Neither the code nor the number is kept in clear: the code as a keyed hash (six digits are
    a million guesses, so an unkeyed hash would give them away to anyone who reads the table),
    the number as the blind index the identity numbers use. A newer code for the same number
    and purpose replaces the older one; a code is used once, for a few minutes, and dies after
    a few wrong tries."""

    class Purpose(models.TextChoices):
        REGISTER = "register", _("Registration")
        PASSWORD_RESET = "password_reset", _("Password reset")

    phone_index = models.CharField(_("phone number (blind index)"), max_length=64)
    purpose = models.CharField(
        pgettext_lazy("sms code", "purpose"), max_length=20, choices=Purpose.choices
    )
    code_hash = models.CharField(_("code (keyed hash)"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    wrong_tries = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SMS code")
        verbose_name_plural = _("SMS codes")
        indexes = [
            # The look-up of every check: the newest code of a number for a purpose.
            models.Index(
                fields=["phone_index", "purpose", "-created_at"], name="smscode_latest_idx"
            ),
            models.Index(fields=["expires_at"], name="smscode_expires_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="smscode_expires_later"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"
