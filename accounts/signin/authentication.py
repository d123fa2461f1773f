import binascii
from hmac import compare_digest
from typing import Any

import knox.auth
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from rest_framework.authentication import SessionAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.signin.mfa import second_factor_required
from common.prepared import PreparedQuery


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


class TokenAuthentication(knox.auth.TokenAuthentication):
    """knox's API token, sent as ``Authorization: Bearer <token>`` (what OAuth-minded clients
    and generated clients send) or as knox's own ``Authorization: Token <token>``; without
    knox's purge: knox loads all of the user's tokens and deletes the expired ones on every API
    call (a query, sometimes deletes). Here an expired token is only refused; the periodic
    ``accounts.tasks.purge_expired_tokens`` (beat) deletes expired tokens for everyone."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != b"bearer":
            return super().authenticate(request)
        if len(auth) != 2:
            raise AuthenticationFailed(
                _("Invalid token header. Token string should not contain spaces.")
                if len(auth) > 2
                else _("Invalid token header. No credentials provided.")
            )
        return self.authenticate_credentials(auth[1])

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        """knox's check, with the token rows and their user read by a statement built once per
        process (``TOKENS_BY_KEY``): the ORM spent more Python building that query than
        PostgreSQL spends answering it, on every API call."""
        message = _("Invalid token.")
        # knox decodes the header's bytes as UTF-8: any other byte would be a 500, not a 401.
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthenticationFailed(message) from None
        for auth_token in TOKENS_BY_KEY.list(key=text[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(text)
            except (TypeError, binascii.Error):
                raise AuthenticationFailed(message) from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise AuthenticationFailed(message)

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        return auth_token.expiry is not None and auth_token.expiry < timezone.now()


TOKENS_BY_KEY: PreparedQuery[AuthToken] = PreparedQuery(
    lambda key: AuthToken.objects.filter(token_key=key).select_related("user"),
    key="stand-in token key (never sent)",
)


class TokenScheme(OpenApiAuthenticationExtension):
    """Documents the token as HTTP bearer authentication (``Token`` works too)."""

    target_class = "accounts.signin.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "The token from POST /api/v1/auth/token/, as 'Authorization: Bearer <token>' "
                "('Authorization: Token <token>' is accepted too)."
            ),
        }
