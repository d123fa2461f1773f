"""What a certificate states: the canonical payload that is signed (issuer, serial, kind,
learner, period, items, totals, issue date) and what its holder may disclose on verification."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import LearningAccount
from accounts.notifications.services import portal_url
from accounts.services import account_totals
from accreditation.models import Decision
from accreditation.services import accreditations_holding_of
from outcomes.services import outcomes_in_file

from ..models import Certificate, TransferItem, TransferItemState

Kind = Certificate.Kind

# What the learner may show on the public verification page besides kind, period, totals and
# dates: their name, their masked identity number, their account number, the list of items.
DISCLOSABLE: dict[str, Any] = {
    "name": _("Name"),
    "id_number": _("Masked identity number"),
    "account_number": _("Account number"),
    "items": _("The list of accredited outcomes"),
}
DEFAULT_DISCLOSE = ("name", "items")


CONTENT_VERSION = 1
PDF_SIGNATURE = "PAdES B-B"


def _amount(value: Decimal | None) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.1")))


def both_languages(message: Any) -> str:
    """Chinese and English, for the PDF, which is read by people of either language."""
    with translation.override("zh-hans"):
        chinese = str(message)
    with translation.override("en"):
        english = str(message)
    return chinese if chinese == english else f"{chinese} {english}"


def bank_names() -> str:
    """The issuing bank as configured (BANK_NAME_ZH, BANK_NAME_EN), Chinese first."""
    chinese, english = settings.BANK_NAME_ZH.strip(), settings.BANK_NAME_EN.strip()
    return chinese if not english or chinese == english else f"{chinese} {english}"


def _accredited_decisions(account: LearningAccount) -> QuerySet[Decision]:
    """Accreditations of the account that still hold (not revoked)."""
    return accreditations_holding_of(account=account)


def _learning_date(decision: Decision) -> datetime.date:
    outcome = decision.application.outcome
    return outcome.ended_on or outcome.achieved_on


def _decision_item(decision: Decision) -> dict[str, Any]:
    outcome = decision.application.outcome
    version = decision.catalogue_version
    return {
        "outcome": outcome.title,
        "catalogue_code": version.entry.code if version else "",
        "learned_on": _learning_date(decision).isoformat(),
        "accredited_on": timezone.localdate(decision.decided_at).isoformat(),
        "centre": decision.application.centre.name,
        "hours": _amount(decision.hours),
        "credits": _amount(decision.credits),
    }


def _record_item(decision: Decision) -> dict[str, Any]:
    """A transfer record's item: the transcript's, with the provenance another bank books it
    with (ADR 0022): the decision's id, the catalogue entry's version, the deciding centre's
    code and the moment of the decision (local time, with its offset)."""
    version = decision.catalogue_version
    centre = decision.application.centre
    return {
        **_decision_item(decision),
        "decision_id": str(decision.pk),
        "catalogue_version": str(version.version) if version else "",
        "centre_code": centre.code,
        "decided_at": timezone.localtime(decision.decided_at).isoformat(timespec="seconds"),
    }


def _transfer_items(account: LearningAccount) -> list[dict[str, Any]]:
    accepted = (
        TransferItem.objects.filter(account=account, state=TransferItemState.ACCEPTED)
        .select_related("course", "programme__institution", "outcome")
        .order_by("decided_at", "id")
    )
    return [
        {
            "institution": item.programme.institution.name,
            "programme": item.programme.name,
            "course": item.course.name,
            "course_code": item.course.code,
            "outcome": item.outcome.title,
            "credits": _amount(item.credits),
            "decided_on": timezone.localdate(item.decided_at).isoformat()
            if item.decided_at
            else "",
        }
        for item in accepted
    ]


def certificate_has_content(
    *,
    account: LearningAccount,
    kind: str,
    period_from: datetime.date | None,
    period_to: datetime.date | None,
) -> bool:
    """Whether a certificate of this kind would state anything: an hours certificate needs an
    accreditation learned in its period, a transcript an accreditation or an accepted transfer
    (a certificate of 0.0 hours is no use to anyone). The learning file export always has the
    learner's file."""
    if kind == Kind.HOURS_CERTIFICATE and period_from and period_to:
        return any(
            period_from <= _learning_date(d) <= period_to for d in _accredited_decisions(account)
        )
    if kind == Kind.TRANSFER_RECORD:
        return _accredited_decisions(account).exists()
    if kind == Kind.TRANSCRIPT:
        return (
            _accredited_decisions(account).exists()
            or TransferItem.objects.filter(
                account=account, state=TransferItemState.ACCEPTED
            ).exists()
        )
    return True


def certificate_content_build(
    certificate: Certificate, *, issued_at: datetime.datetime
) -> tuple[dict[str, Any], list[Decision]]:
    """The payload to sign and the accreditations it relies on."""
    account = certificate.account
    holder = account.holder
    decisions = list(_accredited_decisions(account))
    start, end = certificate.period_from, certificate.period_to
    if certificate.kind == Kind.HOURS_CERTIFICATE and start and end:
        decisions = [d for d in decisions if start <= _learning_date(d) <= end]
    item = _record_item if certificate.kind == Kind.TRANSFER_RECORD else _decision_item
    items = [item(d) for d in decisions]
    totals = {
        "hours": _amount(sum((d.hours for d in decisions), Decimal(0))),
        "credits": _amount(sum((d.credits for d in decisions), Decimal(0))),
    }
    content: dict[str, Any] = {
        "version": CONTENT_VERSION,
        "issuer": {"name": bank_names(), "url": portal_url() + "/"},
        "serial": certificate.serial,
        "kind": certificate.kind,
        "issued_on": timezone.localdate(issued_at).isoformat(),
        "period": (
            {"from": certificate.period_from.isoformat(), "to": certificate.period_to.isoformat()}
            if certificate.period_from and certificate.period_to
            else None
        ),
        "learner": {
            "name": holder.name if holder else "",
            "id_type": account.id_type,
            "id_number_masked": account.id_number_masked,
            "account_number": account.number,
        },
        "items": items,
        "totals": totals,
        "disclose": list(certificate.disclose or []),
        # The PDF carries the bank's PAdES signature (pades.py). Signed here so that a PDF
        # stripped of it is told from one issued before PDFs were signed.
        "pdf_signature": PDF_SIGNATURE,
    }
    if certificate.kind == Kind.TRANSCRIPT:
        transfers = _transfer_items(account)
        content["transfers"] = transfers
        totals["transferred_credits"] = _amount(
            sum((Decimal(t["credits"]) for t in transfers), Decimal(0))
        )
    elif certificate.kind == Kind.LEARNING_FILE:
        hours, credits = account_totals(account=account)
        totals["account_hours"], totals["account_credits"] = _amount(hours), _amount(credits)
        content["outcomes"] = [
            {
                "title": outcome.title,
                "kind": outcome.kind,
                "provider": outcome.provider or outcome.issuing_body,
                "from": outcome.started_on.isoformat() if outcome.started_on else "",
                "to": (outcome.ended_on or outcome.achieved_on).isoformat(),
                "hours": _amount(outcome.hours) if outcome.hours else "",
                "status": outcome.status,
            }
            for outcome in outcomes_in_file(account=account)
        ]
    return content, decisions
