from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution

from .models import Programme
from .services import programmes_published
from .whatif import institutions_publishing, programme_levels


class ProgrammeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Programme) -> str:
        return f"{obj.display_name} · {obj.institution.name}"


class LearningGoalForm(forms.Form):
    programme = ProgrammeChoiceField(
        label=_("Programme or certificate"),
        queryset=Programme.objects.none(),
        empty_label=_("Choose a programme…"),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["programme"].queryset = programmes_published()  # type: ignore[attr-defined]


class WhatIfFilterForm(forms.Form):
    """The what-if's filters (each optional); a bad value is shown next to its field and left
    out of the filtering."""

    institution = forms.ModelChoiceField(
        label=_("Institution"),
        queryset=Institution.objects.none(),
        required=False,
        empty_label=_("All institutions"),
        error_messages={"invalid_choice": _("No institution publishes programmes under this id.")},
    )
    level = forms.ChoiceField(label=_("Level"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("Degrees and certificates")), *Programme.Kind.choices],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["institution"].queryset = institutions_publishing()  # type: ignore[attr-defined]
        self.fields["level"].choices = [  # type: ignore[attr-defined]
            ("", _("All levels")),
            *((level, level) for level in programme_levels()),
        ]

    def valid_filters(self) -> dict[str, Any]:
        """The filters that are valid (all of them when the form is)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: value
            for name, value in cleaned.items()
            if name not in self.errors and value not in (None, "")
        }
