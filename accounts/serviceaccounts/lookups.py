"""The institution and the service account a page or API call is about: one lookup for both,
answering 404 to anyone but the institution's own administrators."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.core.models import Institution
from accounts.serviceaccounts.models import ServiceAccount
from accounts.serviceaccounts.services import service_accounts_institution_of


class ServiceAccountAdminLookups:
    def institution(self, request: Any, pk: int) -> Institution:
        institution = service_accounts_institution_of(user=request.user, institution_id=pk)
        if institution is None:
            raise Http404
        return institution

    def service_account(self, request: Any, pk: int, service_account_id: int) -> ServiceAccount:
        return get_object_or_404(
            ServiceAccount.objects.select_related("application", "institution"),
            pk=service_account_id,
            institution=self.institution(request, pk),
        )
