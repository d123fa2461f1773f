from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.services import validate_no_identity_number
from common.forms import DateInput

from .models import LearningOutcome
from .services import FREE_TEXT_FIELDS


class FreeTextChecked(forms.ModelForm):
    """The fields a person writes in their own words refuse an identity number."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in FREE_TEXT_FIELDS:
            if name in self.fields:
                self.fields[name].validators.append(validate_no_identity_number)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(
                attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}
            ),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


DATE = DateInput()


class OutcomeForm(FreeTextChecked):
    evidence = MultipleFileField(
        label=_("Evidence files"),
        required=False,
        help_text=_(
            "PDF, JPEG or PNG, up to 10 MB each: the certificate, the training record, the proof "
            "of attendance. Photos are stored without their location data."
        ),
    )

    class Meta:
        model = LearningOutcome
        fields = [
            "kind", "title", "issuing_body", "certificate_number", "achieved_on", "content",
            "mode", "place", "provider", "started_on", "ended_on", "hours", "result",
        ]  # fmt: skip
        widgets = {
            "achieved_on": DATE,
            "started_on": DATE,
            "ended_on": DATE,
            "content": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "title": _("For example: Kindergarten principal qualification certificate."),
            "content": _("What you learned: topics, skills, modules."),
            "result": _("For example: passed, grade 85, first prize, level 4."),
            "hours": _("Learning hours stated on the evidence, if any."),
        }


class BatchForm(FreeTextChecked):
    """An institution's report of one training programme: its description, the list of
    members with their results, and the evidence shared by all of them."""

    file = forms.FileField(
        label=_("List of members and results (CSV or XLSX)"),
        allow_empty_file=True,  # the service explains an empty file like any other refusal
        help_text=_(
            "Columns 账户号码 (account_number) or 证件类型 and 证件号码 (id_type, id_number), "
            "姓名 (name), 结果 (result), 证书编号 (certificate_number, optional) and 取得日期 "
            "(achieved_on) in the first row. Every person must be a member of your collective "
            "account."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument"
                ".spreadsheetml.sheet"
            }
        ),
    )
    evidence = MultipleFileField(
        label=_("Evidence files"),
        required=False,
        help_text=_(
            "PDF, JPEG or PNG, up to 10 MB each: the training record or the list of results, "
            "shared by every member in the list."
        ),
    )

    class Meta:
        model = LearningOutcome
        fields = [
            "kind", "title", "issuing_body", "content", "mode", "place", "provider",
            "started_on", "ended_on", "hours",
        ]  # fmt: skip
        widgets = {
            "started_on": DATE,
            "ended_on": DATE,
            "content": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "title": _("The training programme, for example: Preschool safety training 2026."),
            "content": _("What was learned: topics, skills, modules."),
        }
