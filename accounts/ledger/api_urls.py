"""API of learning accounts and staff access (under /api/v1/)."""

from django.urls import path

from accounts.ledger.api import AccountRegisterView, MyAccountView, MyStaffAccessesView
from accounts.ledger.staff_views import AccountLookupApi, CentreAccountOpenApi, IdentityRevealApi

urlpatterns = [
    path("accounts/", AccountRegisterView.as_view(), name="api-account-register"),
    path("accounts/me/", MyAccountView.as_view(), name="api-account-me"),
    path(
        "accounts/me/staff-accesses/",
        MyStaffAccessesView.as_view(),
        name="api-my-staff-accesses",
    ),
    path("centre/accounts/", CentreAccountOpenApi.as_view(), name="api-centre-account-open"),
    path("accounts/lookup/", AccountLookupApi.as_view(), name="api-account-lookup"),
    path(
        "accounts/<str:account_number>/identity-reveals/",
        IdentityRevealApi.as_view(),
        name="api-identity-reveal",
    ),
]
