"""The status machines of the learner's rights: which moves a closure request and a correction
request allow. The services decide who may move and hold the lock; these tables decide which
moves exist, and every move leaves an event."""

from django.utils.translation import gettext_lazy as _

from accounts.rights.models import ClosureEvent, ClosureRequest, CorrectionEvent, CorrectionRequest
from common.workflow import Workflow

Closure = ClosureRequest.Status
Correction = CorrectionRequest.Status

CLOSURE = Workflow(
    moves={
        # The learner changes their mind during the confirmation period.
        ClosureEvent.Action.CANCEL: ({Closure.PENDING}, Closure.CANCELLED),
        # The retention job (or an account closed at once) ends the request.
        ClosureEvent.Action.CLOSE: ({Closure.PENDING}, Closure.DONE),
    },
    event_model=ClosureEvent,
    subject_field="request",
    refusal=_("There is no closure request to cancel."),
    state_labels=Closure,
    action_labels=ClosureEvent.Action,
    state_field="status",
    error_field="closure",
)

CORRECTION = Workflow(
    moves={
        CorrectionEvent.Action.ACCEPT: ({Correction.PENDING}, Correction.ACCEPTED),
        CorrectionEvent.Action.REJECT: ({Correction.PENDING}, Correction.REJECTED),
    },
    event_model=CorrectionEvent,
    subject_field="request",
    refusal=_("This request has already been decided."),
    state_labels=Correction,
    action_labels=CorrectionEvent.Action,
    state_field="status",
    error_field="request",
)
