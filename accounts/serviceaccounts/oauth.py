"""The token endpoint's rules, as django-oauth-toolkit's validator: only the client credentials
grant, only for an active service account, only within the scopes its administrator gave it
(asking for none gets all of them). The access token carries a prefix, so the API's
authentication knows a service account's token from a person's (knox) at a glance."""

from __future__ import annotations

import secrets
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import TokenView
from rest_framework.throttling import SimpleRateThrottle

from accounts.serviceaccounts.models import ACCESS_TOKEN_PREFIX


def access_token_generate(request: Any, refresh_token: bool = False) -> str:
    return ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)


def _granted(client: Any) -> list[str] | None:
    """The scopes of the client's service account, or None when it has none or is disabled."""
    account = getattr(client, "service_account", None) if client is not None else None
    if account is None or not account.is_active or not account.institution.is_active:
        return None
    return list(account.scopes)


class ServiceAccountValidator(OAuth2Validator):
    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        # A disabled service account's credentials are refused like wrong ones.
        return _granted(request.client) is not None

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if grant_type != "client_credentials" or _granted(client) is None:
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_scopes(
        self,
        client_id: str,
        scopes: list[str],
        client: Any,
        request: Any,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        granted = _granted(client)
        return granted is not None and set(scopes) <= set(granted)

    def validate_user(self, *args: Any, **kwargs: Any) -> bool:
        # No password grant here: the endpoint must never check a person's password.
        return False

    def get_default_scopes(
        self, client_id: str, request: Any, *args: Any, **kwargs: Any
    ) -> list[str]:
        return _granted(request.client) or []


class TokenRateThrottle(SimpleRateThrottle):
    """Requests to the token endpoint per address (``THROTTLE_OAUTH_TOKEN_RATE``): checking a
    secret costs a password hash (about 0.45 s of CPU at Django's PBKDF2 default)."""

    scope = "oauth_token"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ServiceTokenView(TokenView):
    """``POST /api/v1/oauth/token/``: DOT's token endpoint, for the client credentials grant
    only. Any other grant is refused before DOT reads it, so the endpoint never checks a
    person's password (nor counts a failure against their sign-in)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = TokenRateThrottle()
        if not throttle.allow_request(request, self):  # type: ignore[arg-type]
            wait = throttle.wait()
            return JsonResponse(
                {
                    "error": "temporarily_unavailable",
                    "error_description": "Too many token requests; try again later.",
                },
                status=429,
                headers={"Retry-After": str(int(wait or 60) + 1), "Cache-Control": "no-store"},
            )
        if request.POST.get("grant_type") != "client_credentials":
            return JsonResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Only grant_type=client_credentials is supported.",
                },
                status=400,
                headers={"Cache-Control": "no-store"},
            )
        return super().post(request, *args, **kwargs)
