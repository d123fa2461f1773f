from typing import Any

from drf_spectacular.authentication import SessionScheme
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
