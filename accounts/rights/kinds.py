"""The kinds of decided record a learner may ask to correct, registered by the layers that own
them (``outcomes`` registers its accredited and rejected outcomes), so this layer never imports
them. The correction request model reads the labels from here, so this module imports no model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from accounts.ledger.models import LearningAccount


@dataclass(frozen=True)
class CorrectableRecord:
    """One record the learner may ask to correct: its id, its label, and the correctable
    fields' current values as text."""

    id: int
    label: str
    values: dict[str, str]


class CorrectableKind(Protocol):
    """A kind of decided record the learner may ask to correct, registered by the layer that
    owns it (``outcomes`` registers its accredited and rejected outcomes). Values travel as
    text: what the learner typed, and what the record holds, shown as text."""

    #: Short name stored with the request ("outcome").
    name: str
    #: What the kind is called, for people.
    label: Any
    #: The fields that may be corrected, with their labels, in the order shown.
    fields: Mapping[str, Any]
    #: Fields shown as choices but always refused, each with the message that says why and
    #: what to do instead (the amounts accredited).
    refused: Mapping[str, Any]

    def records_of(self, account: LearningAccount) -> list[CorrectableRecord]:
        """The account's records that may be corrected, newest first, in one query."""
        ...

    def describe(self, account: LearningAccount, record_id: int) -> str | None:
        """The record's label; None when the account has no such record (the caller answers
        404); ValidationError when it is the account's but cannot be corrected this way."""
        ...

    def values_of(self, account: LearningAccount, record_id: int) -> dict[str, str]:
        """The correctable fields' current values, as text."""
        ...

    def clean(self, account: LearningAccount, record_id: int, field: str, value: str) -> str:
        """``value`` checked and normalised for ``field``; ValidationError keyed
        ``new_value`` when it is not a valid value for the record."""
        ...

    def apply(self, account: LearningAccount, record_id: int, field: str, value: str) -> str:
        """Set the field to the (cleaned) value under a row lock, inside the caller's
        transaction; returns the value it replaced, as text."""
        ...


correctable_kinds: dict[str, CorrectableKind] = {}


def correctable_kind_register(kind: CorrectableKind) -> CorrectableKind:
    """Let learners ask for corrections of ``kind``'s records; registering the same name again
    replaces the earlier one (``ready()`` may run more than once)."""
    correctable_kinds[kind.name] = kind
    return kind


def correctable_kind(name: str) -> CorrectableKind:
    kind = correctable_kinds.get(name)
    if kind is None:
        raise ValidationError({"record_kind": _("This kind of record cannot be corrected.")})
    return kind


def record_field_label(*, record_kind: str, field: str) -> str:
    """The label of a field of a registered kind of record; the field's name when the kind or
    the field is unknown."""
    kind = correctable_kinds.get(record_kind)
    if kind is None:
        return field
    label = kind.fields.get(field) or kind.refused.get(field)
    return str(label) if label is not None else field
