"""Every model of the accounts app, defined in the sub-package of its feature.

Django finds an app's models here, and the apps above import them from here; the feature
modules import each other directly (bottom up: core, ledger, then the features on the ledger).
"""

from accounts.collective.models import (
    CollectiveApplicationEvent,
    CollectiveMembership,
    CollectiveMembershipEvent,
    MemberImport,
)
from accounts.core.events import (
    AppendOnlyModel,
    AttributedStatusEvent,
    StatusEvent,
    WorkerStatusEvent,
)
from accounts.core.models import (
    CENTRE_ROLES,
    INSTITUTION_ROLES,
    STAFF_ROLES,
    Centre,
    Institution,
    Role,
    User,
    user_who,
)
from accounts.ledger.models import (
    BusinessTransaction,
    LearningAccount,
    LedgerEntry,
    LifelongLearningFile,
    RevealReason,
    StaffAccess,
)
from accounts.notifications.models import Notification
from accounts.rights.models import (
    CentreVisit,
    ClosureEvent,
    ClosureRequest,
    CorrectionEvent,
    CorrectionRequest,
)
from accounts.serviceaccounts.models import Scope as ServiceScope
from accounts.serviceaccounts.models import ServiceAccount, ServiceCall
from accounts.signin.models import SmsCode
from accounts.webhooks.models import EventType as WebhookEventType
from accounts.webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = [
    "CENTRE_ROLES",
    "INSTITUTION_ROLES",
    "STAFF_ROLES",
    "AppendOnlyModel",
    "AttributedStatusEvent",
    "BusinessTransaction",
    "Centre",
    "CentreVisit",
    "ClosureEvent",
    "ClosureRequest",
    "CollectiveApplicationEvent",
    "CollectiveMembership",
    "CollectiveMembershipEvent",
    "CorrectionEvent",
    "CorrectionRequest",
    "Institution",
    "LearningAccount",
    "LedgerEntry",
    "LifelongLearningFile",
    "MemberImport",
    "Notification",
    "RevealReason",
    "Role",
    "ServiceAccount",
    "ServiceCall",
    "ServiceScope",
    "SmsCode",
    "StaffAccess",
    "StatusEvent",
    "User",
    "WebhookDelivery",
    "WebhookEventType",
    "WebhookSubscription",
    "WorkerStatusEvent",
    "user_who",
]
