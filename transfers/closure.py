"""What closing a learning account does in this layer. Registered with ``accounts.rights`` in
``TransfersConfig.ready()``, since accounts (a layer below) never imports this one.

- Its transfer items still waiting for an institution are withdrawn when the closure takes
  effect, through the table of moves (an event with the closure as its reason), so that no
  officer decides a transfer for an account that no longer exists and its outcomes are no
  longer reserved.
- Its questions to institutions not answered yet (pre-assessments) are withdrawn likewise.
- Its free text goes: the pre-assessments' questions and answers' reasons, the reasons of the
  items and of their events (the learner's answers and withdrawal notes, the officers'
  messages, which may quote the learner; a fixed marker where the database requires a reason),
  the answers kept for retried requests, and the parameters of the notices about its items
  and pre-assessments. Credits, dates, states and codes stay for the ledger.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import BusinessTransaction, LearningAccount, User
from accounts.services import (
    ERASED,
    ClosureWithdrawal,
    OpenWork,
    notices_about_erase,
    transaction_record,
)

from .models import (
    ACCOUNT_CLOSED,
    BASIS_REVOKED,
    RESERVING_STATES,
    IdempotencyKey,
    PreAssessment,
    PreAssessmentEvent,
    PreAssessmentState,
    TransferApplication,
    TransferEvent,
    TransferItem,
)
from .services import transfer_application_settle
from .workflow import PREASSESSMENT, TRANSFER_ITEM

# The reason every withdrawal on closure carries, stored as data (shown by models.reason_shown).
CLOSURE_REASON = ACCOUNT_CLOSED
_RESERVING = [s.value for s in RESERVING_STATES]


def transfers_open_of(account: LearningAccount) -> list[OpenWork]:
    """The account's transfer applications with courses that closing it would withdraw."""
    kind = gettext("Credit transfer")
    applications = (
        TransferApplication.objects.filter(account=account, items__state__in=_RESERVING)
        .select_related("programme__institution")
        .distinct()
        .order_by("pk")
    )
    return [
        OpenWork(
            kind=kind,
            label=gettext("#%(id)d %(programme)s, %(institution)s")
            % {
                "id": application.pk,
                "programme": application.programme.display_name,
                "institution": application.programme.institution.name,
            },
            link=reverse("transfer-detail", args=[application.pk]),
        )
        for application in applications
    ]


def transfers_withdraw_on_closure(account: LearningAccount, holder: User) -> int:
    """Withdraw every item of the account still waiting for a decision (the caller holds the
    account's lock and the transaction); each application is then settled. A second run finds
    none."""
    items = list(
        TransferItem.objects.select_for_update(of=("self",))
        .filter(account=account, state__in=_RESERVING)
        .order_by("pk")
    )
    for item in items:
        TRANSFER_ITEM.move(
            item, action=TransferEvent.Action.WITHDRAW, actor=holder, reason=CLOSURE_REASON
        )
        item.save(update_fields=["state"])
    now = timezone.now()
    for application in TransferApplication.objects.filter(
        pk__in={item.application_id for item in items}
    ).order_by("pk"):
        transfer_application_settle(application=application, now=now)
        transaction_record(
            account=account,
            kind=BusinessTransaction.Kind.TRANSFER,
            actor=None,
            details={"event": "withdrawn", "transfer": application.pk, "cause": CLOSURE_REASON},
        )
    # Questions to institutions not answered yet are withdrawn too (ADR 0028).
    for prea in (
        PreAssessment.objects.select_for_update(of=("self",))
        .filter(account=account, state=PreAssessmentState.ASKED)
        .order_by("pk")
    ):
        PREASSESSMENT.move(
            prea, action=PreAssessmentEvent.Action.WITHDRAW, actor=holder, reason=CLOSURE_REASON
        )
        prea.save(update_fields=["state"])
    return len(items)


def account_transfers_erase(account: LearningAccount) -> None:
    """Idempotent: every step writes fixed values."""
    items = TransferItem.objects.filter(account=account)
    # The stored codes are no free text: ``reason_shown`` still says what happened.
    items.exclude(reason__in=["", ERASED, BASIS_REVOKED, CLOSURE_REASON]).update(reason=ERASED)
    # Append-only rows, redacted with a queryset update on purpose; the withdrawal's fixed
    # reason is no free text and stays.
    TransferEvent.objects.filter(item__account=account).exclude(
        reason__in=["", CLOSURE_REASON, BASIS_REVOKED]
    ).update(reason="")
    if account.holder_id is not None:
        # Answers kept for a client's retry carry outcome titles; a closed account retries
        # nothing.
        IdempotencyKey.objects.filter(user_id=account.holder_id).delete()
    # Pre-assessments: the learner's question and the officer's reason (a "no" needs one).
    preassessments = PreAssessment.objects.filter(account=account)
    preassessments.exclude(question="").update(question="")
    preassessments.exclude(reason__in=["", ERASED]).update(reason=ERASED)
    PreAssessmentEvent.objects.filter(preassessment__account=account).exclude(
        reason__in=["", CLOSURE_REASON]
    ).update(reason="")
    notices_about_erase(
        key_prefixes=[f"transfer_item:{pk}:" for pk in items.values_list("pk", flat=True)]
        + [f"preassessment:{pk}:" for pk in preassessments.values_list("pk", flat=True)]
    )


CLOSURE_WITHDRAWAL = ClosureWithdrawal(
    name="transfers",
    open_of=transfers_open_of,
    withdraw=transfers_withdraw_on_closure,
)
