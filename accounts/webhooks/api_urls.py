"""API of an institution's webhooks (under /api/v1/)."""

from django.urls import path

from accounts.webhooks.api import (
    WebhookApi,
    WebhookDeliveriesApi,
    WebhookReplayApi,
    WebhookRotateApi,
    WebhooksApi,
)

urlpatterns = [
    path("institutions/<int:pk>/webhooks/", WebhooksApi.as_view(), name="api-webhooks"),
    path(
        "institutions/<int:pk>/webhooks/deliveries/",
        WebhookDeliveriesApi.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "institutions/<int:pk>/webhooks/deliveries/<int:delivery_id>/replay/",
        WebhookReplayApi.as_view(),
        name="api-webhook-replay",
    ),
    path(
        "institutions/<int:pk>/webhooks/<int:subscription_id>/",
        WebhookApi.as_view(),
        name="api-webhook",
    ),
    path(
        "institutions/<int:pk>/webhooks/<int:subscription_id>/rotate/",
        WebhookRotateApi.as_view(),
        name="api-webhook-rotate",
    ),
]
