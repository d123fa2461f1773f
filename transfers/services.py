"""Operations of the transfers layer that pages, the API and other layers call."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    BusinessTransaction,
    LearningAccount,
    LedgerEntry,
    Notification,
    Role,
    User,
    WebhookEventType,
)
from accounts.services import (
    account_lock,
    free_text_kept,
    free_text_problem,
    ledger_append,
    ledger_reverse_cause,
    notify,
    notify_many,
    transaction_record,
    user_acts_for_institution,
    users_active,
    webhook_event_record,
)
from accreditation.catalogue import beijing_today
from accreditation.models import CatalogueEntryVersion, Decision, Revocation
from accreditation.services import (
    accreditation_holds,
    catalogue_versions_accredited,
    revocation_event_data,
)
from common.records import ExportParts, rows_of
from outcomes.models import LearningOutcome
from outcomes.services import outcomes_lock

from .models import (
    BASIS_REVOKED,
    COUNTING_STATES,
    RESERVING_STATES,
    Certificate,
    ConversionRule,
    Course,
    LearningGoal,
    PreAssessment,
    Programme,
    TransferApplication,
    TransferEvent,
    TransferItem,
    TransferItemState,
)
from .preassessments import binding_for, preassessment_bindings
from .programme_rules import (
    acceptance_caps_refusals,
    programme_caps_in_force,
    transfer_caps_refusals,
)
from .rules import conversion_rules_current
from .workflow import TRANSFER_ITEM

MAX_GOALS = 10


def programmes_published() -> QuerySet[Programme]:
    return (
        Programme.objects.filter(is_published=True, institution__is_active=True)
        .select_related("institution")
        .prefetch_related(Prefetch("courses", queryset=Course.objects.order_by("code")))
    )


@transaction.atomic
def learning_goal_set(
    *, account: LearningAccount, programme: Programme, actor: User
) -> LearningGoal:
    """The learner aims at ``programme``; setting the same goal twice is refused."""
    if not programme.is_published:
        raise ValidationError({"programme": _("This programme is not open to learners.")})
    # Lock the account row so that two requests cannot both slip under the limit.
    account_lock(account.pk)
    if LearningGoal.objects.filter(account=account).count() >= MAX_GOALS:
        raise ValidationError(
            {"programme": _("You can follow at most %(n)d goals at once.") % {"n": MAX_GOALS}}
        )
    try:
        with transaction.atomic():
            goal = LearningGoal.objects.create(account=account, programme=programme)
    except IntegrityError as exc:
        raise ValidationError(
            {"programme": _("This programme is already one of your goals.")}
        ) from exc
    transaction_record(
        account=account,
        kind=BusinessTransaction.Kind.GOAL_SET,
        actor=actor,
        details={"programme": programme.code, "institution": programme.institution.name},
    )
    return goal


@transaction.atomic
def learning_goal_remove(*, goal: LearningGoal, actor: User) -> None:
    programme = goal.programme
    account = goal.account
    goal.delete()
    transaction_record(
        account=account,
        kind=BusinessTransaction.Kind.GOAL_REMOVED,
        actor=actor,
        details={"programme": programme.code, "institution": programme.institution.name},
    )


def learning_goals_of(*, account: LearningAccount) -> QuerySet[LearningGoal]:
    return LearningGoal.objects.filter(account=account).select_related(
        "programme", "programme__institution"
    )


# --- Credit transfer --------------------------------------------------------------------------
#
# A transfer item changes state only through the table of moves in :mod:`transfers.workflow`,
# which refuses a move the table does not allow and appends a TransferEvent. The services below
# decide *who* may move an item; the table decides *which* moves exist.

Action = TransferEvent.Action
ItemState = TransferItemState

DECISIONS = {
    "accept": Action.ACCEPT,
    "reject": Action.REJECT,
    "request_information": Action.REQUEST_INFORMATION,
}
LEDGER_CAUSE = "transfer_decision"
MAX_TRANSFER_ITEMS = 50
# A course to apply for, the outcome offered, the rule version, and the binding yes if any.
Planned = tuple[Course, LearningOutcome, ConversionRule, PreAssessment | None]
MAX_REASON = 2000


# --- Which outcomes convert to which courses ------------------------------------------------------


def accredited_versions_of(outcome_ids: Iterable[int]) -> dict[int, CatalogueEntryVersion]:
    """Outcome id -> the catalogue version its accreditation decision used (see
    :func:`accreditation.services.catalogue_versions_accredited`)."""
    return catalogue_versions_accredited(outcome_ids=outcome_ids)


def current_rules_for(
    courses: Iterable[Course], *, on: datetime.date | None = None
) -> dict[tuple[int, int], ConversionRule]:
    """(entry id, course id) -> the rule version in effect, for ``courses`` (one query)."""
    return {
        (rule.entry_id, rule.course_id): rule
        for rule in conversion_rules_current(on=on).filter(course__in=list(courses))
    }


# --- Credit transfer: the learner's side ----------------------------------------------------------


def _item_key(index: int, field: str) -> str:
    return f"items[{index}].{field}"


def _clean_reason(reason: str, *, required: bool, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationError({field: _("Give a reason.")})
    if len(reason) > MAX_REASON:
        raise ValidationError({field: _("Keep the reason under 2,000 characters.")})
    if problem := free_text_problem(reason, multiline=True):
        raise ValidationError({field: problem})
    return reason


def transfer_apply(
    *,
    account: LearningAccount,
    programme: Programme,
    items: Sequence[tuple[Course, LearningOutcome]],
    actor: User,
) -> TransferApplication:
    """Apply to have accredited outcomes count for courses of ``programme``: one item per
    (course, outcome). All or nothing: any item that cannot be applied for refuses the whole
    application, with an error keyed ``items[i].course`` or ``items[i].outcome``.

    Each outcome must be the learner's, accredited against a catalogue entry that a conversion
    rule in effect today links to the course; not reserved by another undecided transfer; not
    already counted for this programme; and the course not already exempted or asked for."""
    if account.holder_id != actor.pk:
        raise ValidationError({"account": _("This is not your learning account.")})
    if not programme.is_published:
        raise ValidationError({"programme": _("This programme is not open to learners.")})
    if not items:
        raise ValidationError({"items": _("Choose at least one course.")})
    if len(items) > MAX_TRANSFER_ITEMS:
        raise ValidationError(
            {"items": _("At most %(n)d courses at once.") % {"n": MAX_TRANSFER_ITEMS}}
        )
    if connection.vendor == "postgresql":
        # One transaction for the application and its webhook outbox rows (accounts.webhooks):
        # an institution is told of exactly the applications that commit.
        # (Inside a caller's transaction this is a savepoint, so a failure leaves it usable.)
        try:
            with transaction.atomic():
                applied = _transfer_apply_set(
                    account=account, programme=programme, items=items, actor=actor
                )
                if applied is not None:
                    if _caps_refuse_applied(applied, account=account, programme=programme):
                        # A cap of the programme's rules refuses (ADR 0027): undo the
                        # savepoint; the detailed path below says which course and why.
                        raise _CapRefused
                    _transfer_applied_event(applied)
                    return applied
        except (IntegrityError, _CapRefused):
            pass  # a double use the indexes found, or a cap: the detailed path says so
    # SQLite, or PostgreSQL refused: the same checks, one by one, each refusal with its reason.
    with transaction.atomic():
        # The learner's account row first: every transfer of this learner (and so every use of
        # their outcomes, which belong to this account only) queues here, so the reservation
        # checks below read what the previous application committed. Then the outcomes, in id
        # order, so that a change of an outcome elsewhere (a new version, a withdrawal) cannot
        # slip between the check and the insert. Same order as the deciding services: no
        # deadlock.
        if account_lock(account.pk).status != LearningAccount.Status.ACTIVE:
            # A closure that held the lock first withdrew the account's transfers: one asked
            # for while it ran must not start again on the closed account.
            raise ValidationError(
                {"account": _("This learning account is closed: nothing can be applied for.")}
            )
        outcome_ids = sorted({outcome.pk for _course, outcome in items})
        outcomes = outcomes_lock(outcome_ids=outcome_ids)
        courses = {course.pk: course for course, _outcome in items}
        versions = accredited_versions_of(outcome_ids)
        rules = current_rules_for(courses.values())
        # A yes to a pre-assessment still binding: its item is made under the rule version the
        # yes bound (transfer_apply_set leaves such a course to this path). Read under the
        # account's lock, which an answer takes too.
        bindings = preassessment_bindings(account=account, course_ids=list(courses))
        busy = TransferItem.objects.filter(
            Q(outcome_id__in=outcome_ids) | Q(account=account, course_id__in=list(courses)),
            state__in=[s.value for s in COUNTING_STATES],
        ).values_list("outcome_id", "programme_id", "course_id", "state", "account_id")
        reserved = {o for o, _p, _c, state, _a in busy if state in RESERVING_STATES}
        counted = {o for o, p, _c, _s, _a in busy if p == programme.pk}
        taken_courses = {c for _o, _p, c, _s, a in busy if a == account.pk}
        errors: dict[str, Any] = {}
        seen_outcomes: set[int] = set()
        seen_courses: set[int] = set()
        planned: list[Planned] = []
        for index, (course, given) in enumerate(items):
            outcome = outcomes.get(given.pk)
            if course.programme_id != programme.pk:
                errors[_item_key(index, "course")] = _(
                    "“%(course)s” is not a course of this programme."
                ) % {"course": course.display_name}
                continue
            if course.pk in seen_courses:
                errors[_item_key(index, "course")] = _("This course is asked for twice.")
                continue
            seen_courses.add(course.pk)
            if course.pk in taken_courses:
                errors[_item_key(index, "course")] = _(
                    "“%(course)s” is already transferred or asked for."
                ) % {"course": course.display_name}
                continue
            if outcome is None or outcome.account_id != account.pk:
                errors[_item_key(index, "outcome")] = _("This is not your learning outcome.")
                continue
            if outcome.pk in seen_outcomes:
                errors[_item_key(index, "outcome")] = _(
                    "“%(outcome)s” can count for one course of a programme only."
                ) % {"outcome": outcome.title}
                continue
            seen_outcomes.add(outcome.pk)
            version = versions.get(outcome.pk)
            if version is None:
                errors[_item_key(index, "outcome")] = _(
                    "“%(outcome)s” is not accredited against the catalogue, so no conversion "
                    "rule applies to it."
                ) % {"outcome": outcome.title}
                continue
            bound = binding_for(
                bindings, entry_id=version.entry_id, course_id=course.pk, outcome_id=outcome.pk
            )
            # Bound: the rule version of the yes, even if the rule changed or ended since.
            rule = bound.rule if bound is not None else rules.get((version.entry_id, course.pk))
            if rule is None:
                errors[_item_key(index, "outcome")] = _(
                    "No conversion rule in effect converts “%(outcome)s” to “%(course)s”."
                ) % {"outcome": outcome.title, "course": course.display_name}
                continue
            if outcome.pk in reserved:
                errors[_item_key(index, "outcome")] = _(
                    "“%(outcome)s” is reserved by another transfer that is not decided yet."
                ) % {"outcome": outcome.title}
                continue
            if outcome.pk in counted:
                errors[_item_key(index, "outcome")] = _(
                    "“%(outcome)s” already counts for this programme."
                ) % {"outcome": outcome.title}
                continue
            planned.append((course, outcome, rule, bound))
        if errors:
            raise ValidationError(errors)
        # The programme's caps (ADR 0027), counted behind the account lock taken above.
        index_of = {course.pk: index for index, (course, _outcome) in enumerate(items)}
        for at, messages in transfer_caps_refusals(
            account=account,
            programme=programme,
            adding=[
                (rule.entry_id, bound.credits if bound and bound.credits else rule.credits)
                for _c, _o, rule, bound in planned
            ],
        ).items():
            errors[_item_key(index_of[planned[at][0].pk], "course")] = messages
        if errors:
            raise ValidationError(errors)
        now = timezone.now()
        application = TransferApplication.objects.create(
            account=account, programme=programme, submitted_at=now
        )
        try:
            # A savepoint: should the indexes still find a double use (they cannot, behind the
            # account lock, but they are the last word), the error is a field error.
            with transaction.atomic():
                created = TransferItem.objects.bulk_create(
                    [
                        TransferItem(
                            application=application,
                            course=course,
                            programme=programme,
                            account=account,
                            outcome=outcome,
                            rule=rule,
                            credits=bound.credits if bound and bound.credits else rule.credits,
                            preassessment=bound,
                        )
                        for course, outcome, rule, bound in planned
                    ]
                )
        except IntegrityError as exc:
            raise ValidationError(
                {"items": _("One of these outcomes or courses is already in another transfer.")}
            ) from exc
        if any(item.pk is None for item in created):  # backends that return no ids
            created = list(application.items.all())
        TransferEvent.objects.bulk_create(
            [
                TransferEvent(
                    item=item,
                    action=Action.SUBMIT,
                    from_state=ItemState.PENDING,
                    to_state=ItemState.PENDING,
                    actor=actor,
                    occurred_at=now,
                )
                for item in created
            ]
        )
        transaction_record(
            account=account,
            kind=BusinessTransaction.Kind.TRANSFER,
            actor=actor,
            details={
                "event": "applied",
                "transfer": application.pk,
                "programme": programme.code,
                "institution": programme.institution.name,
                "courses": [course.code for course, _o, _r, _b in planned],
            },
        )
        _transfer_applied_event(application)
    return application


class _CapRefused(Exception):
    """The set-based path wrote an application that a cap of the programme refuses."""


def _caps_refuse_applied(
    application: TransferApplication, *, account: LearningAccount, programme: Programme
) -> bool:
    """Whether the application just written by the set-based path goes past a cap of the
    programme's rules in force: its items counted on top of the others, behind the account
    lock that the function took. One query when the programme sets no cap."""
    rules = programme_caps_in_force(programme)
    if rules is None:
        return False
    adding = list(
        TransferItem.objects.filter(application_id=application.pk)
        .order_by("pk")
        .values_list("rule__entry_id", "credits")
    )
    return bool(
        transfer_caps_refusals(
            account=account,
            programme=programme,
            adding=adding,
            exclude=Q(application_id=application.pk),
            rules=rules,
        )
    )


def _transfer_applied_event(application: TransferApplication) -> None:
    """The webhook of an application just written, in its transaction; its items are read only
    when the institution subscribed to the event."""
    programme = application.programme

    def data() -> dict[str, Any]:
        items = application.items.order_by("pk").values_list("pk", "course__code")
        return {
            "transfer": application.pk,
            "programme": programme.code,
            "items": [{"item": pk, "course": code} for pk, code in items],
            "submitted_at": application.submitted_at.isoformat(),
        }

    webhook_event_record(
        institution_id=programme.institution_id,
        event_type=WebhookEventType.TRANSFER_APPLIED,
        data=data,
    )


def _transfer_apply_set(
    *,
    account: LearningAccount,
    programme: Programme,
    items: Sequence[tuple[Course, LearningOutcome]],
    actor: User,
) -> TransferApplication | None:
    """transfer_apply's common case on PostgreSQL in one statement, one round trip: the
    function transfer_apply_set (migration transfers 0007) takes the same locks in the same
    order (the account, then the outcomes in id order), makes every check transfer_apply makes
    and writes the application, its items and events and the business transaction; or, when
    any check refuses, writes nothing and returns NULL, and transfer_apply then runs its own
    checks to say which item and why. A transfer used to be 14 round trips and ~10 ms of ORM
    in Python (bench/README.md, "Transfers")."""
    courses = [course.pk for course, _outcome in items]
    outcomes = [outcome.pk for _course, outcome in items]
    if (
        len(set(courses)) != len(courses)
        or len(set(outcomes)) != len(outcomes)
        or any(course.programme_id != programme.pk for course, _outcome in items)
    ):
        return None  # refused for certain: the detailed checks name the item
    now = timezone.now()
    params: list[Any] = [
        account.pk,
        programme.pk,
        actor.pk,
        courses,
        outcomes,
        now,
        beijing_today(),
        [s.value for s in COUNTING_STATES],
        [s.value for s in RESERVING_STATES],
        ItemState.PENDING.value,
        Action.SUBMIT.value,
        BusinessTransaction.Kind.TRANSFER.value,
        Decision.Result.ACCREDITED.value,
        Decision.Basis.CATALOGUE.value,
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT transfer_apply_set(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            params,
        )
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    application = TransferApplication(
        pk=row[0],
        account=account,
        programme=programme,
        state=TransferApplication.State.PENDING,
        submitted_at=now,
    )
    application._state.adding = False
    application._state.db = connection.alias
    return application


def _locked_item(item: TransferItem) -> TransferItem:
    return (
        TransferItem.objects.select_for_update(of=("self",))
        .select_related(
            "application", "course", "programme__institution", "outcome", "account__holder", "rule"
        )
        .get(pk=item.pk)
    )


def transfer_application_settle(
    *, application: TransferApplication, now: datetime.datetime
) -> None:
    """The application is decided once none of its items waits for the institution; withdrawn
    if the learner withdrew every one of them."""
    states = set(application.items.values_list("state", flat=True))
    if states & {s.value for s in RESERVING_STATES}:
        return
    if states <= {ItemState.WITHDRAWN.value}:
        application.state = TransferApplication.State.WITHDRAWN
    else:
        application.state = TransferApplication.State.DECIDED
    application.decided_at = now
    application.save(update_fields=["state", "decided_at"])


def _learner_link(application: TransferApplication) -> str:
    return reverse("transfer-detail", args=[application.pk])


def _officer_link(application: TransferApplication) -> str:
    return reverse("institution-transfer", args=[application.pk])


def _item_transaction_record(
    item: TransferItem, *, actor: User, event: str, **details: str | int
) -> None:
    """Record a move of one course in the learner's history: what happened, to which course of
    which application, and ``details``."""
    transaction_record(
        account=item.account,
        kind=BusinessTransaction.Kind.TRANSFER,
        actor=actor,
        details={
            "event": event,
            "transfer": item.application_id,
            "item": item.pk,
            "course": item.course.code,
            "programme": item.programme.code,
            **details,
        },
    )


def _require_officer(item: TransferItem, actor: User) -> None:
    """Only an officer of the programme's institution moves an item, never on their own
    transfer."""
    if not user_acts_for_institution(actor, Role.INSTITUTION_OFFICER) or (
        actor.institution_id != item.programme.institution_id
    ):
        raise ValidationError({"item": _("This transfer is for another institution.")})
    if item.account.holder_id == actor.pk:
        raise ValidationError({"item": _("You cannot decide your own transfer.")})


def _notice_params(item: TransferItem, reason: str = "") -> dict[str, str | int]:
    params: dict[str, str | int] = {
        "institution": item.programme.institution.name,
        "programme": item.programme.name,
        "course": item.course.name,
        "outcome": item.outcome.title,
        "application": item.application_id,
        "credits": str(item.credits),
    }
    if reason:
        params["reason"] = reason
    return params


def transfer_item_decide(
    *, item: TransferItem, actor: User, decision: str, reason: str = ""
) -> TransferItem:
    """An officer of the programme's institution decides one course: ``accept`` (the course is
    exempted; the credits are booked in the learner's transferred ledger), ``reject`` or
    ``request_information`` (both with a reason). The learner is notified."""
    action = DECISIONS.get(decision)
    if action is None:
        raise ValidationError({"decision": _("Choose accept, reject or request information.")})
    reason = _clean_reason(reason, required=action != Action.ACCEPT)
    with transaction.atomic():
        # Account first, as transfer_apply does: a rejection releases the outcome, and a new
        # application using it must see the release or wait for it.
        account_lock(item.account_id)
        item = _locked_item(item)
        _require_officer(item, actor)
        if item.account.status == LearningAccount.Status.CLOSED:
            # Closing the account withdraws its transfers; one that slipped through stops here.
            raise ValidationError(
                {
                    "item": _(
                        "The learner's account has been closed: this transfer can no longer "
                        "be decided."
                    )
                }
            )
        # The basis, re-checked under the locks: a revocation takes the same account lock before
        # it writes anything, so it is either committed and seen here (the course is refused),
        # or it waits for this acceptance and then flags it (transfers_on_revocation).
        if action == Action.ACCEPT and not accreditation_holds(outcome_id=item.outcome_id):
            raise ValidationError(
                {
                    "outcome": _(
                        "The accreditation of “%(outcome)s” has been revoked, so it cannot be "
                        "accepted for this course."
                    )
                    % {"outcome": item.outcome.title}
                }
            )
        # The move before the caps: a course that cannot be accepted (decided already, say) is
        # told so, not refused by a cap.
        if not TRANSFER_ITEM.is_allowed(item.state, action):
            raise TRANSFER_ITEM.refuse(item.state, action)
        if action == Action.ACCEPT and (refusals := acceptance_caps_refusals(item=item)):
            # The programme's caps (ADR 0027), counted behind the account lock: of two
            # acceptances at once, the second sees the first.
            raise ValidationError({"decision": refusals})
        TRANSFER_ITEM.move(item, action=action, actor=actor, reason=reason)
        now = timezone.now()
        item.reason = reason
        if action != Action.REQUEST_INFORMATION:
            item.decided_by, item.decided_at = actor, now
        item.save(update_fields=["state", "reason", "decided_by", "decided_at"])
        if action == Action.ACCEPT:
            ledger_append(
                account=item.account,
                book=LedgerEntry.Book.TRANSFERRED,
                hours=Decimal(0),
                credits=item.credits,
                cause_type=LEDGER_CAUSE,
                cause_id=item.pk,
            )
        transfer_application_settle(application=item.application, now=now)
        _item_transaction_record(
            item,
            actor=actor,
            event=decision,
            credits=str(item.credits) if action == Action.ACCEPT else "0",
            reason=reason,
        )
        kind = {
            Action.ACCEPT: Notification.Kind.TRANSFER_ACCEPTED,
            Action.REJECT: Notification.Kind.TRANSFER_REJECTED,
            Action.REQUEST_INFORMATION: Notification.Kind.TRANSFER_INFORMATION_REQUESTED,
        }[action]
        if item.account.holder is not None:
            notify(
                recipient=item.account.holder,
                kind=kind,
                params=_notice_params(item, reason),
                link=_learner_link(item.application),
                key=f"transfer_item:{item.pk}:{action}:{item.events.count()}",
            )
        webhook_event_record(
            institution_id=item.programme.institution_id,
            event_type=WebhookEventType.TRANSFER_DECIDED,
            data={
                "transfer": item.application_id,
                "item": item.pk,
                "programme": item.programme.code,
                "course": item.course.code,
                "decision": decision,
                "state": item.state,
                "credits": str(item.credits) if action == Action.ACCEPT else "0",
                "decided_at": now.isoformat(),
            },
        )
    return item


# --- When the accreditation a transfer rests on is revoked ---------------------------------------


def _officers_of(item: TransferItem) -> QuerySet[User]:
    return users_active().filter(
        role=Role.INSTITUTION_OFFICER, institution_id=item.programme.institution_id
    )


def transfers_on_revocation(revocation: Revocation) -> None:
    """Registered with accreditation (``revocation_listener_register``) and called in the
    revocation's transaction, the learner's account locked: every course still waiting on the
    outcome is withdrawn (reason ``basis revoked``; the learner and the institution's officers
    are told), and every course already accepted is flagged ``basis_revoked_at`` for the
    institution to rescind or keep (the officer who accepted it is told)."""
    application = revocation.decision.application
    actor = revocation.revoked_by
    account_lock(application.account_id)  # held already by the revocation; the order is the rule
    items = list(
        TransferItem.objects.select_for_update(of=("self",))
        .select_related(
            "application", "course", "programme__institution", "outcome", "account__holder"
        )
        .filter(
            outcome_id=application.outcome_id,
            state__in=[s.value for s in COUNTING_STATES],
        )
        .order_by("pk")
    )
    now = timezone.now()
    touched: dict[int, list[int]] = {}
    for item in items:
        if item.is_reserving:
            TRANSFER_ITEM.move(item, action=Action.WITHDRAW, actor=actor, reason=BASIS_REVOKED)
            item.reason = BASIS_REVOKED
            item.save(update_fields=["state", "reason"])
            transfer_application_settle(application=item.application, now=now)
            event = "withdrawn_basis_revoked"
            if item.account.holder is not None:
                notify(
                    recipient=item.account.holder,
                    kind=Notification.Kind.TRANSFER_BASIS_WITHDRAWN,
                    params=_notice_params(item),
                    link=_learner_link(item.application),
                    key=f"transfer_item:{item.pk}:basis_withdrawn",
                )
            notify_many(
                recipients=_officers_of(item),
                kind=Notification.Kind.TRANSFER_BASIS_WITHDRAWN,
                params=_notice_params(item),
                link=_officer_link(item.application),
                key=f"transfer_item:{item.pk}:basis_withdrawn",
            )
        elif item.basis_revoked_at is None:
            TRANSFER_ITEM.move(item, action=Action.BASIS_REVOKED, actor=actor, reason=BASIS_REVOKED)
            item.basis_revoked_at = now
            item.save(update_fields=["basis_revoked_at"])
            event = "basis_revoked"
            officers = [item.decided_by] if item.decided_by and item.decided_by.is_active else []
            notify_many(
                recipients=officers or _officers_of(item),
                kind=Notification.Kind.TRANSFER_BASIS_REVOKED,
                params=_notice_params(item),
                link=_officer_link(item.application),
                key=f"transfer_item:{item.pk}:basis_revoked",
            )
        else:
            continue
        _item_transaction_record(item, actor=actor, event=event, revocation=revocation.pk)
        touched.setdefault(item.programme.institution_id, []).append(item.pk)
    for institution_id, item_ids in touched.items():
        webhook_event_record(
            institution_id=institution_id,
            event_type=WebhookEventType.CERTIFICATE_REVOKED,
            data=revocation_event_data(revocation, transfer_items=item_ids),
        )


def _basis_settle(
    item: TransferItem, *, actor: User, action: str, reason: str
) -> tuple[TransferItem, datetime.datetime, str]:
    """Lock the item and check that ``actor`` may rescind or keep it: an officer of its
    institution, the item accepted on an accreditation since revoked and not settled yet.
    Returns the reason to store: the marker ``ERASED`` once the learner's account is closed
    (a rescind stays allowed, so that the credits can be reversed, but its free text would
    outlive the closure's erasers)."""
    account = account_lock(item.account_id)
    item = _locked_item(item)
    _require_officer(item, actor)
    if item.basis_revoked_at is None:
        raise ValidationError(
            {"item": _("The accreditation this course rests on still holds; nothing to settle.")}
        )
    if item.basis_kept_at is not None:
        raise ValidationError(
            {"item": _("The institution has already kept this transfer despite the revocation.")}
        )
    reason = free_text_kept(account=account, text=reason)
    TRANSFER_ITEM.move(item, action=action, actor=actor, reason=reason)
    return item, timezone.now(), reason


def _basis_settled_record(
    item: TransferItem, *, actor: User, event: str, reason: str, kind: str, **details: str
) -> None:
    """Record a rescind or a keep in the learner's history and tell the learner."""
    _item_transaction_record(item, actor=actor, event=event, **details, reason=reason)
    if item.account.holder is not None:
        notify(
            recipient=item.account.holder,
            kind=kind,
            params=_notice_params(item, reason),
            link=_learner_link(item.application),
            key=f"transfer_item:{item.pk}:{event}",
        )


def transfer_item_rescind(*, item: TransferItem, actor: User, reason: str) -> TransferItem:
    """An officer of the institution undoes an accepted course whose accreditation was
    revoked: the course's credits are reversed in the learner's transferred book (a new entry,
    the ledger being append-only), the course is free again, and the learner is told."""
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        item, _now, reason = _basis_settle(item, actor=actor, action=Action.RESCIND, reason=reason)
        item.reason = reason
        item.save(update_fields=["state", "reason"])
        ledger_reverse_cause(
            account=item.account,
            cause_type=LEDGER_CAUSE,
            cause_id=item.pk,
            actor=actor,
            reason=reason,
        )
        _basis_settled_record(
            item,
            actor=actor,
            event="rescinded",
            reason=reason,
            kind=Notification.Kind.TRANSFER_RESCINDED,
            credits=str(-item.credits),
        )
    return item


def transfer_item_keep(*, item: TransferItem, actor: User, reason: str) -> TransferItem:
    """An officer of the institution keeps an accepted course although its accreditation was
    revoked, with the reason (an event); the credits stay, and the learner is told."""
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        item, now, reason = _basis_settle(item, actor=actor, action=Action.KEEP, reason=reason)
        item.basis_kept_at = now
        item.save(update_fields=["basis_kept_at"])
        _basis_settled_record(
            item, actor=actor, event="kept", reason=reason, kind=Notification.Kind.TRANSFER_KEPT
        )
    return item


def transfer_item_respond(*, item: TransferItem, actor: User, response: str) -> TransferItem:
    """The learner answers an information request; the course waits for the officer again."""
    response = _clean_reason(response, required=True, field="response")
    with transaction.atomic():
        account_lock(item.account_id)
        item = _locked_item(item)
        if item.account.holder_id != actor.pk:
            raise ValidationError({"item": _("This is not your transfer.")})
        TRANSFER_ITEM.move(item, action=Action.RESPOND, actor=actor, reason=response)
        item.save(update_fields=["state"])
    return item


def transfer_withdraw(
    *, application: TransferApplication, actor: User, reason: str = ""
) -> TransferApplication:
    """The learner withdraws every course still waiting for a decision; their outcomes are
    free again. Courses already decided stay as they are."""
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        account_lock(application.account_id)
        application = TransferApplication.objects.select_for_update().get(pk=application.pk)
        if application.account.holder_id != actor.pk:
            raise ValidationError({"application": _("This is not your transfer.")})
        open_items = list(
            application.items.select_for_update()
            .filter(state__in=[s.value for s in RESERVING_STATES])
            .order_by("pk")
        )
        if not open_items:
            raise ValidationError(
                {"application": _("Nothing in this transfer is waiting for a decision.")}
            )
        for item in open_items:
            TRANSFER_ITEM.move(item, action=Action.WITHDRAW, actor=actor, reason=reason)
            item.save(update_fields=["state"])
        now = timezone.now()
        transfer_application_settle(application=application, now=now)
        transaction_record(
            account=application.account,
            kind=BusinessTransaction.Kind.TRANSFER,
            actor=actor,
            details={"event": "withdrawn", "transfer": application.pk, "reason": reason},
        )
    return application


# --- Reading --------------------------------------------------------------------------------------


def _transfers() -> QuerySet[TransferApplication]:
    return TransferApplication.objects.select_related(
        "programme__institution", "account__holder"
    ).prefetch_related(
        Prefetch(
            "items",
            queryset=TransferItem.objects.select_related(
                "course", "outcome", "rule__entry", "decided_by", "preassessment"
            ).order_by("course__code", "id"),
        )
    )


def transfers_visible_to(*, user: User) -> QuerySet[TransferApplication]:
    """Learners see their own applications; institution officers their institution's; nobody
    else any."""
    if not user.is_authenticated or not user.is_active:
        return TransferApplication.objects.none()
    if user.role == Role.LEARNER:
        return _transfers().filter(account__holder=user)
    if (
        user_acts_for_institution(user, Role.INSTITUTION_OFFICER)
        and user.institution_id is not None
    ):
        return _transfers().filter(programme__institution_id=user.institution_id)
    return TransferApplication.objects.none()


def transfer_items_visible_to(*, user: User) -> QuerySet[TransferItem]:
    items = TransferItem.objects.select_related("application", "programme", "account")
    if user.role == Role.LEARNER:
        return items.filter(account__holder=user)
    if (
        user_acts_for_institution(user, Role.INSTITUTION_OFFICER)
        and user.institution_id is not None
    ):
        return items.filter(programme__institution_id=user.institution_id)
    return items.none()


def transfer_items_waiting_count(*, user: User) -> int:
    """How many courses of the officer's institution wait for a decision (pending, or with
    information asked for); one query."""
    return (
        transfer_items_visible_to(user=user)
        .filter(state__in=[TransferItemState.PENDING, TransferItemState.INFORMATION_REQUESTED])
        .count()
    )


def transfer_items_awaiting_settlement(*, user: User) -> QuerySet[TransferItem]:
    """The accepted courses of the officer's institution whose accreditation was revoked and
    that nobody has rescinded or kept yet: the officer's work, whatever the queue's filter."""
    return (
        transfer_items_visible_to(user=user)
        .filter(
            state=TransferItemState.ACCEPTED,
            basis_revoked_at__isnull=False,
            basis_kept_at__isnull=True,
        )
        .select_related("course")
        .order_by("basis_revoked_at", "id")
    )


def transfer_events_of(*, application: TransferApplication) -> QuerySet[TransferEvent]:
    return TransferEvent.objects.filter(item__application=application).select_related(
        "actor", "item__course"
    )


# The certificate's file token is the secret half of its download link; a transfer record's
# claim code is a secret of the same kind (shown to its holder on her certificates page).
EXPORT_HIDDEN = {"file_token", "claim_code"}


def transfers_export_parts(*, account: LearningAccount) -> ExportParts:
    """This layer's part of the learner's data export."""
    rows = partial(rows_of, hidden=EXPORT_HIDDEN)
    return {
        "goals": lambda: rows(LearningGoal.objects.filter(account=account), "programme__name"),
        "applications": lambda: rows(
            TransferApplication.objects.filter(account=account), "programme__name"
        ),
        "items": lambda: rows(TransferItem.objects.filter(account=account), "course__name"),
        "events": lambda: rows(TransferEvent.objects.filter(item__account=account)),
        "certificates": lambda: rows(Certificate.objects.filter(account=account)),
    }


def transfer_item_application_ids(item_id: Any) -> QuerySet[TransferItem, Any]:
    """A one-column subquery: the transfer application of the item ``item_id`` (an
    expression), for the ledger statement to link an entry to what caused it."""
    return TransferItem.objects.filter(pk=item_id).values("application_id")
