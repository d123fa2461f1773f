"""Pages of an institution's webhooks."""

from django.urls import path

from accounts.webhooks.views import (
    WebhookDeletePage,
    WebhookPage,
    WebhookReplayPage,
    WebhookRotatePage,
    WebhooksPage,
)

urlpatterns = [
    path("institutions/<int:pk>/webhooks/", WebhooksPage.as_view(), name="webhooks"),
    path("institutions/<int:pk>/webhooks/<int:sid>/", WebhookPage.as_view(), name="webhook"),
    path(
        "institutions/<int:pk>/webhooks/<int:sid>/rotate/",
        WebhookRotatePage.as_view(),
        name="webhook-rotate",
    ),
    path(
        "institutions/<int:pk>/webhooks/<int:sid>/delete/",
        WebhookDeletePage.as_view(),
        name="webhook-delete",
    ),
    path(
        "institutions/<int:pk>/webhooks/deliveries/<int:did>/replay/",
        WebhookReplayPage.as_view(),
        name="webhook-replay",
    ),
]
