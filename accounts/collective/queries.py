"""The members of a collective account, as an institution's batch looks them up."""

from __future__ import annotations

from collections.abc import Collection

from accounts.collective.models import CollectiveMembership
from accounts.ledger.models import LearningAccount


def collective_members_find(
    *,
    collective: LearningAccount,
    numbers: Collection[str] | None = None,
    id_number_indexes: Collection[str] | None = None,
) -> list[LearningAccount]:
    """The members of ``collective`` with these account numbers, or these identity blind
    indexes, with their holders; one query, so callers pass a bounded chunk. A person invited
    who has not accepted (or who declined) is no member: nothing is reported for them."""
    memberships = CollectiveMembership.objects.filter(
        collective=collective, status=CollectiveMembership.Status.ACTIVE
    ).select_related("member__holder")
    if numbers is not None:
        memberships = memberships.filter(member__number__in=list(numbers))
    if id_number_indexes is not None:
        memberships = memberships.filter(member__id_number_index__in=list(id_number_indexes))
    return [m.member for m in memberships]
