"""The API's authentication of service accounts: ``Authorization: Bearer cbsa_…``, an access
token from ``POST /api/v1/oauth/token/`` (client credentials). Any other header is left to the
next authentication class (knox's tokens, the session)."""

from __future__ import annotations

import time
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.serviceaccounts.models import ACCESS_TOKEN_PREFIX, Scope
from accounts.serviceaccounts.services import service_access_of_token

TOKEN_URL = "/api/v1/oauth/token/"  # noqa: S105 - a path, not a secret


class ServiceAccountAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        auth = get_authorization_header(request).split()
        if len(auth) != 2 or auth[0].lower() != b"bearer":
            return None
        if not auth[1].startswith(ACCESS_TOKEN_PREFIX.encode()):
            return None
        try:
            token = auth[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("Invalid token.")) from None
        access = service_access_of_token(token=token)
        if access is None:
            raise AuthenticationFailed(_("Invalid or expired token."))
        access.started = time.monotonic()
        return access.account.principal, access

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ServiceAccountScheme(OpenApiAuthenticationExtension):
    """Documents the service accounts' OAuth 2.0 client credentials flow and its scopes; an
    operation lists the scheme (with the scope it needs) only where a service account may call
    it: where its view names ``service_scopes``."""

    target_class = "accounts.serviceaccounts.authentication.ServiceAccountAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "description": (
                "Service accounts of an institution's systems: POST the client id and secret "
                "(HTTP Basic, or client_id and client_secret in the form body) with "
                "grant_type=client_credentials and an optional space-separated scope to the "
                "token URL; send the access token as 'Authorization: Bearer <token>'. Tokens "
                "live a few minutes; ask for a new one when the API answers 401."
            ),
            "flows": {
                "clientCredentials": {
                    "tokenUrl": TOKEN_URL,
                    "scopes": {
                        Scope.MEMBERS_IMPORT.value: "Import members into the collective account",
                        Scope.BATCHES_WRITE.value: "Report training results in batches",
                        Scope.TRANSFERS_DECIDE.value: "Decide credit transfers",
                        Scope.READ.value: "Read members, batches and transfers",
                    },
                }
            },
        }

    def get_security_requirement(self, auto_schema: Any) -> Any:
        # None: drf-spectacular lists no requirement of this scheme for the operation.
        scopes = getattr(auto_schema.view, "service_scopes", None) or {}
        scope = scopes.get(auto_schema.method.upper())
        return {self.name: [str(scope)]} if scope else None
