"""The API's default permission (DRF's ``DEFAULT_PERMISSION_CLASSES``), in a module of its own:
DRF imports it while loading its views, so it must not import them itself."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from accounts.core.models import Role


class IsPerson(BasePermission):
    """Someone signed in, and a person. A service account (an institution's system) reaches
    only the views that name the scope it needs (``accounts.serviceaccounts.permissions.
    HasScope``), never the ones open to anyone signed in (notifications, "who am I")."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role != Role.SERVICE_ACCOUNT)
