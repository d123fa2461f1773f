"""Pages of learning outcomes: "Add results", an outcome's page, changing and withdrawing it,
and the one way evidence files are ever served."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import BaseForm
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views import View
from django.views.decorators.http import require_POST

from accounts.collective.permissions import InstitutionAdminPage
from accounts.models import LearningAccount, Role, User
from accounts.services import FILE_STAFF_ROLES, learning_account_required
from accounts.signin.permissions import RoleRequiredMixin, user_has_role
from common.downloads import CONTENT_TYPES, file_download, row_errors_context, upload_read
from common.forms import form_errors_apply
from common.http import SignedInRequest
from common.table_pages import form_submit
from common.tables import table_write

from .batches import (
    BATCH_TEMPLATE_HEADINGS,
    batches_of,
    institution_batch_report,
    outcome_confirm,
    outcome_decline,
)
from .forms import BatchForm, KindChoiceForm, OutcomeForm
from .hooks import evidence_staff_may_open
from .models import EvidenceFile, OutcomeKind
from .pending import pending_clear, pending_keep, pending_of, pending_take
from .services import (
    outcome_save,
    outcome_update,
    outcome_withdraw,
    outcomes_of,
)
from .storage import uploads_read


def _learner_account(request: SignedInRequest[User]) -> LearningAccount:
    # Staff signed in here get 403, a learner without an account 404.
    if not user_has_role(request.user, Role.LEARNER):
        raise PermissionDenied
    return learning_account_required(user=request.user)


@login_required
def outcome_add(request: SignedInRequest[User]) -> HttpResponse:
    """ "Add results" in two steps: choose the kind (``?kind=``), then exactly that kind's
    fields, the ones it needs marked; it is saved at once. A refused submission keeps the
    evidence files that passed their checks (outcomes.pending), to be kept or replaced."""
    account = _learner_account(request)
    kind = request.POST.get("kind") or request.GET.get("kind", "")
    if kind not in OutcomeKind.values:
        chooser = KindChoiceForm(request.GET if "kind" in request.GET else None)
        return render(request, "outcomes/outcome_kind.html", {"form": chooser})
    form = OutcomeForm(request.POST or None, request.FILES or None, kind=kind)
    session = request.session
    if request.method == "POST":
        kept = pending_take(
            session, account_id=account.pk, tokens=request.POST.getlist("keep_evidence")
        )
        chosen = uploads_read(request.FILES.getlist("evidence"))
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "evidence"}
            try:
                outcome = outcome_save(
                    account=account, actor=request.user, data=data, uploads=[*kept, *chosen]
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                pending_clear(session, account_id=account.pk)
                messages.success(
                    request,
                    _("“%(title)s” is saved in your lifelong learning file.")
                    % {"title": outcome.title},
                )
                return redirect("outcome-detail", pk=outcome.pk)
        # Refused: the files chosen this time are kept beside those kept before.
        refused: list[ValidationError] = []
        pending_keep(session, account_id=account.pk, uploads=chosen, refused=refused)
        # A file that failed its checks is named in the same refusal (summary and field), even
        # when other fields were wrong too and the save never looked at it.
        for problem in refused:
            for message in problem.messages:
                if message not in form.errors.get("evidence", []):
                    form.add_error("evidence", message)
    return render(
        request,
        "outcomes/outcome_form.html",
        {
            "form": form,
            "adding": True,
            "kind_label": OutcomeKind(kind).label,
            "pending": pending_of(session, account_id=account.pk),
        },
    )


@login_required
def outcome_detail(request: SignedInRequest[User], pk: int) -> HttpResponse:
    account = _learner_account(request)
    outcome = get_object_or_404(outcomes_of(account=account), pk=pk)
    return render(request, "outcomes/outcome_detail.html", {"outcome": outcome})


@login_required
def outcome_edit(request: SignedInRequest[User], pk: int) -> HttpResponse:
    account = _learner_account(request)
    outcome = get_object_or_404(outcomes_of(account=account), pk=pk)
    if not outcome.is_editable:
        messages.error(request, _("This outcome has been submitted and can no longer be changed."))
        return redirect("outcome-detail", pk=pk)
    form = OutcomeForm(request.POST or None, request.FILES or None, instance=outcome)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "evidence"}
        remove = [
            int(v) for v in request.POST.getlist("remove_evidence") if v.isascii() and v.isdigit()
        ]
        try:
            outcome_update(
                outcome=outcome,
                actor=request.user,
                data=data,
                uploads=uploads_read(form.cleaned_data["evidence"]),
                remove_evidence=remove,
            )
        except ValidationError as exc:
            form_errors_apply(form, exc)
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect("outcome-detail", pk=pk)
    return render(
        request, "outcomes/outcome_form.html", {"form": form, "outcome": outcome, "adding": False}
    )


@login_required
@require_POST
def outcome_withdraw_view(request: SignedInRequest[User], pk: int) -> HttpResponse:
    account = _learner_account(request)
    outcome = get_object_or_404(outcomes_of(account=account), pk=pk)
    if not outcome.is_editable:
        messages.error(request, _("This outcome has been submitted and can no longer be changed."))
        return redirect("outcome-detail", pk=pk)
    if request.POST.get("confirm") != "yes":
        # The first press only asks: the result leaves the learner's file for good.
        return render(request, "outcomes/outcome_remove_confirm.html", {"outcome": outcome})
    try:
        outcome_withdraw(outcome=outcome, actor=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect("outcome-detail", pk=pk)
    messages.success(
        request, pgettext("saved outcome", "“%(title)s” is deleted.") % {"title": outcome.title}
    )
    return redirect("learning-file")


def _answer_report(
    request: SignedInRequest[User], pk: int, answer: Callable[..., Any], done: str
) -> HttpResponse:
    """The learner answers an outcome their institution reported (confirm or decline)."""
    account = _learner_account(request)
    outcome = get_object_or_404(outcomes_of(account=account), pk=pk)
    try:
        answer(outcome=outcome, actor=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, done % {"title": outcome.title})
    return redirect("learning-file")


@login_required
@require_POST
def outcome_confirm_view(request: SignedInRequest[User], pk: int) -> HttpResponse:
    """Confirmed, the reported outcome enters the file."""
    done = _("“%(title)s” is confirmed and saved in your lifelong learning file.")
    return _answer_report(request, pk, outcome_confirm, done)


@login_required
@require_POST
def outcome_decline_view(request: SignedInRequest[User], pk: int) -> HttpResponse:
    """Declined, the reported outcome never enters the file."""
    done = _("“%(title)s” is declined; it will not appear in your file.")
    return _answer_report(request, pk, outcome_decline, done)


def batch_report_from(*, collective: Any, user: Any, cleaned: dict[str, Any]) -> Any:
    """Report a batch from the page's or the API's cleaned input: the description, the list
    file and the shared evidence."""
    data = dict(cleaned)
    listing = data.pop("file")
    evidence = data.pop("evidence")
    return institution_batch_report(
        collective=collective,
        uploaded_by=user,
        description=data,
        filename=listing.name or "",
        data=upload_read(listing),
        uploads=uploads_read(evidence),
    )


class BatchListPage(InstitutionAdminPage):
    """The institution's batches, with how many members confirmed, declined or have yet to
    answer."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        collective = self.collective(request, pk)
        context = {
            **self.collective_context(collective),
            "batches": batches_of(collective=collective)[:200],
        }
        return render(request, "outcomes/batch_list.html", context)


class BatchAddPage(InstitutionAdminPage):
    """Report one training programme's results for many members; every problem in the list is
    shown in a table, and nothing is reported until there is none."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render(request, self.collective(request, pk), BatchForm(), [])

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        collective = self.collective(request, pk)
        form = BatchForm(request.POST, request.FILES)
        batch, row_errors = form_submit(
            form,
            lambda cleaned: batch_report_from(
                collective=collective, user=request.user, cleaned=cleaned
            ),
        )
        if batch is None:
            return self.render(request, collective, form, row_errors)
        messages.success(
            request,
            _("“%(title)s” is reported for %(rows)d members. Each of them is asked to confirm it.")
            % {"title": batch.title, "rows": batch.rows},
        )
        return redirect("outcome-batches", pk=pk)

    def render(
        self,
        request: HttpRequest,
        collective: LearningAccount,
        form: BaseForm,
        row_errors: list[Any],
    ) -> HttpResponse:
        context = {
            **self.collective_context(collective),
            "form": form,
            **row_errors_context(row_errors),
        }
        return render(request, "outcomes/batch_form.html", context)


class BatchTemplatePage(RoleRequiredMixin, View):
    """An empty results list with the heading row, to fill in."""

    allowed_roles = (Role.INSTITUTION_ADMIN,)

    def get(self, request: HttpRequest, file_format: str) -> HttpResponse:
        if file_format not in CONTENT_TYPES:
            raise Http404
        data = table_write(
            [], headings=BATCH_TEMPLATE_HEADINGS, fmt=file_format, title=_("Results")
        )
        return file_download(data, fmt=file_format, stem="results-list", dated=False)


def may_open_evidence(user: Any, evidence: EvidenceFile) -> bool:
    """The learner whose evidence it is; or staff whose centre has the outcome's application
    under review or decided it (``outcomes.hooks``). Opening the learner's file or revealing
    their identity number grants nothing."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role == Role.LEARNER:
        return evidence.account.holder_id == user.pk
    if user.role in FILE_STAFF_ROLES:
        return evidence_staff_may_open(user, evidence.outcome_id)
    return False


def evidence_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The only way evidence leaves storage: checked per viewer, always as an attachment."""
    evidence = get_object_or_404(EvidenceFile.objects.select_related("account"), pk=pk)
    if not may_open_evidence(request.user, evidence):
        # The same answer whether the file exists or not.
        raise Http404
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
