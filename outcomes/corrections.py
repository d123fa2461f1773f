"""Corrections of a decided outcome's recorded facts: the kind of record this layer registers
with ``accounts.rights`` (in ``OutcomesConfig.ready()``), so that the learner can ask a centre to
correct the title, the issuing body, the dates... of an accredited or rejected outcome.

A decided outcome is corrected in place by the centre's decision, not by a new version: the
application, its decision and the ledger point at it. The old value stays in the history (the
request and the change are business transactions). The hours and credits accredited are the
decision's, booked in the ledger, and are never changed here (ADR 0007): asking for that gets
a message pointing to revocation and a new application.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import LearningAccount
from accounts.services import CorrectableRecord

from .models import LearningOutcome
from .services import OUTCOME_FIELDS, outcome_precheck

Status = LearningOutcome.Status

DECIDED = (Status.ACCREDITED, Status.NOT_ACCREDITED)
DATE_FIELDS = frozenset({"achieved_on", "started_on", "ended_on"})
# Text that an outcome of its kind must have (outcome_precheck says which) may be corrected
# but not emptied; a correction always gives a value.
TEXT_FIELDS = frozenset({"title", "issuing_body", "provider", "certificate_number", "result"})


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


class DecidedOutcomes:
    """The learner's accredited and rejected outcomes, as records a centre may correct."""

    name = "outcome"
    label = _("Decided learning outcome")
    fields: Mapping[str, Any] = {
        "title": _("title"),
        "issuing_body": _("issuing body"),
        "provider": _("provider"),
        "certificate_number": _("certificate number"),
        "achieved_on": _("date achieved"),
        "started_on": _("from"),
        "ended_on": _("to"),
        "hours": _("learning hours as stated"),
        "result": _("result"),
    }
    refused: Mapping[str, Any] = {
        "accredited_amounts": _(
            "The hours and credits accredited are the centre's decision, booked in your "
            "ledger, and a correction does not change them. Ask the centre to revoke the "
            "accreditation, then add the outcome again and apply for a new accreditation."
        ),
    }

    def _outcomes(self, account: LearningAccount) -> Any:
        return LearningOutcome.objects.filter(account=account)

    def records_of(self, account: LearningAccount) -> list[CorrectableRecord]:
        decided = self._outcomes(account).filter(status__in=DECIDED).order_by("-achieved_on", "-id")
        return [
            CorrectableRecord(
                id=outcome.pk,
                label=outcome.title,
                values={field: _as_text(getattr(outcome, field)) for field in self.fields},
            )
            for outcome in decided.only("pk", *self.fields)
        ]

    def describe(self, account: LearningAccount, record_id: int) -> str | None:
        outcome = self._outcomes(account).filter(pk=record_id).only("title", "status").first()
        if outcome is None:
            return None
        if outcome.status not in DECIDED:
            raise ValidationError(
                {
                    "record_id": _(
                        "Only an accredited or rejected outcome is corrected by a centre. "
                        "An outcome you have only saved you can change yourself."
                    )
                }
            )
        return outcome.title

    def values_of(self, account: LearningAccount, record_id: int) -> dict[str, str]:
        outcome = self._outcomes(account).get(pk=record_id)
        return {field: _as_text(getattr(outcome, field)) for field in self.fields}

    def _parse(self, field: str, value: str) -> Any:
        if field in DATE_FIELDS:
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                raise ValidationError({"new_value": _("Enter the date as YYYY-MM-DD.")}) from None
        if field == "hours":
            try:
                hours = Decimal(value)
            except InvalidOperation:
                raise ValidationError({"new_value": _("Enter a number of hours.")}) from None
            if not hours.is_finite() or hours <= 0:
                raise ValidationError({"new_value": _("Learning hours must be more than zero.")})
            if hours != hours.quantize(Decimal("0.1")) or hours >= Decimal("1000000"):
                raise ValidationError(
                    {"new_value": _("At most one decimal place and fewer than 1,000,000 hours.")}
                )
            return hours.quantize(Decimal("0.1"))
        limit = getattr(LearningOutcome._meta.get_field(field), "max_length", None) or 200
        if len(value) > limit:
            raise ValidationError(
                {"new_value": _("At most %(limit)d characters.") % {"limit": limit}}
            )
        return value

    def clean(self, account: LearningAccount, record_id: int, field: str, value: str) -> str:
        parsed = self._parse(field, value)
        outcome = self._outcomes(account).get(pk=record_id)
        before = {name: getattr(outcome, name) for name in OUTCOME_FIELDS}
        after = before | {field: parsed}
        # The outcome's own rules (dates in order and not in the future, the catalogue's
        # number format...): only what the change itself breaks is the learner's problem.
        known = {problem for problem, _message in _problems(before)}
        new = [message for problem, message in _problems(after) if problem not in known]
        if new:
            raise ValidationError({"new_value": new})
        return _as_text(parsed)

    def apply(self, account: LearningAccount, record_id: int, field: str, value: str) -> str:
        outcome = LearningOutcome.objects.select_for_update().get(pk=record_id, account=account)
        old = _as_text(getattr(outcome, field))
        setattr(outcome, field, self._parse(field, value))
        outcome.save(update_fields=[field, "updated_at"])
        return old


def _problems(data: dict[str, Any]) -> list[tuple[tuple[str, str], str]]:
    """What the outcome's rules say about ``data``: ((field, message), message) pairs."""
    try:
        outcome_precheck(data)
    except ValidationError as exc:
        return [
            ((field, str(message)), str(message))
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return []


decided_outcomes = DecidedOutcomes()
