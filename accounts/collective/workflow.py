"""The status machines of collective accounts: an institution's application, which a centre
administrator approves or rejects, once; and an institution's invitation to a learner who
already has an account, which the learner accepts or declines, once. The services decide who
may move and hold the lock; these tables decide which moves exist, and every move leaves an
event."""

from django.utils.translation import gettext_lazy as _

from accounts.collective.models import (
    CollectiveApplicationEvent,
    CollectiveMembership,
    CollectiveMembershipEvent,
)
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

Membership = CollectiveMembership.Status

INVITATION = Workflow(
    moves={
        CollectiveMembershipEvent.Action.ACCEPT: ({Membership.INVITED}, Membership.ACTIVE),
        CollectiveMembershipEvent.Action.DECLINE: ({Membership.INVITED}, Membership.DECLINED),
    },
    event_model=CollectiveMembershipEvent,
    subject_field="membership",
    refusal=_("This invitation was already answered (%(status)s); it cannot be answered again."),
    state_labels=Membership,
    action_labels=CollectiveMembershipEvent.Action,
    state_field="status",
    error_field="status",
)
