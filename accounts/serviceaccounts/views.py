"""Pages of an institution's service accounts: the list with a form for a new one, each
account with its client id, scopes, a new secret (shown once) and disabling, and the log of
their calls. Only the institution's own administrators see them (others: 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts.core.models import Institution, Role
from accounts.serviceaccounts.forms import ServiceAccountConfirmForm, ServiceAccountForm
from accounts.serviceaccounts.lookups import ServiceAccountAdminLookups
from accounts.serviceaccounts.models import ACCESS_TOKEN_PREFIX, Scope, ServiceAccount
from accounts.serviceaccounts.services import (
    service_account_create,
    service_account_disable,
    service_account_secret_rotate,
    service_accounts_of,
    service_calls_of,
)
from accounts.signin.permissions import RoleRequiredMixin
from common.forms import form_errors_apply

CALLS_PER_PAGE = 50
# The session key of a secret just made, shown once on the next page and then forgotten.
SECRET_SHOWN_ONCE = "service_account_secret_once"  # noqa: S105 - a session key, not a secret


def status_meaning(code: int) -> str:
    """What an HTTP status means to the administrator reading the call log."""
    meanings = {
        401: _("Not signed in"),
        403: _("Not allowed"),
        404: _("Not found"),
        409: _("Conflict"),
        429: _("Too many calls"),
    }
    if code in meanings:
        return meanings[code]
    if 200 <= code < 300:
        return _("Succeeded")
    if 400 <= code < 500:
        return _("Refused: bad request")
    if code >= 500:
        return _("Server error")
    return ""


def _calls_page(request: HttpRequest, calls: Any) -> Any:
    page = Paginator(calls, CALLS_PER_PAGE).get_page(request.GET.get("page"))
    for call in page.object_list:
        call.scope_label = Scope(call.scope).label if call.scope in Scope.values else ""
        call.status_meaning = status_meaning(call.status_code)
    return page


class ServiceAccountAdminPage(ServiceAccountAdminLookups, RoleRequiredMixin, View):
    allowed_roles = (Role.INSTITUTION_ADMIN,)


class ServiceAccountsPage(ServiceAccountAdminPage):
    """The institution's service accounts, a form for a new one and the log of their calls."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render(request, self.institution(request, pk), ServiceAccountForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        institution = self.institution(request, pk)
        form = ServiceAccountForm(request.POST)
        if form.is_valid():
            try:
                account, secret = service_account_create(
                    institution=institution,
                    actor=request.user,  # type: ignore[arg-type]
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                request.session[SECRET_SHOWN_ONCE] = {"account": account.pk, "secret": secret}
                return redirect("service-account", institution.pk, account.pk)
        return self.render(request, institution, form, status=400)

    def render(
        self,
        request: HttpRequest,
        institution: Institution,
        form: ServiceAccountForm,
        status: int = 200,
    ) -> HttpResponse:
        context = {
            "institution": institution,
            "accounts": service_accounts_of(institution=institution),
            "form": form,
            "page": _calls_page(request, service_calls_of(institution=institution)),
        }
        return render(request, "accounts/serviceaccounts/list.html", context, status=status)


class ServiceAccountPage(ServiceAccountAdminPage):
    """One service account: its client id and scopes, the secret once after it is made, a new
    secret, disabling, and its calls."""

    def get(self, request: HttpRequest, pk: int, service_account_id: int) -> HttpResponse:
        account = self.service_account(request, pk, service_account_id)
        shown = request.session.pop(SECRET_SHOWN_ONCE, None)
        secret = None
        if isinstance(shown, dict) and shown.get("account") == account.pk:
            secret = str(shown.get("secret"))
        return self.render(request, account, secret=secret)

    def render(
        self,
        request: HttpRequest,
        account: ServiceAccount,
        *,
        secret: str | None = None,
        refused: dict[str, ServiceAccountConfirmForm] | None = None,
    ) -> HttpResponse:
        """``refused``: the confirmation form of the action refused ("rotate" or "disable")."""
        refused = refused or {}
        context = {
            "rotate_form": refused.get("rotate") or ServiceAccountConfirmForm(prefix="rotate"),
            "disable_form": refused.get("disable") or ServiceAccountConfirmForm(prefix="disable"),
            "institution": account.institution,
            "account": account,
            "secret": secret,
            "token_url": request.build_absolute_uri("/api/v1/oauth/token/"),
            "token_prefix": ACCESS_TOKEN_PREFIX,
            "page": _calls_page(
                request, service_calls_of(institution=account.institution, account=account)
            ),
        }
        status = 400 if refused else 200
        return render(request, "accounts/serviceaccounts/detail.html", context, status=status)


class ServiceAccountRotatePage(ServiceAccountAdminPage):
    def post(self, request: HttpRequest, pk: int, service_account_id: int) -> HttpResponse:
        account: ServiceAccount = self.service_account(request, pk, service_account_id)
        confirm = ServiceAccountConfirmForm(request.POST, prefix="rotate")
        if not confirm.is_valid():
            return ServiceAccountPage().render(request, account, refused={"rotate": confirm})
        try:
            secret = service_account_secret_rotate(account=account, actor=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            request.session[SECRET_SHOWN_ONCE] = {"account": account.pk, "secret": secret}
        return redirect("service-account", pk, account.pk)


class ServiceAccountDisablePage(ServiceAccountAdminPage):
    def post(self, request: HttpRequest, pk: int, service_account_id: int) -> HttpResponse:
        account = self.service_account(request, pk, service_account_id)
        confirm = ServiceAccountConfirmForm(request.POST, prefix="disable")
        if not confirm.is_valid():
            return ServiceAccountPage().render(request, account, refused={"disable": confirm})
        service_account_disable(account=account, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("The service account is disabled; its tokens no longer work."))
        return redirect("service-account", pk, account.pk)
