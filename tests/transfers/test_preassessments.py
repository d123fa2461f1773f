"""Binding pre-assessments (ADR 0028): the learner asks an institution whether an outcome would
count for a course; the institution answers within its working days (reminded, then escalated
to its administrators); a yes binds it for a stated period under the rule version in force."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from accounts.models import LedgerEntry, Notification, Role
from tests.accounts.factories import (
    CentreFactory,
    InstitutionFactory,
    PersonalAccountFactory,
    UserFactory,
)
from tests.accreditation.factories import SINCE, accredited_outcome, catalogue_version
from tests.outcomes.factories import LearningOutcomeFactory
from tests.transfers.factories import programme_with_courses, rule
from tests.workflows import allowed_moves, forbidden_moves
from transfers.models import (
    PreAssessment,
    PreAssessmentEvent,
    PreAssessmentPolicy,
    PreAssessmentState,
    TransferItem,
)
from transfers.paths import learning_path
from transfers.preassessments import (
    preassessment_answer,
    preassessment_ask,
    preassessment_sweep,
    preassessment_withdraw,
)
from transfers.services import transfer_apply, transfer_item_decide
from transfers.whatif import programme_plan, what_if_of
from transfers.workflow import PREASSESSMENT

pytestmark = pytest.mark.django_db

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
TODAY = timezone.localdate


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=BEIJING)


@pytest.fixture
def world(learner, institution_officer) -> dict[str, Any]:
    return world_make(learner, institution_officer)


def world_make(learner, institution_officer) -> dict[str, Any]:
    """李爱丽 (no outcome yet), the officer's university with a programme of two courses, a
    catalogue entry that converts to the first course with 3 credits (rule version 1), and
    the university's administrator."""
    account = PersonalAccountFactory(holder=learner)
    version = catalogue_version()
    programme, courses = programme_with_courses(institution_officer.institution)
    first_rule = rule(version, courses[0], credits="3")
    admin = UserFactory(
        username="uadmin", role=Role.INSTITUTION_ADMIN, institution=institution_officer.institution
    )
    return {
        "account": account,
        "learner": learner,
        "officer": institution_officer,
        "admin": admin,
        "version": version,
        "programme": programme,
        "courses": courses,
        "rule": first_rule,
    }


def ask(world: dict[str, Any], **kwargs: Any) -> PreAssessment:
    return preassessment_ask(
        account=world["account"],
        course=kwargs.pop("course", world["courses"][0]),
        actor=world["learner"],
        entry_version=kwargs.pop("entry_version", world["version"]),
        **kwargs,
    )


def answer_yes(world: dict[str, Any], prea: PreAssessment, days: int = 365) -> PreAssessment:
    return preassessment_answer(
        preassessment=prea,
        actor=world["officer"],
        answer="yes",
        valid_until=TODAY() + datetime.timedelta(days=days),
    )


def rule_changes(world: dict[str, Any], *, new_credits: str | None) -> None:
    """The institution's rule changes after the yes: version 1 ends yesterday, and version 2
    (``new_credits``) starts today, or nothing replaces it."""
    old = world["rule"]
    old.effective_to = TODAY() - datetime.timedelta(days=1)
    old.save(update_fields=["effective_to"])
    if new_credits is not None:
        old.__class__.objects.create(
            entry=old.entry,
            course=old.course,
            version=2,
            credits=Decimal(new_credits),
            effective_from=TODAY(),
            approving_body="重庆开放大学",
            rationale="课程改版",
        )


def obtain(world: dict[str, Any]):
    """The learner obtains the certificate and has it accredited against the entry."""
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    return accredited_outcome(world["account"], world["version"], decider)


def apply(world: dict[str, Any], outcome) -> TransferItem:
    application = transfer_apply(
        account=world["account"],
        programme=world["programme"],
        items=[(world["courses"][0], outcome)],
        actor=world["learner"],
    )
    return application.items.get()


def in_state(world: dict[str, Any], prea: PreAssessment, state: str) -> PreAssessment:
    """The premise, set by hand (a complete row of that state), not a move under test."""
    PreAssessment.objects.filter(pk=prea.pk).update(
        state=state,
        reason="理由",
        rule=world["rule"],
        credits=world["rule"].credits,
        valid_until=TODAY(),
        answered_by=world["officer"],
    )
    prea.refresh_from_db()
    return prea


# --- The status machine --------------------------------------------------------------------------

PAIRS = forbidden_moves(PREASSESSMENT, PreAssessmentState.values, PreAssessmentEvent.Action.values)
MOVES = allowed_moves(PREASSESSMENT, PreAssessmentState.values, PreAssessmentEvent.Action.values)


def test_the_table_forbids_something_and_allows_something():
    assert PAIRS
    assert MOVES
    # No, withdrawn and expired are final: the learner asks again.
    for final in ("no", "withdrawn", "expired"):
        assert PREASSESSMENT.allowed(final) == []


@pytest.mark.parametrize(("state", "action"), PAIRS)
def test_a_preassessment_refuses_every_move_its_table_forbids(world, state, action):
    prea = in_state(world, ask(world), state)

    with pytest.raises(ValidationError) as refused:
        PREASSESSMENT.move(prea, action=action, actor=world["officer"], reason="理由")

    assert [e.code for e in refused.value.error_dict["state"]] == ["illegal_move"]
    prea.refresh_from_db()
    assert prea.state == state
    assert prea.events.count() == 0


def test_answering_a_withdrawn_question_is_refused_with_a_field_error(world):
    prea = ask(world)
    preassessment_withdraw(preassessment=prea, actor=world["learner"])

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        answer_yes(world, prea)

    assert refused.value.message_dict == {
        "state": ["A pre-assessment that is “Withdrawn” cannot be “Answered yes”."]
    }


# --- The due date on the portal's calendar ------------------------------------------------------


def test_the_answer_is_due_ten_working_days_on_across_the_spring_festival(world):
    # Asked on Thursday 12 February 2026. Counting by hand on the State Council's 2026
    # arrangement: 13 Feb (Fri) 1, 14 Feb (Sat, a make-up working day) 2, 15-23 Feb off,
    # 24 Feb 3, 25 4, 26 5, 27 6, 28 Feb (Sat, make-up) 7, 2 Mar 8, 3 Mar 9, 4 Mar 10.
    prea = ask(world, now=at(datetime.date(2026, 2, 12)))

    assert prea.working_days == 10
    assert prea.due_on == datetime.date(2026, 3, 4)
    # Three working days before: 3 Mar, 2 Mar, 28 Feb (the make-up Saturday).
    assert prea.remind_on == datetime.date(2026, 2, 28)


def test_the_institution_sets_its_own_number_of_working_days(world):
    PreAssessmentPolicy.objects.create(institution=world["officer"].institution, working_days=3)
    # Friday 25 September 2026: 28 Sep (Mon) 1, 29 2, 30 3.
    prea = ask(world, now=at(datetime.date(2026, 9, 25)))

    assert (prea.working_days, prea.due_on) == (3, datetime.date(2026, 9, 30))


def test_asking_tells_the_institutions_officers(world):
    prea = ask(world)

    notice = Notification.objects.get(recipient=world["officer"])
    assert notice.kind == Notification.Kind.PREASSESSMENT_ASKED
    assert notice.link == f"/institution/preassessments/{prea.pk}/"


# --- Reminders and escalation by the sweep ------------------------------------------------------


def test_an_unanswered_question_is_reminded_then_escalated_once_and_the_late_answer_kept(world):
    prea = ask(world, now=at(datetime.date(2026, 2, 12)))
    Notification.objects.all().delete()  # the notice of the question itself

    # The day before the reminder date: nothing.
    assert preassessment_sweep(now=at(datetime.date(2026, 2, 27))) == (0, 0, 0)
    # On the reminder date the officer is reminded, once however often the sweep runs.
    assert preassessment_sweep(now=at(datetime.date(2026, 2, 28))).reminded == 1
    assert preassessment_sweep(now=at(datetime.date(2026, 3, 2))).reminded == 0
    # On the due date itself it is not overdue yet.
    assert preassessment_sweep(now=at(datetime.date(2026, 3, 4))).escalated == 0
    # The day after, the institution's administrator is told, once.
    assert preassessment_sweep(now=at(datetime.date(2026, 3, 5))).escalated == 1
    assert preassessment_sweep(now=at(datetime.date(2026, 3, 6))).escalated == 0

    kinds = sorted(Notification.objects.values_list("recipient__username", "kind"))
    assert kinds == [
        ("olga", Notification.Kind.PREASSESSMENT_REMINDER),
        ("uadmin", Notification.Kind.PREASSESSMENT_ESCALATION),
    ]
    # The officer still answers, late: the answer stands and the history says it was late.
    prea = preassessment_answer(
        preassessment=prea, actor=world["officer"], answer="no", reason="课程目标不符"
    )
    assert prea.state == PreAssessmentState.NO
    assert prea.escalated_at is not None
    details = (
        world["account"].transactions.filter(kind="preassessment").order_by("pk").last().details
    )
    assert details["event"] == "answered_no"
    assert details["late"] is True


def test_an_answered_question_is_neither_reminded_nor_escalated(world):
    prea = ask(world, now=at(datetime.date(2026, 2, 12)))
    answer_yes(world, prea)
    Notification.objects.all().delete()

    assert preassessment_sweep(now=at(datetime.date(2026, 3, 5))) == (0, 0, 0)
    assert not Notification.objects.exists()


# --- Binding ------------------------------------------------------------------------------------


def test_a_yes_records_the_rule_version_and_credits_and_tells_the_learner(world):
    prea = answer_yes(world, ask(world))

    assert prea.state == PreAssessmentState.YES
    assert (prea.rule, prea.credits) == (world["rule"], Decimal("3"))
    notice = Notification.objects.get(recipient=world["learner"])
    assert notice.kind == Notification.Kind.PREASSESSMENT_YES
    assert notice.params["credits"] == "3.0"


def test_a_yes_binds_a_later_transfer_after_the_rule_changed(world):
    prea = answer_yes(world, ask(world))
    rule_changes(world, new_credits="1")
    outcome = obtain(world)

    item = apply(world, outcome)

    assert item.preassessment == prea
    assert item.rule == world["rule"]  # version 1, no longer in effect
    assert item.credits == Decimal("3")
    transfer_item_decide(item=item, actor=world["officer"], decision="accept")
    booked = LedgerEntry.objects.get(account=world["account"], book="transferred")
    assert booked.credits == Decimal("3")


def test_a_yes_binds_a_later_transfer_after_the_rule_ended(world):
    answer_yes(world, ask(world))
    rule_changes(world, new_credits=None)
    outcome = obtain(world)

    # The path offers the course under the bound rule, and shows the binding.
    line = learning_path(account=world["account"], programme=world["programme"]).courses[0]
    assert (line.status, line.credits, line.can_apply) == ("match", Decimal("3"), True)
    assert line.binding is not None

    assert apply(world, outcome).credits == Decimal("3")


def test_after_the_validity_period_the_rules_in_effect_apply(world):
    prea = answer_yes(world, ask(world), days=10)
    rule_changes(world, new_credits="1")
    PreAssessment.objects.filter(pk=prea.pk).update(  # the period has passed (the premise)
        valid_until=TODAY() - datetime.timedelta(days=1)
    )
    outcome = obtain(world)

    item = apply(world, outcome)

    assert item.preassessment is None
    assert item.credits == Decimal("1")
    # The sweep marks the yes expired, with an event.
    assert preassessment_sweep().expired == 1
    prea.refresh_from_db()
    assert prea.state == PreAssessmentState.EXPIRED
    assert prea.events.filter(action="expire").count() == 1


def test_after_the_validity_period_an_ended_rule_converts_nothing(world):
    prea = answer_yes(world, ask(world), days=10)
    rule_changes(world, new_credits=None)
    PreAssessment.objects.filter(pk=prea.pk).update(
        valid_until=TODAY() - datetime.timedelta(days=1)
    )
    outcome = obtain(world)

    with pytest.raises(ValidationError) as refused:
        apply(world, outcome)

    assert list(refused.value.message_dict) == ["items[0].outcome"]
    assert not TransferItem.objects.exists()


def test_a_yes_about_one_saved_outcome_binds_that_outcome_only(world):
    saved = obtain(world)
    other = obtain(world)
    answer_yes(world, ask(world, outcome=saved, entry_version=None))
    rule_changes(world, new_credits="1")

    assert apply(world, other).credits == Decimal("1")


def test_the_path_does_not_offer_another_outcome_under_a_yes_about_one_outcome(world):
    """The yes binds 李爱丽's first certificate (rule version 1, since ended); the second one she
    has accredited since is not the one asked about: the path offers the first only, and
    applying with the second is refused (no rule converts it any more)."""
    asked = obtain(world)
    answer_yes(world, ask(world, outcome=asked, entry_version=None))
    rule_changes(world, new_credits=None)
    other = obtain(world)

    line = learning_path(account=world["account"], programme=world["programme"]).courses[0]

    assert (line.status, line.can_apply, line.outcome) == ("match", True, asked)
    assert line.binding is not None
    assert line.binding.outcome_id == asked.pk
    with pytest.raises(ValidationError) as refused:
        apply(world, other)
    assert list(refused.value.message_dict) == ["items[0].outcome"]


def test_the_what_if_and_the_plan_count_a_binding_yes(world):
    """Rule version 1 (3 credits) ended after the yes; the learner then obtained the
    certificate: the programme of 10 credits is 30 % covered now."""
    answer_yes(world, ask(world))
    rule_changes(world, new_credits=None)
    obtain(world)

    plan = programme_plan(account=world["account"], programme=world["programme"])
    (row,) = what_if_of(account=world["account"], programmes=[world["programme"]])

    assert [(line.course, line.credits) for line in plan.done] == [
        (world["courses"][0], Decimal("3"))
    ]
    assert plan.credits_done == Decimal("3")
    assert row.share_now == Decimal("0.3")


# --- Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "kwargs", "field"),
    [
        ("maybe", {}, "answer"),
        ("yes", {}, "valid_until"),
        ("yes", {"valid_until": datetime.date(2020, 1, 1)}, "valid_until"),
        ("yes", {"valid_until": datetime.date(2099, 1, 1)}, "valid_until"),
        ("no", {"reason": "  "}, "reason"),
    ],
)
def test_a_bad_answer_is_refused_with_a_field_error_and_changes_nothing(
    world, answer, kwargs, field
):
    prea = ask(world)

    with pytest.raises(ValidationError) as refused:
        preassessment_answer(preassessment=prea, actor=world["officer"], answer=answer, **kwargs)

    assert list(refused.value.message_dict) == [field]
    prea.refresh_from_db()
    assert prea.state == PreAssessmentState.ASKED
    assert not prea.events.exists()


def test_a_yes_without_a_rule_in_effect_is_refused(world):
    prea = ask(world)
    rule_changes(world, new_credits=None)

    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        answer_yes(world, prea)

    assert refused.value.message_dict == {
        "answer": [
            "目前没有有效的转换规则将此目录条目转换为此课程，而转换规则只能由学分银行管理中"
            "心发布：请回答“否”，或先请管理中心发布转换规则。"
        ]
    }


def test_an_officer_of_another_institution_cannot_answer(world):
    prea = ask(world)
    elsewhere = InstitutionFactory(name="另一所大学", kind="degree_institution")
    stranger = UserFactory(role=Role.INSTITUTION_OFFICER, institution=elsewhere)

    with pytest.raises(ValidationError) as refused:
        answer_yes({**world, "officer": stranger}, prea)

    assert list(refused.value.message_dict) == ["preassessment"]


def test_asking_twice_or_without_anything_to_ask_about_is_refused(world):
    ask(world)

    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as twice:
            ask(world)
        with pytest.raises(ValidationError) as nothing:
            ask(world, course=world["courses"][1], entry_version=None)

    assert twice.value.message_dict == {"course": ["您已经问过这个问题，请等待答复。"]}
    assert nothing.value.message_dict == {
        "entry_version": ["请选择一个目录条目或您的一项学习成果。"]
    }
    assert PreAssessment.objects.count() == 1


def test_a_learner_cannot_ask_about_someone_elses_outcome(world):
    someone = PersonalAccountFactory()
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    theirs = accredited_outcome(someone, world["version"], decider)

    with pytest.raises(ValidationError) as refused:
        ask(world, outcome=theirs)

    assert list(refused.value.message_dict) == ["outcome"]


def test_the_catalogue_version_asked_about_must_be_in_effect(world):
    version = world["version"]
    version.effective_to = SINCE
    version.save(update_fields=["effective_to"])

    with pytest.raises(ValidationError) as refused:
        ask(world)

    assert list(refused.value.message_dict) == ["entry_version"]


# --- Closing the account -------------------------------------------------------------------------


def test_closing_the_account_withdraws_open_questions_and_erases_their_text(world):
    from accounts.rights.services import account_close

    asked = ask(world, question="我的身份证号是……")
    refused = preassessment_answer(
        preassessment=ask(world, course=world["courses"][1]),
        actor=world["officer"],
        answer="no",
        reason="证书与课程目标不符",
    )

    account_close(account=world["account"])

    asked.refresh_from_db()
    refused.refresh_from_db()
    assert asked.state == PreAssessmentState.WITHDRAWN
    assert (asked.question, refused.reason) == ("", "[erased]")
    assert Notification.objects.filter(key__startswith="preassessment:", params={}).exists()


def test_a_saved_outcome_that_matches_no_entry_is_asked_about_by_its_entry_instead(world):
    """Asking about one outcome binds that outcome under the entry it matches; an outcome that
    matches none cannot name its entry as well (one or the other): the learner is told to ask
    about the entry alone, and nothing is written."""
    saved = LearningOutcomeFactory(account=world["account"], title="园长岗位培训记录")

    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        ask(world, outcome=saved, entry_version=None)

    assert refused.value.message_dict == {
        "entry_version": [
            "“园长岗位培训记录”未匹配任何目录条目：请改为只选择您拟据以认定的目录条目提问，不选学习成果。"
        ]
    }
    assert not PreAssessment.objects.exists()
