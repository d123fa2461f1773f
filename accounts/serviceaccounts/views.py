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

from accounts.core.models import Institution
from accounts.institution_admin import (
    InstitutionAdminListPage,
    InstitutionAdminPage,
    SecretShownOnce,
)
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

CALLS_PER_PAGE = 50
# The session key of a secret just made, shown once on the next page and then forgotten.
SECRET_SHOWN_ONCE = SecretShownOnce("service_account_secret_once", owner="account")


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


class ServiceAccountAdminPage(ServiceAccountAdminLookups, InstitutionAdminPage):
    secret_once = SECRET_SHOWN_ONCE


class ServiceAccountsPage(ServiceAccountAdminPage, InstitutionAdminListPage):
    """The institution's service accounts, a form for a new one and the log of their calls."""

    form_class = ServiceAccountForm
    detail_url_name = "service-account"

    def create(
        self, *, institution: Institution, actor: Any, data: dict[str, Any]
    ) -> tuple[Any, str]:
        return service_account_create(
            institution=institution, actor=actor, name=data["name"], scopes=data["scopes"]
        )

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
        return self.render(request, account, secret=self.secret_once.take(request, account.pk))

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
            self.secret_once.keep(request, account.pk, secret)
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
