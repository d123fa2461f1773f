"""The learner's rights over their file: closure of the account, correction of basic
information, and visits to a centre for the paper file.

Closure: the learner asks (with their password), may cancel during the confirmation period
(``ACCOUNT_CLOSURE_DAYS``), and then the retention job closes the account and removes or
anonymises personal data. What regulation requires to keep stays: the account number, the
ledger, business transactions (with corrected values redacted), decisions and certificates
already issued. A certificate's signed content cannot change without breaking its signature, so
it is kept as issued, and verification stops showing the learner's name and numbers.

The layers above hold personal data too (outcome text, evidence files, statements, reasons);
they register an eraser with ``closure_eraser_register`` in their ``AppConfig.ready()``, so this
layer never imports them. Free text goes, numbers, dates, states and codes stay; where a row
must keep a text, it gets the fixed marker ``ERASED``. Work still waiting for someone (an
accreditation application, a transfer) is registered with ``closure_withdrawal_register``: the
closure page lists it beforehand, and it is withdrawn through its layer's workflow when the
closure takes effect, before the erasers run. Nothing is sent to a closed account (``notify``).

Corrections: the learner asks for a correction of basic information (the name) or of a decided
record (an accredited or rejected outcome's recorded facts); a centre reviewer accepts or
rejects it with a reason. The request, the decision and the change (old value -> new value) are
business transactions, so the old value stays in the history. The kinds of decided record are
registered by the layers that own them (``correctable_kind_register``), as the erasers are.
Amounts accredited (hours and credits in the ledger) are never corrected this way: see
docs/decisions/0007-corrections-of-decided-records.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.collective.services import collective_invitations_close
from accounts.core.erasure import ERASED
from accounts.core.models import Centre, Role, User
from accounts.identity.numbers import identity_number_in
from accounts.ledger.models import BusinessTransaction, LearningAccount, StaffAccess
from accounts.ledger.reveals import reference_number
from accounts.ledger.services import account_lock, learning_account_of, transaction_record
from accounts.notifications.models import Notification
from accounts.notifications.services import notify
from accounts.rights.kinds import (
    CorrectableKind,
    CorrectableRecord,
    correctable_kind,
    correctable_kinds,
)
from accounts.rights.models import (
    CentreVisit,
    ClosureEvent,
    ClosureRequest,
    CorrectionEvent,
    CorrectionRequest,
)
from accounts.rights.workflow import CLOSURE, CORRECTION
from accounts.validators import (
    CONTROL_CHARACTERS_LINE,
    control_characters_in,
    free_text_problem,
)

# An eraser removes what its layer holds about the account. It must be idempotent: the
# retention job may run it again on an account already closed.
ClosureEraser = Callable[[LearningAccount], None]

closure_erasers: list[ClosureEraser] = []


def closure_eraser_register(eraser: ClosureEraser) -> ClosureEraser:
    """Add ``eraser`` to what runs when an account is closed; registering twice keeps one."""
    if eraser not in closure_erasers:
        closure_erasers.append(eraser)
    return eraser


# What an eraser writes in place of free text that a row must keep non-empty (a rejection's
# reason, a correction request's reason): a fixed marker, the same in every layer.
# (``accounts.core.erasure``: ``ERASED``, and ``erased_shown`` for the pages.)


def free_text_kept(*, account: LearningAccount, text: str) -> str:
    """The free text to store about ``account``: ``text``, or ``ERASED`` once the account is
    closed (its erasers ran when it closed and never run again; what is still allowed on a
    closed account, a revocation or a rescind, stores no free text about it)."""
    return ERASED if account.status == LearningAccount.Status.CLOSED else text


@dataclass(frozen=True)
class OpenWork:
    """One piece of the learner's work still waiting for someone (an accreditation application,
    a transfer application) that closing the account withdraws."""

    kind: str
    label: str
    link: str = ""


@dataclass(frozen=True)
class ClosureWithdrawal:
    """A layer's open work on closure: ``open_of`` lists it (the closure page tells the learner
    beforehand), ``withdraw`` withdraws it when the closure takes effect, through the layer's
    own workflow, in the closure's transaction with the account row locked, the holder as the
    actor; it returns how many it withdrew and must be idempotent (nothing open is left)."""

    name: str
    open_of: Callable[[LearningAccount], list[OpenWork]]
    withdraw: Callable[[LearningAccount, User], int]


closure_withdrawals: dict[str, ClosureWithdrawal] = {}


def closure_withdrawal_register(withdrawal: ClosureWithdrawal) -> ClosureWithdrawal:
    """Add a layer's open work to what closing an account withdraws (by name: registering
    again replaces it)."""
    closure_withdrawals[withdrawal.name] = withdrawal
    return withdrawal


def closure_open_work_of(*, account: LearningAccount) -> list[OpenWork]:
    """What closing ``account`` would withdraw today, every layer's."""
    return [work for w in closure_withdrawals.values() for work in w.open_of(account)]


# Keys of a business transaction's details that hold free text (titles, reasons, values,
# names of files): closing the account removes them and keeps the numbers, dates and codes.
FREE_TEXT_DETAILS = frozenset(
    {"title", "reason", "old", "new", "record_label", "files", "note", "statement", "response"}
)


def _transactions_erase(account: LearningAccount) -> None:
    """The free text of the account's business transactions (append-only rows, redacted with
    a queryset update on purpose)."""
    for pk, details in account.transactions.values_list("pk", "details"):
        if not isinstance(details, dict):
            continue
        kept = {
            key: value
            for key, value in details.items()
            if key not in FREE_TEXT_DETAILS
            and not (isinstance(value, str) and identity_number_in(value))
        }
        if kept != details:
            BusinessTransaction.objects.filter(pk=pk).update(details=kept)


def _save_finished(request: ClosureRequest) -> None:
    request.save(update_fields=["status", "finished_at"])


def _open_account_of(user: User) -> LearningAccount | None:
    """The user's personal learning account unless it is closed (a closed account's holder
    may no longer ask for anything)."""
    account = learning_account_of(user=user)
    if account is None or account.status == LearningAccount.Status.CLOSED:
        return None
    return account


def closure_days() -> int:
    return int(getattr(settings, "ACCOUNT_CLOSURE_DAYS", 15))


def _personal_account_of(user: User) -> LearningAccount:
    account = _open_account_of(user)
    if account is None:
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
        account_lock(account.pk)
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
        request.finished_at = timezone.now()
        CLOSURE.move(request, action=ClosureEvent.Action.CANCEL, actor=user, save=_save_finished)
        transaction_record(
            account=account, kind=BusinessTransaction.Kind.CLOSURE_CANCELLED, actor=user, details={}
        )
    return request


def account_close(*, account: LearningAccount) -> LearningAccount:
    """Close the account and remove its personal data. Every step sets fixed values, so
    running it again on a closed account changes nothing."""
    with transaction.atomic():
        account = account_lock(account.pk)
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

        _closure_work(account, user)

        now = timezone.now()
        # At most one is pending (a unique constraint); the account row is locked above.
        for request in ClosureRequest.objects.filter(
            account=account, status=ClosureRequest.Status.PENDING
        ):
            request.finished_at = now
            CLOSURE.move(request, action=ClosureEvent.Action.CLOSE, save=_save_finished)
        if not account.transactions.filter(kind=BusinessTransaction.Kind.ACCOUNT_CLOSED).exists():
            transaction_record(
                account=account,
                kind=BusinessTransaction.Kind.ACCOUNT_CLOSED,
                actor=None,
                details={},
            )
    return account


def _closure_work(account: LearningAccount, user: User) -> dict[str, int]:
    """The closure's withdrawals and erasers, on the locked, closed ``account`` of ``user``;
    returns how many each layer withdrew (by name). Idempotent: nothing open is left, and
    every eraser writes fixed values."""
    Notification.objects.filter(recipient=user).delete()
    # The open work, withdrawn through each layer's workflow before the erasers below
    # remove its text; the account is closed already, so no notice goes to it.
    withdrawn = {
        name: withdrawal.withdraw(account, user) for name, withdrawal in closure_withdrawals.items()
    }

    corrections = CorrectionRequest.objects.filter(account=account)
    corrections.update(
        old_value="", new_value="", reason=ERASED, record_label="", decision_reason=""
    )
    CorrectionEvent.objects.filter(request__account=account).update(reason="", details={})
    # The staff's own words about the learner (why they opened the file, a correction's
    # decision); who, when, what kind and the fixed reference label stay in the list.
    StaffAccess.objects.filter(
        account=account,
        kind__in=[StaffAccess.Kind.VIEWED_FILE, StaffAccess.Kind.DECIDED_CORRECTION],
    ).exclude(reason=ERASED).update(reason=ERASED)
    collective_invitations_close(account=account)
    # The history keeps that a correction happened, not the values (append-only rows are
    # redacted with a queryset update, on purpose).
    BusinessTransaction.objects.filter(
        account=account,
        kind__in=[
            BusinessTransaction.Kind.CORRECTION_REQUESTED,
            BusinessTransaction.Kind.CORRECTED,
            BusinessTransaction.Kind.RECORD_CORRECTED,
        ],
    ).update(details={"redacted": True})
    for eraser in closure_erasers:
        eraser(account)
    # Last: the withdrawals above have recorded theirs.
    _transactions_erase(account)
    return withdrawn


def account_closures_rerun(
    *, chunk: int = 100, report: Callable[[int, dict[str, int]], None] | None = None
) -> dict[str, int]:
    """Run the closure's withdrawals and erasers again on every closed personal account, for
    the accounts closed before a layer registered its own (their open work and free text
    stayed). Accounts are read in chunks by id, each account in its own short transaction
    under its lock; after each chunk ``report`` gets how many accounts it covered and what each
    layer withdrew. Returns the totals, with the accounts under ``"accounts"``. Idempotent: a
    second run withdraws nothing and writes the same values."""
    totals: dict[str, int] = defaultdict(int)
    closed = LearningAccount.objects.filter(
        status=LearningAccount.Status.CLOSED, holder__isnull=False
    )
    last_id = 0
    while True:
        ids = list(
            closed.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return dict(totals)
        last_id = ids[-1]
        counts: dict[str, int] = defaultdict(int)
        for pk in ids:
            with transaction.atomic():
                account = account_lock(pk)
                if account.status != LearningAccount.Status.CLOSED or account.holder is None:
                    continue
                for name, count in _closure_work(account, account.holder).items():
                    counts[name] += count
                counts["accounts"] += 1
        for name, count in counts.items():
            totals[name] += count
        if report is not None:
            report(counts["accounts"], {k: v for k, v in counts.items() if k != "accounts"})


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

# A router names the centre that decided a record (``record_kind``, ``record_id``) of the
# account, or with an empty ``record_kind`` the centre the learner has most to do with (their
# latest application); None when it does not know. ``accreditation`` registers one in its
# ``AppConfig.ready()``, since decisions are its own.
CorrectionRouter = Callable[[LearningAccount, str, int | None], int | None]

correction_routers: list[CorrectionRouter] = []


def correction_router_register(router: CorrectionRouter) -> CorrectionRouter:
    """Add ``router`` to those asked where a correction request goes; registering twice keeps
    one."""
    if router not in correction_routers:
        correction_routers.append(router)
    return router


def _routed(account: LearningAccount, record_kind: str, record_id: int | None) -> int | None:
    for router in correction_routers:
        centre_id = router(account, record_kind, record_id)
        if centre_id is not None:
            return centre_id
    return None


def correction_centre_of(
    *, account: LearningAccount, record_kind: str = "", record_id: int | None = None
) -> int | None:
    """The centre that decides a correction: the one that decided the record; for basic
    information (or a record no centre decided) the learner's own centre, which is the centre
    that opened the account at its counter, else the centre of their latest application, else
    of their latest visit. None when the learner has no centre at all."""
    if record_kind:
        centre_id = _routed(account, record_kind, record_id)
        if centre_id is not None:
            return centre_id
    if account.opened_at_centre_id is not None:
        return int(account.opened_at_centre_id)
    centre_id = _routed(account, "", None)
    if centre_id is not None:
        return centre_id
    visit = account.visits.order_by("-booked_at", "-id").first()
    return visit.centre_id if visit is not None else None


def _centre_required(
    account: LearningAccount, record_kind: str = "", record_id: int | None = None
) -> int:
    centre_id = correction_centre_of(account=account, record_kind=record_kind, record_id=record_id)
    if centre_id is None:
        raise ValidationError(
            {
                "field": _(
                    "No centre holds your file yet. Book a visit to a centre first; that "
                    "centre will decide your request."
                )
            }
        )
    return centre_id


CORRECTION_STAFF = (Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN)
IDENTITY_FIELDS = frozenset({"id_number", "id_type", "identity", "birth_date", "gender"})
MAX_VALUE = 150
MAX_REASON = 500


def _record_shown(kind: CorrectableKind, record: CorrectableRecord) -> dict[str, Any]:
    return {
        "kind": kind.name,
        "kind_label": kind.label,
        "id": record.id,
        "label": record.label,
        "fields": [
            {"name": name, "label": field_label, "value": record.values.get(name, "")}
            for name, field_label in kind.fields.items()
        ],
        "refused": dict(kind.refused),
    }


def correctable_records_of(*, user: User) -> list[dict[str, Any]]:
    """Every record the learner may ask to correct, of every registered kind, with its fields
    and their current values (one query per kind)."""
    account = _open_account_of(user)
    if account is None:
        return []
    return [
        _record_shown(kind, record)
        for kind in correctable_kinds.values()
        for record in kind.records_of(account)
    ]


def correctable_record_of(*, user: User, record_kind: str, record_id: int) -> dict[str, Any]:
    """One record the learner may ask to correct, with its fields and their current values;
    Http404 when the learner has no such record, or has it but it is not corrected this way."""
    kind = correctable_kinds.get(record_kind)
    account = _open_account_of(user)
    if kind is None or account is None:
        raise Http404
    try:
        label = kind.describe(account, record_id)
    except ValidationError:
        # The learner's own, but not a record a centre corrects (an outcome only saved).
        label = None
    if label is None:
        raise Http404
    return _record_shown(
        kind,
        CorrectableRecord(id=record_id, label=label, values=kind.values_of(account, record_id)),
    )


def _check_text(*, new_value: str, reason: str) -> tuple[str, str]:
    new_value = (new_value or "").strip()
    reason = (reason or "").strip()
    errors: dict[str, object] = {}
    if not new_value:
        errors["new_value"] = _("Give the correct value.")
    elif problem := free_text_problem(new_value, multiline=False):
        errors["new_value"] = problem
    elif len(new_value) > MAX_VALUE:
        errors["new_value"] = _("At most 150 characters.")
    if not reason:
        errors["reason"] = _("Say why this needs correcting.")
    elif problem := free_text_problem(reason, multiline=True):
        errors["reason"] = problem
    elif len(reason) > MAX_REASON:
        errors["reason"] = _("At most 500 characters.")
    if errors:
        raise ValidationError(errors)
    return new_value, reason


def _request_ref(request: CorrectionRequest) -> dict[str, Any]:
    """What a business transaction about a correction request names: the request and, for a
    decided record, which record."""
    ref: dict[str, Any] = {"request": request.pk}
    if request.record_kind:
        ref.update(record_kind=request.record_kind, record=request.record_id)
    return ref


def _record_request(
    *, user: User, account: LearningAccount, request: CorrectionRequest
) -> CorrectionRequest:
    transaction_record(
        account=account,
        kind=BusinessTransaction.Kind.CORRECTION_REQUESTED,
        actor=user,
        details={
            **_request_ref(request),
            "field": request.field,
            "old": request.old_value,
            "new": request.new_value,
            "reason": request.reason,
        },
    )
    return request


def correction_request(
    *,
    user: User,
    field: str,
    new_value: str,
    reason: str,
    record_kind: str = "",
    record_id: int | None = None,
) -> CorrectionRequest:
    """The learner asks for a correction, with a reason: of basic information (no
    ``record_kind``), or of a field of one of their decided records. Asking about a record
    that is not theirs raises Http404, as if it did not exist."""
    if record_kind:
        return _record_correction_request(
            user=user,
            record_kind=record_kind,
            record_id=record_id,
            field=field,
            new_value=new_value,
            reason=reason,
        )
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
    new_value, reason = _check_text(new_value=new_value, reason=reason)
    with transaction.atomic():
        account = _personal_account_of(user)
        old_value = user.name
        if new_value == old_value:
            raise ValidationError({"new_value": _("This is already the recorded value.")})
        request = CorrectionRequest.objects.create(
            account=account,
            centre_id=_centre_required(account),
            field=field,
            old_value=old_value,
            new_value=new_value,
            reason=reason,
        )
        return _record_request(user=user, account=account, request=request)


def _record_correction_request(
    *,
    user: User,
    record_kind: str,
    record_id: int | None,
    field: str,
    new_value: str,
    reason: str,
) -> CorrectionRequest:
    kind = correctable_kind(record_kind)
    if record_id is None:
        raise ValidationError({"record_id": _("Say which record to correct.")})
    if field in kind.refused:
        raise ValidationError({"field": kind.refused[field]})
    if field not in kind.fields:
        raise ValidationError({"field": _("This cannot be corrected online.")})
    new_value, reason = _check_text(new_value=new_value, reason=reason)
    with transaction.atomic():
        account = _personal_account_of(user)
        # The account row is the lock: two requests at once for the same field give one.
        account_lock(account.pk)
        label = kind.describe(account, record_id)
        if label is None:
            raise Http404
        new_value = kind.clean(account, record_id, field, new_value)
        old_value = kind.values_of(account, record_id).get(field, "")
        if new_value == old_value:
            raise ValidationError({"new_value": _("This is already the recorded value.")})
        if CorrectionRequest.objects.filter(
            account=account,
            record_kind=kind.name,
            record_id=record_id,
            field=field,
            status=CorrectionRequest.Status.PENDING,
        ).exists():
            raise ValidationError(
                {"field": _("A request to correct this is already waiting for a decision.")}
            )
        request = CorrectionRequest.objects.create(
            account=account,
            centre_id=_centre_required(account, kind.name, record_id),
            record_kind=kind.name,
            record_id=record_id,
            record_label=label[:200],
            field=field,
            old_value=old_value[:200],
            new_value=new_value,
            reason=reason,
        )
        return _record_request(user=user, account=account, request=request)


def corrections_pending(*, staff: User) -> QuerySet[CorrectionRequest]:
    """Requests waiting for the staff member's centre (none for anyone else); those of a closed
    account no longer wait for anyone."""
    if staff.centre_id is None or not staff.has_role(*CORRECTION_STAFF):
        return CorrectionRequest.objects.none()
    return (
        CorrectionRequest.objects.filter(
            status=CorrectionRequest.Status.PENDING, centre_id=staff.centre_id
        )
        .exclude(account__status=LearningAccount.Status.CLOSED)
        .select_related("account")
    )


def correction_at_centre(*, staff: User, request_id: int) -> CorrectionRequest:
    """A request of the staff member's centre, waiting or decided; Http404 for any other, as if
    it did not exist (another centre's requests are not this centre's to know of)."""
    request = None
    if staff.centre_id is not None and staff.has_role(*CORRECTION_STAFF):
        request = CorrectionRequest.objects.filter(pk=request_id, centre_id=staff.centre_id).first()
    if request is None:
        raise Http404
    return request


def _reference_of(request: CorrectionRequest) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(_("Correction request #%(number)s") % {"number": request.pk})


def corrections_viewed_record(*, staff: User, requests: list[CorrectionRequest]) -> None:
    """Record that ``staff`` saw these requests (their values are the learners' data), one row
    per request in one statement per page of them: every look is a look."""
    if not requests:
        return
    with translation.override(settings.LANGUAGE_CODE):
        reason = str(_("The correction request in the centre's queue"))
    StaffAccess.objects.bulk_create(
        [
            StaffAccess(
                account_id=request.account_id,
                staff=staff,
                kind=StaffAccess.Kind.VIEWED_CORRECTION,
                reason=reason,
                reference=_reference_of(request),
            )
            for request in requests
        ]
    )


def corrections_of(*, user: User) -> QuerySet[CorrectionRequest]:
    return CorrectionRequest.objects.filter(account__holder=user)


def _apply_accepted(
    *, request: CorrectionRequest, account: LearningAccount, reviewer: User, reason: str
) -> None:
    """Apply an accepted correction and record the change, old value and new."""
    if control_characters_in(request.new_value):
        # A request made before such values were refused is not applied as it stands.
        raise ValidationError({"request": CONTROL_CHARACTERS_LINE})
    details: dict[str, Any] = {"request": request.pk, "field": request.field}
    if request.record_kind:
        kind = correctable_kind(request.record_kind)
        record_id = int(request.record_id or 0)
        if kind.describe(account, record_id) is None:
            raise ValidationError({"request": _("The record to correct no longer exists.")})
        # Checked again: the record or the rules may have changed since the request.
        value = kind.clean(account, record_id, request.field, request.new_value)
        old_value = kind.apply(account, record_id, request.field, value)
        txn_kind = BusinessTransaction.Kind.RECORD_CORRECTED
        details |= {
            "record_kind": kind.name,
            "record": record_id,
            "record_label": request.record_label,
        }
    else:
        holder = account.holder
        if holder is None:
            raise ValidationError({"request": _("There is no such correction request.")})
        old_value = holder.name
        value = request.new_value
        holder.name = value
        holder.save(update_fields=["name"])
        txn_kind = BusinessTransaction.Kind.CORRECTED
    transaction_record(
        account=account,
        kind=txn_kind,
        actor=reviewer,
        details=details | {"old": old_value, "new": value, "reason": reason},
    )


def correction_decide(
    *, request_id: int, reviewer: User, accept: bool, reason: str
) -> CorrectionRequest:
    """A centre reviewer accepts (the change is applied) or rejects, always with a reason.
    The change is recorded as a business transaction with the old and the new value, and the
    learner is told either way (once)."""
    if not reviewer.has_role(*CORRECTION_STAFF) or reviewer.centre_id is None:
        raise ValidationError({"reviewer": _("Only centre staff decide corrections.")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the decision.")})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": _("At most 500 characters.")})
    if problem := free_text_problem(reason, multiline=True):
        raise ValidationError({"reason": problem})
    with transaction.atomic():
        # The account first, then its records, as everywhere: closing an account holds it
        # while it erases the account's correction requests, so holding the request and then
        # waiting for the account would deadlock with a closure. A request never changes
        # account, so its account is read without a lock.
        account_id = (
            CorrectionRequest.objects.filter(pk=request_id)
            .values_list("account_id", flat=True)
            .first()
        )
        if account_id is not None:
            account_lock(account_id)
        request = (
            CorrectionRequest.objects.select_for_update(of=("self",))
            .select_related("account__holder")
            .filter(pk=request_id)
            .first()
        )
        if request is None or request.centre_id != reviewer.centre_id:
            # Another centre's request is not this centre's to know of.
            raise Http404
        action = CorrectionEvent.Action.ACCEPT if accept else CorrectionEvent.Action.REJECT
        if not CORRECTION.is_allowed(request.status, action):
            raise CORRECTION.refuse(request.status, action)
        account = request.account
        if account.status == LearningAccount.Status.CLOSED:
            raise ValidationError({"request": _("The account has been closed.")})
        if account.holder_id == reviewer.pk:
            raise ValidationError({"reviewer": _("You cannot decide a correction of your own.")})
        request.decided_by = reviewer
        request.decided_at = timezone.now()
        request.decision_reason = reason
        CORRECTION.move(
            request, action=action, actor=reviewer, reason=reason, save=lambda r: r.save()
        )
        if accept:
            _apply_accepted(request=request, account=account, reviewer=reviewer, reason=reason)
        else:
            transaction_record(
                account=account,
                kind=BusinessTransaction.Kind.CORRECTION_REJECTED,
                actor=reviewer,
                details={
                    **_request_ref(request),
                    "field": request.field,
                    "reason": reason,
                },
            )
        if account.holder is not None:
            notify(
                recipient=account.holder,
                kind=(
                    Notification.Kind.CORRECTION_ACCEPTED
                    if accept
                    else Notification.Kind.CORRECTION_REJECTED
                ),
                params={"request": request.pk, "reason": reason},
                link=reverse("rights-corrections"),
                key=f"correction_decided:{request.pk}",
            )
        StaffAccess.objects.create(
            account=account,
            staff=reviewer,
            kind=StaffAccess.Kind.DECIDED_CORRECTION,
            reason=reason[:300],
            reference=_reference_of(request),
        )
    return request


# --- Visits for the paper file --------------------------------------------------------------


def visit_reveal_check(staff: User, account: LearningAccount, reference: str) -> str | None:
    """A reveal's reference to the learner's visit to the staff member's centre (registered
    with ``reveal_reference_register``)."""
    number = reference_number(reference)
    centre_id = staff.centre_id
    visit = (
        CentreVisit.objects.filter(pk=number, account=account, centre_id=centre_id).first()
        if number is not None and centre_id is not None
        else None
    )
    if visit is None:
        return None
    return str(_("Visit #%(number)s on %(date)s") % {"number": visit.pk, "date": visit.visit_on})


def correction_reveal_check(staff: User, account: LearningAccount, reference: str) -> str | None:
    """A reveal's reference to the learner's correction request at the staff member's
    centre."""
    number = reference_number(reference)
    centre_id = staff.centre_id
    found = (
        CorrectionRequest.objects.filter(pk=number, account=account, centre_id=centre_id).first()
        if number is not None and centre_id is not None
        else None
    )
    return _reference_of(found) if found is not None else None


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
    return CentreVisit.objects.filter(centre_id=staff.centre_id).select_related("account", "centre")


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
