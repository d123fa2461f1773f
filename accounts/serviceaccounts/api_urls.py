"""API of an institution's service accounts (under /api/v1/), and the OAuth token endpoint."""

from django.urls import path

from accounts.serviceaccounts.api import (
    ServiceAccountApi,
    ServiceAccountDisableApi,
    ServiceAccountRotateApi,
    ServiceAccountsApi,
    ServiceCallsApi,
)
from accounts.serviceaccounts.oauth import ServiceTokenView

urlpatterns = [
    # OAuth 2.0 client credentials only (accounts.serviceaccounts.oauth); documented in the
    # schema as the oauth2 security scheme's tokenUrl.
    path("oauth/token/", ServiceTokenView.as_view(), name="api-oauth-token"),
    path(
        "institutions/<int:pk>/service-accounts/",
        ServiceAccountsApi.as_view(),
        name="api-service-accounts",
    ),
    path(
        "institutions/<int:pk>/service-accounts/calls/",
        ServiceCallsApi.as_view(),
        name="api-service-account-calls",
    ),
    path(
        "institutions/<int:pk>/service-accounts/<int:service_account_id>/",
        ServiceAccountApi.as_view(),
        name="api-service-account",
    ),
    path(
        "institutions/<int:pk>/service-accounts/<int:service_account_id>/rotate/",
        ServiceAccountRotateApi.as_view(),
        name="api-service-account-rotate",
    ),
    path(
        "institutions/<int:pk>/service-accounts/<int:service_account_id>/disable/",
        ServiceAccountDisableApi.as_view(),
        name="api-service-account-disable",
    ),
]
