from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.services import validate_no_identity_number
from common.forms import DateInput

from .models import LearningOutcome, OutcomeKind
from .services import FREE_TEXT_FIELDS, REQUIRED_BY_KIND, outcome_precheck


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


# What a select offers before a choice is made, instead of Django's "---------".
SELECT_PROMPT = pgettext_lazy("the empty first option of a select", "Choose…")

_CERTIFICATE = ("issuing_body", "certificate_number", "result")
_COURSE = ("provider", "mode", "place", "started_on", "ended_on", "hours", "result")
# The fields "Add results" shows for each kind (besides title, date achieved, content and the
# evidence): the kind's required ones (services.REQUIRED_BY_KIND) and those that describe it.
FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
    OutcomeKind.VOCATIONAL_QUALIFICATION: _CERTIFICATE,
    OutcomeKind.SKILL_LEVEL: _CERTIFICATE,
    OutcomeKind.ACADEMIC_COURSE: _COURSE,
    OutcomeKind.TRAINING: _COURSE,
    OutcomeKind.ONLINE_COURSE: ("provider", "started_on", "ended_on", "hours", "result"),
    OutcomeKind.COMPETITION_AWARD: ("issuing_body", "certificate_number", "place", "result"),
    OutcomeKind.OTHER: (
        "issuing_body", "certificate_number", "mode", "place", "provider", "started_on",
        "ended_on", "hours", "result",
    ),
}  # fmt: skip
COMMON_FIELDS = ("kind", "title", "achieved_on", "content")

# The name's example fits the kind chosen (a training is no "qualification certificate").
TITLE_EXAMPLES: dict[str, Any] = {
    OutcomeKind.VOCATIONAL_QUALIFICATION: _(
        "For example: Kindergarten principal qualification certificate."
    ),
    OutcomeKind.SKILL_LEVEL: _("For example: Childcare worker, level 4 (intermediate)."),
    OutcomeKind.ACADEMIC_COURSE: _("For example: Preschool Education Psychology (3 credits)."),
    OutcomeKind.TRAINING: _("For example: Kindergarten safety management training."),
    OutcomeKind.ONLINE_COURSE: _(
        "For example: Online course “Play-based learning in the early years”."
    ),
    OutcomeKind.COMPETITION_AWARD: _(
        "For example: First prize, municipal kindergarten teachers' skills competition."
    ),
    OutcomeKind.OTHER: _("Name it as it appears on the evidence."),
}


class KindChoiceForm(forms.Form):
    """The first step of "Add results": which kind of outcome (its fields follow)."""

    kind = forms.ChoiceField(
        label=_("Kind"), choices=OutcomeKind.choices, widget=forms.RadioSelect, required=True
    )


def select_prompts(form: forms.BaseForm) -> None:
    """Give each select of ``form`` a real prompt as its empty choice."""
    for field in form.fields.values():
        choices = getattr(field, "choices", None)
        if choices and not isinstance(field.widget, forms.RadioSelect):
            field.choices = [  # type: ignore[attr-defined]
                (value, SELECT_PROMPT if value == "" else label) for value, label in choices
            ]


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
            "content": _(
                "For example: the topics covered, the skills practised, the modules passed."
            ),
            "result": _("For example: passed, grade 85, first prize, level 4."),
            "hours": _("Learning hours stated on the evidence, if any."),
        }
        error_messages = {
            # Django's own ("Ensure that there are no more than 7 digits in total.") names a
            # limit the learner cannot see: say what fits the field (max_digits=7, 1 decimal).
            "hours": {
                code: _("Learning hours: at most 6 digits before the decimal point and 1 after.")
                for code in ("max_digits", "max_whole_digits", "max_decimal_places")
            },
        }

    def __init__(self, *args: Any, kind: str = "", **kwargs: Any) -> None:
        """``kind`` (adding): show only that kind's fields, the kind fixed in a hidden input.
        Either way, the fields the kind needs are marked required before submission."""
        super().__init__(*args, **kwargs)
        if kind:
            wanted = {*COMMON_FIELDS, *FIELDS_BY_KIND.get(kind, ()), "evidence"}
            for name in list(self.fields):
                if name not in wanted:
                    del self.fields[name]
            self.fields["kind"].widget = forms.HiddenInput()
            self.initial["kind"] = kind
        current = kind or (self.instance.kind if self.instance.pk else "")
        if "title" in self.fields:
            self.fields["title"].help_text = TITLE_EXAMPLES.get(
                current, TITLE_EXAMPLES[OutcomeKind.OTHER]
            )
        if "issuing_body" in self.fields and current == OutcomeKind.COMPETITION_AWARD:
            # A competition has an organiser or an awarding body, not an "issuer".
            self.fields["issuing_body"].label = _("Organiser or awarding body")
        # Marked (the asterisk, aria-required) but checked by the service with the other
        # rules, so that a refusal names every problem at once.
        for name in REQUIRED_BY_KIND.get(current, ()):
            if name in self.fields:
                self.fields[name].kind_required = True  # type: ignore[attr-defined]
                self.fields[name].widget.attrs["aria-required"] = "true"
        if "hours" in self.fields and "hours" in REQUIRED_BY_KIND.get(current, ()):
            self.fields["hours"].help_text = _("Learning hours stated on the evidence.")
        select_prompts(self)

    def clean(self) -> dict[str, Any]:
        """When a field is already refused the service never sees the submission: run its
        checks (the kind's required fields, dates, hours) here too, so that one save names
        every problem, not only those found before the first refusal."""
        cleaned = super().clean() or {}
        if self.errors:
            data = {k: v for k, v in cleaned.items() if k != "evidence"}
            data.setdefault("kind", self.initial.get("kind") or self.instance.kind)
            try:
                outcome_precheck(data)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    # A field refused already (an over-long number) is not also "missing".
                    if field in self.fields and field not in self.errors:
                        for message in messages:
                            self.add_error(field, message)
        return cleaned


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
