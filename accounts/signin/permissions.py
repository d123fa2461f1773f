"""The permission layer every view uses: who may do what is decided by role, here.

API views name the roles they serve with ``HasRole.of(...)``; pages with ``RoleRequiredMixin``.
Object-level rules (a reviewer sees only their centre's queue, an institution admin only its
members) live beside the querysets of the app that owns the object.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.core.models import Role


def user_has_role(user: Any, *roles: str) -> bool:
    """True when the user is signed in, active and holds one of the roles."""
    return bool(user and user.is_authenticated and user.is_active and user.role in roles)


def user_acts_for_institution(user: Any, role: Role) -> bool:
    """True for an institution's staff member of ``role``, and for a service account of an
    institution (an institution's system): the API views that let a service account in name the
    scope each call needs (``accounts.serviceaccounts.permissions.HasScope``); the institution
    is checked by the caller, as for a person (``user.institution_id``)."""
    return user_has_role(user, role, Role.SERVICE_ACCOUNT)


class HasRole(BasePermission):
    """DRF permission: the caller holds one of ``roles``. Build one with ``HasRole.of(...)``."""

    roles: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def of(cls, *roles: Role) -> type[HasRole]:
        names = "".join(role.value.title().replace("_", "") for role in roles)
        return type(f"HasRole{names}", (cls,), {"roles": tuple(roles)})

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_has_role(request.user, *self.roles)


class RoleRequiredMixin(LoginRequiredMixin):
    """Page views: anonymous visitors go to the login page; signed-in users without one of
    ``allowed_roles`` get 403."""

    allowed_roles: ClassVar[tuple[str, ...]] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not user_has_role(request.user, *self.allowed_roles):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
