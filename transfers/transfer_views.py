"""Pages of credit transfer: the learner's learning path to a goal (with "apply for transfer"),
their transfers, and the institution officer's queue with a decision form per course.

Learners see only their own transfers, officers only their institution's; anyone else's is 404.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views import View

from accounts.models import Role, User
from accounts.services import learning_account_required, validate_no_identity_number
from accounts.signin.permissions import RoleRequiredMixin
from common.forms import form_errors_apply
from common.http import SignedInRequest

from .models import Programme, TransferApplication, TransferItemState
from .paths import learning_path
from .preassessments import preassessments_open_or_refused
from .services import (
    transfer_apply,
    transfer_events_of,
    transfer_item_decide,
    transfer_item_keep,
    transfer_item_rescind,
    transfer_item_respond,
    transfer_items_awaiting_settlement,
    transfer_items_visible_to,
    transfer_withdraw,
    transfers_visible_to,
)

PER_PAGE = 20


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            ("accept", gettext_lazy("Accept: exempt the course")),
            ("reject", pgettext_lazy("transfer item", "Reject")),
            ("request_information", gettext_lazy("Ask for information")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Required to reject or to ask for information."),
    )


class SettleForm(forms.Form):
    """Rescind or keep an accepted course whose accreditation was revoked."""

    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Rescinding takes the course's credits off the learner's transferred credits; "
            "keeping leaves them. Either way, say why."
        ),
    )


class RespondForm(forms.Form):
    response = forms.CharField(
        label=gettext_lazy("Your answer"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[validate_no_identity_number],
    )


def _messages_from(request: HttpRequest, exc: ValidationError) -> None:
    # ``messages`` also holds an error keyed by no field, which ``message_dict`` would refuse.
    for error in exc.messages:
        messages.error(request, error)


# --- The learner's side --------------------------------------------------------------------------


class LearningPathPage(RoleRequiredMixin, View):
    """The path to one programme: each course covered, coverable or missing, and a form to
    apply for transfer of the covered ones."""

    allowed_roles = (Role.LEARNER,)

    def get(self, request: SignedInRequest[User], programme_id: int) -> HttpResponse:
        programme = get_object_or_404(
            Programme.objects.select_related("institution").filter(is_published=True),
            pk=programme_id,
        )
        account = learning_account_required(user=request.user)
        found = learning_path(account=account, programme=programme)
        # Each course row with the learner's open or refused question about it (issue 24).
        questions = preassessments_open_or_refused(
            account=account, course_ids=[line.course.pk for line in found.courses]
        )
        rows = [(line, questions.get(line.course.pk)) for line in found.courses]
        return render(request, "transfers/learning_path.html", {"path": found, "rows": rows})


class TransferApplyPage(RoleRequiredMixin, View):
    """Apply for the courses ticked on the learning path, each with the outcome the path
    shows for it."""

    allowed_roles = (Role.LEARNER,)
    http_method_names = ["post"]

    def post(self, request: SignedInRequest[User], programme_id: int) -> HttpResponse:
        programme = get_object_or_404(Programme.objects.filter(is_published=True), pk=programme_id)
        account = learning_account_required(user=request.user)
        wanted = set(request.POST.getlist("course"))
        found = learning_path(account=account, programme=programme)
        items = [
            (line.course, line.outcome)
            for line in found.applicable
            if str(line.course.pk) in wanted and line.outcome is not None
        ]
        back = reverse("learning-path", args=[programme.pk])
        if not items:
            messages.error(request, _("Tick at least one course covered by your outcomes."))
            return redirect(back)
        try:
            application = transfer_apply(
                account=account, programme=programme, items=items, actor=request.user
            )
        except ValidationError as exc:
            _messages_from(request, exc)
            return redirect(back)
        messages.success(request, _("Your transfer application is sent to the institution."))
        return redirect("transfer-detail", pk=application.pk)


class TransferListPage(RoleRequiredMixin, View):
    allowed_roles = (Role.LEARNER,)

    def get(self, request: SignedInRequest[User]) -> HttpResponse:
        page = Paginator(transfers_visible_to(user=request.user), PER_PAGE).get_page(
            request.GET.get("page")
        )
        return render(request, "transfers/transfer_list.html", {"page": page})


def _detail_context(
    application: TransferApplication, forms_by_item: dict[int, forms.Form]
) -> dict[str, Any]:
    items = list(application.items.all())
    for item in items:
        item.form = forms_by_item.get(item.pk)  # type: ignore[attr-defined]
    return {
        "application": application,
        "items": items,
        "events": list(transfer_events_of(application=application)),
        "can_withdraw": any(item.is_reserving for item in items),
    }


class TransferDetailPage(RoleRequiredMixin, View):
    """The learner's transfer: each course, its state and reason, the history; withdraw, and
    answer an information request."""

    allowed_roles = (Role.LEARNER,)
    template_name = "transfers/transfer_detail.html"

    def get(self, request: SignedInRequest[User], pk: int) -> HttpResponse:
        application = get_object_or_404(transfers_visible_to(user=request.user), pk=pk)
        return render(request, self.template_name, self.context(application))

    def context(
        self, application: TransferApplication, bound: dict[int, forms.Form] | None = None
    ) -> dict[str, Any]:
        waiting = {
            item.pk: (bound or {}).get(item.pk) or RespondForm(prefix=f"item{item.pk}")
            for item in application.items.all()
            if item.state == TransferItemState.INFORMATION_REQUESTED
        }
        return _detail_context(application, waiting)


class TransferWithdrawPage(RoleRequiredMixin, View):
    allowed_roles = (Role.LEARNER,)
    http_method_names = ["post"]

    def post(self, request: SignedInRequest[User], pk: int) -> HttpResponse:
        application = get_object_or_404(transfers_visible_to(user=request.user), pk=pk)
        try:
            transfer_withdraw(application=application, actor=request.user)
        except ValidationError as exc:
            _messages_from(request, exc)
        else:
            messages.success(request, _("The transfer is withdrawn; your outcomes are free again."))
        return redirect("transfer-detail", pk=pk)


class TransferRespondPage(TransferDetailPage):
    http_method_names = ["post"]

    def post(self, request: SignedInRequest[User], pk: int) -> HttpResponse:
        item = get_object_or_404(transfer_items_visible_to(user=request.user), pk=pk)
        form = RespondForm(request.POST, prefix=f"item{item.pk}")
        if form.is_valid():
            try:
                transfer_item_respond(
                    item=item, actor=request.user, response=form.cleaned_data["response"]
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, _("Your answer is sent to the institution."))
                return redirect("transfer-detail", pk=item.application_id)
        application = transfers_visible_to(user=request.user).get(pk=item.application_id)
        return render(
            request, self.template_name, self.context(application, {item.pk: form}), status=400
        )


# --- The institution officer's side --------------------------------------------------------------


class OfficerQueuePage(RoleRequiredMixin, View):
    """The institution's transfer applications, pending first by default."""

    allowed_roles = (Role.INSTITUTION_OFFICER,)

    def get(self, request: SignedInRequest[User]) -> HttpResponse:
        state = request.GET.get("state", TransferApplication.State.PENDING)
        transfers = transfers_visible_to(user=request.user)
        if state in TransferApplication.State.values:
            transfers = transfers.filter(state=state)
        else:
            state = ""
        page = Paginator(transfers.order_by("submitted_at", "id"), PER_PAGE).get_page(
            request.GET.get("page")
        )
        return render(
            request,
            "transfers/officer_queue.html",
            {
                "page": page,
                "unsettled": transfer_items_awaiting_settlement(user=request.user)[:PER_PAGE],
                "state": state,
                "states": TransferApplication.State.choices,
                "query": f"state={state or 'all'}",
            },
        )


class OfficerDetailPage(RoleRequiredMixin, View):
    """One application of the institution, with a decision form per course still waiting."""

    allowed_roles = (Role.INSTITUTION_OFFICER,)
    template_name = "transfers/officer_detail.html"

    def get(self, request: SignedInRequest[User], pk: int) -> HttpResponse:
        application = get_object_or_404(transfers_visible_to(user=request.user), pk=pk)
        return render(request, self.template_name, self.context(application))

    def context(
        self,
        application: TransferApplication,
        bound: dict[int, forms.Form] | None = None,
        bound_settle: dict[int, forms.Form] | None = None,
    ) -> dict[str, Any]:
        waiting = {
            item.pk: (bound or {}).get(item.pk) or DecideForm(prefix=f"item{item.pk}")
            for item in application.items.all()
            if item.is_reserving
        }
        found = _detail_context(application, waiting)
        for item in found["items"]:
            if item.basis_unsettled:
                item.settle_form = (bound_settle or {}).get(item.pk) or SettleForm(
                    prefix=f"settle{item.pk}"
                )
        return found


class OfficerDecidePage(OfficerDetailPage):
    http_method_names = ["post"]

    def post(self, request: SignedInRequest[User], pk: int) -> HttpResponse:
        item = get_object_or_404(transfer_items_visible_to(user=request.user), pk=pk)
        form = DecideForm(request.POST, prefix=f"item{item.pk}")
        if form.is_valid():
            try:
                transfer_item_decide(item=item, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, _("The decision is recorded."))
                return redirect("institution-transfer", pk=item.application_id)
        application = transfers_visible_to(user=request.user).get(pk=item.application_id)
        return render(
            request, self.template_name, self.context(application, {item.pk: form}), status=400
        )


class OfficerSettlePage(OfficerDetailPage):
    """Rescind or keep (with a reason) an accepted course whose accreditation was revoked."""

    http_method_names = ["post"]
    settle = staticmethod(transfer_item_rescind)
    done = gettext_lazy("The transfer is rescinded; its credits are reversed.")

    def post(self, request: SignedInRequest[User], pk: int) -> HttpResponse:
        item = get_object_or_404(transfer_items_visible_to(user=request.user), pk=pk)
        form = SettleForm(request.POST, prefix=f"settle{item.pk}")
        if form.is_valid():
            try:
                self.settle(item=item, actor=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, str(self.done))
                return redirect("institution-transfer", pk=item.application_id)
        application = transfers_visible_to(user=request.user).get(pk=item.application_id)
        return render(
            request,
            self.template_name,
            self.context(application, bound_settle={item.pk: form}),
            status=400,
        )


class OfficerRescindPage(OfficerSettlePage):
    pass


class OfficerKeepPage(OfficerSettlePage):
    settle = staticmethod(transfer_item_keep)
    done = gettext_lazy("The transfer is kept; the reason is recorded.")
