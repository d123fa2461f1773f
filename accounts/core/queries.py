"""Look-ups of centres and institutions that the apps above ask for."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Q

from .models import Institution


def institutions_matching(
    *, credit_codes: Collection[str] = (), names: Collection[str] = ()
) -> list[Institution]:
    """The institutions with one of ``credit_codes`` (unified social credit codes, upper case)
    or one of ``names`` (one query)."""
    return list(
        Institution.objects.filter(Q(credit_code__in=list(credit_codes)) | Q(name__in=list(names)))
    )
