"""The one table of allowed moves of an accreditation application.

Every change of an application goes through :func:`application_move`, which refuses a move the
table does not allow and appends an :class:`ApplicationEvent` (who, when, from, to, why). The
services decide *who* may make a move; this module decides *which* moves exist. The machinery
(the refusal, the event row) is :class:`common.workflow.Workflow`, shared by every status
machine of the bank.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.models import User
from common.workflow import Workflow

from .models import Application, ApplicationEvent, ApplicationState

Action = ApplicationEvent.Action
S = ApplicationState

_UNDECIDED = frozenset({S.SUBMITTED, S.IN_REVIEW, S.SUPPLEMENT_REQUESTED})

# action: (the states it may start from, the state it leads to; None keeps the state)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    Action.ASSIGN: (_UNDECIDED, None),
    Action.START_REVIEW: (frozenset({S.SUBMITTED}), S.IN_REVIEW),
    Action.REQUEST_SUPPLEMENT: (frozenset({S.IN_REVIEW}), S.SUPPLEMENT_REQUESTED),
    Action.RESUBMIT: (frozenset({S.SUPPLEMENT_REQUESTED}), S.IN_REVIEW),
    Action.ACCREDIT: (frozenset({S.IN_REVIEW}), S.ACCREDITED),
    Action.PROPOSE_INDIVIDUAL: (frozenset({S.IN_REVIEW}), None),
    Action.APPROVE_INDIVIDUAL: (frozenset({S.IN_REVIEW}), S.ACCREDITED),
    Action.RETURN_PROPOSAL: (frozenset({S.IN_REVIEW}), None),
    Action.REJECT: (frozenset({S.IN_REVIEW}), S.REJECTED),
    Action.WITHDRAW: (_UNDECIDED, S.WITHDRAWN),
    # A decision by recognition: the application is written and decided in one transaction,
    # with no review (accreditation.recognition).
    Action.RECOGNISE: (frozenset({S.SUBMITTED}), S.ACCREDITED),
}

APPLICATION = Workflow(
    moves=TRANSITIONS,
    event_model=ApplicationEvent,
    subject_field="application",
    refusal=_("An application that is “%(state)s” cannot be “%(action)s”."),
    state_labels=ApplicationState,
    action_labels=Action,
)


def allowed_actions(state: str) -> list[str]:
    """The actions the table allows from ``state`` (who may take them is the services' call)."""
    return APPLICATION.allowed(state)


def application_move(
    application: Application,
    *,
    action: str,
    actor: User,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> ApplicationEvent:
    """Move a locked application by ``action`` and record the event. The caller has locked the
    row (``select_for_update``), saves the application's other fields and holds the
    transaction."""
    event: ApplicationEvent = APPLICATION.move(
        application, action=action, actor=actor, reason=reason, details=details
    )
    return event
