"""Who may open an institution's pages: its own administrators, and nobody else (a 404, so
that the ids of other institutions reveal nothing)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.views import View

from accounts.collective.services import collective_of
from accounts.core.models import Role
from accounts.ledger.models import LearningAccount
from accounts.signin.permissions import RoleRequiredMixin


def collective_or_404(user: Any, institution_id: int) -> LearningAccount:
    """The collective account of the institution ``user`` administers, for its pages and API."""
    collective = collective_of(user=user, institution_id=institution_id)
    if collective is None:
        raise Http404
    return collective


class InstitutionAdminPage(RoleRequiredMixin, View):
    """A page of an institution administrator about their institution's collective account."""

    allowed_roles = (Role.INSTITUTION_ADMIN,)

    def collective(self, request: HttpRequest, pk: int) -> LearningAccount:
        return collective_or_404(request.user, pk)

    @staticmethod
    def collective_context(collective: LearningAccount) -> dict[str, Any]:
        """What every page about the collective account shows above its own content."""
        return {
            "collective": collective,
            "institution": collective.institution,
            "active": collective.status == LearningAccount.Status.ACTIVE,
        }
