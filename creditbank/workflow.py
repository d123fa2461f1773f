"""The status machine of the learner's data export, on :class:`common.workflow.Workflow`: a
table of the moves that exist, one refusal for any other, and an event row for every move."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from common.workflow import Workflow

from .models import DataExport, DataExportEvent

Action = DataExportEvent.Action
State = DataExport.State

# A worker claims a requested export; one already running is claimed again (a redelivered
# message, or the re-send of a build whose worker died) and starts over. Ready and failed are
# final: the learner asks for a new export.
DATA_EXPORT = Workflow(
    moves={
        Action.START: ({State.REQUESTED, State.RUNNING}, State.RUNNING),
        Action.FINISH: ({State.RUNNING}, State.READY),
        Action.FAIL: ({State.REQUESTED, State.RUNNING}, State.FAILED),
    },
    event_model=DataExportEvent,
    subject_field="export",
    refusal=_("An export that is “%(state)s” cannot be “%(action)s”."),
    state_labels=State,
    action_labels=Action,
)
