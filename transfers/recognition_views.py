"""The learner's page "bring a transfer record from another credit bank": upload the record or
give its address; the result (what was recognised, what was saved to submit, what the origin
has revoked) is shown once after the redirect."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.models import Role, User
from accounts.services import learning_account_required
from accounts.signin.permissions import RoleRequiredMixin
from accreditation.models import Decision
from common.forms import form_errors_apply
from common.http import SignedInRequest
from outcomes.models import LearningOutcome
from outcomes.storage import upload_of

from .certificates.transfer_records import MAX_BYTES
from .recognition_api import RecognitionThrottle
from .recognitions import RecognitionImport, recognition_import

SESSION_KEY = "recognition_result"


class RecognitionForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Transfer record (JSON file)"),
        required=False,
        help_text=gettext_lazy(
            "The “Verifiable credential (JSON)” of the transfer record your former credit bank "
            "issued."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )
    url = forms.CharField(
        label=gettext_lazy("Or its address"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("The “address for another credit bank” your former bank gave you."),
        widget=forms.URLInput(attrs={"inputmode": "url", "autocomplete": "off"}),
    )
    claim_code = forms.CharField(
        label=gettext_lazy("Claim code"),
        max_length=40,
        help_text=gettext_lazy(
            "The code your former credit bank shows you beside the record (16 letters and "
            "digits): it proves the record is yours."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


def result_summary(result: RecognitionImport) -> dict[str, Any]:
    """What the page shows after the redirect, kept in the session (ids and texts only)."""
    return {
        "issuer": result.issuer_name,
        "booked": [decision.pk for decision in result.booked],
        "saved": [outcome.pk for outcome in result.saved],
        "revoked": [
            {"title": entry.title, "code": entry.entry_code, "decision": entry.origin_decision_id}
            for entry in result.revoked
        ],
    }


class RecognitionPage(RoleRequiredMixin, View):
    allowed_roles = (Role.LEARNER,)
    template_name = "transfers/recognition.html"

    def get(self, request: SignedInRequest[User]) -> HttpResponse:
        return self._render(request, RecognitionForm(), request.session.pop(SESSION_KEY, None))

    def post(self, request: SignedInRequest[User]) -> HttpResponse:
        form = RecognitionForm(request.POST, request.FILES)
        if not RecognitionThrottle.page_allowed(request):
            form.is_valid()
            form.add_error(
                None,
                gettext_lazy(
                    "You have brought many records in a short time. Please try again later."
                ),
            )
            return self._render(request, form, None, status=429)
        if form.is_valid():
            uploaded = form.cleaned_data["file"]
            upload = upload_of(uploaded, limit=MAX_BYTES) if uploaded else None
            try:
                result = recognition_import(
                    account=learning_account_required(user=request.user),
                    actor=request.user,
                    upload=upload,
                    url=form.cleaned_data["url"],
                    claim_code=form.cleaned_data["claim_code"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                request.session[SESSION_KEY] = result_summary(result)
                return redirect("recognition")
        return self._render(request, form, None, status=400)

    def _render(
        self,
        request: SignedInRequest[User],
        form: forms.Form,
        summary: dict[str, Any] | None,
        status: int = 200,
    ) -> HttpResponse:
        context: dict[str, Any] = {"form": form, "summary": summary, "max_kb": MAX_BYTES // 1000}
        if summary:
            account = learning_account_required(user=request.user)
            context["booked"] = (
                Decision.objects.filter(pk__in=summary["booked"], application__account=account)
                .select_related(
                    "application__outcome",
                    "origin_bank",
                    "agreement_version__agreement",
                    "catalogue_version",
                )
                .order_by("pk")
            )
            context["saved"] = LearningOutcome.objects.filter(
                pk__in=summary["saved"], account=account
            ).order_by("pk")
        context["fetch_seconds"] = getattr(settings, "RECOGNITION_FETCH_SECONDS", 10)
        return render(request, self.template_name, context, status=status)
