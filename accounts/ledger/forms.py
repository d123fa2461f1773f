from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.identity.numbers import IdType, parse_identity
from accounts.ledger.models import RevealReason
from accounts.validators import PHONE_VALIDATOR


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_(
            "For example: reviewing accreditation application 2026-0012; the learner "
            "asked at the counter."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class RevealForm(forms.Form):
    """Why the identity number is needed: a reason from the list and the centre's business
    with the learner that it refers to."""

    reason = forms.ChoiceField(label=_("Reason"), choices=RevealReason.choices)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=40,
        help_text=_(
            "The number of the application under review at your centre, of the learner's "
            "visit or correction request at your centre; for an account opened at your "
            "counter, its account number."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class CentreRegistrationForm(forms.Form):
    """A person opens an account at the centre's counter; the staff member checks the document
    in person. The learner chooses the password through the emailed link."""

    name = forms.CharField(label=_("Name"), max_length=150)
    id_type = forms.ChoiceField(label=_("Identity document"), choices=IdType.choices)
    id_number = forms.CharField(label=_("Identity number"), max_length=40)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20, validators=[PHONE_VALIDATOR])
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("The learner receives a link here to choose a password."),
    )
    document_note = forms.CharField(
        label=_("Document seen"),
        max_length=300,
        help_text=_(
            "What you checked, for example: original resident identity card, valid to 2031-05-01."
        ),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("id_type") and cleaned.get("id_number"):
            try:
                parse_identity(cleaned["id_type"], cleaned["id_number"])
            except ValidationError as exc:
                self.add_error("id_number", exc.messages)
        return cleaned


class LearnerSearchForm(forms.Form):
    account_number = forms.CharField(label=_("Account number"), max_length=20, required=False)
    id_type = forms.ChoiceField(
        label=_("Identity document"),
        choices=[("", "—"), *IdType.choices],
        required=False,
    )
    id_number = forms.CharField(label=_("Identity number"), max_length=40, required=False)
