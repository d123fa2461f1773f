from typing import Any

from django.utils import timezone
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.models import AuthToken
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from accounts.signin.mfa import second_factor_required


class VerifiedSessionAuthentication(SessionAuthentication):
    """The browser session, for API calls from the portal's own pages — except a staff session
    that has given its password but not yet its second factor, which counts as no session at
    all here (pages send it to enter the code; the API must not let it through either)."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if second_factor_required(user) and not user.is_verified():
            return None
        return result


class VerifiedSessionScheme(SessionScheme):
    """Documents the session scheme in the OpenAPI schema, as for DRF's own class."""

    target_class = "accounts.signin.authentication.VerifiedSessionAuthentication"


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's token check without its purge: knox loads all of the user's tokens and deletes
    the expired ones on every API call (a query, sometimes deletes). Here an expired token is
    only refused; the periodic ``accounts.tasks.purge_expired_tokens`` (beat) deletes expired
    tokens for everyone."""

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        return auth_token.expiry is not None and auth_token.expiry < timezone.now()


class TokenScheme(KnoxTokenScheme):
    """Documents the token scheme in the OpenAPI schema, as for knox's own class."""

    target_class = "accounts.signin.authentication.TokenAuthentication"
