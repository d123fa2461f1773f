"""The API of the accounts app (under /api/v1/), mounted by creditbank with include()."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.core.api_urls")),
    path("", include("accounts.signin.api_urls")),
    path("", include("accounts.ledger.api_urls")),
    path("", include("accounts.collective.api_urls")),
    path("", include("accounts.notifications.api_urls")),
    path("", include("accounts.rights.api_urls")),
    path("", include("accounts.webhooks.api_urls")),
    path("", include("accounts.serviceaccounts.api_urls")),
]
