"""Pages of an institution's service accounts."""

from django.urls import path

from accounts.serviceaccounts.views import (
    ServiceAccountDisablePage,
    ServiceAccountPage,
    ServiceAccountRotatePage,
    ServiceAccountsPage,
)

urlpatterns = [
    path(
        "institutions/<int:pk>/service-accounts/",
        ServiceAccountsPage.as_view(),
        name="service-accounts",
    ),
    path(
        "institutions/<int:pk>/service-accounts/<int:service_account_id>/",
        ServiceAccountPage.as_view(),
        name="service-account",
    ),
    path(
        "institutions/<int:pk>/service-accounts/<int:service_account_id>/rotate/",
        ServiceAccountRotatePage.as_view(),
        name="service-account-rotate",
    ),
    path(
        "institutions/<int:pk>/service-accounts/<int:service_account_id>/disable/",
        ServiceAccountDisablePage.as_view(),
        name="service-account-disable",
    ),
]
