from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from accounts.forms import LoginForm
from accounts.models import Role
from accounts.permissions import RoleRequiredMixin
from accounts.services import account_totals, learning_account_of

from .health import run_checks


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Database, broker and storage are reachable; otherwise 503 naming what is down."""
    checks = run_checks()
    failing = sorted(name for name, result in checks.items() if result != "ok")
    body = {"status": "unavailable" if failing else "ready", "checks": checks, "failing": failing}
    return JsonResponse(body, status=503 if failing else 200)


def home(request: HttpRequest) -> HttpResponse:
    """Visitors see what the credit bank is; signed-in users their dashboard."""
    if request.user.is_authenticated:
        return render(request, "dashboard.html")
    return render(request, "home.html")


class PortalLoginView(LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


class LearningFileView(RoleRequiredMixin, TemplateView):
    """The learner's lifelong learning file: basic information, hours and credits, learning
    programmes over time, and the account's business transactions."""

    allowed_roles = (Role.LEARNER,)
    template_name = "creditbank/learning_file.html"

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        account = learning_account_of(user=self.request.user)  # type: ignore[arg-type]
        if account is None:
            raise Http404
        hours, credits = account_totals(account=account)
        return {
            **super().get_context_data(**kwargs),
            "account": account,
            "hours": hours,
            "credits": credits,
            "transactions": account.transactions.select_related("actor")[:100],
        }
