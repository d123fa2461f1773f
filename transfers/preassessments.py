"""Binding pre-assessments (ADR 0028): a learner asks an institution "if I obtain this, will it
count for that course?", the institution answers within its working days, and a yes binds it.

- :func:`preassessment_ask`: the due date is the asking day plus the institution's working
  days (``PreAssessmentPolicy``, default 10) on the portal's calendar, stored with its reminder
  date; the institution's officers are told.
- :func:`preassessment_answer`: yes (until a date, under the conversion rule version in force
  now, with its credits) or no (with a reason); a late answer is still an answer.
- :func:`preassessment_sweep`: the periodic task reminds the officers from ``remind_on``,
  escalates to the institution's administrators after ``due_on``, and expires a yes whose
  validity has ended; each notice once (a conditional claim, as the accreditation sweep does),
  and the learners' accounts locked first (ADR 0012).
- :func:`preassessment_bindings`: what ``transfer_apply`` and the learning path honour.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    BusinessTransaction,
    Institution,
    LearningAccount,
    Notification,
    Role,
    User,
)
from accounts.services import (
    Notice,
    account_lock,
    accounts_lock,
    free_text_problem,
    notify,
    notify_batch,
    notify_many,
    transaction_record,
    user_acts_for_institution,
    users_active,
)
from accreditation.calendar import deadline_from, local_date
from accreditation.catalogue import beijing_today, catalogue_matches
from accreditation.models import CatalogueEntryVersion
from accreditation.services import catalogue_versions_accredited
from outcomes.models import LearningOutcome

from .models import (
    COUNTING_STATES,
    PREASSESSMENT_WORKING_DAYS,
    Course,
    PreAssessment,
    PreAssessmentEvent,
    PreAssessmentPolicy,
    PreAssessmentState,
    TransferItem,
)
from .rules import conversion_rules_current
from .workflow import PREASSESSMENT

logger = logging.getLogger(__name__)

Action = PreAssessmentEvent.Action
State = PreAssessmentState

MAX_QUESTION = 2000
# The longest a yes may bind for: three years, the span of a part-time degree programme.
MAX_VALIDITY = datetime.timedelta(days=3 * 366)
BATCH_SIZE = 500
ANSWERS = {"yes": Action.ANSWER_YES, "no": Action.ANSWER_NO}
BOTH_CHOSEN = _("Choose either a catalogue entry or one of your learning outcomes, not both.")


def version_label(version: CatalogueEntryVersion) -> str:
    """A catalogue version as a learner reads it: "CQ-WK-001 第1版 幼儿园环境创设" (the model's
    ``__str__`` keeps its Latin "v1" for logs and the admin)."""
    return _("%(code)s version %(n)s %(name)s") % {
        "code": version.entry.code,
        "n": version.version,
        "name": version.display_name,
    }


# --- Terms ------------------------------------------------------------------------------------


def preassessment_working_days(institution_id: int) -> int:
    """The working days ``institution_id`` has to answer (its terms, or the default)."""
    days = (
        PreAssessmentPolicy.objects.filter(institution_id=institution_id)
        .values_list("working_days", flat=True)
        .first()
    )
    return days or PREASSESSMENT_WORKING_DAYS


def preassessment_policy_set(*, institution: Institution, working_days: int) -> PreAssessmentPolicy:
    """Set how many working days (1 to 60) the institution gives itself; questions already
    asked keep their due dates."""
    if not 1 <= working_days <= 60:
        raise ValidationError({"working_days": _("Between 1 and 60 working days.")})
    policy, _created = PreAssessmentPolicy.objects.update_or_create(
        institution=institution, defaults={"working_days": working_days}
    )
    return policy


# --- Asking -----------------------------------------------------------------------------------


def _clean_text(text: str, *, field: str, required: bool) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationError({field: _("Give a reason.")})
    if len(text) > MAX_QUESTION:
        raise ValidationError({field: _("Keep the reason under 2,000 characters.")})
    if problem := free_text_problem(text, multiline=True):
        raise ValidationError({field: problem})
    return text


def _version_asked(
    *, account: LearningAccount, entry_version: CatalogueEntryVersion | None, outcome: Any
) -> CatalogueEntryVersion:
    """The catalogue version the question is about: the one chosen, or the one the learner's
    saved outcome is accredited against or matches. One or the other, never both: the form
    says "or", and a question about two things would be answered about one (issue 24)."""
    if outcome is not None:
        if outcome.account_id != account.pk or outcome.status == LearningOutcome.Status.WITHDRAWN:
            raise ValidationError({"outcome": _("This is not your learning outcome.")})
        if entry_version is not None:
            raise ValidationError({"outcome": BOTH_CHOSEN})
        if entry_version is None:
            entry_version = catalogue_versions_accredited(outcome_ids=[outcome.pk]).get(outcome.pk)
        if entry_version is None:
            entry_version = catalogue_matches([outcome]).get(outcome.pk)
        if entry_version is None:
            raise ValidationError(
                {
                    "entry_version": _(
                        "“%(outcome)s” matches no catalogue entry: ask about the catalogue "
                        "entry you would have it accredited against instead, without the outcome."
                    )
                    % {"outcome": outcome.title}
                }
            )
    if entry_version is None:
        raise ValidationError(
            {"entry_version": _("Choose a catalogue entry or one of your learning outcomes.")}
        )
    if not entry_version.is_effective_on(beijing_today()):
        raise ValidationError(
            {"entry_version": _("This catalogue entry version is not in effect today.")}
        )
    return entry_version


def preassessment_ask(
    *,
    account: LearningAccount,
    course: Course,
    actor: User,
    entry_version: CatalogueEntryVersion | None = None,
    outcome: LearningOutcome | None = None,
    question: str = "",
    now: datetime.datetime | None = None,
) -> PreAssessment:
    """The learner asks the course's institution whether ``entry_version`` (or her saved
    ``outcome``) would count for ``course``. Refused with a field error when the course is
    not open to learners, already transferred or asked for, or the same question is open."""
    if account.holder_id != actor.pk:
        raise ValidationError({"account": _("This is not your learning account.")})
    programme = course.programme
    if not programme.is_published or not programme.institution.is_active:
        raise ValidationError({"course": _("This programme is not open to learners.")})
    question = _clean_text(question, field="question", required=False)
    version = _version_asked(account=account, entry_version=entry_version, outcome=outcome)
    now = now or timezone.now()
    with transaction.atomic():
        if account_lock(account.pk).status != LearningAccount.Status.ACTIVE:
            raise ValidationError(
                {"account": _("This learning account is closed: nothing can be applied for.")}
            )
        if TransferItem.objects.filter(
            account=account, course=course, state__in=[s.value for s in COUNTING_STATES]
        ).exists():
            raise ValidationError(
                {
                    "course": _("“%(course)s” is already transferred or asked for.")
                    % {"course": course.display_name}
                }
            )
        days = preassessment_working_days(programme.institution_id)
        deadline = deadline_from(local_date(now), days)
        try:
            with transaction.atomic():
                asked = PreAssessment.objects.create(
                    account=account,
                    course=course,
                    institution_id=programme.institution_id,
                    entry_id=version.entry_id,
                    entry_version=version,
                    outcome=outcome,
                    question=question,
                    asked_at=now,
                    working_days=days,
                    due_on=deadline.due_on,
                    remind_on=deadline.remind_on,
                )
        except IntegrityError as exc:
            raise ValidationError(
                {"course": _("You have already asked this; wait for the answer.")}
            ) from exc
        transaction_record(
            account=account,
            kind=BusinessTransaction.Kind.PREASSESSMENT,
            actor=actor,
            details={
                "event": "asked",
                "preassessment": asked.pk,
                "course": course.code,
                "programme": programme.code,
                "entry": version.entry.code,
                "due_on": deadline.due_on.isoformat(),
            },
        )
        notify_many(
            recipients=_staff_of(asked.institution_id, Role.INSTITUTION_OFFICER),
            kind=Notification.Kind.PREASSESSMENT_ASKED,
            params=_params(asked),
            link=officer_link(asked.pk),
            key=f"preassessment:{asked.pk}:asked",
        )
    return asked


# --- Answering and withdrawing ------------------------------------------------------------------


def _locked(preassessment: PreAssessment) -> PreAssessment:
    # The account first, as every writer of the learner's rows (ADR 0012).
    account_lock(preassessment.account_id)
    return (
        PreAssessment.objects.select_for_update(of=("self",))
        .select_related(
            "account__holder",
            "course__programme__institution",
            "entry_version__entry",
            "rule",
        )
        .get(pk=preassessment.pk)
    )


def preassessment_answer(
    *,
    preassessment: PreAssessment,
    actor: User,
    answer: str,
    reason: str = "",
    valid_until: datetime.date | None = None,
) -> PreAssessment:
    """An officer of the institution answers: ``yes`` binds the institution until
    ``valid_until`` (today to three years on) under the conversion rule version in force
    today, for its credits; ``no`` needs a reason. The learner is told."""
    action = ANSWERS.get(answer)
    if action is None:
        raise ValidationError({"answer": _("Choose yes or no.")})
    reason = _clean_text(reason, field="reason", required=action == Action.ANSWER_NO)
    today = beijing_today()
    if action == Action.ANSWER_YES:
        if valid_until is None:
            raise ValidationError({"valid_until": _("Say until when the answer binds.")})
        if valid_until < today:
            raise ValidationError({"valid_until": _("The date cannot be in the past.")})
        if valid_until > today + MAX_VALIDITY:
            raise ValidationError({"valid_until": _("At most three years from today.")})
    with transaction.atomic():
        prea = _locked(preassessment)
        if not user_acts_for_institution(actor, Role.INSTITUTION_OFFICER) or (
            actor.institution_id != prea.institution_id
        ):
            raise ValidationError({"preassessment": _("This is for another institution.")})
        if prea.account.holder_id == actor.pk:
            raise ValidationError({"preassessment": _("You cannot answer your own question.")})
        rule = None
        if action == Action.ANSWER_YES:
            rule = (
                conversion_rules_current(on=today)
                .filter(entry_id=prea.entry_id, course_id=prea.course_id)
                .first()
            )
            if rule is None:
                raise ValidationError(
                    {
                        "answer": _(
                            "No conversion rule in effect converts this catalogue entry to "
                            "this course, and only the credit bank's management centre "
                            "publishes conversion rules: answer no, or ask the management "
                            "centre for a rule first."
                        )
                    }
                )
        PREASSESSMENT.move(prea, action=action, actor=actor, reason=reason)
        prea.answered_at, prea.answered_by, prea.reason = timezone.now(), actor, reason
        if rule is not None:
            # TODO(progrules): also record programme_rules_in_force(programme, today) here.
            prea.rule, prea.credits, prea.valid_until = rule, rule.credits, valid_until
        prea.save(
            update_fields=[
                "state",
                "answered_at",
                "answered_by",
                "reason",
                "rule",
                "credits",
                "valid_until",
            ]
        )
        transaction_record(
            account=prea.account,
            kind=BusinessTransaction.Kind.PREASSESSMENT,
            actor=actor,
            details={
                "event": f"answered_{answer}",
                "preassessment": prea.pk,
                "course": prea.course.code,
                "rule_version": rule.version if rule else "",
                "credits": str(rule.credits) if rule else "",
                "valid_until": valid_until.isoformat() if rule and valid_until else "",
                "late": today > prea.due_on,
            },
        )
        if prea.account.holder is not None:
            notify(
                recipient=prea.account.holder,
                kind=(
                    Notification.Kind.PREASSESSMENT_YES
                    if rule is not None
                    else Notification.Kind.PREASSESSMENT_NO
                ),
                params=_params(prea),
                link=learner_link(prea.pk),
                key=f"preassessment:{prea.pk}:answered",
            )
    return prea


def preassessment_withdraw(*, preassessment: PreAssessment, actor: User) -> PreAssessment:
    """The learner withdraws a question not answered yet."""
    with transaction.atomic():
        prea = _locked(preassessment)
        if prea.account.holder_id != actor.pk:
            raise ValidationError({"preassessment": _("This is not your pre-assessment.")})
        PREASSESSMENT.move(prea, action=Action.WITHDRAW, actor=actor)
        prea.save(update_fields=["state"])
        transaction_record(
            account=prea.account,
            kind=BusinessTransaction.Kind.PREASSESSMENT,
            actor=actor,
            details={"event": "withdrawn", "preassessment": prea.pk},
        )
    return prea


# --- Binding ------------------------------------------------------------------------------------


def preassessment_bindings(
    *,
    account: LearningAccount,
    course_ids: Iterable[int] | None = None,
    on: datetime.date | None = None,
) -> dict[tuple[int, int], list[PreAssessment]]:
    """(entry id, course id) -> the yes answers binding on ``on`` (today) for the learner's
    ``course_ids`` (all her courses when ``None``: the what-if's one read); one query. A
    binding names an outcome or not (then any of hers accredited against the entry): see
    :func:`binding_for`."""
    day = on or beijing_today()
    found: dict[tuple[int, int], list[PreAssessment]] = {}
    answers = PreAssessment.objects.filter(account=account, state=State.YES, valid_until__gte=day)
    if course_ids is not None:
        answers = answers.filter(course_id__in=list(course_ids))
    for prea in answers.select_related("rule__entry").order_by("-credits", "pk"):
        found.setdefault((prea.entry_id, prea.course_id), []).append(prea)
    return found


def binding_for(
    bindings: dict[tuple[int, int], list[PreAssessment]],
    *,
    entry_id: int,
    course_id: int,
    outcome_id: int,
) -> PreAssessment | None:
    """The binding yes that covers this outcome for this course, if any (most credits first)."""
    for prea in bindings.get((entry_id, course_id), []):
        if prea.outcome_id is None or prea.outcome_id == outcome_id:
            return prea
    return None


# --- The sweep ----------------------------------------------------------------------------------


class PreAssessmentSweep(NamedTuple):
    reminded: int
    escalated: int
    expired: int


def preassessment_sweep(*, now: datetime.datetime | None = None) -> PreAssessmentSweep:
    """Reminders from ``remind_on``, escalations after ``due_on``, expiry of yes answers past
    their validity. Safe to run in several workers at once and to retry."""
    now = now or timezone.now()
    today = local_date(now)
    asked = PreAssessment.objects.filter(state=State.ASKED)
    reminded = _sweep(
        due=asked.filter(reminded_at__isnull=True, remind_on__lte=today, due_on__gte=today),
        order="remind_on",
        stamp="reminded_at",
        now=now,
        send=_send_reminders,
    )
    escalated = _sweep(
        due=asked.filter(escalated_at__isnull=True, due_on__lt=today),
        order="due_on",
        stamp="escalated_at",
        now=now,
        send=_send_escalations,
    )
    return PreAssessmentSweep(reminded, escalated, _expire(today=today))


def _claimable(due: QuerySet[PreAssessment], order: str) -> tuple[list[int], int]:
    """Lock a batch: the learners' accounts first, then the rows, both SKIP LOCKED (ADR 0012:
    a closure or a decision holding an account is passed over, and the next sweep takes it)."""
    candidates = list(due.order_by(order, "pk").values_list("pk", "account_id")[:BATCH_SIZE])
    if not candidates:
        return [], 0
    accounts = accounts_lock((account for _pk, account in candidates), skip_locked=True)
    batch = list(
        due.filter(pk__in=[pk for pk, _a in candidates], account_id__in=accounts)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by(order, "pk")
        .values_list("pk", flat=True)
    )
    return batch, len(candidates)


def _sweep(
    *,
    due: QuerySet[PreAssessment],
    order: str,
    stamp: str,
    now: datetime.datetime,
    send: Callable[[list[PreAssessment]], None],
) -> int:
    total = 0
    while True:
        with transaction.atomic():
            batch, seen = _claimable(due, order)
            if not seen:
                return total
            # The claim: only rows still unclaimed (what keeps a second sweep from claiming a
            # row twice where the locks do not, as on SQLite).
            due.filter(pk__in=batch).update(**{stamp: now})
            claimed = list(
                PreAssessment.objects.filter(pk__in=batch, **{stamp: now})
                .select_related("course__programme__institution", "entry_version")
                .order_by("pk")
            )
            send(claimed)
            total += len(claimed)
        if seen < BATCH_SIZE or not batch:
            return total


def _staff_of(institution_id: int, role: str) -> QuerySet[User]:
    return users_active().filter(role=role, institution_id=institution_id)


def _staff_by_institution(ids: Iterable[int], role: str) -> dict[int, list[User]]:
    found: dict[int, list[User]] = {}
    for user in users_active().filter(role=role, institution_id__in=set(ids)):
        found.setdefault(user.institution_id, []).append(user)  # type: ignore[arg-type]
    return found


def _notices(
    rows: list[PreAssessment], people: dict[int, list[User]], kind: str, event: str
) -> list[Notice]:
    notices: list[Notice] = []
    for prea in rows:
        recipients = people.get(prea.institution_id, [])
        if not recipients:
            # Claimed all the same: sweeping it again would find no one either.
            logger.warning("No one to tell about pre-assessment %s (%s)", prea.pk, kind)
        notices.extend(
            Notice(
                recipient=person,
                kind=kind,
                params=_params(prea),
                link=officer_link(prea.pk),
                key=f"preassessment:{prea.pk}:{event}",
            )
            for person in recipients
        )
    return notices


def _send_reminders(rows: list[PreAssessment]) -> None:
    """The institution's officers (or, with none, its administrators)."""
    ids = {prea.institution_id for prea in rows}
    officers = _staff_by_institution(ids, Role.INSTITUTION_OFFICER)
    admins = _staff_by_institution(ids - set(officers), Role.INSTITUTION_ADMIN)
    notify_batch(
        _notices(rows, officers | admins, Notification.Kind.PREASSESSMENT_REMINDER, "reminder")
    )


def _send_escalations(rows: list[PreAssessment]) -> None:
    """The institution's administrators."""
    admins = _staff_by_institution({p.institution_id for p in rows}, Role.INSTITUTION_ADMIN)
    notify_batch(_notices(rows, admins, Notification.Kind.PREASSESSMENT_ESCALATION, "escalation"))


def _expire(*, today: datetime.date) -> int:
    """A yes past its validity becomes expired (an event each). Binding itself reads
    ``valid_until``, so a late sweep never lets a yes bind a day too long."""
    total = 0
    due = PreAssessment.objects.filter(state=State.YES, valid_until__lt=today)
    while True:
        with transaction.atomic():
            batch, seen = _claimable(due, "valid_until")
            if not seen:
                return total
            for prea in PreAssessment.objects.filter(pk__in=batch).order_by("pk"):
                PREASSESSMENT.move(prea, action=Action.EXPIRE)
                prea.save(update_fields=["state"])
                total += 1
        if seen < BATCH_SIZE or not batch:
            return total


# --- Reading ------------------------------------------------------------------------------------


def _preassessments() -> QuerySet[PreAssessment]:
    return PreAssessment.objects.select_related(
        "account__holder",
        "course__programme__institution",
        "entry_version__entry",
        "outcome",
        "rule",
        "answered_by",
    )


def preassessments_visible_to(*, user: User) -> QuerySet[PreAssessment]:
    """Learners see their own; officers their institution's; nobody else any."""
    if not user.is_authenticated or not user.is_active:
        return PreAssessment.objects.none()
    if user.role == Role.LEARNER:
        return _preassessments().filter(account__holder=user)
    if (
        user_acts_for_institution(user, Role.INSTITUTION_OFFICER)
        and user.institution_id is not None
    ):
        return _preassessments().filter(institution_id=user.institution_id)
    return PreAssessment.objects.none()


def preassessments_open_or_refused(
    *, account: LearningAccount, course_ids: Iterable[int]
) -> dict[int, PreAssessment]:
    """Course id -> the learner's latest question still waiting or answered no, for her
    learning path's course rows (a yes shows as the binding). One query."""
    found: dict[int, PreAssessment] = {}
    for prea in PreAssessment.objects.filter(
        account=account, course_id__in=list(course_ids), state__in=[State.ASKED, State.NO]
    ).order_by("course_id", "-asked_at", "-pk"):
        found.setdefault(prea.course_id, prea)
    return found


def preassessment_queue(*, user: User) -> QuerySet[PreAssessment]:
    """The officer's open questions, the soonest due first."""
    return preassessments_visible_to(user=user).filter(state=State.ASKED).order_by("due_on", "pk")


def preassessments_answered(*, user: User) -> QuerySet[PreAssessment]:
    """The officer's answered questions (yes, no, and yes expired since), the latest answered
    first: where a binding yes is found again."""
    return (
        preassessments_visible_to(user=user)
        .filter(state__in=[State.YES, State.NO, State.EXPIRED])
        .order_by("-answered_at", "-pk")
    )


class QueueCounts(NamedTuple):
    waiting: int
    overdue: int


def preassessment_queue_counts(*, user: User) -> QueueCounts:
    """How many questions wait for the officer's institution, and how many of them are past
    their due date: one query, for the officer's home."""
    found = (
        preassessment_queue(user=user)
        .order_by()
        .aggregate(waiting=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=beijing_today())))
    )
    return QueueCounts(found["waiting"] or 0, found["overdue"] or 0)


def preassessment_events_of(*, preassessment: PreAssessment) -> QuerySet[PreAssessmentEvent]:
    return preassessment.events.select_related("actor")


def _params(prea: PreAssessment) -> dict[str, str | int]:
    programme = prea.course.programme
    params: dict[str, str | int] = {
        "preassessment": prea.pk,
        "institution": programme.institution.name,
        "programme": programme.name,
        "course": prea.course.name,
        "entry": prea.entry_version.name,
        "due_on": prea.due_on.isoformat(),
    }
    if prea.credits is not None:
        params["credits"] = str(prea.credits)
    if prea.valid_until is not None:
        params["valid_until"] = prea.valid_until.isoformat()
    if prea.reason:
        params["reason"] = prea.reason
    return params


def learner_link(pk: int) -> str:
    return reverse("preassessment-detail", args=[pk])


def officer_link(pk: int) -> str:
    return reverse("institution-preassessment", args=[pk])


def preassessment_lateness(prea: PreAssessment, *, today: datetime.date | None = None) -> bool:
    """Overdue now (asked, past its due date) or answered after it."""
    if prea.state == State.ASKED:
        return (today or beijing_today()) > prea.due_on
    return prea.answered_at is not None and local_date(prea.answered_at) > prea.due_on
