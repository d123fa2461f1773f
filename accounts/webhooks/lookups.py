"""The institution and the subscription a webhook page or API call is about: one lookup for
both, answering 404 to anyone but the institution's own administrators."""

from __future__ import annotations

from typing import Any

from accounts.core.models import Institution
from accounts.institution_admin import InstitutionAdminLookups
from accounts.webhooks.models import WebhookSubscription
from accounts.webhooks.services import webhooks_institution_of


class WebhookAdminLookups(InstitutionAdminLookups):
    def institution_of(self, *, user: Any, institution_id: int) -> Institution | None:
        return webhooks_institution_of(user=user, institution_id=institution_id)

    def subscription(self, request: Any, pk: int, sid: int) -> WebhookSubscription:
        return self.owned(WebhookSubscription, request, pk, sid)
