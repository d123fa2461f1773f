"""The learner's rights over their file: closure of the account, correction of basic
information, and visits to a centre for the paper file.

Closure: the learner asks (with their password), may cancel during the confirmation period
(``ACCOUNT_CLOSURE_DAYS``), and then the retention job closes the account and removes or
anonymises personal data. What regulation requires to keep stays: the account number, the
ledger, business transactions (with corrected values redacted), decisions and certificates
already issued. A certificate's signed content cannot change without breaking its signature, so
it is kept as issued, and verification stops showing the learner's name and numbers.

The layers above hold personal data too (outcome text, evidence files); they register an eraser
with ``closure_eraser_register`` in their ``AppConfig.ready()``, so this layer never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import (
    BusinessTransaction,
    Centre,
    CentreVisit,
    ClosureRequest,
    CorrectionRequest,
    LearningAccount,
    Notification,
    Role,
    User,
)
from .services import transaction_record

# An eraser removes what its layer holds about the account. It must be idempotent: the
# retention job may run it again on an account already closed.
ClosureEraser = Callable[[LearningAccount], None]

closure_erasers: list[ClosureEraser] = []


def closure_eraser_register(eraser: ClosureEraser) -> ClosureEraser:
    """Add ``eraser`` to what runs when an account is closed; registering twice keeps one."""
    if eraser not in closure_erasers:
        closure_erasers.append(eraser)
    return eraser


def closure_days() -> int:
    return int(getattr(settings, "ACCOUNT_CLOSURE_DAYS", 15))


def _personal_account_of(user: User) -> LearningAccount:
    account = LearningAccount.objects.filter(holder=user, kind="personal").first()
    if account is None or account.status == LearningAccount.Status.CLOSED:
        raise ValidationError({"account": _("You have no open personal learning account.")})
    return account


def closure_pending_of(*, account: LearningAccount) -> ClosureRequest | None:
    return account.closure_requests.filter(status=ClosureRequest.Status.PENDING).first()


def closure_request(*, user: User, password: str) -> ClosureRequest:
    """The learner asks to close their account; it closes after the confirmation period."""
    if not password or not user.check_password(password):
        raise ValidationError({"password": _("The password is not correct.")})
    with transaction.atomic():
        account = _personal_account_of(user)
        # The lock makes two clicks at once give one request.
        LearningAccount.objects.select_for_update().get(pk=account.pk)
        pending = closure_pending_of(account=account)
        if pending is not None:
            return pending
        now = timezone.now()
        request = ClosureRequest.objects.create(
            account=account, requested_at=now, due_at=now + timedelta(days=closure_days())
        )
        transaction_record(
            account=account,
            kind=BusinessTransaction.Kind.CLOSURE_REQUESTED,
            actor=user,
            details={"closes_at": request.due_at.isoformat()},
        )
    return request


def closure_cancel(*, user: User) -> ClosureRequest:
    """The learner changes their mind before the account is closed."""
    with transaction.atomic():
        account = _personal_account_of(user)
        request = (
            ClosureRequest.objects.select_for_update()
            .filter(account=account, status=ClosureRequest.Status.PENDING)
            .first()
        )
        if request is None:
            raise ValidationError({"closure": _("There is no closure request to cancel.")})
        request.status = ClosureRequest.Status.CANCELLED
        request.finished_at = timezone.now()
        request.save(update_fields=["status", "finished_at"])
        transaction_record(
            account=account, kind=BusinessTransaction.Kind.CLOSURE_CANCELLED, actor=user, details={}
        )
    return request


def account_close(*, account: LearningAccount) -> LearningAccount:
    """Close the account and remove its personal data. Every step sets fixed values, so
    running it again on a closed account changes nothing."""
    with transaction.atomic():
        account = LearningAccount.objects.select_for_update().get(pk=account.pk)
        user = account.holder
        if user is None:
            raise ValidationError({"account": _("Only a personal account can be closed.")})
        if user.has_usable_password():
            user.set_unusable_password()
        user.name = ""
        user.email = ""
        user.phone = ""
        user.username = f"closed-{user.pk}"
        user.is_active = False
        user.save()
        from django_otp.plugins.otp_totp.models import TOTPDevice
        from knox.models import AuthToken

        AuthToken.objects.filter(user=user).delete()
        TOTPDevice.objects.filter(user=user).delete()
        Notification.objects.filter(recipient=user).delete()

        account.status = LearningAccount.Status.CLOSED
        account.id_number_encrypted = ""
        # The constraints want a unique, non-empty index; this one is no HMAC, so no search
        # by identity number finds the account again.
        account.id_number_index = f"closed:{account.pk}"
        account.id_number_masked = ""
        account.birth_date = None
        account.gender = ""
        account.document_note = ""
        account.save()

        CorrectionRequest.objects.filter(account=account).update(old_value="", new_value="")
        # The history keeps that a correction happened, not the values (append-only rows are
        # redacted with a queryset update, on purpose).
        BusinessTransaction.objects.filter(
            account=account,
            kind__in=[
                BusinessTransaction.Kind.CORRECTION_REQUESTED,
                BusinessTransaction.Kind.CORRECTED,
            ],
        ).update(details={"redacted": True})
        for eraser in closure_erasers:
            eraser(account)

        now = timezone.now()
        ClosureRequest.objects.filter(account=account, status=ClosureRequest.Status.PENDING).update(
            status=ClosureRequest.Status.DONE, finished_at=now
        )
        if not account.transactions.filter(kind=BusinessTransaction.Kind.ACCOUNT_CLOSED).exists():
            transaction_record(
                account=account,
                kind=BusinessTransaction.Kind.ACCOUNT_CLOSED,
                actor=None,
                details={},
            )
    return account


def account_closures_run(*, now: datetime | None = None) -> int:
    """The retention job: close every account whose confirmation period has ended. Each
    request is claimed under a row lock, so two workers never close the same account twice
    and a cancellation that committed first wins."""
    now = now or timezone.now()
    closed = 0
    due = ClosureRequest.objects.filter(status=ClosureRequest.Status.PENDING, due_at__lte=now)
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            request = (
                ClosureRequest.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=ClosureRequest.Status.PENDING, due_at__lte=now)
                .select_related("account")
                .first()
            )
            if request is None:
                continue
            account_close(account=request.account)
            closed += 1
    return closed


# --- Corrections ---------------------------------------------------------------------------

IDENTITY_FIELDS = frozenset({"id_number", "id_type", "identity", "birth_date", "gender"})


def correction_request(*, user: User, field: str, new_value: str, reason: str) -> CorrectionRequest:
    """The learner asks for a correction of basic information, with a reason."""
    if field in IDENTITY_FIELDS:
        raise ValidationError(
            {
                "field": _(
                    "Identity documents are corrected only at an accreditation centre, in "
                    "person. Please bring your document to a centre."
                )
            }
        )
    if field not in CorrectionRequest.Field.values:
        raise ValidationError({"field": _("This cannot be corrected online.")})
    new_value = (new_value or "").strip()
    reason = (reason or "").strip()
    errors: dict[str, object] = {}
    if not new_value:
        errors["new_value"] = _("Give the correct value.")
    elif len(new_value) > 150:
        errors["new_value"] = _("At most 150 characters.")
    if not reason:
        errors["reason"] = _("Say why this needs correcting.")
    elif len(reason) > 500:
        errors["reason"] = _("At most 500 characters.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        account = _personal_account_of(user)
        old_value = user.name
        if new_value == old_value:
            raise ValidationError({"new_value": _("This is already the recorded value.")})
        request = CorrectionRequest.objects.create(
            account=account, field=field, old_value=old_value, new_value=new_value, reason=reason
        )
        transaction_record(
            account=account,
            kind=BusinessTransaction.Kind.CORRECTION_REQUESTED,
            actor=user,
            details={
                "request": request.pk,
                "field": field,
                "old": old_value,
                "new": new_value,
                "reason": reason,
            },
        )
    return request


def corrections_pending() -> QuerySet[CorrectionRequest]:
    return CorrectionRequest.objects.filter(status=CorrectionRequest.Status.PENDING).select_related(
        "account"
    )


def corrections_of(*, user: User) -> QuerySet[CorrectionRequest]:
    return CorrectionRequest.objects.filter(account__holder=user)


def correction_decide(
    *, request_id: int, reviewer: User, accept: bool, reason: str
) -> CorrectionRequest:
    """A centre reviewer accepts (the change is applied) or rejects, always with a reason.
    The change is recorded as a business transaction with the old and the new value."""
    if not reviewer.has_role(Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN):
        raise ValidationError({"reviewer": _("Only centre staff decide corrections.")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the decision.")})
    if len(reason) > 500:
        raise ValidationError({"reason": _("At most 500 characters.")})
    with transaction.atomic():
        request = (
            CorrectionRequest.objects.select_for_update(of=("self",))
            .select_related("account__holder")
            .filter(pk=request_id)
            .first()
        )
        if request is None:
            raise ValidationError({"request": _("There is no such correction request.")})
        if request.status != CorrectionRequest.Status.PENDING:
            raise ValidationError({"request": _("This request has already been decided.")})
        account = request.account
        request.status = (
            CorrectionRequest.Status.ACCEPTED if accept else CorrectionRequest.Status.REJECTED
        )
        request.decided_by = reviewer
        request.decided_at = timezone.now()
        request.decision_reason = reason
        request.save()
        if accept:
            holder = account.holder
            if holder is None:
                raise ValidationError({"request": _("There is no such correction request.")})
            old_value = holder.name
            holder.name = request.new_value
            holder.save(update_fields=["name"])
            transaction_record(
                account=account,
                kind=BusinessTransaction.Kind.CORRECTED,
                actor=reviewer,
                details={
                    "request": request.pk,
                    "field": request.field,
                    "old": old_value,
                    "new": request.new_value,
                    "reason": reason,
                },
            )
        else:
            transaction_record(
                account=account,
                kind=BusinessTransaction.Kind.CORRECTION_REJECTED,
                actor=reviewer,
                details={"request": request.pk, "field": request.field, "reason": reason},
            )
    return request


# --- Visits for the paper file --------------------------------------------------------------


def visit_book(*, user: User, centre_id: int, visit_on: date, purpose: str) -> CentreVisit:
    """The learner books a visit to a centre to review the paper file or to get a copy."""
    errors: dict[str, object] = {}
    centre = Centre.objects.filter(pk=centre_id, is_active=True).first()
    if centre is None:
        errors["centre"] = _("Choose a centre.")
    if purpose not in CentreVisit.Purpose.values:
        errors["purpose"] = _("Choose why you come.")
    if visit_on <= timezone.localdate():
        errors["visit_on"] = _("Choose a day after today.")
    if errors or centre is None:
        raise ValidationError(errors)
    with transaction.atomic():
        account = _personal_account_of(user)
        visit = CentreVisit.objects.create(
            account=account, centre=centre, visit_on=visit_on, purpose=purpose
        )
        transaction_record(
            account=account,
            kind=BusinessTransaction.Kind.VISIT_BOOKED,
            actor=user,
            details={
                "visit": visit.pk,
                "centre": centre.name,
                "date": visit_on.isoformat(),
                "purpose": purpose,
            },
        )
    return visit


def visits_of(*, user: User) -> QuerySet[CentreVisit]:
    return CentreVisit.objects.filter(account__holder=user).select_related("centre")


def visits_at(*, staff: User) -> QuerySet[CentreVisit]:
    """The visits booked at the staff member's centre."""
    if staff.centre_id is None:
        return CentreVisit.objects.none()
    return CentreVisit.objects.filter(centre_id=staff.centre_id).select_related("account")


def visit_copy_record(*, staff: User, visit_id: int, pages: str) -> CentreVisit:
    """Centre staff record that a certified copy was handed over: who, when, which pages."""
    pages = (pages or "").strip()
    if not pages:
        raise ValidationError({"pages": _("Say which pages were copied.")})
    if len(pages) > 200:
        raise ValidationError({"pages": _("At most 200 characters.")})
    centre_id = staff.centre_id
    if centre_id is None or not staff.has_role(Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN):
        raise ValidationError({"visit": _("There is no such visit at your centre.")})
    with transaction.atomic():
        visit = (
            CentreVisit.objects.select_for_update().filter(pk=visit_id, centre_id=centre_id).first()
        )
        if visit is None:
            raise ValidationError({"visit": _("There is no such visit at your centre.")})
        if visit.status == CentreVisit.Status.HANDED_OVER:
            raise ValidationError({"visit": _("The copy has already been recorded.")})
        visit.status = CentreVisit.Status.HANDED_OVER
        visit.handed_over_by = staff
        visit.handed_over_at = timezone.now()
        visit.pages = pages
        visit.save()
        transaction_record(
            account=visit.account,
            kind=BusinessTransaction.Kind.CERTIFIED_COPY_HANDED_OVER,
            actor=staff,
            details={
                "visit": visit.pk,
                "by": staff.name or staff.username,
                "at": visit.handed_over_at.isoformat(),
                "pages": pages,
            },
        )
    return visit
