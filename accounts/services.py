"""Operations on users, centres and institutions that other apps and views call."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from knox.models import AuthToken

from .models import User


def api_token_create(*, user: User) -> tuple[str, datetime | None]:
    """Issue an API token for ``user``; returns the token and its expiry. Only a hash of the
    token is stored, so a leaked database does not leak working tokens."""
    instance, token = AuthToken.objects.create(user=user)
    return token, instance.expiry


def api_tokens_purge_expired() -> int:
    """Delete API tokens past their expiry; returns how many went."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted
