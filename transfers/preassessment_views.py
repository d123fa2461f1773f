"""Pages of binding pre-assessments (ADR 0028): the learner asks from the learning path's
course row, follows her questions and withdraws one; the institution officer answers from a
queue ordered by due date. Someone else's pre-assessment is a 404."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.models import Role, User
from accounts.services import learning_account_required, validate_no_identity_number
from accounts.signin.permissions import RoleRequiredMixin
from accreditation.catalogue import catalogue_current
from accreditation.models import CatalogueEntryVersion
from common.forms import DateInput, form_errors_apply
from common.http import SignedInRequest
from outcomes.models import LearningOutcome

from .models import Course, PreAssessment, PreAssessmentState
from .preassessments import (
    BOTH_CHOSEN,
    preassessment_answer,
    preassessment_ask,
    preassessment_events_of,
    preassessment_lateness,
    preassessment_queue,
    preassessment_withdraw,
    preassessments_answered,
    preassessments_visible_to,
    version_label,
)

PER_PAGE = 20


class VersionChoiceField(forms.ModelChoiceField):
    """Catalogue versions named "CQ-WK-001 第1版 …", not "v1", on a Chinese page (issue 24)."""

    def label_from_instance(self, obj: Any) -> str:
        return version_label(obj)


class AskForm(forms.Form):
    entry_version = VersionChoiceField(
        label=gettext_lazy("Catalogue entry you would obtain"),
        queryset=CatalogueEntryVersion.objects.none(),
        required=False,
    )
    outcome = forms.ModelChoiceField(
        label=gettext_lazy("Or one of your learning outcomes"),
        queryset=LearningOutcome.objects.none(),
        required=False,
    )
    question = forms.CharField(
        label=gettext_lazy("Your question (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[validate_no_identity_number],
    )

    def __init__(self, *args: Any, account: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        entry_field = cast(forms.ModelChoiceField, self.fields["entry_version"])
        outcome_field = cast(forms.ModelChoiceField, self.fields["outcome"])
        entry_field.queryset = catalogue_current()
        outcome_field.queryset = LearningOutcome.objects.filter(account=account).exclude(
            status=LearningOutcome.Status.WITHDRAWN
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("entry_version") is not None and cleaned.get("outcome") is not None:
            self.add_error("outcome", str(BOTH_CHOSEN))
        return cleaned


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label=gettext_lazy("Answer"),
        choices=[
            ("yes", gettext_lazy("Yes: it will count (binding)")),
            ("no", gettext_lazy("No: it will not count")),
        ],
        widget=forms.RadioSelect,
    )
    valid_until = forms.DateField(
        label=gettext_lazy("Binding until"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("For a yes: the last day a transfer is honoured under it."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Required for a no."),
    )


# --- The learner's side --------------------------------------------------------------------------


class PreAssessmentListPage(RoleRequiredMixin, View):
    allowed_roles = (Role.LEARNER,)

    def get(self, request: SignedInRequest[User]) -> HttpResponse:
        page = Paginator(preassessments_visible_to(user=request.user), PER_PAGE).get_page(
            request.GET.get("page")
        )
        return render(request, "transfers/preassessment_list.html", {"page": page})


class PreAssessmentAskPage(RoleRequiredMixin, View):
    """Ask the course's institution whether an outcome would count for it."""

    allowed_roles = (Role.LEARNER,)

    def _course(self, course_id: int) -> Course:
        return get_object_or_404(
            Course.objects.select_related("programme__institution").filter(
                programme__is_published=True
            ),
            pk=course_id,
        )

    def get(self, request: SignedInRequest[User], course_id: int) -> HttpResponse:
        course = self._course(course_id)
        form = AskForm(account=learning_account_required(user=request.user))
        return render(request, "transfers/preassessment_ask.html", {"course": course, "form": form})

    def post(self, request: SignedInRequest[User], course_id: int) -> HttpResponse:
        course = self._course(course_id)
        account = learning_account_required(user=request.user)
        form = AskForm(request.POST, account=account)
        if form.is_valid():
            try:
                asked = preassessment_ask(
                    account=account,
                    course=course,
                    actor=request.user,
                    entry_version=form.cleaned_data["entry_version"],
                    outcome=form.cleaned_data["outcome"],
                    question=form.cleaned_data["question"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(
                    request,
                    _("Your question is sent. The answer is due on %(date)s.")
                    % {"date": date_format(asked.due_on)},
                )
                return redirect("preassessment-detail", pk=asked.pk)
        return render(
            request,
            "transfers/preassessment_ask.html",
            {"course": course, "form": form},
            status=400,
        )


def _detail(prea: PreAssessment, **extra: Any) -> dict[str, Any]:
    return {
        "prea": prea,
        "events": list(preassessment_events_of(preassessment=prea)),
        "late": preassessment_lateness(prea),
        **extra,
    }


class PreAssessmentDetailPage(RoleRequiredMixin, View):
    allowed_roles = (Role.LEARNER,)

    def get(self, request: SignedInRequest[User], pk: int) -> HttpResponse:
        prea = get_object_or_404(preassessments_visible_to(user=request.user), pk=pk)
        return render(request, "transfers/preassessment_detail.html", _detail(prea))


class PreAssessmentWithdrawPage(RoleRequiredMixin, View):
    allowed_roles = (Role.LEARNER,)
    http_method_names = ["post"]

    def post(self, request: SignedInRequest[User], pk: int) -> HttpResponse:
        prea = get_object_or_404(preassessments_visible_to(user=request.user), pk=pk)
        # First the question "withdraw it?", as deleting a saved outcome asks (issue 24).
        if request.POST.get("confirm") != "yes":
            return render(request, "transfers/preassessment_withdraw_confirm.html", {"prea": prea})
        try:
            preassessment_withdraw(preassessment=prea, actor=request.user)
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
        else:
            messages.success(request, _("Your question is withdrawn."))
        return redirect("preassessment-detail", pk=pk)


# --- The institution officer's side --------------------------------------------------------------


class OfficerPreAssessmentQueuePage(RoleRequiredMixin, View):
    """The institution's open questions, the soonest due first."""

    allowed_roles = (Role.INSTITUTION_OFFICER,)

    def get(self, request: SignedInRequest[User]) -> HttpResponse:
        # ?show=answered: the answered ones, the latest first, to find a binding yes again.
        answered = request.GET.get("show") == "answered"
        found = (
            preassessments_answered(user=request.user)
            if answered
            else preassessment_queue(user=request.user)
        )
        page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
        for prea in page.object_list:
            prea.late = preassessment_lateness(prea)  # type: ignore[attr-defined]
        return render(
            request, "transfers/preassessment_queue.html", {"page": page, "answered": answered}
        )


class OfficerPreAssessmentPage(RoleRequiredMixin, View):
    """One question of the institution, with the answer form while it is asked."""

    allowed_roles = (Role.INSTITUTION_OFFICER,)
    template_name = "transfers/preassessment_officer.html"

    def get(self, request: SignedInRequest[User], pk: int) -> HttpResponse:
        prea = get_object_or_404(preassessments_visible_to(user=request.user), pk=pk)
        form = AnswerForm() if prea.state == PreAssessmentState.ASKED else None
        return render(request, self.template_name, _detail(prea, form=form))


class OfficerPreAssessmentAnswerPage(OfficerPreAssessmentPage):
    http_method_names = ["post"]

    def post(self, request: SignedInRequest[User], pk: int) -> HttpResponse:
        prea = get_object_or_404(preassessments_visible_to(user=request.user), pk=pk)
        form = AnswerForm(request.POST)
        if form.is_valid():
            try:
                preassessment_answer(preassessment=prea, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, _("The answer is recorded and the learner told."))
                return redirect("institution-preassessment", pk=pk)
        return render(request, self.template_name, _detail(prea, form=form), status=400)
