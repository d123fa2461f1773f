"""Revealing a learner's identity number in clear: a reason from a fixed list
(:class:`~accounts.ledger.models.RevealReason`) and a reference to the centre's own business
with that learner, checked; each reveal recorded as staff access with both; a daily number per
staff member (``IDENTITY_REVEALS_PER_DAY``) past which the centre's administrators are alerted,
once a day, and further reveals are refused until the next day.

Each reason's reference is checked by the layer that owns what it names: applications by
``accreditation`` (registered in its ``AppConfig.ready()``), visits, counter openings and
correction requests by ``accounts`` itself. A reason whose check is not registered refuses every
reference. A reveal grants nothing else: evidence files follow the applications at the staff
member's centre (``outcomes.hooks``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.core.models import Role, User
from accounts.core.queries import centre_admins_of
from accounts.identity import crypto
from accounts.ledger.models import LearningAccount, RevealReason, StaffAccess
from accounts.notifications.models import Notification
from accounts.notifications.services import notify

# Given the staff member (who has a centre), the learner's account and the reference typed,
# a check answers what the reference names, for the record (in the active language), or None
# when there is no such thing of this learner's at the staff member's centre.
ReferenceCheck = Callable[[User, LearningAccount, str], str | None]

reveal_reference_checks: dict[str, ReferenceCheck] = {}

# Who may reveal: staff of a centre, since every reference names the centre's own business
# with the learner. The management admin opens files (FILE_STAFF_ROLES) but has no centre, so
# no reference could ever be theirs: the page and the API refuse them with 403 up front.
REVEAL_STAFF_ROLES: tuple[Role, ...] = (Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN)

# What a refused reference is told, per reason.
REFERENCE_REFUSALS = {
    RevealReason.APPLICATION_REVIEW: _(
        "There is no application of this learner under review at your centre with this number."
    ),
    RevealReason.CENTRE_VISIT: _(
        "There is no visit of this learner to your centre with this number."
    ),
    RevealReason.COUNTER_OPENING: _(
        "This learner's account was not opened at your centre's counter (give its account number)."
    ),
    RevealReason.CORRECTION_REQUEST: _(
        "There is no correction request of this learner at your centre with this number."
    ),
}


def reveal_reference_register(reason: str, check: ReferenceCheck) -> ReferenceCheck:
    """Let ``check`` decide the references of ``reason``; registering again replaces it
    (``ready()`` may run more than once)."""
    reveal_reference_checks[reason] = check
    return check


def reference_number(reference: str) -> int | None:
    """A reference that names a row by its number; None when it is not a plain number."""
    reference = reference.strip().lstrip("#")
    if reference.isascii() and reference.isdigit() and len(reference) <= 18:
        return int(reference)
    return None


def reveals_per_day() -> int:
    return int(getattr(settings, "IDENTITY_REVEALS_PER_DAY", 20))


def _day_start(now: datetime.datetime) -> datetime.datetime:
    today = timezone.localtime(now).date()
    return timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))


def _checked(*, staff: User, account: LearningAccount, reason: str, reference: str) -> str:
    """The reference's label, for the record; ValidationError keyed by field otherwise."""
    reference = (reference or "").strip()
    errors: dict[str, object] = {}
    if reason not in RevealReason.values:
        errors["reason"] = _("Choose a reason from the list.")
    if not reference:
        errors["reference"] = _(
            "Give the number of the application, visit, account or correction request."
        )
    elif len(reference) > 40:
        errors["reference"] = _("At most 40 characters.")
    if errors:
        raise ValidationError(errors)
    check = reveal_reference_checks.get(reason)
    label = None
    if check is not None and staff.centre_id is not None:
        label = check(staff, account, reference)
    if label is None:
        raise ValidationError({"reference": REFERENCE_REFUSALS[RevealReason(reason)]})
    return label


def _limit_alert(*, staff: User, limit: int, day: datetime.date) -> None:
    """Tell the centre's administrators (other than the staff member) once a day."""
    admins = [] if staff.centre_id is None else list(centre_admins_of(centre_ids=[staff.centre_id]))
    for admin in admins:
        if admin.pk == staff.pk:
            continue
        notify(
            recipient=admin,
            kind=Notification.Kind.IDENTITY_REVEAL_LIMIT,
            params={
                "staff": staff.name or staff.username,
                "limit": limit,
                "date": day.isoformat(),
            },
            key=f"identity-reveal-limit:{staff.pk}:{day.isoformat()}",
        )


def identity_reveal(*, staff: User, account: LearningAccount, reason: str, reference: str) -> str:
    """The clear identity number, for a reason from the list and a reference to the centre's
    business with the learner; the reveal is recorded (with both) before the number is read.
    Past the daily number the centre's administrators are alerted and the reveal is refused."""
    if staff.role not in REVEAL_STAFF_ROLES:
        raise PermissionDenied
    if account.status == LearningAccount.Status.CLOSED:
        # Its identity number is gone with the closure: as if there were no such learner,
        # before anything is recorded or counted towards the daily number.
        raise Http404(_("No learning account matches."))
    # Recorded in the portal's language, as the learner reads it in their list.
    with translation.override(settings.LANGUAGE_CODE):
        label = _checked(staff=staff, account=account, reason=reason, reference=reference)
        reason_text = str(RevealReason(reason).label)
    limit = reveals_per_day()
    now = timezone.now()
    with transaction.atomic():
        # One staff member's reveals one after the other, so two at once cannot both be
        # the last one allowed.
        User.objects.select_for_update().filter(pk=staff.pk).first()
        done = StaffAccess.objects.filter(
            staff=staff, kind=StaffAccess.Kind.REVEALED_IDENTITY, occurred_at__gte=_day_start(now)
        ).count()
        over = done >= limit
        if not over:
            StaffAccess.objects.create(
                account=account,
                staff=staff,
                kind=StaffAccess.Kind.REVEALED_IDENTITY,
                reason=reason_text,
                reference=label,
            )
    if over:
        _limit_alert(staff=staff, limit=limit, day=timezone.localtime(now).date())
        raise ValidationError(
            {
                "reason": _(
                    "You have revealed %(limit)d identity numbers today, the most allowed; "
                    "your centre's administrator has been told. Try again tomorrow."
                )
                % {"limit": limit}
            }
        )
    return crypto.decrypt(account.id_number_encrypted)


# --- The references accounts itself owns ------------------------------------------------------


def counter_opening_check(staff: User, account: LearningAccount, reference: str) -> str | None:
    """The account itself, opened at the staff member's centre's counter."""
    number = reference.strip().upper().replace(" ", "")
    if number != account.number or account.opened_at_centre_id != staff.centre_id:
        return None
    return str(_("Account %(number)s opened at the counter") % {"number": account.number})
