"""The institution and the service account a page or API call is about: one lookup for both,
answering 404 to anyone but the institution's own administrators."""

from __future__ import annotations

from typing import Any

from accounts.core.models import Institution
from accounts.institution_admin import InstitutionAdminLookups
from accounts.serviceaccounts.models import ServiceAccount
from accounts.serviceaccounts.services import service_accounts_institution_of


class ServiceAccountAdminLookups(InstitutionAdminLookups):
    def institution_of(self, *, user: Any, institution_id: int) -> Institution | None:
        return service_accounts_institution_of(user=user, institution_id=institution_id)

    def service_account(self, request: Any, pk: int, service_account_id: int) -> ServiceAccount:
        return self.owned(
            ServiceAccount.objects.select_related("application", "institution"),
            request,
            pk,
            service_account_id,
        )
