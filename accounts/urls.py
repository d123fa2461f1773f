"""The pages of the accounts app, feature by feature, mounted by creditbank with include()."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.signin.urls")),
    path("", include("accounts.ledger.urls")),
    path("", include("accounts.collective.urls")),
    path("", include("accounts.notifications.urls")),
    path("", include("accounts.rights.urls")),
    path("", include("accounts.webhooks.urls")),
    path("", include("accounts.serviceaccounts.urls")),
]
