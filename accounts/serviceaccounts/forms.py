from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.serviceaccounts.models import Scope


class ServiceAccountForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Which of your systems uses it, e.g. “HR system”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Give the system only what it needs."),
    )
