"""Rows of a queryset as plain dictionaries, for the learner's data export: each app gives its
part of one account's export with these, and the project composes the parts into files."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from django.db import models

# Each app's part of one account's export: a name -> a function giving its rows, called only
# when the file that holds them is written (the build reports progress file by file).
ExportParts = Mapping[str, Callable[[], Any]]


def rows_of(
    queryset: models.QuerySet[Any], *extra: str, hidden: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Every concrete column of the rows (by attribute name, so a foreign key is its id) but
    those in ``hidden``, then the ``extra`` lookups, ordered by primary key."""
    fields = [
        field.attname
        for field in queryset.model._meta.concrete_fields
        if field.attname not in hidden
    ]
    return list(queryset.order_by("pk").values(*fields, *extra))
