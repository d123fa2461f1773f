"""API of tokens and the signed-in user (under /api/v1/)."""

from django.urls import path

from accounts.signin.api import (
    CurrentUserView,
    SmsCodeRequestView,
    SmsPasswordResetView,
    TokenCreateView,
    TokenDeleteView,
)

urlpatterns = [
    path("auth/token/", TokenCreateView.as_view(), name="api-token"),
    path("auth/logout/", TokenDeleteView.as_view(), name="api-logout"),
    path("auth/user/", CurrentUserView.as_view(), name="api-current-user"),
    path("auth/sms-code/", SmsCodeRequestView.as_view(), name="api-sms-code"),
    path("auth/password/sms-reset/", SmsPasswordResetView.as_view(), name="api-password-sms-reset"),
]
