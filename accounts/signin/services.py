"""Sign-in operations: API tokens, and the email that lets a learner opened at a centre choose
a password."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from knox.models import AuthToken

from accounts.core.models import User


def api_token_create(*, user: User) -> tuple[str, datetime | None]:
    """Issue an API token for ``user``; returns the token and its expiry. Only a hash of the
    token is stored, so a leaked database does not leak working tokens."""
    instance, token = AuthToken.objects.create(user=user)
    return token, instance.expiry


def api_tokens_purge_expired() -> int:
    """Delete API tokens past their expiry; returns how many went."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted


def password_setup_email_send(*, user: User, domain: str, use_https: bool) -> None:
    """Email a learner who has no password yet the one-time link to choose one (the reset
    mechanism: the same token, expiry and page)."""
    context = {
        "email": user.email,
        "domain": domain,
        "site_name": domain,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": "https" if use_https else "http",
    }
    PasswordResetForm().send_mail(
        "registration/account_opened_subject.txt",
        "registration/account_opened_email.txt",
        context,
        None,
        user.email,
    )
