"""The institution and the subscription a webhook page or API call is about: one lookup for
both, answering 404 to anyone but the institution's own administrators."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.core.models import Institution
from accounts.webhooks.models import WebhookSubscription
from accounts.webhooks.services import webhooks_institution_of


class WebhookAdminLookups:
    def institution(self, request: Any, pk: int) -> Institution:
        institution = webhooks_institution_of(user=request.user, institution_id=pk)
        if institution is None:
            raise Http404
        return institution

    def subscription(self, request: Any, pk: int, sid: int) -> WebhookSubscription:
        return get_object_or_404(
            WebhookSubscription, pk=sid, institution=self.institution(request, pk)
        )
