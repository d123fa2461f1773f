"""Where a service account may call: a view names the scope each method needs
(``service_scopes = {"GET": Scope.READ, "POST": Scope.BATCHES_WRITE}``) and lets the scope in
beside the roles of the people who call it: ``HasRole.of(Role.INSTITUTION_ADMIN) | HasScope``.
A view that names no scope refuses every service account (403); a view without ``HasScope``
too (its roles do not include the service account's)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.serviceaccounts.services import ServiceAccess


class HasScope(BasePermission):
    message = _("This service account's scopes do not allow this call.")

    def has_permission(self, request: Request, view: Any) -> bool:
        access = request.auth
        if not isinstance(access, ServiceAccess):
            return False
        needed = (getattr(view, "service_scopes", None) or {}).get(request.method or "")
        if needed:
            access.scope_used = str(needed)
            if str(needed) in access.scopes:
                return True
        # Raised rather than answered False: composed with ``|``, DRF would lose the message.
        raise PermissionDenied(self.message)
