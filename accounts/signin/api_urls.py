"""API of tokens and the signed-in user (under /api/v1/)."""

from django.urls import path

from accounts.signin.api import CurrentUserView, TokenCreateView, TokenDeleteView

urlpatterns = [
    path("auth/token/", TokenCreateView.as_view(), name="api-token"),
    path("auth/logout/", TokenDeleteView.as_view(), name="api-logout"),
    path("auth/user/", CurrentUserView.as_view(), name="api-current-user"),
]
