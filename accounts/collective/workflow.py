"""The status machine of an institution's application for a collective account: a centre
administrator approves or rejects it, once. The service decides who may decide and holds the
lock; this table decides which moves exist, and every move leaves an event."""

from django.utils.translation import gettext_lazy as _

from accounts.collective.models import CollectiveApplicationEvent
from accounts.ledger.models import LearningAccount
from common.workflow import Workflow

Status = LearningAccount.Status

APPLICATION = Workflow(
    moves={
        CollectiveApplicationEvent.Action.APPROVE: ({Status.PENDING}, Status.ACTIVE),
        CollectiveApplicationEvent.Action.REJECT: ({Status.PENDING}, Status.REJECTED),
    },
    event_model=CollectiveApplicationEvent,
    subject_field="account",
    refusal=_("This application was already decided (%(status)s); it cannot be decided again."),
    state_labels=Status,
    action_labels=CollectiveApplicationEvent.Action,
    state_field="status",
    error_field="decision",
)
