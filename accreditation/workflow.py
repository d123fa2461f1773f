"""The one table of allowed moves of an accreditation application.

Every change of an application goes through :func:`application_move`, which refuses a move the
table does not allow and appends an :class:`ApplicationEvent` (who, when, from, to, why). The
services decide *who* may make a move; this module decides *which* moves exist.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User

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
}


def allowed_actions(state: str) -> list[str]:
    """The actions the table allows from ``state`` (who may take them is the services' call)."""
    return [action for action, (sources, _to) in TRANSITIONS.items() if state in sources]


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
    sources, target = TRANSITIONS[action]
    if application.state not in sources:
        message = _("An application that is “%(state)s” cannot be “%(action)s”.") % {
            "state": S(application.state).label,
            "action": Action(action).label,
        }
        raise ValidationError({"state": ValidationError(message, code="illegal_move")})
    from_state = application.state
    application.state = target or from_state
    return ApplicationEvent.objects.create(
        application=application,
        action=action,
        from_state=from_state,
        to_state=application.state,
        actor=actor,
        reason=reason,
        details=details or {},
    )
