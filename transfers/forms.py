from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Programme
from .services import programmes_published


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
