"""What closing a learning account does in this layer. Registered with ``accounts.rights`` in
``AccreditationConfig.ready()``, since accounts (a layer below) never imports this one.

- Its open applications are withdrawn when the closure takes effect, each through the table of
  moves (an event with the closure as its reason), so that none waits in a centre's queue or
  can be decided for an account that no longer exists.
- Its free text goes: the statements, the reasons of every event (the learner's notes and the
  reviewers' messages, which may quote the learner), the decisions' and revocations' reasons
  (kept non-empty with a fixed marker where the database requires one), the proposal's reason,
  the names of files in the events, and the parameters of the notices about its applications
  that reviewers received. What the ledger needs stays: numbers, dates, states and codes.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext

from accounts.models import BusinessTransaction, LearningAccount, User
from accounts.services import (
    ERASED,
    ClosureWithdrawal,
    OpenWork,
    notices_about_erase,
    transaction_record,
)
from outcomes.models import LearningOutcome
from outcomes.review import outcome_review_status_set

from .models import UNDECIDED_STATES, Application, ApplicationEvent, Decision, Revocation
from .workflow import application_move

# The reason every withdrawal on closure carries, stored as data (not translated).
CLOSURE_REASON = "account_closed"


def _undecided(account: LearningAccount) -> QuerySet[Application]:
    return Application.objects.filter(
        account=account, state__in=[s.value for s in UNDECIDED_STATES]
    ).order_by("pk")


def applications_open_of(account: LearningAccount) -> list[OpenWork]:
    """The account's applications that closing it would withdraw."""
    kind = gettext("Accreditation application")
    return [
        OpenWork(
            kind=kind,
            label=gettext("#%(id)d “%(outcome)s” (%(state)s)")
            % {
                "id": application.pk,
                "outcome": application.outcome.title,
                "state": application.get_state_display(),
            },
            link=reverse("application-detail", args=[application.pk]),
        )
        for application in _undecided(account).select_related("outcome")
    ]


def applications_withdraw_on_closure(account: LearningAccount, holder: User) -> int:
    """Withdraw every undecided application of the account (the caller holds the account's
    lock and the transaction). A second run finds none."""
    withdrawn = 0
    # The application rows in id order, as the centre's services lock them one at a time.
    for application in (
        _undecided(account).select_for_update(of=("self",)).select_related("outcome")
    ):
        application_move(
            application,
            action=ApplicationEvent.Action.WITHDRAW,
            actor=holder,
            reason=CLOSURE_REASON,
            details={"cause": CLOSURE_REASON},
        )
        application.due_on = application.remind_on = None
        application.clear_proposal()
        application.save()
        outcome_review_status_set(outcome=application.outcome, status=LearningOutcome.Status.SAVED)
        transaction_record(
            account=account,
            kind=BusinessTransaction.Kind.APPLICATION_WITHDRAWN,
            actor=None,
            details={"application": application.pk, "cause": CLOSURE_REASON},
        )
        withdrawn += 1
    return withdrawn


def account_applications_erase(account: LearningAccount) -> None:
    """Idempotent: every step writes fixed values."""
    applications = Application.objects.filter(account=account)
    applications.update(statement="", proposal_reason="")
    events = ApplicationEvent.objects.filter(application__account=account)
    # Append-only rows, redacted with a queryset update on purpose. The withdrawal's fixed
    # reason is no free text and stays.
    events.exclude(reason__in=["", CLOSURE_REASON]).update(reason="")
    Decision.objects.filter(application__account=account).exclude(reason="").update(reason=ERASED)
    Revocation.objects.filter(decision__application__account=account).update(reason=ERASED)
    notices_about_erase(
        key_prefixes=[f"application:{pk}:" for pk in applications.values_list("pk", flat=True)]
    )


CLOSURE_WITHDRAWAL = ClosureWithdrawal(
    name="accreditation",
    open_of=applications_open_of,
    withdraw=applications_withdraw_on_closure,
)
