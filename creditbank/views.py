from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import TemplateView

from accounts.ledger.forms import ReasonForm, RevealForm
from accounts.models import (
    BusinessTransaction,
    LearningAccount,
    RevealReason,
    Role,
    StaffAccess,
    User,
)
from accounts.services import (
    FILE_STAFF_ROLES,
    REVEAL_STAFF_ROLES,
    account_with_totals_of,
    collective_invitations_of,
    identity_reveal,
    learning_account_required,
    personal_account_find,
    staff_accesses_of,
    staff_file_view_record,
    transaction_record,
)
from accounts.signin.forms import LoginForm
from accounts.signin.permissions import RoleRequiredMixin, user_has_role
from common.forms import form_errors_apply
from common.http import SignedInRequest
from transfers.forms import LearningGoalForm
from transfers.services import learning_goal_remove, learning_goal_set, learning_goals_of

from .health import run_checks, run_warnings
from .inquiry import totals_chart_svg, yearly_totals
from .learners import learner_account_or_403
from .learning_file import learner_dashboard_of, learning_file_of, learning_file_pdf
from .role_home import role_home_of


@require_GET
def bench_floor(request: HttpRequest) -> HttpResponse:
    """The floor of the HTTP benchmarks (bench/): the full middleware stack and no database.
    Routed only when CREDITBANK_BENCH_FLOOR=1."""
    return HttpResponse(b"floor", content_type="text/plain")


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Database, broker and storage are reachable; otherwise 503 naming what is down.
    ``warnings`` names what works but needs someone's attention (status stays 200): ``calendar``
    while a year whose working-day arrangement should be entered is not."""
    checks = run_checks()
    failing = sorted(name for name, result in checks.items() if result != "ok")
    body = {
        "status": "unavailable" if failing else "ready",
        "checks": checks,
        "failing": failing,
        "warnings": run_warnings() if not failing else {},
    }
    return JsonResponse(body, status=503 if failing else 200)


def home(request: HttpRequest) -> HttpResponse:
    """Visitors see what the credit bank is; signed-in users their dashboard."""
    if request.user.is_authenticated:
        context: dict[str, object] = {}
        if user_has_role(request.user, Role.LEARNER):
            # The account with its totals in one statement: the dashboard shows nothing else of it.
            account = account_with_totals_of(user=request.user)
            if account is not None:
                context["learner"] = learner_dashboard_of(account)
        else:
            context["staff_home"] = role_home_of(request.user)
        return render(request, "dashboard.html", context)
    return render(request, "home.html")


class PortalLoginView(LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


class LearningFileView(RoleRequiredMixin, TemplateView):
    """The learner's lifelong learning file: basic information, hours and credits, learning
    programmes over time, the account's business transactions and the staff who looked."""

    allowed_roles = (Role.LEARNER,)
    template_name = "creditbank/learning_file.html"

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        account = learning_account_required(user=self.request.user)  # type: ignore[arg-type]
        return {
            **super().get_context_data(**kwargs),
            "file": learning_file_of(account),
            "invitations": list(collective_invitations_of(account=account)),
            "goal_form": LearningGoalForm(),
            "chart": totals_chart_svg(yearly_totals(account=account)),
        }


@login_required
def learning_file_pdf_download(request: SignedInRequest[User]) -> HttpResponse:
    """The learner's file as a PDF; each download is a business transaction."""
    account = learner_account_or_403(user=request.user)
    transaction_record(
        account=account,
        kind=BusinessTransaction.Kind.FILE_DOWNLOADED,
        actor=request.user,
        details={},
    )
    pdf = learning_file_pdf(learning_file_of(account))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="learning-file-{account.number}.pdf"'
    return response


class StaffLearningFileView(RoleRequiredMixin, View):
    """Centre staff open a learner's file only by stating why; the look is recorded first."""

    allowed_roles = FILE_STAFF_ROLES
    template_name = "creditbank/staff_learning_file.html"

    def get(self, request: HttpRequest, number: str) -> HttpResponse:
        account = self._account(number)
        return render(request, self.template_name, {"account": account, "form": ReasonForm()})

    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        account = self._account(number)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"account": account, "form": form})
        staff_file_view_record(
            staff=request.user,  # type: ignore[arg-type]
            account=account,
            reason=form.cleaned_data["reason"],
        )
        return self.render_file(request, account, form.cleaned_data["reason"])

    def render_file(
        self,
        request: HttpRequest,
        account: LearningAccount,
        reason: str,
        revealed: str = "",
        reveal_form: RevealForm | None = None,
    ) -> HttpResponse:
        may_reveal = user_has_role(request.user, *REVEAL_STAFF_ROLES)
        context = {
            "account": account,
            "file": learning_file_of(account),
            "reason": reason,
            # The reveal form only for those who may reveal.
            "reveal_form": (reveal_form or RevealForm()) if may_reveal else None,
            "revealed_number": revealed,
        }
        return render(request, self.template_name, context)

    @staticmethod
    def _account(number: str) -> LearningAccount:
        account = personal_account_find(account_number=number)
        if account is None:
            raise Http404
        return account


# The accesses that showed the staff member the learner's whole file.
FILE_LOOKS = (StaffAccess.Kind.VIEWED_FILE, StaffAccess.Kind.REVEALED_IDENTITY)


@method_decorator(never_cache, name="dispatch")
class StaffIdentityRevealView(StaffLearningFileView):
    """Show the clear identity number once, for a reason from the list and a reference to the
    centre's business with the learner; a refusal comes back on the form's fields, beside the
    file (whose opening was recorded before). Centre staff only (REVEAL_STAFF_ROLES): others
    who may open a file are refused with 403."""

    allowed_roles = REVEAL_STAFF_ROLES
    http_method_names = ["post"]

    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        account = self._account(number)
        form = RevealForm(request.POST)
        revealed = ""
        if form.is_valid():
            try:
                revealed = identity_reveal(
                    staff=request.user,  # type: ignore[arg-type]
                    account=account,
                    reason=form.cleaned_data["reason"],
                    reference=form.cleaned_data["reference"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
        if revealed:
            shown = str(RevealReason(form.cleaned_data["reason"]).label)
            response = self.render_file(request, account, shown, revealed, form)
        else:
            # The file again only for an opening of it recorded today; else the refusal alone.
            today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
            last = (
                staff_accesses_of(account=account)
                .filter(staff=request.user, occurred_at__gte=today, kind__in=FILE_LOOKS)
                .first()
            )
            if last is not None:
                response = self.render_file(request, account, last.reason, "", form)
            else:
                context = {"account": account, "form": ReasonForm(), "reveal_form": form}
                response = render(request, self.template_name, context)
        if not revealed:
            response.status_code = 400
        return response


@login_required
@require_POST
def learning_goal_add(request: SignedInRequest[User]) -> HttpResponse:
    """Set a goal from the file page; errors come back as messages beside the goals."""
    account = learner_account_or_403(user=request.user)
    form = LearningGoalForm(request.POST)
    if form.is_valid():
        try:
            learning_goal_set(
                account=account,
                programme=form.cleaned_data["programme"],
                actor=request.user,
            )
        except ValidationError as exc:
            # ``messages`` also holds an error keyed by no field, which ``message_dict`` refuses.
            for error in exc.messages:
                messages.error(request, error)
        else:
            messages.success(request, _("The goal is set."))
    else:
        messages.error(request, _("Choose a programme from the list."))
    return redirect(reverse("learning-file") + "#goals")


@login_required
@require_POST
def learning_goal_drop(request: SignedInRequest[User], pk: int) -> HttpResponse:
    account = learner_account_or_403(user=request.user)
    goal = get_object_or_404(learning_goals_of(account=account), pk=pk)
    learning_goal_remove(goal=goal, actor=request.user)
    messages.success(request, _("The goal is removed."))
    return redirect(reverse("learning-file") + "#goals")
