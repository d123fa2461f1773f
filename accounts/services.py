"""What the apps above may call in ``accounts``: the learning account and its ledger, staff access
to a learner's file, notifications, and the hooks by which the upper layers join the learner's
rights (closure, corrections) without this layer importing them.

The operations live in the sub-package of their feature; this module only names them, so an
app above imports ``accounts.services`` and ``accounts.models`` and nothing deeper.
"""

from accounts.collective.queries import collective_members_find
from accounts.collective.services import (
    collective_account_ensure,
    collective_invitations_of,
    collective_members_import,
    collective_membership_counts,
    collective_of,
)
from accounts.core.erasure import erased_shown
from accounts.core.queries import (
    centre_admins_of,
    centre_find,
    centres_at_work_or,
    centres_list,
    institutions_matching,
    staff_of_centre,
    users_active,
    users_or_centre_reviewers,
)
from accounts.export import account_export_parts
from accounts.identity.numbers import identity_number_in, mask_identity_number, parse_identity
from accounts.ledger.queries import (
    ledger_accumulated_by_year,
    ledger_statement,
    transaction_record_many,
)
from accounts.ledger.reveals import (
    REVEAL_STAFF_ROLES,
    identity_reveal,
    reference_number,
    reveal_reference_register,
)
from accounts.ledger.services import (
    FILE_STAFF_ROLES,
    LEDGER_REVERSAL,
    account_lock,
    account_number_generate,
    account_totals,
    account_with_totals,
    account_with_totals_of,
    accounts_lock,
    identity_number_hash,
    learning_account_of,
    learning_account_required,
    ledger_append,
    ledger_reverse,
    ledger_reverse_cause,
    personal_account_find,
    staff_accesses_of,
    staff_application_review_record,
    staff_file_view_record,
    transaction_record,
)
from accounts.notifications.services import (
    Notice,
    notices_about_erase,
    notices_params,
    notifications_unread_count,
    notify,
    notify_batch,
    notify_many,
    portal_url,
)
from accounts.rights.kinds import CorrectableRecord, correctable_kind_register
from accounts.rights.services import (
    ERASED,
    ClosureWithdrawal,
    OpenWork,
    closure_eraser_register,
    closure_withdrawal_register,
    correction_router_register,
    free_text_kept,
)
from accounts.signin.permissions import user_acts_for_institution
from accounts.signin.registration import personal_account_register
from accounts.signin.services import (
    api_token_create,
    api_tokens_purge_expired,
    contact_details_change,
)
from accounts.validators import IDENTITY_IN_TEXT, free_text_problem, validate_no_identity_number
from accounts.webhooks.services import OutboundFetchFailed, outbound_get, webhook_event_record

__all__ = [
    "ERASED",
    "FILE_STAFF_ROLES",
    "IDENTITY_IN_TEXT",
    "LEDGER_REVERSAL",
    "REVEAL_STAFF_ROLES",
    "ClosureWithdrawal",
    "CorrectableRecord",
    "Notice",
    "OpenWork",
    "OutboundFetchFailed",
    "account_export_parts",
    "account_lock",
    "account_number_generate",
    "account_totals",
    "account_with_totals",
    "account_with_totals_of",
    "accounts_lock",
    "api_token_create",
    "api_tokens_purge_expired",
    "centre_admins_of",
    "centre_find",
    "centres_at_work_or",
    "centres_list",
    "closure_eraser_register",
    "closure_withdrawal_register",
    "collective_account_ensure",
    "collective_invitations_of",
    "collective_members_find",
    "collective_members_import",
    "collective_membership_counts",
    "collective_of",
    "contact_details_change",
    "correctable_kind_register",
    "correction_router_register",
    "erased_shown",
    "free_text_kept",
    "free_text_problem",
    "identity_number_hash",
    "identity_number_in",
    "identity_reveal",
    "institutions_matching",
    "learning_account_of",
    "learning_account_required",
    "ledger_accumulated_by_year",
    "ledger_append",
    "ledger_reverse",
    "ledger_reverse_cause",
    "ledger_statement",
    "mask_identity_number",
    "notices_about_erase",
    "notices_params",
    "notifications_unread_count",
    "notify",
    "notify_batch",
    "notify_many",
    "outbound_get",
    "parse_identity",
    "personal_account_find",
    "personal_account_register",
    "portal_url",
    "reference_number",
    "reveal_reference_register",
    "staff_accesses_of",
    "staff_application_review_record",
    "staff_file_view_record",
    "staff_of_centre",
    "transaction_record",
    "transaction_record_many",
    "user_acts_for_institution",
    "users_active",
    "users_or_centre_reviewers",
    "validate_no_identity_number",
    "webhook_event_record",
]
