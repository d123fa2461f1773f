"""Telling learners that a saved outcome of theirs has become accreditable.

When the management admin publishes a catalogue entry (or a version that recognises more
names), learners whose *saved* outcomes match it are told that they can now apply, once per
outcome and entry: the notice's key is the outcome and the entry code, so a later version, a
retried task or a second worker tells nobody twice.
"""

from __future__ import annotations

from django.urls import reverse

from accounts.models import Notification, User
from accounts.services import notify
from outcomes.services import outcomes_saved_of_kind

from ..models import CatalogueEntryVersion
from .matching import candidate_best, candidate_of
from .queries import beijing_today

CHUNK = 2_000


def catalogue_match_notify(*, version_id: int) -> int:
    """Notify the holders of saved outcomes that match this version; the number told now."""
    version = CatalogueEntryVersion.objects.select_related("entry").get(pk=version_id)
    if not version.is_effective_on(beijing_today()):
        # Not in effect (yet, or any more): nothing can be accredited against it today.
        return 0
    candidate = candidate_of(version)
    outcomes = (
        outcomes_saved_of_kind(kind=version.kind).select_related("account__holder").order_by("id")
    )
    told = 0
    for outcome in outcomes.iterator(chunk_size=CHUNK):
        holder: User | None = outcome.account.holder
        if holder is None or not holder.is_active:
            continue
        match = candidate_best(
            [candidate],
            kind=outcome.kind,
            title=outcome.title,
            issuing_body=outcome.issuing_body,
            certificate_number=outcome.certificate_number,
        )
        if match is None:
            continue
        notice = notify(
            recipient=holder,
            kind=Notification.Kind.CATALOGUE_MATCH,
            params={
                "outcome": outcome.title,
                "entry": version.name,
                "hours": str(version.hours),
                "credits": str(version.credits),
            },
            link=reverse("application-submit", args=[outcome.pk]),
            key=f"catalogue_match:{outcome.pk}:{version.entry.code}",
        )
        told += notice is not None
    return told
