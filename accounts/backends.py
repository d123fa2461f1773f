from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest

from common.prepared import PreparedQuery


def users_named_by(identifier: str) -> QuerySet[Any]:
    """Users whose account number/username, email (any case) or phone is ``identifier``."""
    return (
        get_user_model()
        ._default_manager.alias(email_lower=Lower("email"))
        .filter(
            Q(username=identifier)
            | Q(username=identifier.upper())
            | Q(email_lower=identifier.lower())
            | Q(phone=identifier.replace(" ", "").replace("-", ""))
        )
    )


class IdentifierBackend(ModelBackend):
    """Sign in with any one identifier: the username (a learner's is the learning account
    number), the email address or the mobile phone number."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user_model = get_user_model()
        if username is None:
            username = kwargs.get(user_model.USERNAME_FIELD)
        if not username or password is None:
            return None
        identifier = username.strip()
        if not identifier:
            return None
        matches = list(users_named_by(identifier)[:2])
        if len(matches) != 1:
            # Hash the password anyway, so that the time taken does not tell an attacker
            # whether the identifier exists.
            user_model().set_password(password)
            return None
        user = matches[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> Any:
        """As ModelBackend's: the active user with this id, or None."""
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        user = USER_BY_ID.first(pk=pk)
        return user if user is not None and self.user_can_authenticate(user) else None


# The signed-in user of every page, read by a statement built once per process (the ORM's
# Python for it cost more than PostgreSQL's side, on every signed-in request).
USER_BY_ID: PreparedQuery[Any] = PreparedQuery(
    lambda pk: get_user_model()._default_manager.filter(pk=pk), pk=2_000_000_001
)


def resolve_username(identifier: str) -> str:
    """The username of the account an identifier (number, email or phone) names; when it names
    none, a keyed digest of it (``unknown:…``).

    Sign-in failures are recorded under this name (django-axes' access attempts), and what
    people type into the sign-in box is often not an identifier at all: an identity number, a
    password typed one field too early. That is never kept in clear; the digest of the same
    text is the same, so repeated tries are still counted and locked out."""
    from accounts.identity.crypto import blind_index

    identifier = (identifier or "").strip()
    names = list(users_named_by(identifier).values_list("username", flat=True)[:2])
    if len(names) == 1:
        return names[0]
    return "unknown:" + blind_index("sign-in:" + identifier.lower())[:32]


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    return resolve_username((credentials or {}).get("username", ""))


def lockout_response(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any):
    """What a locked-out sign-in gets: the API a 429 JSON body, a page the sign-in page with
    the reason."""
    from django.conf import settings
    from django.http import JsonResponse
    from django.shortcuts import render
    from django.utils.translation import gettext as _

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _(
        "Too many failed sign-in attempts. For your security this account is locked on this "
        "device for %(minutes)d minutes; you can also reset your password."
    ) % {"minutes": minutes}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)


def client_ip(request: HttpRequest) -> str:
    """The client's address as the nearest of ``TRUSTED_PROXY_COUNT`` proxies saw it.

    Behind a proxy REMOTE_ADDR is the proxy; the client's address is in X-Forwarded-For, whose
    left part anyone can write. Each trusted proxy appends what it saw, so the address the n-th
    proxy from us recorded is the n-th entry from the right — the same rule as DRF's
    NUM_PROXIES, so sign-in lockout and request throttles count the same client.
    """
    from django.conf import settings

    count = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR", "")
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    return forwarded[-count] if len(forwarded) >= count else remote
