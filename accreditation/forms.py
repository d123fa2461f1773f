"""Forms of the accreditation pages: they parse what the learner or the reviewer typed; the
services in :mod:`accreditation.services` decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Centre, User
from accounts.services import validate_no_identity_number
from outcomes.forms import MultipleFileField
from outcomes.models import OutcomeKind

from .catalogue import catalogue_current
from .models import ApplicationState, CatalogueEntry, CatalogueEntryVersion
from .services import MAX_CREDITS, MAX_HOURS, reviewers_of, submission_centres

REASON = forms.Textarea(attrs={"rows": 3, "maxlength": 2000})


class CatalogueEntryField(forms.ModelChoiceField):
    """A choice of the catalogue entries in effect today for one kind of outcome, each shown
    with the hours and credits its current version gives."""

    def __init__(self, *, kind: str, initial_code: str = "", **kwargs: Any) -> None:
        versions = list(catalogue_current().filter(kind=kind).select_related("entry"))
        self.versions: dict[int, CatalogueEntryVersion] = {v.entry_id: v for v in versions}
        kwargs.setdefault(
            "initial", next((v.entry_id for v in versions if v.entry.code == initial_code), None)
        )
        super().__init__(
            queryset=CatalogueEntry.objects.filter(pk__in=list(self.versions)).order_by("code"),
            **kwargs,
        )

    def label_from_instance(self, obj: Any) -> str:
        version = self.versions.get(obj.pk)
        if version is None:
            return str(obj.code)
        return str(
            _("%(code)s %(name)s: %(hours)s hours, %(credits)s credits")
            % {
                "code": obj.code,
                "name": version.display_name,
                "hours": version.hours,
                "credits": version.credits,
            }
        )


class ApplicationSubmitForm(forms.Form):
    centre: forms.ModelChoiceField[Centre] = forms.ModelChoiceField(
        label=_("Accreditation centre"),
        queryset=None,  # the centres a learner may submit to, set per form
        help_text=_("The branch centre that reviews your application."),
    )
    statement = forms.CharField(
        label=_("Statement"),
        required=False,
        max_length=2000,
        validators=[validate_no_identity_number],
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
        help_text=_("Anything the reviewer should know about this outcome (optional)."),
    )

    def __init__(
        self,
        *args: Any,
        kind: str,
        matched_code: str = "",
        usual_centre_id: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        centre = self.fields["centre"]
        centre.queryset = submission_centres()  # type: ignore[attr-defined]
        # The learner's usual centre (that of their latest application) chosen already; else a
        # real prompt, not Django's dashes.
        centre.empty_label = _("Choose an accreditation centre…")  # type: ignore[attr-defined]
        if usual_centre_id is not None:
            centre.initial = usual_centre_id
        self.fields["claimed_entry"] = CatalogueEntryField(
            kind=kind,
            initial_code=matched_code,
            label=_("Catalogue entry"),
            required=False,
            empty_label=_("None of these: ask for individual accreditation"),
            help_text=_(
                "The entry of the catalogue of accredited learning outcomes that your outcome "
                "corresponds to; the matching one is chosen for you when there is one."
            ),
        )
        self.order_fields(["centre", "claimed_entry", "statement"])


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you withdraw it? (optional)"),
        required=False,
        max_length=2000,
        validators=[validate_no_identity_number],
        widget=REASON,
    )


class ResubmitForm(forms.Form):
    evidence = MultipleFileField(
        label=_("Supplementary material"),
        help_text=_("PDF, JPEG or PNG, up to 10 MB each."),
    )
    note = forms.CharField(
        label=_("Note to the reviewer"),
        required=False,
        max_length=2000,
        validators=[validate_no_identity_number],
        widget=REASON,
    )


# --- The centre's moves -------------------------------------------------------------------------
#
# Each move form is rendered with the move's name as its prefix, so the fields of two forms on
# the same page never share an id, and a refused move puts its errors beside its own fields.


class StartReviewForm(forms.Form):
    pass


class ApproveForm(forms.Form):
    pass


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=REASON)


class AssignForm(forms.Form):
    reviewer: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label=_("Reviewer"), queryset=None
    )

    def __init__(self, *args: Any, centre: Centre, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = reviewers_of(centre=centre)  # type: ignore[attr-defined]
        self.fields["reviewer"].label_from_instance = lambda user: user.get_full_name()  # type: ignore[attr-defined]


class AccreditForm(forms.Form):
    reason = forms.CharField(
        label=_("Note (optional)"), required=False, max_length=2000, widget=REASON
    )

    def __init__(self, *args: Any, kind: str, default_code: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entry"] = CatalogueEntryField(
            kind=kind,
            initial_code=default_code,
            label=_("Catalogue entry"),
            help_text=_("The hours and credits of the entry's version in effect today."),
        )
        self.order_fields(["entry", "reason"])


class ProposeForm(forms.Form):
    hours = forms.DecimalField(
        label=_("Learning hours"),
        max_digits=7,
        decimal_places=1,
        min_value=Decimal("0.1"),
        max_value=MAX_HOURS,
    )
    credits = forms.DecimalField(
        label=_("Credits"),
        max_digits=5,
        decimal_places=1,
        min_value=Decimal(0),
        max_value=MAX_CREDITS,
    )
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=REASON)


# --- The queue's filters ------------------------------------------------------------------------

ORDERINGS = [
    ("due_on", _("Due date")),
    ("-submitted_at", _("Submitted, newest first")),
    ("submitted_at", _("Submitted, oldest first")),
]


class QueueFilterForm(forms.Form):
    """The queue's filters from the query string. A value that is not on offer is ignored."""

    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Awaiting a decision")), *ApplicationState.choices],
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *OutcomeKind.choices]
    )
    reviewer = forms.ChoiceField(label=_("Reviewer"), required=False)
    ordering = forms.ChoiceField(label=_("Sort by"), required=False, choices=ORDERINGS)

    def __init__(
        self, *args: Any, reviewers: list[User], centres: list[Centre] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if centres is not None:
            # The management admin looks at one centre or all of them.
            self.fields["centre"] = forms.ChoiceField(
                label=_("Centre"),
                required=False,
                choices=[("", _("All centres")), *[(c.code, c.name) for c in centres]],
            )
            self.order_fields(["centre"])
        self.fields["reviewer"].choices = [  # type: ignore[attr-defined]
            ("", _("Anyone")),
            ("me", _("Me")),
            ("none", _("Not assigned")),
            *[(str(user.pk), user.get_full_name()) for user in reviewers],
        ]

    def filters(self) -> dict[str, str]:
        """The valid filters; a value not on offer falls back to the default."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}
