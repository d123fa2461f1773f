"""Pages of an institution's webhooks: its subscriptions, their secrets (shown once) and the
delivery log with a replay. Only the institution's own administrators see them (others: 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.core.models import Institution
from accounts.institution_admin import (
    InstitutionAdminListPage,
    InstitutionAdminPage,
    SecretShownOnce,
)
from accounts.webhooks.forms import WebhookForm
from accounts.webhooks.lookups import WebhookAdminLookups
from accounts.webhooks.models import WebhookDelivery, WebhookSubscription
from accounts.webhooks.services import (
    webhook_deliveries_of,
    webhook_delivery_replay,
    webhook_secret_rotate,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
    webhook_subscriptions_of,
)
from common.forms import form_errors_apply

DELIVERIES_PER_PAGE = 50
# The session key of a secret just made, shown once on the next page and then forgotten.
SECRET_SHOWN_ONCE = SecretShownOnce("webhook_secret_once", owner="subscription")


class WebhookAdminPage(WebhookAdminLookups, InstitutionAdminPage):
    secret_once = SECRET_SHOWN_ONCE


def _log_page(request: HttpRequest, deliveries: Any) -> Any:
    return Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))


class WebhooksPage(WebhookAdminPage, InstitutionAdminListPage):
    """The institution's subscriptions, a form for a new one and the delivery log."""

    form_class = WebhookForm
    detail_url_name = "webhook"

    def create(
        self, *, institution: Institution, actor: Any, data: dict[str, Any]
    ) -> tuple[Any, str]:
        return webhook_subscription_create(
            institution=institution, actor=actor, url=data["url"], event_types=data["event_types"]
        )

    def render(
        self, request: HttpRequest, institution: Institution, form: WebhookForm, status: int = 200
    ) -> HttpResponse:
        context = {
            "institution": institution,
            "subscriptions": webhook_subscriptions_of(institution=institution),
            "form": form,
            "page": _log_page(request, webhook_deliveries_of(institution=institution)),
        }
        return render(request, "accounts/webhooks/list.html", context, status=status)


class WebhookPage(WebhookAdminPage):
    """One subscription: edit it, rotate its secret, delete it, and its deliveries."""

    def get(self, request: HttpRequest, pk: int, sid: int) -> HttpResponse:
        subscription = self.subscription(request, pk, sid)
        form = WebhookForm(
            initial={
                "url": subscription.url,
                "event_types": subscription.event_types,
                "is_active": subscription.is_active,
            }
        )
        return self.render(
            request, subscription, form, self.secret_once.take(request, subscription.pk)
        )

    def post(self, request: HttpRequest, pk: int, sid: int) -> HttpResponse:
        subscription = self.subscription(request, pk, sid)
        form = WebhookForm(request.POST)
        if form.is_valid():
            try:
                webhook_subscription_update(
                    subscription=subscription,
                    actor=request.user,  # type: ignore[arg-type]
                    url=form.cleaned_data["url"],
                    event_types=form.cleaned_data["event_types"],
                    is_active=form.cleaned_data["is_active"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, _("The webhook is saved."))
                return redirect("webhook", pk, subscription.pk)
        subscription.refresh_from_db()
        return self.render(request, subscription, form, None, status=400)

    def render(
        self,
        request: HttpRequest,
        subscription: WebhookSubscription,
        form: WebhookForm,
        secret: str | None,
        status: int = 200,
    ) -> HttpResponse:
        deliveries = subscription.deliveries.order_by("-created_at", "-pk")
        context = {
            "institution": subscription.institution,
            "subscription": subscription,
            "form": form,
            "secret": secret,
            "page": _log_page(request, deliveries),
        }
        return render(request, "accounts/webhooks/detail.html", context, status=status)


class WebhookRotatePage(WebhookAdminPage):
    def post(self, request: HttpRequest, pk: int, sid: int) -> HttpResponse:
        subscription = self.subscription(request, pk, sid)
        secret = webhook_secret_rotate(subscription=subscription, actor=request.user)  # type: ignore[arg-type]
        self.secret_once.keep(request, subscription.pk, secret)
        return redirect("webhook", pk, subscription.pk)


class WebhookDeletePage(WebhookAdminPage):
    def post(self, request: HttpRequest, pk: int, sid: int) -> HttpResponse:
        subscription = self.subscription(request, pk, sid)
        webhook_subscription_delete(subscription=subscription, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("The webhook is deleted."))
        return redirect("webhooks", pk)


class WebhookReplayPage(WebhookAdminPage):
    def post(self, request: HttpRequest, pk: int, did: int) -> HttpResponse:
        institution = self.institution(request, pk)
        delivery = get_object_or_404(WebhookDelivery, pk=did, subscription__institution=institution)
        try:
            webhook_delivery_replay(delivery=delivery, actor=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The message is queued to be sent again."))
        return redirect("webhook", pk, delivery.subscription_id)
