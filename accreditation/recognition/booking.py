"""Booking another bank's decisions here, without a new review, and reversing them when the
origin revokes.

The transfers layer verifies a learner's transfer record (its signature against the trust
list's key document, each entry's status) and hands this layer the entries as
:class:`RecognisedEntry`. :func:`recognition_book` then, in one transaction with the learner's
account locked first (as every booking on an account is): claims each origin decision for the
account (once, whoever brings it: a unique constraint), and for each entry an agreement in force
covers writes the learning outcome, an application and a decision by recognition through the
same path a reviewer's decision takes (ledger entry, business transaction, notice), so the
file, the ledger, the dashboards and the certificates see it; an entry no agreement covers
becomes a saved outcome with the record as evidence, which the learner submits as usual.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from types import ModuleType

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Centre, LearningAccount, User
from accounts.services import account_lock, centres_list
from outcomes.models import LearningOutcome, OutcomeKind
from outcomes.services import outcome_review_status_set, outcomes_save_from_record
from outcomes.storage import Upload, files_removed_on_failure

from .. import calendar
from ..catalogue import catalogue_version_current
from ..models import (
    AgreementVersion,
    Application,
    ApplicationEvent,
    ApplicationState,
    Decision,
    Recognition,
    Revocation,
    TrustedBank,
)
from ..workflow import application_move
from .agreements import recognition_agreement_for
from .trust import trusted_bank_for_issuer

MAX_ENTRIES = 200


def _decisions() -> ModuleType:
    """accreditation.services, imported when called: it re-exports this module's services, so
    importing it at the top would be circular."""
    from .. import services

    return services


@dataclass(frozen=True)
class RecognisedEntry:
    """One accredited outcome of a verified transfer record, as the other bank stated it."""

    origin_issuer: str
    origin_decision_id: str
    entry_code: str
    entry_version: str
    title: str
    hours: Decimal
    credits: Decimal
    decided_on: datetime.date
    centre_name: str
    status_list_credential: str
    status_index: int


@dataclass(frozen=True)
class RecognitionResult:
    """What a record booked (decisions by recognition) and what it saved (outcomes no
    agreement covered, to submit as usual)."""

    booked: list[Decision] = field(default_factory=list)
    saved: list[LearningOutcome] = field(default_factory=list)


def recognition_field_limits() -> dict[str, int]:
    """The longest value a booking stores of each field of :class:`RecognisedEntry` that has a
    column of bounded length (the shorter where two columns keep it), read from the models:
    the verifier of records refuses longer ones as malformed (a longer value would fail the
    insert on PostgreSQL)."""

    def length(model: type[models.Model], name: str) -> int:
        field = model._meta.get_field(name)
        assert isinstance(field, models.CharField)  # noqa: S101 - a column of bounded length
        return int(field.max_length or 0)

    return {
        "origin_issuer": length(Recognition, "origin_issuer"),
        "origin_decision_id": min(
            length(Recognition, "origin_decision_id"), length(Decision, "origin_decision_id")
        ),
        "entry_code": length(Decision, "origin_entry_code"),
        "entry_version": length(Decision, "origin_entry_version"),
        "centre_name": length(Decision, "origin_centre"),
        "status_list_credential": length(Decision, "origin_status_list"),
    }


def _entries_check(entries: list[RecognisedEntry]) -> dict[str, TrustedBank]:
    """The banks of the entries, all trusted; ValidationError keyed ``record`` otherwise."""
    if not entries:
        raise ValidationError({"record": _("The transfer record lists no accredited outcome.")})
    if len(entries) > MAX_ENTRIES:
        raise ValidationError(
            {"record": _("A transfer record has at most %(n)d outcomes.") % {"n": MAX_ENTRIES}}
        )
    banks: dict[str, TrustedBank] = {}
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        key = (entry.origin_issuer, entry.origin_decision_id)
        if not entry.origin_decision_id or key in seen:
            raise ValidationError(
                {"record": _("The transfer record names an origin decision twice or not at all.")}
            )
        seen.add(key)
        limits = recognition_field_limits()
        if any(len(str(getattr(entry, name))) > n for name, n in limits.items()):
            raise ValidationError(
                {"record": _("The transfer record has a field longer than this bank keeps.")}
            )
        if not (
            entry.entry_code
            and entry.entry_version
            and entry.status_list_credential
            and entry.status_index >= 0
        ):
            raise ValidationError(
                {
                    "record": _(
                        "The transfer record does not say the catalogue entry, its version or "
                        "the status entry of “%(title)s”."
                    )
                    % {"title": entry.title or entry.origin_decision_id}
                }
            )
        if entry.origin_issuer not in banks:
            bank = trusted_bank_for_issuer(issuer=entry.origin_issuer)
            if bank is None:
                raise ValidationError(
                    {
                        "record": _("%(issuer)s is not on this bank's trust list.")
                        % {"issuer": entry.origin_issuer}
                    }
                )
            banks[entry.origin_issuer] = bank
    return banks


def _management_centre() -> Centre:
    """The centre a decision by recognition is recorded at: the management centre, which keeps
    the agreements (no branch centre reviewed it)."""
    found = centres_list(active=True).filter(kind=Centre.Kind.MANAGEMENT).order_by("pk").first()
    if found is None:
        raise ValidationError({"record": _("The bank has no management centre to record it.")})
    return found


def _outcome_row(entry: RecognisedEntry, bank: TrustedBank, kind: str) -> dict[str, object]:
    hours = entry.hours if entry.hours and entry.hours > 0 else None
    return {
        "kind": kind,
        "title": (entry.title or entry.entry_code)[:200],
        "issuing_body": bank.name[:200],
        "achieved_on": entry.decided_on,
        "provider": entry.centre_name[:200],
        "hours": hours,
        "content": str(
            _(
                "Accredited by %(bank)s (%(centre)s) on %(date)s: entry %(code)s "
                "version %(version)s."
            )
            % {
                "bank": bank.name,
                "centre": entry.centre_name,
                "date": entry.decided_on.isoformat(),
                "code": entry.entry_code,
                "version": entry.entry_version,
            }
        ),
    }


def _book_one(
    *,
    outcome: LearningOutcome,
    entry: RecognisedEntry,
    bank: TrustedBank,
    agreement: AgreementVersion,
    centre: Centre,
    actor: User,
    today: datetime.date,
) -> Decision:
    """Submit and decide at once: the application is born at the management centre, decided the
    same day by the agreement (no review), through the path every accreditation takes."""
    decisions = _decisions()
    local = catalogue_version_current(entry=agreement.entry)
    outcome_review_status_set(outcome=outcome, status=LearningOutcome.Status.SUBMITTED)
    application = Application.objects.create(
        outcome=outcome,
        account=outcome.account,
        centre=centre,
        kind=outcome.kind,
        claimed_entry=agreement.entry,
        state=ApplicationState.SUBMITTED,
        submitted_at=timezone.now(),
        clock_started_on=today,
        clock_days=0,
        due_on=today,
    )
    provenance = {
        "agreement_version": agreement,
        "origin_bank": bank,
        "origin_decision_id": entry.origin_decision_id,
        "origin_entry_code": entry.entry_code,
        "origin_entry_version": entry.entry_version,
        "origin_centre": entry.centre_name[:200],
        "origin_decided_on": entry.decided_on,
        "origin_status_list": entry.status_list_credential,
        "origin_status_index": entry.status_index,
    }
    application_move(
        application,
        action=ApplicationEvent.Action.RECOGNISE,
        actor=actor,
        details={
            "origin_bank": bank.name,
            "origin_decision": entry.origin_decision_id,
            "agreement": agreement.agreement_id,
            "agreement_version": agreement.version,
        },
    )
    # Decided by the management admin who entered the agreement version: the agreement is the
    # decision, taken by a person accountable for it, and never by the learner who brings it.
    decider = agreement.created_by or actor
    return decisions._decide(
        application,
        actor=decider,
        result=Decision.Result.ACCREDITED,
        basis=Decision.Basis.RECOGNITION,
        amounts=decisions.Amounts(agreement.hours, agreement.credits),
        catalogue_version=local,
        decided_by=decider,
        provenance=provenance,
    )


def recognition_book(
    *,
    account: LearningAccount,
    actor: User,
    entries: list[RecognisedEntry],
    evidence_name: str,
    evidence_bytes: bytes,
) -> RecognitionResult:
    """Book a verified transfer record's entries on the learner's account (see the module's
    docstring). All or nothing: an untrusted issuer, an origin decision already recognised for
    this account, or any refusal leaves the database and storage as they were; raises
    ValidationError keyed ``record``."""
    if account.holder_id != actor.pk:
        raise ValidationError({"record": _("This is not your learning account.")})
    banks = _entries_check(entries)
    today = calendar.local_date(timezone.now())
    try:
        with files_removed_on_failure() as stored, transaction.atomic():
            # The account first, as every booking on it: two imports of one record run one
            # after the other, and the second sees the first's claims below.
            account = account_lock(account.pk)
            if account.status == LearningAccount.Status.CLOSED:
                raise ValidationError({"record": _("This learning account is closed.")})
            _claims_check(account, entries)
            centre = _management_centre()
            plans: list[tuple[RecognisedEntry, AgreementVersion | None, str]] = []
            for entry in entries:
                bank = banks[entry.origin_issuer]
                agreement = recognition_agreement_for(
                    bank=bank,
                    entry_code=entry.entry_code,
                    entry_version=entry.entry_version,
                    on=today,
                )
                local = catalogue_version_current(entry=agreement.entry) if agreement else None
                if local is None:
                    agreement = None
                plans.append((entry, agreement, local.kind if local else OutcomeKind.OTHER))
            outcomes = outcomes_save_from_record(
                account=account,
                actor=actor,
                rows=[_outcome_row(e, banks[e.origin_issuer], kind) for e, _a, kind in plans],
                record=Upload(name=evidence_name, data=evidence_bytes),
                stored=stored,
            )
            result = RecognitionResult()
            for (entry, agreement, _kind), outcome in zip(plans, outcomes, strict=True):
                decision = None
                if agreement is not None:
                    decision = _book_one(
                        outcome=outcome,
                        entry=entry,
                        bank=banks[entry.origin_issuer],
                        agreement=agreement,
                        centre=centre,
                        actor=actor,
                        today=today,
                    )
                    result.booked.append(decision)
                else:
                    result.saved.append(outcome)
                Recognition.objects.create(
                    account=account,
                    origin_issuer=entry.origin_issuer,
                    origin_decision_id=entry.origin_decision_id,
                    decision=decision,
                    outcome=outcome,
                )
    except IntegrityError as exc:
        # The claims' unique constraint: another import of the same record got in first (the
        # account's lock makes this rare: a claim written without it, by a data fix).
        problem = _claim_problem(account, entries)
        if problem is None:
            raise
        raise ValidationError({"record": problem}) from exc
    return result


def _already_message() -> str:
    return str(
        _(
            "This transfer record, or an outcome in it, has already been recognised for your "
            "account. Nothing was imported."
        )
    )


def _claim_problem(account: LearningAccount, entries: list[RecognisedEntry]) -> str | None:
    """Why ``entries`` cannot be claimed, or None: an origin decision of theirs is already
    recognised, for this account or for any other (an origin decision is one person's: once
    claimed, it is nobody else's; whose is not said)."""
    keys = {(e.origin_issuer, e.origin_decision_id) for e in entries}
    claimed = Recognition.objects.filter(
        origin_issuer__in={e.origin_issuer for e in entries},
        origin_decision_id__in={e.origin_decision_id for e in entries},
    ).values_list("origin_issuer", "origin_decision_id", "account_id")
    owners = {owner for issuer, decision_id, owner in claimed if (issuer, decision_id) in keys}
    if not owners:
        return None
    if account.pk in owners:
        return _already_message()
    return str(
        _(
            "An outcome in this transfer record has already been recognised at this bank for "
            "another learning account. Nothing was imported."
        )
    )


def _claims_check(account: LearningAccount, entries: list[RecognisedEntry]) -> None:
    if problem := _claim_problem(account, entries):
        raise ValidationError({"record": problem})


def recognition_reverse(*, decision: Decision, reason: str) -> Revocation:
    """The origin revoked the decision a recognition rests on: revoke the accreditation here
    (the ledger is reversed, certificates relying on it verify as revoked, the learner is
    told), in the name of the manager accountable for the agreement."""
    decision = Decision.objects.select_related("origin_bank", "decided_by").get(pk=decision.pk)
    if decision.basis != Decision.Basis.RECOGNITION:
        raise ValidationError({"decision": _("This decision was not made by recognition.")})
    bank = decision.origin_bank.name if decision.origin_bank else ""
    text = str(
        _("Revoked by %(bank)s, which made the original decision: %(reason)s")
        % {"bank": bank, "reason": (reason or "").strip() or "-"}
    )
    return _decisions().accreditation_revoke_by_origin(decision=decision, reason=text[:2000])


def recognised_decisions_to_check() -> QuerySet[Decision]:
    """Decisions by recognition that still hold, with their origin's status list entry: what
    the periodic status check fetches and compares (oldest first)."""
    return (
        Decision.objects.filter(basis=Decision.Basis.RECOGNITION, revocation__isnull=True)
        .select_related("origin_bank", "application__account")
        .order_by("origin_status_list", "id")
    )


def recognition_provenance_of(*, decision_ids: Iterable[int | str]) -> dict[int, Decision]:
    """Decision id -> the decision by recognition, with its origin bank and agreement, for
    those of ``decision_ids`` made by recognition (one query): what the ledger shows of
    where an entry comes from."""
    ids = [int(i) for i in decision_ids if str(i).isdigit()]
    decisions = Decision.objects.filter(pk__in=ids, basis=Decision.Basis.RECOGNITION)
    return {
        d.pk: d for d in decisions.select_related("origin_bank", "agreement_version__agreement")
    }
