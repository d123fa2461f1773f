from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.serviceaccounts.models import Scope


class ServiceAccountForm(forms.Form):
    name = forms.CharField(
        # Not a person's name (姓名): the name of the system it stands for (名称).
        label=pgettext_lazy("the name of a thing, not a person", "Name"),
        max_length=100,
        help_text=_("Which of your systems uses it, e.g. “HR system”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Give the system only what it needs."),
    )


# A new secret or disabling stops the system using the account at once: a deliberate tick
# (works without script) says so before it happens.
CONFIRM_LABEL = _("I understand: the system using it stops working at once.")
CONFIRM_REQUIRED = _("Tick this box to confirm.")


class ServiceAccountConfirmForm(forms.Form):
    confirm = forms.BooleanField(label=CONFIRM_LABEL, error_messages={"required": CONFIRM_REQUIRED})
