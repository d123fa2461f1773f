"""Accreditation applications: submit, assign, review, decide, withdraw.

Each service locks the application row (``select_for_update``) before it reads the state, so two
reviewers clicking at once cannot both decide, and moves it through
:func:`accreditation.workflow.application_move`. A decision, its ledger entry, the outcome's new
status, the business transaction and the learner's notice are written in one transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    BusinessTransaction,
    Centre,
    LearningAccount,
    Notification,
    Role,
    User,
    WebhookEventType,
)
from accounts.services import (
    account_lock,
    centres_list,
    free_text_kept,
    free_text_problem,
    ledger_append,
    ledger_reverse_cause,
    notify,
    notify_many,
    staff_application_review_record,
    staff_of_centre,
    transaction_record,
    webhook_event_record,
)
from common.prepared import PreparedQuery
from common.records import ExportParts, rows_of
from outcomes.models import LearningOutcome
from outcomes.review import outcome_evidence_supplement, outcome_review_status_set
from outcomes.services import MAX_HOURS as OUTCOME_MAX_HOURS
from outcomes.services import outcome_has_evidence, outcome_lock
from outcomes.storage import Upload

from . import calendar
from .catalogue import catalogue_match, catalogue_version_current
from .models import (
    OPEN_STATES,
    UNDECIDED_STATES,
    Application,
    ApplicationEvent,
    ApplicationState,
    CatalogueEntry,
    CatalogueEntryVersion,
    Decision,
    Recognition,
    Revocation,
)
from .workflow import application_move

Action = ApplicationEvent.Action
State = ApplicationState

# Roles that review at a centre; a centre admin reviews too (and assigns).
REVIEWER_ROLES = (Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN)
LEDGER_CAUSE = "accreditation_decision"
# The most hours one outcome may declare is the most a centre accredits for it: one number.
MAX_HOURS = OUTCOME_MAX_HOURS
MAX_CREDITS = Decimal("200")
# Centre-internal deliberation the learner does not see in the timeline.
INTERNAL_ACTIONS = frozenset({Action.PROPOSE_INDIVIDUAL, Action.RETURN_PROPOSAL})


def _learner_link(application: Application) -> str:
    return reverse("application-detail", args=[application.pk])


def _staff_link(application: Application) -> str:
    return reverse("centre-application", args=[application.pk])


def _learner(application: Application) -> User:
    """The holder of the application's (personal) account."""
    return cast(User, application.account.holder)


def _locked(application: Application) -> Application:
    """Lock the learner's account, then the application, and read the application afresh.
    The account first, as everywhere: closing an account holds it while it withdraws and
    erases the account's applications, so a move that held the application and then waited
    for the account (or for a row the closure writes) would deadlock with it. An application
    never changes account, so its ``account_id`` is read without a lock."""
    account_lock(application.account_id)
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("outcome", "account", "centre", "account__holder")
        .get(pk=application.pk)
    )


def _today() -> datetime.date:
    return calendar.local_date(timezone.now())


# --- Who may do what ----------------------------------------------------------------------------


def _require_learner(application: Application, actor: User) -> None:
    if application.account.holder_id != actor.pk:
        raise ValidationError({"application": _("This is not your application.")})


def _require_open_account(application: Application) -> None:
    """Nothing is decided for a closed account: closing it withdraws its applications, and one
    that slipped through is refused here."""
    if application.account.status == LearningAccount.Status.CLOSED:
        raise ValidationError(
            {
                "application": _(
                    "The learner's account has been closed: this application can no longer "
                    "be reviewed or decided."
                )
            }
        )


def _require_centre_staff(application: Application, actor: User) -> None:
    _require_open_account(application)
    if actor.role not in REVIEWER_ROLES or actor.centre_id != application.centre_id:
        raise ValidationError({"application": _("This application is for another centre.")})
    if application.account.holder_id == actor.pk:
        # A reviewer never reviews their own learning outcome.
        raise ValidationError(
            {"application": _("You cannot review an application for your own learning outcome.")}
        )


def _require_assigned(application: Application, actor: User) -> None:
    _require_centre_staff(application, actor)
    if application.assigned_to_id != actor.pk:
        raise ValidationError(
            {"application": _("Only the reviewer the application is assigned to can do this.")}
        )


def _reason(reason: str, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({field: _("Give a reason.")})
    if len(reason) > 2000:
        raise ValidationError({field: _("Keep the reason under 2,000 characters.")})
    if problem := free_text_problem(reason, multiline=True):
        raise ValidationError({field: problem})
    return reason


# --- Submitting ---------------------------------------------------------------------------------


def submission_centres() -> QuerySet[Centre]:
    """The centres a learner may submit to: active accreditation branch centres."""
    return centres_list(branch=True, active=True).order_by("code")


def application_submit(
    *,
    outcome: LearningOutcome,
    centre: Centre,
    actor: User,
    claimed_entry: CatalogueEntry | None = None,
    statement: str = "",
) -> Application:
    """Submit a saved outcome for accreditation at a centre; the 15-working-day clock starts."""
    if not submission_centres().filter(pk=centre.pk).exists():
        raise ValidationError({"centre": _("Choose an accreditation centre.")})
    if len(statement) > 2000:
        raise ValidationError({"statement": _("Keep the statement under 2,000 characters.")})
    if problem := free_text_problem(statement, multiline=True):
        raise ValidationError({"statement": problem})
    with transaction.atomic():
        locked = outcome_lock(outcome_id=outcome.pk)
        if locked.account.holder_id != actor.pk:
            raise ValidationError({"outcome": _("This is not your learning outcome.")})
        if locked.status != LearningOutcome.Status.SAVED:
            raise ValidationError(
                {"outcome": _("Only a saved outcome can be submitted for accreditation.")}
            )
        if not outcome_has_evidence(outcome=locked):
            raise ValidationError({"outcome": _("Add at least one evidence file first.")})
        if claimed_entry is not None:
            claimed = catalogue_version_current(entry=claimed_entry)
            if claimed is None:
                raise ValidationError(
                    {"claimed_entry": _("That catalogue entry is not in effect.")}
                )
            if claimed.kind != locked.kind:
                raise ValidationError(
                    {
                        "claimed_entry": _(
                            "That catalogue entry is for another kind of learning outcome."
                        )
                    }
                )
        now = timezone.now()
        deadline = calendar.deadline_for_submission(now)
        application = Application.objects.create(
            outcome=locked,
            account=locked.account,
            centre=centre,
            kind=locked.kind,
            claimed_entry=claimed_entry,
            statement=statement.strip(),
            submitted_at=now,
            clock_started_on=calendar.local_date(now),
            clock_days=settings.ACCREDITATION_WORKING_DAYS,
            due_on=deadline.due_on,
            remind_on=deadline.remind_on,
            due_is_provisional=deadline.provisional,
        )
        ApplicationEvent.objects.create(
            application=application,
            action=Action.SUBMIT,
            from_state=State.SUBMITTED,
            to_state=State.SUBMITTED,
            actor=actor,
            details={"centre": centre.code, "due_on": deadline.due_on.isoformat()},
        )
        outcome_review_status_set(outcome=locked, status=LearningOutcome.Status.SUBMITTED)
        transaction_record(
            account=locked.account,
            kind=BusinessTransaction.Kind.APPLICATION_SUBMITTED,
            actor=actor,
            details={
                "application": application.pk,
                "outcome": locked.pk,
                "title": locked.title,
                "centre": centre.name,
                "due_on": deadline.due_on.isoformat(),
            },
        )
        notify(
            recipient=actor,
            kind=Notification.Kind.APPLICATION_SUBMITTED,
            params={
                "outcome": locked.title,
                "centre": centre.name,
                "due_on": deadline.due_on.isoformat(),
                "application": application.pk,
            },
            link=_learner_link(application),
            key=f"application:{application.pk}:submitted",
        )
    outcome.status = LearningOutcome.Status.SUBMITTED
    return application


# --- The centre's side --------------------------------------------------------------------------


def reviewers_of(*, centre: Centre) -> QuerySet[User]:
    return staff_of_centre(centre=centre, roles=REVIEWER_ROLES)


@transaction.atomic
def application_assign(*, application: Application, reviewer: User, actor: User) -> Application:
    """The centre admin gives the application to a reviewer of the centre."""
    application = _locked(application)
    if actor.role != Role.CENTRE_ADMIN or actor.centre_id != application.centre_id:
        raise ValidationError({"application": _("Only the centre's administrator assigns.")})
    _require_open_account(application)
    if not reviewers_of(centre=application.centre).filter(pk=reviewer.pk).exists():
        raise ValidationError({"reviewer": _("Choose a reviewer of this centre.")})
    if application.account.holder_id == reviewer.pk:
        raise ValidationError(
            {"reviewer": _("A reviewer cannot review their own learning outcome.")}
        )
    event = application_move(
        application,
        action=Action.ASSIGN,
        actor=actor,
        details={"reviewer": reviewer.pk, "name": reviewer.name or reviewer.username},
    )
    application.assigned_to = reviewer
    application.save(update_fields=["state", "assigned_to", "updated_at"])
    if reviewer.pk != actor.pk:
        notify(
            recipient=reviewer,
            kind=Notification.Kind.APPLICATION_ASSIGNED,
            params={
                "outcome": application.outcome.title,
                "application": application.pk,
                "due_on": application.due_on.isoformat() if application.due_on else "",
            },
            link=_staff_link(application),
            key=f"application:{application.pk}:assigned:{event.pk}",
        )
    return application


@transaction.atomic
def review_start(*, application: Application, actor: User) -> Application:
    """A reviewer takes up a submitted application: it becomes theirs if nobody had it."""
    application = _locked(application)
    _require_centre_staff(application, actor)
    if application.assigned_to_id not in (None, actor.pk):
        raise ValidationError(
            {"application": _("This application is assigned to another reviewer.")}
        )
    application_move(application, action=Action.START_REVIEW, actor=actor)
    application.assigned_to = actor
    application.save(update_fields=["state", "assigned_to", "updated_at"])
    return application


@transaction.atomic
def supplement_request(*, application: Application, actor: User, reason: str) -> Application:
    """Ask the learner for more material. The clock stops with the working days it has left."""
    application = _locked(application)
    _require_assigned(application, actor)
    reason = _reason(reason)
    if application.due_on is None:
        # Its clock is stopped, so it is not in review (a check constraint says so): the
        # table refuses the move, with its message, before any working days are counted.
        application_move(application, action=Action.REQUEST_SUPPLEMENT, actor=actor)
    # An application in review has a running clock (a check constraint says so).
    due_on = cast(datetime.date, application.due_on)
    # Negative when already overdue: the application resumes exactly as late as it was.
    left = calendar.working_days_left(due_on, _today())
    event = application_move(
        application,
        action=Action.REQUEST_SUPPLEMENT,
        actor=actor,
        reason=reason,
        details={"working_days_left": left},
    )
    application.working_days_left = left
    application.due_on = application.remind_on = None
    application.clock_started_on = application.clock_days = None
    application.clear_proposal()
    application.save()
    transaction_record(
        account=application.account,
        kind=BusinessTransaction.Kind.SUPPLEMENT_REQUESTED,
        actor=actor,
        details={"application": application.pk, "reason": reason},
    )
    notify(
        recipient=_learner(application),
        kind=Notification.Kind.SUPPLEMENT_REQUESTED,
        params={
            "outcome": application.outcome.title,
            "reason": reason,
            "application": application.pk,
        },
        link=_learner_link(application),
        key=f"application:{application.pk}:supplement:{event.pk}",
    )
    return application


def application_resubmit(
    *, application: Application, actor: User, uploads: Sequence[Upload], note: str = ""
) -> Application:
    """The learner adds the material asked for; the clock resumes with the days it had left."""
    if len(note) > 2000:
        raise ValidationError({"note": _("Keep the note under 2,000 characters.")})
    if problem := free_text_problem(note, multiline=True):
        raise ValidationError({"note": problem})
    with transaction.atomic():
        application = _locked(application)
        _require_learner(application, actor)
        if application.state != State.SUPPLEMENT_REQUESTED:
            message = _("No supplementary material has been asked for.")
            raise ValidationError({"state": ValidationError(message, code="illegal_move")})
        added = outcome_evidence_supplement(
            outcome=application.outcome, actor=actor, uploads=uploads
        )
        now = timezone.now()
        start = calendar.local_date(now)
        days = application.working_days_left or 0
        deadline = calendar.deadline_from(start, days)
        event = application_move(
            application,
            action=Action.RESUBMIT,
            actor=actor,
            reason=note.strip(),
            details={"files": added, "due_on": deadline.due_on.isoformat()},
        )
        application.clock_started_on, application.clock_days = start, days
        application.due_on, application.remind_on = deadline.due_on, deadline.remind_on
        application.due_is_provisional = deadline.provisional
        application.working_days_left = None
        # A new due date: the reviewer is reminded and the centre admin alerted again for it.
        application.reminded_at = application.escalated_at = None
        application.save()
        transaction_record(
            account=application.account,
            kind=BusinessTransaction.Kind.SUPPLEMENT_PROVIDED,
            actor=actor,
            details={"application": application.pk, "files": added},
        )
        if application.assigned_to_id:
            notify(
                recipient=application.assigned_to,  # type: ignore[arg-type]
                kind=Notification.Kind.APPLICATION_ASSIGNED,
                params={
                    "outcome": application.outcome.title,
                    "application": application.pk,
                    "due_on": deadline.due_on.isoformat(),
                },
                link=_staff_link(application),
                key=f"application:{application.pk}:resubmitted:{event.pk}",
            )
    return application


# --- Decisions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Amounts:
    hours: Decimal
    credits: Decimal


def _amounts(hours: Any, credits: Any) -> Amounts:
    errors: dict[str, Any] = {}
    try:
        h = Decimal(str(hours))
        if not h.is_finite() or h <= 0 or h > MAX_HOURS or h != h.quantize(Decimal("0.1")):
            raise ValueError
    except (ValueError, ArithmeticError):
        errors["hours"] = _("Give the learning hours: more than 0, at most 10,000, one decimal.")
        h = Decimal(0)
    try:
        c = Decimal(str(credits))
        if not c.is_finite() or c < 0 or c > MAX_CREDITS or c != c.quantize(Decimal("0.1")):
            raise ValueError
    except (ValueError, ArithmeticError):
        errors["credits"] = _("Give the credits: from 0 to 200, one decimal.")
        c = Decimal(0)
    if errors:
        raise ValidationError(errors)
    return Amounts(h, c)


def _decide(
    application: Application,
    *,
    actor: User,
    result: str,
    basis: str = "",
    amounts: Amounts | None = None,
    reason: str = "",
    catalogue_version: Any = None,
    decided_by: User | None = None,
    approved_by: User | None = None,
    provenance: dict[str, Any] | None = None,
) -> Decision:
    """Write the decision and everything that follows from it, in the caller's transaction.
    ``provenance``: a decision by recognition's agreement version and origin fields."""
    now = timezone.now()
    today = calendar.local_date(now)
    accredited = result == Decision.Result.ACCREDITED
    decision = Decision.objects.create(
        application=application,
        result=result,
        basis=basis,
        catalogue_version=catalogue_version,
        hours=amounts.hours if amounts else 0,
        credits=amounts.credits if amounts else 0,
        reason=reason,
        decided_by=decided_by or actor,
        approved_by=approved_by,
        decided_at=now,
        on_time=application.due_on is not None and today <= application.due_on,
        **(provenance or {}),
    )
    application.decided_at = now
    application.clear_proposal()
    application.save()
    if accredited and amounts:
        ledger_append(
            account=application.account,
            hours=amounts.hours,
            credits=amounts.credits,
            cause_type=LEDGER_CAUSE,
            cause_id=decision.pk,
        )
    outcome_review_status_set(
        outcome=application.outcome,
        status=LearningOutcome.Status.ACCREDITED
        if accredited
        else LearningOutcome.Status.NOT_ACCREDITED,
    )
    details: dict[str, Any] = {
        "application": application.pk,
        "outcome": application.outcome_id,
        "title": application.outcome.title,
        "result": result,
        "decision": decision.pk,
    }
    if accredited and amounts:
        details |= {"hours": str(amounts.hours), "credits": str(amounts.credits), "basis": basis}
        if catalogue_version is not None:
            details |= {
                "catalogue_code": catalogue_version.entry.code,
                "catalogue_version": catalogue_version.version,
            }
        if decision.is_recognition:
            details |= {
                "origin_bank": decision.origin_bank.name if decision.origin_bank else "",
                "origin_decision": decision.origin_decision_id,
                "agreement_version": decision.agreement_version_id or "",
            }
    else:
        details["reason"] = reason
    transaction_record(
        account=application.account,
        kind=BusinessTransaction.Kind.APPLICATION_DECIDED,
        actor=actor,
        details=details,
    )
    params: dict[str, Any] = {"outcome": application.outcome.title, "application": application.pk}
    if accredited and amounts:
        params |= {"hours": str(amounts.hours), "credits": str(amounts.credits)}
    else:
        params["reason"] = reason
    notify(
        recipient=_learner(application),
        kind=Notification.Kind.APPLICATION_ACCREDITED
        if accredited
        else Notification.Kind.APPLICATION_REJECTED,
        params=params,
        link=_learner_link(application),
        key=f"application:{application.pk}:decided",
    )
    return decision


@transaction.atomic
def accredit_against_catalogue(
    *, application: Application, actor: User, entry: CatalogueEntry, reason: str = ""
) -> Decision:
    """Accredit with the hours and credits of the catalogue entry's version in effect today;
    the decision keeps that version, so a later change of the entry does not rewrite it."""
    application = _locked(application)
    _require_assigned(application, actor)
    version = catalogue_version_current(entry=entry)
    if version is None:
        raise ValidationError({"entry": _("That catalogue entry is not in effect.")})
    if version.kind != application.kind:
        raise ValidationError(
            {"entry": _("That catalogue entry is for another kind of learning outcome.")}
        )
    application_move(
        application,
        action=Action.ACCREDIT,
        actor=actor,
        reason=reason.strip(),
        details={"catalogue_code": entry.code, "catalogue_version": version.version},
    )
    return _decide(
        application,
        actor=actor,
        result=Decision.Result.ACCREDITED,
        basis=Decision.Basis.CATALOGUE,
        amounts=Amounts(version.hours, version.credits),
        reason=reason.strip(),
        catalogue_version=version,
    )


@transaction.atomic
def individual_propose(
    *, application: Application, actor: User, hours: Any, credits: Any, reason: str
) -> Application:
    """Propose to accredit an outcome the catalogue does not list, with hours and credits the
    reviewer gives; a second reviewer of the centre must approve it."""
    application = _locked(application)
    _require_assigned(application, actor)
    amounts = _amounts(hours, credits)
    reason = _reason(reason)
    if application.has_proposal:
        raise ValidationError({"application": _("A proposal is already waiting for approval.")})
    event = application_move(
        application,
        action=Action.PROPOSE_INDIVIDUAL,
        actor=actor,
        reason=reason,
        details={"hours": str(amounts.hours), "credits": str(amounts.credits)},
    )
    application.proposed_hours, application.proposed_credits = amounts.hours, amounts.credits
    application.proposed_by, application.proposal_reason = actor, reason
    application.save()
    others = reviewers_of(centre=application.centre).exclude(
        pk__in=[actor.pk, application.account.holder_id or 0]
    )
    notify_many(
        recipients=list(others),
        kind=Notification.Kind.APPROVAL_REQUESTED,
        params={
            "outcome": application.outcome.title,
            "application": application.pk,
            "hours": str(amounts.hours),
            "credits": str(amounts.credits),
            "proposed_by": actor.name or actor.username,
        },
        link=_staff_link(application),
        key=f"application:{application.pk}:proposal:{event.pk}",
    )
    return application


@transaction.atomic
def individual_approve(*, application: Application, actor: User) -> Decision:
    """A second reviewer of the centre approves the proposal: the outcome is accredited."""
    application = _locked(application)
    _require_centre_staff(application, actor)
    if not application.has_proposal:
        raise ValidationError({"application": _("There is no proposal to approve.")})
    if application.proposed_by_id == actor.pk:
        raise ValidationError(
            {"application": _("A second reviewer must approve your own proposal.")}
        )
    proposer = application.proposed_by
    amounts = Amounts(application.proposed_hours, application.proposed_credits)  # type: ignore[arg-type]
    reason = application.proposal_reason
    application_move(
        application,
        action=Action.APPROVE_INDIVIDUAL,
        actor=actor,
        details={"hours": str(amounts.hours), "credits": str(amounts.credits)},
    )
    return _decide(
        application,
        actor=actor,
        result=Decision.Result.ACCREDITED,
        basis=Decision.Basis.INDIVIDUAL,
        amounts=amounts,
        reason=reason,
        decided_by=proposer,
        approved_by=actor,
    )


@transaction.atomic
def individual_return(*, application: Application, actor: User, reason: str) -> Application:
    """The second reviewer does not approve; the proposal is cleared and review goes on."""
    application = _locked(application)
    _require_centre_staff(application, actor)
    if not application.has_proposal:
        raise ValidationError({"application": _("There is no proposal to return.")})
    if application.proposed_by_id == actor.pk:
        raise ValidationError({"application": _("Another reviewer decides on your proposal.")})
    reason = _reason(reason)
    application_move(application, action=Action.RETURN_PROPOSAL, actor=actor, reason=reason)
    application.clear_proposal()
    application.save()
    return application


@transaction.atomic
def application_reject(*, application: Application, actor: User, reason: str) -> Decision:
    application = _locked(application)
    _require_assigned(application, actor)
    reason = _reason(reason)
    application_move(application, action=Action.REJECT, actor=actor, reason=reason)
    return _decide(application, actor=actor, result=Decision.Result.REJECTED, reason=reason)


@transaction.atomic
def application_withdraw(*, application: Application, actor: User, reason: str = "") -> Application:
    """The learner takes the application back; the outcome is saved again and can be changed."""
    if problem := free_text_problem(reason, multiline=True):
        raise ValidationError({"reason": problem})
    application = _locked(application)
    _require_learner(application, actor)
    application_move(application, action=Action.WITHDRAW, actor=actor, reason=reason.strip())
    application.due_on = application.remind_on = None
    application.clear_proposal()
    application.save()
    outcome_review_status_set(outcome=application.outcome, status=LearningOutcome.Status.SAVED)
    transaction_record(
        account=application.account,
        kind=BusinessTransaction.Kind.APPLICATION_WITHDRAWN,
        actor=actor,
        details={"application": application.pk, "title": application.outcome.title},
    )
    return application


# A revocation listener reacts, in the revocation's transaction, to an accreditation revoked: the
# layers above register theirs (transfers withdraws or flags the transfers resting on the outcome)
# with ``revocation_listener_register`` in their ``AppConfig.ready()``, so this layer never imports
# them. The listener is called after the revocation is written, the ledger reversed and the
# outcome marked not accredited, with the application's row and the learner's account locked.
RevocationListener = Callable[[Revocation], None]

revocation_listeners: list[RevocationListener] = []


def revocation_listener_register(listener: RevocationListener) -> RevocationListener:
    """Add ``listener`` to what runs when an accreditation is revoked; registering twice keeps
    one."""
    if listener not in revocation_listeners:
        revocation_listeners.append(listener)
    return listener


@transaction.atomic
def accreditation_revoke(
    *, decision: Decision, actor: User, reason_code: str, reason: str
) -> Revocation:
    """Withdraw an accreditation after the fact. The decision stays as it was; a revocation
    says it no longer holds, the hours and credits it booked are reversed in the ledger, the
    outcome is no longer accredited, and certificates that relied on it verify as revoked.
    Only the centre's administrator or the management admin revokes."""
    # The learner's account first (``_locked`` takes it before the application), before
    # anything is written: every booking on the account (a transfer's acceptance, a closure
    # among them) takes this lock first, so a revocation and an officer's acceptance of a
    # transfer resting on this outcome run one after the other, and whichever comes second
    # sees what the first did; and a closure, which holds the account while it erases the
    # account's applications, never waits on an application this revocation holds.
    application = _locked(decision.application)
    if not (
        actor.role == Role.MANAGEMENT_ADMIN
        or (actor.role == Role.CENTRE_ADMIN and actor.centre_id == application.centre_id)
    ):
        raise ValidationError(
            {"decision": _("Only the centre's administrator or the management centre revokes.")}
        )
    return _revoke(
        application, decision=decision, actor=actor, reason_code=reason_code, reason=reason
    )


@transaction.atomic
def accreditation_revoke_by_origin(*, decision: Decision, reason: str) -> Revocation:
    """Revoke a decision by recognition because the bank that made the original decision
    revoked it (its status list says so): no one here decides, so no role is checked; the
    revocation is recorded in the name of the manager who entered the agreement (the decision's
    ``decided_by``), with the reason code "cancelled by the issuing body"."""
    application = _locked(decision.application)
    decision = Decision.objects.select_related("decided_by").get(pk=decision.pk)
    return _revoke(
        application,
        decision=decision,
        actor=decision.decided_by,
        reason_code=Revocation.ReasonCode.CERTIFICATE_CANCELLED,
        reason=reason,
    )


def _revoke(
    application: Application, *, decision: Decision, actor: User, reason_code: str, reason: str
) -> Revocation:
    """Write a revocation and what follows from it; the caller has locked the account and the
    application and decided that ``actor`` may."""
    # Read after the account's lock: its status (closed or not) is the one this revocation sees.
    account = application.account
    # A closed account's revocation still happens (its certificates must verify as revoked),
    # but its free text would outlive the closure's erasers: the marker instead.
    reason = free_text_kept(account=account, text=_reason(reason))
    if reason_code not in Revocation.ReasonCode.values:
        raise ValidationError({"reason_code": _("Choose a reason code.")})
    decision = Decision.objects.select_related("application").get(pk=decision.pk)
    if decision.result != Decision.Result.ACCREDITED:
        raise ValidationError({"decision": _("Only an accreditation can be revoked.")})
    if Revocation.objects.filter(decision=decision).exists():
        raise ValidationError({"decision": _("This accreditation has already been revoked.")})
    revocation = Revocation.objects.create(
        decision=decision, reason_code=reason_code, reason=reason, revoked_by=actor
    )
    ledger_reverse_cause(
        account=application.account,
        cause_type=LEDGER_CAUSE,
        cause_id=decision.pk,
        actor=actor,
        reason=reason,
    )
    outcome_review_status_set(
        outcome=application.outcome, status=LearningOutcome.Status.NOT_ACCREDITED
    )
    for listener in revocation_listeners:
        listener(revocation)
    transaction_record(
        account=application.account,
        kind=BusinessTransaction.Kind.ACCREDITATION_REVOKED,
        actor=actor,
        details={
            "application": application.pk,
            "decision": decision.pk,
            "title": application.outcome.title,
            "reason_code": reason_code,
            "reason": reason,
        },
    )
    notify(
        recipient=_learner(application),
        kind=Notification.Kind.ACCREDITATION_REVOKED,
        params={
            "outcome": application.outcome.title,
            "application": application.pk,
            "reason": reason,
            "hours": str(decision.hours),
            "credits": str(decision.credits),
        },
        link=_learner_link(application),
        key=f"application:{application.pk}:revoked",
    )
    # The institution that reported the outcome (a batch) is told; the institutions of
    # transfers resting on it are told by transfers' revocation listener.
    batch = application.outcome.batch
    webhook_event_record(
        institution_id=batch.collective.institution_id if batch else None,
        event_type=WebhookEventType.CERTIFICATE_REVOKED,
        data=revocation_event_data(revocation, batch=batch.pk if batch else None),
    )
    return revocation


def revocation_event_data(revocation: Revocation, **more: object) -> dict[str, object]:
    """What a webhook says of a revocation: no learner, no free-text reason."""
    return {
        "outcome": revocation.decision.application.outcome_id,
        "reason_code": revocation.reason_code,
        "revoked_at": revocation.revoked_at.isoformat(),
        **more,
    }


# --- Reading ------------------------------------------------------------------------------------


def applications_of(*, account: LearningAccount) -> QuerySet[Application]:
    return (
        Application.objects.filter(account=account)
        .select_related(
            "outcome",
            "centre",
            "decision",
            # A decision by recognition shows where it comes from.
            "decision__origin_bank",
            "decision__agreement_version__agreement",
        )
        .order_by("-submitted_at", "-id")
    )


def applications_list_of(*, account: LearningAccount) -> list[Application]:
    """``applications_of`` as a list, by a statement built once per process: the dashboard
    and the file page read it on every view, and its six joins cost the ORM more Python to
    build than PostgreSQL spends answering them."""
    return _APPLICATIONS.list(account=account.pk)


_APPLICATIONS: PreparedQuery[Application] = PreparedQuery(
    lambda account: applications_of(account=LearningAccount(pk=account)),
    account=2_000_000_001,
)


QUEUE_ORDERINGS = {
    "due_on": ("due_on", "id"),
    "-due_on": ("-due_on", "-id"),
    "submitted_at": ("submitted_at", "id"),
    "-submitted_at": ("-submitted_at", "-id"),
}


def application_queue(
    *,
    user: User,
    state: str = "",
    kind: str = "",
    reviewer: str = "",
    centre: Centre | None = None,
    ordering: str = "due_on",
) -> QuerySet[Application]:
    """The applications a member of staff sees: their centre's (all centres for the management
    admin). By default the ones still owing a decision; ``state`` picks another.
    ``reviewer`` is a user id, ``"me"`` or ``"none"`` (unassigned)."""
    qs = Application.objects.select_related("outcome", "centre", "assigned_to", "account")
    if user.role == Role.MANAGEMENT_ADMIN:
        if centre is not None:
            qs = qs.filter(centre=centre)
    elif user.role in REVIEWER_ROLES and user.centre_id:
        qs = qs.filter(centre_id=user.centre_id)
    else:
        return qs.none()
    open_states = [s.value for s in OPEN_STATES]
    qs = qs.filter(state=state) if state else qs.filter(state__in=open_states)
    if kind:
        qs = qs.filter(kind=kind)
    if reviewer == "me":
        qs = qs.filter(assigned_to=user)
    elif reviewer == "none":
        qs = qs.filter(assigned_to__isnull=True)
    elif reviewer.isascii() and reviewer.isdigit():
        qs = qs.filter(assigned_to_id=int(reviewer))
    return qs.order_by(*QUEUE_ORDERINGS.get(ordering, QUEUE_ORDERINGS["due_on"]))


def application_visible_to(*, user: User) -> QuerySet[Application]:
    """Every application the user may open: a learner's own, a centre's for its staff, all
    for the management admin."""
    qs = Application.objects.select_related(
        "outcome", "centre", "assigned_to", "account", "account__holder", "proposed_by"
    )
    if user.role == Role.LEARNER:
        return qs.filter(account__holder=user)
    if user.role == Role.MANAGEMENT_ADMIN:
        return qs
    if user.role in REVIEWER_ROLES and user.centre_id:
        return qs.filter(centre_id=user.centre_id)
    return qs.none()


def undecided_application_of(*, outcome: LearningOutcome) -> Application | None:
    return Application.objects.filter(
        outcome=outcome, state__in=[s.value for s in UNDECIDED_STATES]
    ).first()


def application_opened_by_staff(*, application: Application, staff: User) -> None:
    """Reviewing an application is looking into the learner's file: it is recorded, with the
    application as the reason, once per visit, and the learner sees it."""
    staff_application_review_record(
        staff=staff, account=application.account, application_id=application.pk
    )


def outcome_estimate(*, outcome: LearningOutcome) -> dict[str, Any]:
    """What the outcome would earn if accredited against the catalogue entry it matches."""
    version = catalogue_match(
        kind=outcome.kind,
        title=outcome.title,
        issuing_body=outcome.issuing_body,
        certificate_number=outcome.certificate_number,
    )
    if version is None:
        return {"matched": False}
    return {
        "matched": True,
        "entry": {"code": version.entry.code, "name": version.display_name},
        "version": version.version,
        "hours": str(version.hours),
        "credits": str(version.credits),
    }


def days_left_set(
    applications: Iterable[Application], *, today: datetime.date | None = None
) -> list[Application]:
    """Give each application ``days_left`` (working days until the decision is due, negative
    when overdue; while the clock is stopped, the days it resumes with) and ``overdue``.

    The calendar is read once for the whole list, however many due dates it holds."""
    applications = list(applications)
    today = today or calendar.local_date(timezone.now())
    dues = [a.due_on for a in applications if a.due_on is not None]
    official = calendar.WorkingCalendar(min(*dues, today), max(*dues, today)) if dues else None
    for application in applications:
        due_on = application.due_on
        if due_on is None or official is None:
            left = application.working_days_left
        elif today <= due_on:
            left = official.between(today, due_on)
        else:
            left = -official.between(due_on, today)
        application.days_left = left  # type: ignore[attr-defined]
        # Overdue from the day after the due date, even over a weekend (0 days left then).
        application.overdue = due_on is not None and today > due_on  # type: ignore[attr-defined]
        application.days_overdue = -left if left is not None and left < 0 else 0  # type: ignore[attr-defined]
    return applications


# --- What the apps above ask of accreditation, instead of querying its models -------------------


def catalogue_versions_accredited(
    *, outcome_ids: Iterable[int]
) -> dict[int, CatalogueEntryVersion]:
    """Outcome id -> the catalogue version its accreditation decision used, for outcomes
    accredited against the catalogue (one query). Individually accredited outcomes have no
    catalogue entry and are left out: no rule can convert them."""
    found: dict[int, CatalogueEntryVersion] = {}
    decisions = (
        Decision.objects.filter(
            application__outcome_id__in=list(outcome_ids),
            application__outcome__status=LearningOutcome.Status.ACCREDITED,
            result=Decision.Result.ACCREDITED,
            # A decision by recognition names our entry (the agreement's) as well.
            basis__in=[Decision.Basis.CATALOGUE, Decision.Basis.RECOGNITION],
            catalogue_version__isnull=False,
            revocation__isnull=True,
        )
        .select_related("catalogue_version__entry", "application")
        .order_by("decided_at", "id")
    )
    for decision in decisions:
        # The latest decision wins (ordered oldest first).
        found[decision.application.outcome_id] = decision.catalogue_version  # type: ignore[assignment]
    return found


def accreditation_holds(*, outcome_id: int) -> bool:
    """Whether the outcome is accredited by a decision that has not been revoked (one query):
    the basis a transfer of the outcome rests on."""
    return Decision.objects.filter(
        application__outcome_id=outcome_id,
        application__outcome__status=LearningOutcome.Status.ACCREDITED,
        result=Decision.Result.ACCREDITED,
        revocation__isnull=True,
    ).exists()


def accreditation_export_parts(*, account: LearningAccount) -> ExportParts:
    """This layer's part of the learner's data export."""
    return {
        "applications": lambda: rows_of(Application.objects.filter(account=account)),
        "application_events": lambda: rows_of(
            ApplicationEvent.objects.filter(application__account=account)
        ),
        "decisions": lambda: rows_of(Decision.objects.filter(application__account=account)),
        "revocations": lambda: rows_of(
            Revocation.objects.filter(decision__application__account=account)
        ),
        "recognitions": lambda: rows_of(Recognition.objects.filter(account=account)),
    }


def accreditations_holding_of(*, account: LearningAccount) -> QuerySet[Decision]:
    """The account's accreditations that still hold (not revoked), oldest first, with the
    outcome, centre and catalogue entry a certificate names."""
    return (
        Decision.objects.filter(
            application__account=account,
            result=Decision.Result.ACCREDITED,
            revocation__isnull=True,
        )
        .select_related(
            "application__outcome",
            "application__centre",
            "catalogue_version__entry",
        )
        .order_by("decided_at", "id")
    )


def catalogue_entry_has_version(*, entry: CatalogueEntry) -> bool:
    return CatalogueEntry.objects.filter(pk=entry.pk, versions__isnull=False).exists()


def catalogue_entries_with_versions(*, codes: Iterable[str]) -> dict[str, CatalogueEntry]:
    """Code -> entry, for those of ``codes`` that name an entry with a version (one query)."""
    return {
        e.code: e
        for e in CatalogueEntry.objects.filter(
            code__in=set(codes), versions__isnull=False
        ).distinct()
    }


def decision_application_ids(decision_id: Any) -> QuerySet[Decision, Any]:
    """A one-column subquery: the application of the decision ``decision_id`` (an expression),
    for the ledger statement to link an entry to what caused it."""
    return Decision.objects.filter(pk=decision_id).values("application_id")


def decision_newest_id() -> int:
    """The id of the newest decision (0 when there is none): how far the decisions' status
    lists reach."""
    return Decision.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def decisions_revoked_in(*, low: int, high: int) -> set[int]:
    """The ids in ``[low, high)`` of decisions that have been revoked: the set bits of a
    decisions' status list (ADR 0022)."""
    return set(
        Decision.objects.filter(pk__gte=low, pk__lt=high, revocation__isnull=False).values_list(
            "pk", flat=True
        )
    )


# Mutual recognition (accreditation.recognition): other apps call these from here.
from .recognition.agreements import (  # noqa: E402
    agreement_end,
    agreement_publish_from,
    agreement_versions,
    agreements_current,
    agreements_export,
    agreements_import,
    recognition_agreement_for,
)
from .recognition.booking import (  # noqa: E402
    RecognisedEntry,
    RecognitionResult,
    recognised_decisions_to_check,
    recognition_book,
    recognition_field_limits,
    recognition_provenance_of,
    recognition_reverse,
)
from .recognition.trust import (  # noqa: E402
    trusted_bank_add,
    trusted_bank_for_issuer,
    trusted_bank_history,
    trusted_bank_keys,
    trusted_bank_keys_set,
    trusted_bank_remove,
    trusted_banks_list,
)

__all__ = [
    "RecognisedEntry",
    "RecognitionResult",
    "agreement_end",
    "agreement_publish_from",
    "agreement_versions",
    "agreements_current",
    "agreements_export",
    "agreements_import",
    "recognised_decisions_to_check",
    "recognition_agreement_for",
    "recognition_book",
    "recognition_field_limits",
    "recognition_provenance_of",
    "recognition_reverse",
    "trusted_bank_add",
    "trusted_bank_for_issuer",
    "trusted_bank_history",
    "trusted_bank_keys",
    "trusted_bank_keys_set",
    "trusted_bank_remove",
    "trusted_banks_list",
]
