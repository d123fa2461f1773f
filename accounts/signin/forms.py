from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.identity.numbers import IdType, parse_identity
from accounts.signin.services import password_reset_users
from accounts.validators import PHONE_VALIDATOR, normalise_phone
from common.tasks import task_after_commit


class PhoneField(forms.CharField):
    """A mobile number as people write it (139 1234 5678, 139-1234-5678), checked and kept as
    digits (and a leading +)."""

    def to_python(self, value: Any) -> str:
        return normalise_phone(super().to_python(value) or "")


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Account number, email or mobile phone"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "The account number, email or phone and the password do not match. "
            "Note that the password is case-sensitive."
        ),
    }


class RegistrationForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    id_type = forms.ChoiceField(label=_("Identity document"), choices=IdType.choices)
    id_number = forms.CharField(
        label=_("Identity number"),
        max_length=40,
        help_text=_("Your date of birth and gender are read from the number."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    phone = PhoneField(
        label=_("Mobile phone"),
        max_length=20,
        validators=[PHONE_VALIDATOR],
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    code = forms.CharField(
        label=pgettext_lazy("sms", "Code from the SMS"),
        max_length=6,
        help_text=_("Press “Send the code”; the SMS brings 6 digits, valid for 5 minutes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )
    email = forms.EmailField(
        label=pgettext_lazy("registration", "Email (optional)"),
        max_length=254,
        required=False,
        help_text=_("Your mobile phone is enough to sign in and to reset the password."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not only digits, not a common password."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Checked here as well as in the service, so that every mistake shows at once.
        if cleaned.get("id_type") and cleaned.get("id_number"):
            try:
                parse_identity(cleaned["id_type"], cleaned["id_number"])
            except ValidationError as exc:
                self.add_error("id_number", exc.messages)
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class OneTimeCodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class PasswordSetupOrResetForm(PasswordResetForm):
    """Django's reset form, which also serves accounts that have no password yet (opened at a
    centre or imported by an institution: the emailed one-time link is how they choose one).

    It sends nothing itself: every valid address, known or not, queues one worker task
    (``accounts.tasks.send_password_reset_email``) that looks the address up and emails the
    link on the portal's address (PORTAL_URL). The answer, and its timing, are the same whether
    the address has an account, and the request's Host header is never in the link."""

    def get_users(self, email: str) -> Iterator[Any]:
        return iter(password_reset_users(email=email))

    def save(self, *args: Any, **kwargs: Any) -> None:
        from accounts.tasks import send_password_reset_email

        task_after_commit(
            send_password_reset_email,
            email=self.cleaned_data["email"],
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )


class ContactDetailsForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20, validators=[PHONE_VALIDATOR])
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("To confirm that it is you."),
    )


class SmsResetRequestForm(forms.Form):
    phone = PhoneField(
        label=_("Mobile phone"),
        max_length=20,
        validators=[PHONE_VALIDATOR],
        widget=forms.TextInput(
            attrs={"autocomplete": "tel", "inputmode": "tel", "autofocus": True}
        ),
    )


class SmsResetConfirmForm(forms.Form):
    phone = PhoneField(
        label=_("Mobile phone"),
        max_length=20,
        validators=[PHONE_VALIDATOR],
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    code = forms.CharField(
        label=pgettext_lazy("sms", "Code from the SMS"),
        max_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )
    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not only digits, not a common password."),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("The two passwords differ."))
        return cleaned
