"""Who may open an institution's pages: its own administrators, and nobody else (a 404, so
that the ids of other institutions reveal nothing)."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.views import View

from accounts.collective.services import collective_of
from accounts.core.models import Role
from accounts.ledger.models import LearningAccount
from accounts.signin.permissions import RoleRequiredMixin


class InstitutionAdminPage(RoleRequiredMixin, View):
    allowed_roles = (Role.INSTITUTION_ADMIN,)

    def collective(self, request: HttpRequest, pk: int) -> LearningAccount:
        collective = collective_of(user=request.user, institution_id=pk)  # type: ignore[arg-type]
        if collective is None:
            raise Http404
        return collective
