"""The status machines of the transfers layer, on :class:`common.workflow.Workflow`: a table of
the moves that exist, one refusal for any other, and an event row for every move.

The services decide *who* may make a move and hold the row lock and the transaction; these
tables decide *which* moves exist.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from common.workflow import Workflow

from .models import (
    Certificate,
    CertificateEvent,
    PreAssessmentEvent,
    PreAssessmentState,
    TransferEvent,
    TransferItemState,
)

ItemAction = TransferEvent.Action
ItemState = TransferItemState

# A transfer item (one course of a transfer application). Its first event, ``submit``, is written
# with the item by ``transfer_apply``: it is the item's creation, not a move.
TRANSFER_ITEM = Workflow(
    moves={
        ItemAction.ACCEPT: ({ItemState.PENDING}, ItemState.ACCEPTED),
        ItemAction.REJECT: (
            {ItemState.PENDING, ItemState.INFORMATION_REQUESTED},
            ItemState.REJECTED,
        ),
        ItemAction.REQUEST_INFORMATION: ({ItemState.PENDING}, ItemState.INFORMATION_REQUESTED),
        ItemAction.RESPOND: ({ItemState.INFORMATION_REQUESTED}, ItemState.PENDING),
        ItemAction.WITHDRAW: (
            {ItemState.PENDING, ItemState.INFORMATION_REQUESTED},
            ItemState.WITHDRAWN,
        ),
        # The accreditation of an accepted item's outcome is revoked: the item is flagged (an
        # event, no change of state); the institution then rescinds it (the credits reversed)
        # or keeps it with a reason (an event). A pending item is withdrawn instead (above).
        ItemAction.BASIS_REVOKED: ({ItemState.ACCEPTED}, None),
        ItemAction.RESCIND: ({ItemState.ACCEPTED}, ItemState.RESCINDED),
        ItemAction.KEEP: ({ItemState.ACCEPTED}, None),
    },
    event_model=TransferEvent,
    subject_field="item",
    refusal=_("A course that is “%(state)s” cannot be “%(action)s”."),
    state_labels=ItemState,
    action_labels=ItemAction,
)

CertificateAction = CertificateEvent.Action
CertificateState = Certificate.State

# A certificate: the worker issues a requested one, or gives up on it. Issued and failed are
# final (the learner asks for a new one).
CERTIFICATE = Workflow(
    moves={
        CertificateAction.ISSUE: ({CertificateState.REQUESTED}, CertificateState.ISSUED),
        CertificateAction.FAIL: ({CertificateState.REQUESTED}, CertificateState.FAILED),
    },
    event_model=CertificateEvent,
    subject_field="certificate",
    refusal=_("A certificate that is “%(state)s” cannot be “%(action)s”."),
    state_labels=CertificateState,
    action_labels=CertificateAction,
)

PreAction = PreAssessmentEvent.Action
PreState = PreAssessmentState

# A pre-assessment: the institution answers an asked one yes or no (late answers too: lateness
# is escalated, never a refusal), the learner withdraws one still asked, and a yes expires
# when its validity period ends. No, withdrawn and expired are final (the learner asks again).
PREASSESSMENT = Workflow(
    moves={
        PreAction.ANSWER_YES: ({PreState.ASKED}, PreState.YES),
        PreAction.ANSWER_NO: ({PreState.ASKED}, PreState.NO),
        PreAction.WITHDRAW: ({PreState.ASKED}, PreState.WITHDRAWN),
        PreAction.EXPIRE: ({PreState.YES}, PreState.EXPIRED),
    },
    event_model=PreAssessmentEvent,
    subject_field="preassessment",
    refusal=_("A pre-assessment that is “%(state)s” cannot be “%(action)s”."),
    state_labels=PreState,
    action_labels=PreAction,
)
