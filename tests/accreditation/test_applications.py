"""Accreditation applications through the services and ``/api/v1/applications/``."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts.models import BusinessTransaction, LedgerEntry, Notification, Role, StaffAccess, User
from accounts.services import account_totals
from accreditation import calendar, services
from accreditation.catalogue import catalogue_entry_publish
from accreditation.models import (
    Application,
    ApplicationState,
    Decision,
)
from outcomes.models import LearningOutcome
from outcomes.storage import Upload
from tests.accounts.factories import CentreFactory, UserFactory
from tests.accreditation.factories import principal_entry_publish
from tests.outcomes.factories import certificate_save as principal_certificate
from tests.outcomes.samples import png_bytes
from tests.people import LEARNER_PASSWORD as PASSWORD
from tests.people import RESIDENT, token_for, with_check, with_totp
from tests.people import learner_register as register

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def principal_entry(management_admin):
    return principal_entry_publish(management_admin)


@pytest.fixture
def second_reviewer(centre):
    return with_totp(
        UserFactory(username="rob", name="赵复核", role=Role.CENTRE_REVIEWER, centre=centre)
    )


@pytest.fixture
def submitted(shao, centre, principal_entry):
    outcome = principal_certificate(shao)
    return services.application_submit(
        outcome=outcome, centre=centre, actor=shao.holder, claimed_entry=principal_entry
    )


@pytest.fixture
def in_review(submitted, reviewer):
    return services.review_start(application=submitted, actor=reviewer)


def sign_in(client, username: str, password: str | None = None) -> None:
    token = token_for(client, username, *([password] if password else []))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")


def refresh(application: Application) -> Application:
    return Application.objects.select_related("outcome").get(pk=application.pk)


# --- Submitting ---------------------------------------------------------------------------------


def test_submitting_starts_the_fifteen_working_day_clock(shao, centre, monkeypatch):
    outcome = principal_certificate(shao)
    # Thursday 24 September 2026, 10:00 in Beijing: the Mid-Autumn and National Day holidays
    # and their make-up Saturdays lie ahead.
    moment = datetime.datetime(2026, 9, 24, 10, tzinfo=BEIJING)
    monkeypatch.setattr(services.timezone, "now", lambda: moment)

    application = services.application_submit(outcome=outcome, centre=centre, actor=shao.holder)

    assert application.state == ApplicationState.SUBMITTED
    assert application.due_on == calendar.add_working_days(datetime.date(2026, 9, 24), 15)
    assert application.due_on > datetime.date(2026, 10, 14)  # the holidays do not count
    assert refresh(application).outcome.status == LearningOutcome.Status.SUBMITTED
    assert shao.transactions.filter(kind=BusinessTransaction.Kind.APPLICATION_SUBMITTED).exists()
    notice = Notification.objects.get(recipient=shao.holder)
    assert notice.kind == Notification.Kind.APPLICATION_SUBMITTED
    assert notice.params["due_on"] == application.due_on.isoformat()


def test_an_outcome_is_submitted_once_at_a_time(submitted, centre, shao):
    with pytest.raises(ValidationError) as exc:
        services.application_submit(outcome=submitted.outcome, centre=centre, actor=shao.holder)
    assert "outcome" in exc.value.message_dict
    assert Application.objects.count() == 1


def test_only_the_holder_submits_and_only_to_a_branch_centre(shao, wang, centre):
    outcome = principal_certificate(shao)
    with pytest.raises(ValidationError) as exc:
        services.application_submit(outcome=outcome, centre=centre, actor=wang.holder)
    assert "outcome" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.application_submit(outcome=outcome, centre=centre.parent, actor=shao.holder)
    assert "centre" in exc.value.message_dict
    assert not Application.objects.exists()


def test_the_api_submits_and_names_bad_fields(api_client, shao, centre, principal_entry):
    outcome = principal_certificate(shao)
    sign_in(api_client, shao.number, PASSWORD)

    bad = api_client.post(
        "/api/v1/applications/",
        {"outcome": outcome.pk, "centre": "NOPE", "claimed_entry": "NOPE"},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()) >= {"centre", "claimed_entry"}

    good = api_client.post(
        "/api/v1/applications/",
        {"outcome": outcome.pk, "centre": centre.code, "claimed_entry": principal_entry.code},
        format="json",
    )
    assert good.status_code == 201, good.content
    body = good.json()
    assert body["state"] == "submitted"
    assert body["claimed_entry"] == principal_entry.code
    assert body["due_on"]
    assert 0 < body["working_days_left"] <= 15
    assert [e["action"] for e in body["events"]] == ["submit"]

    listed = api_client.get("/api/v1/applications/").json()
    assert [a["id"] for a in listed["results"]] == [body["id"]]


def test_the_learner_sees_what_a_matching_outcome_would_earn(api_client, shao, principal_entry):
    outcome = principal_certificate(shao, title="幼儿园园长任职资格证书（2018）")
    sign_in(api_client, shao.number, PASSWORD)
    estimate = api_client.get(f"/api/v1/outcomes/{outcome.pk}/estimate/").json()
    assert estimate["matched"] is True
    assert estimate["entry"]["code"] == principal_entry.code
    assert Decimal(estimate["hours"]) == 120
    assert Decimal(estimate["credits"]) == 4


def test_a_decision_needs_the_review_started_first(api_client, submitted, reviewer, centre_admin):
    services.application_assign(application=submitted, reviewer=reviewer, actor=centre_admin)
    sign_in(api_client, "rita")
    answer = api_client.post(
        f"/api/v1/applications/{submitted.pk}/reject/", {"reason": "材料不全"}, format="json"
    )
    assert answer.status_code == 400
    assert "state" in answer.json()
    assert refresh(submitted).state == ApplicationState.SUBMITTED


def test_every_move_is_an_event_with_who_when_and_why(in_review, reviewer, shao):
    services.application_reject(application=in_review, actor=reviewer, reason="证书已过期")
    events = list(refresh(in_review).events.order_by("id"))
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("submit", "submitted", "submitted"),
        ("start_review", "submitted", "in_review"),
        ("reject", "in_review", "rejected"),
    ]
    assert events[0].actor == shao.holder
    assert events[2].actor == reviewer
    assert events[2].reason == "证书已过期"
    with pytest.raises(ValueError, match="append-only"):
        events[2].delete()


# --- Who may review -----------------------------------------------------------------------------


def test_a_reviewer_cannot_review_their_own_outcome(centre, principal_entry, centre_admin):
    own = register("审核员本人", with_check("50010619880808123"), "13922223333")
    reviewer_user = own.holder
    reviewer_user.role = Role.CENTRE_REVIEWER
    reviewer_user.centre = centre
    reviewer_user.save()
    application = services.application_submit(
        outcome=principal_certificate(own), centre=centre, actor=reviewer_user
    )

    with pytest.raises(ValidationError):
        services.review_start(application=application, actor=reviewer_user)
    with pytest.raises(ValidationError) as exc:
        services.application_assign(
            application=application, reviewer=reviewer_user, actor=centre_admin
        )
    assert "reviewer" in exc.value.message_dict
    assert refresh(application).state == ApplicationState.SUBMITTED
    assert refresh(application).assigned_to is None


def test_reviewers_of_another_centre_neither_see_nor_decide(api_client, submitted, centre):
    outsider = with_totp(
        UserFactory(username="otto", role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    )
    with pytest.raises(ValidationError):
        services.review_start(application=submitted, actor=outsider)
    sign_in(api_client, "otto")
    assert api_client.get(f"/api/v1/applications/{submitted.pk}/").status_code == 404
    assert api_client.get("/api/v1/applications/").json()["results"] == []


def test_another_learner_gets_404(api_client, submitted, wang):
    sign_in(api_client, wang.number, PASSWORD)
    assert api_client.get(f"/api/v1/applications/{submitted.pk}/").status_code == 404
    answer = api_client.post(f"/api/v1/applications/{submitted.pk}/withdraw/", {}, format="json")
    assert answer.status_code == 404
    assert refresh(submitted).state == ApplicationState.SUBMITTED


def test_only_the_assigned_reviewer_decides(in_review, second_reviewer, principal_entry):
    with pytest.raises(ValidationError):
        services.accredit_against_catalogue(
            application=in_review, actor=second_reviewer, entry=principal_entry
        )
    assert not Decision.objects.exists()


def test_the_centre_admin_assigns_and_the_reviewer_is_told(submitted, centre_admin, reviewer):
    services.application_assign(application=submitted, reviewer=reviewer, actor=centre_admin)
    assert refresh(submitted).assigned_to == reviewer
    assert Notification.objects.filter(
        recipient=reviewer, kind=Notification.Kind.APPLICATION_ASSIGNED
    ).exists()
    with pytest.raises(ValidationError):
        services.application_assign(application=submitted, reviewer=reviewer, actor=reviewer)


def test_opening_an_application_records_the_staff_access(api_client, submitted, reviewer):
    sign_in(api_client, "rita")
    assert api_client.get(f"/api/v1/applications/{submitted.pk}/").status_code == 200
    access = StaffAccess.objects.get(account=submitted.account)
    assert access.staff == reviewer
    assert f"#{submitted.pk}" in access.reason_shown


# --- Decisions ----------------------------------------------------------------------------------


def test_accrediting_against_the_catalogue_books_the_entry_hours_and_credits(
    in_review, reviewer, principal_entry, shao
):
    decision = services.accredit_against_catalogue(
        application=in_review, actor=reviewer, entry=principal_entry
    )

    assert (decision.hours, decision.credits) == (Decimal(120), Decimal(4))
    assert decision.catalogue_version is not None
    assert decision.catalogue_version.version == 1
    entry = LedgerEntry.objects.get(account=shao)
    assert (entry.cause_type, entry.cause_id) == ("accreditation_decision", str(decision.pk))
    assert account_totals(account=shao) == (Decimal(120), Decimal(4))
    assert refresh(in_review).state == ApplicationState.ACCREDITED
    assert refresh(in_review).outcome.status == LearningOutcome.Status.ACCREDITED
    notice = Notification.objects.get(
        recipient=shao.holder, kind=Notification.Kind.APPLICATION_ACCREDITED
    )
    assert notice.params["credits"] == "4.0"


def test_a_second_decision_books_nothing(in_review, reviewer, principal_entry, shao):
    services.accredit_against_catalogue(
        application=in_review, actor=reviewer, entry=principal_entry
    )
    with pytest.raises(ValidationError):
        services.accredit_against_catalogue(
            application=in_review, actor=reviewer, entry=principal_entry
        )
    with pytest.raises(ValidationError):
        services.application_reject(application=in_review, actor=reviewer, reason="再来一次")
    assert LedgerEntry.objects.filter(account=shao).count() == 1
    assert Decision.objects.count() == 1


def test_a_catalogue_change_never_rewrites_a_past_decision(
    in_review, reviewer, principal_entry, management_admin, shao
):
    decision = services.accredit_against_catalogue(
        application=in_review, actor=reviewer, entry=principal_entry
    )
    catalogue_entry_publish(
        code=principal_entry.code,
        name="幼儿园园长任职资格证书",
        name_en="Kindergarten principal qualification certificate",
        kind="vocational_qualification",
        issuing_body="重庆市教育委员会",
        level="",
        hours=Decimal("160"),
        credits=Decimal("6"),
        validity_months=None,
        evidence_required="证书原件扫描件",
        aliases="",
        certificate_number_pattern="",
        effective_from=datetime.date.today() + datetime.timedelta(days=1),
        approving_body="重庆学分银行管理中心",
        rationale="培训学时增加",
        actor=management_admin,
    )
    decision.refresh_from_db()
    assert decision.catalogue_version is not None
    assert decision.catalogue_version.version == 1
    assert decision.catalogue_version.hours == 120
    assert account_totals(account=shao) == (Decimal(120), Decimal(4))


def test_an_individual_accreditation_needs_a_second_reviewer(
    in_review, reviewer, second_reviewer, shao
):
    services.individual_propose(
        application=in_review,
        actor=reviewer,
        hours="36",
        credits="1.5",
        reason="企业内训，课程大纲与学时证明齐全",
    )
    assert Notification.objects.filter(
        recipient=second_reviewer, kind=Notification.Kind.APPROVAL_REQUESTED
    ).exists()
    with pytest.raises(ValidationError):
        services.individual_approve(application=in_review, actor=reviewer)
    assert not LedgerEntry.objects.filter(account=shao).exists()

    decision = services.individual_approve(application=in_review, actor=second_reviewer)

    assert decision.basis == Decision.Basis.INDIVIDUAL
    assert (decision.decided_by, decision.approved_by) == (reviewer, second_reviewer)
    assert account_totals(account=shao) == (Decimal(36), Decimal("1.5"))


def test_a_returned_proposal_books_nothing_and_review_goes_on(
    in_review, reviewer, second_reviewer, shao
):
    services.individual_propose(
        application=in_review, actor=reviewer, hours=10, credits=0, reason="线上课程"
    )
    services.individual_return(application=in_review, actor=second_reviewer, reason="学时证明不足")
    application = refresh(in_review)
    assert application.state == ApplicationState.IN_REVIEW
    assert not application.has_proposal
    assert not LedgerEntry.objects.filter(account=shao).exists()


@pytest.mark.parametrize(
    ("hours", "credits", "fields"),
    [
        ("0", "1", {"hours"}),
        ("-5", "1", {"hours"}),
        ("abc", "1", {"hours"}),
        ("1e9", "1", {"hours"}),
        ("12.34", "1", {"hours"}),
        ("10", "-1", {"credits"}),
        ("10", "NaN", {"credits"}),
        ("10", "500", {"credits"}),
    ],
)
def test_impossible_amounts_are_named(in_review, reviewer, hours, credits, fields):
    with pytest.raises(ValidationError) as exc:
        services.individual_propose(
            application=in_review, actor=reviewer, hours=hours, credits=credits, reason="理由"
        )
    assert set(exc.value.message_dict) == fields
    assert not refresh(in_review).has_proposal


def test_a_rejection_needs_a_reason_and_the_learner_is_told(api_client, in_review, shao):
    sign_in(api_client, "rita")
    url = f"/api/v1/applications/{in_review.pk}/reject/"
    assert set(api_client.post(url, {"reason": "  "}, format="json").json()) == {"reason"}
    assert api_client.post(url, {"reason": "证书信息无法核实"}, format="json").status_code == 200

    application = refresh(in_review)
    assert application.state == ApplicationState.REJECTED
    assert application.outcome.status == LearningOutcome.Status.NOT_ACCREDITED
    assert application.decision.reason == "证书信息无法核实"
    assert not LedgerEntry.objects.filter(account=shao).exists()
    notice = Notification.objects.get(kind=Notification.Kind.APPLICATION_REJECTED)
    assert notice.recipient == shao.holder


def test_withdrawing_gives_the_outcome_back_to_the_learner(api_client, submitted, shao):
    sign_in(api_client, shao.number, PASSWORD)
    answer = api_client.post(f"/api/v1/applications/{submitted.pk}/withdraw/", {}, format="json")
    assert answer.status_code == 200
    assert answer.json()["state"] == "withdrawn"
    assert refresh(submitted).outcome.status == LearningOutcome.Status.SAVED
    # ... and it can be submitted again.
    again = api_client.post(
        "/api/v1/applications/",
        {"outcome": submitted.outcome_id, "centre": submitted.centre.code},
        format="json",
    )
    assert again.status_code == 201


# --- The stopped clock --------------------------------------------------------------------------


def test_asking_again_for_material_while_waiting_for_it_is_a_field_error_not_a_server_error(
    api_client, in_review, reviewer
):
    # Found by make fuzz: the second request counted the working days of a stopped clock (500).
    services.supplement_request(application=in_review, actor=reviewer, reason="请补充培训记录")
    sign_in(api_client, reviewer.username)

    again = api_client.post(
        f"/api/v1/applications/{in_review.pk}/request-supplement/",
        {"reason": "再补充一次"},
        format="json",
    )

    assert again.status_code == 400
    assert "state" in again.json()
    assert refresh(in_review).state == ApplicationState.SUPPLEMENT_REQUESTED
    assert in_review.events.filter(action="request_supplement").count() == 1


def test_the_clock_stops_for_supplementary_material_and_resumes_with_the_days_left(
    in_review, reviewer, shao, monkeypatch
):
    submitted_on = calendar.local_date(in_review.submitted_at)
    due = in_review.due_on
    # Five working days in, the reviewer asks for more.
    asked = calendar.add_working_days(submitted_on, 5)
    monkeypatch.setattr(
        services.timezone,
        "now",
        lambda: datetime.datetime.combine(asked, datetime.time(10), BEIJING),
    )
    services.supplement_request(application=in_review, actor=reviewer, reason="请补充培训记录")
    stopped = refresh(in_review)
    assert stopped.state == ApplicationState.SUPPLEMENT_REQUESTED
    assert stopped.due_on is None
    assert stopped.working_days_left == calendar.working_days_between(asked, due) == 10

    # The learner answers twenty calendar days later.
    answered = asked + datetime.timedelta(days=20)
    monkeypatch.setattr(
        services.timezone,
        "now",
        lambda: datetime.datetime.combine(answered, datetime.time(9), BEIJING),
    )
    services.application_resubmit(
        application=in_review,
        actor=shao.holder,
        uploads=[Upload(name="培训记录.png", data=png_bytes())],
        note="已补充",
    )
    resumed = refresh(in_review)
    assert resumed.state == ApplicationState.IN_REVIEW
    assert resumed.due_on == calendar.add_working_days(answered, 10)
    assert resumed.outcome.evidence.count() == 2
    assert [e.action for e in resumed.events.order_by("id")][-2:] == [
        "request_supplement",
        "resubmit",
    ]


def test_resubmitting_needs_a_file_and_leaves_nothing_behind_when_it_is_bad(
    api_client, in_review, reviewer, shao
):
    services.supplement_request(application=in_review, actor=reviewer, reason="请补充")
    sign_in(api_client, shao.number, PASSWORD)
    url = f"/api/v1/applications/{in_review.pk}/resubmit/"
    assert "files" in api_client.post(url, {}, format="multipart").json()
    bad = SimpleUploadedFile("x.pdf", b"not a pdf at all")
    answer = api_client.post(url, {"files": [bad]}, format="multipart")
    assert answer.status_code == 400
    assert "evidence" in answer.json()
    assert refresh(in_review).state == ApplicationState.SUPPLEMENT_REQUESTED
    assert refresh(in_review).outcome.evidence.count() == 1


# --- The queue ----------------------------------------------------------------------------------


def test_the_queue_filters_and_sorts_by_due_date(api_client, shao, wang, centre, reviewer):
    first = services.application_submit(
        outcome=principal_certificate(shao), centre=centre, actor=shao.holder
    )
    second = services.application_submit(
        outcome=principal_certificate(wang, title="幼儿园教师资格证书"),
        centre=centre,
        actor=wang.holder,
    )
    Application.objects.filter(pk=second.pk).update(due_on=first.due_on - datetime.timedelta(1))  # type: ignore[operator]
    services.review_start(application=first, actor=reviewer)
    sign_in(api_client, "rita")

    ids = [a["id"] for a in api_client.get("/api/v1/applications/").json()["results"]]
    assert ids == [second.pk, first.pk]
    mine = api_client.get("/api/v1/applications/?reviewer=me").json()["results"]
    assert [a["id"] for a in mine] == [first.pk]
    waiting = api_client.get("/api/v1/applications/?reviewer=none&state=submitted").json()
    assert [a["id"] for a in waiting["results"]] == [second.pk]
    newest = api_client.get("/api/v1/applications/?ordering=-submitted_at").json()["results"]
    assert [a["id"] for a in newest] == [second.pk, first.pk]
    assert api_client.get("/api/v1/applications/?state=bogus").status_code == 400


def test_the_queue_uses_a_fixed_number_of_queries(
    api_client, shao, centre, reviewer, django_assert_max_num_queries
):
    sign_in(api_client, "rita")
    services.application_submit(
        outcome=principal_certificate(shao), centre=centre, actor=shao.holder
    )
    with django_assert_max_num_queries(12) as one:
        api_client.get("/api/v1/applications/")
    for n in range(5):
        services.application_submit(
            outcome=principal_certificate(shao, title=f"证书{n}"), centre=centre, actor=shao.holder
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(api_client.get("/api/v1/applications/").json()["results"]) == 6


# --- Races on PostgreSQL ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_clicking_at_once_book_the_ledger_once(postgres, centre, management_admin):
    shao = register("邵涛涛", RESIDENT, "13912345678")
    entry = principal_entry_publish(management_admin)
    reviewer = cast(User, UserFactory(username="r1", role=Role.CENTRE_REVIEWER, centre=centre))
    application = services.application_submit(
        outcome=principal_certificate(shao), centre=centre, actor=shao.holder
    )
    services.review_start(application=application, actor=reviewer)
    barrier = threading.Barrier(4)
    results: list[str] = []

    def decide() -> None:
        try:
            barrier.wait()
            services.accredit_against_catalogue(
                application=application, actor=reviewer, entry=entry
            )
            results.append("ok")
        except ValidationError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=decide) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["ok", "refused", "refused", "refused"]
    assert Decision.objects.count() == 1
    assert LedgerEntry.objects.filter(account=shao).count() == 1
    assert account_totals(account=shao) == (Decimal(120), Decimal(4))


# --- What review found ----------------------------------------------------------------------


def test_a_nul_character_is_a_400_not_a_500(api_client, client, shao, centre):
    outcome = principal_certificate(shao)
    assert client.get("/catalogue/%00/").status_code == 400
    sign_in(api_client, shao.number, PASSWORD)
    answer = api_client.post(
        "/api/v1/applications/",
        {"outcome": outcome.pk, "centre": "\u0000", "claimed_entry": "A\u0000"},
        format="json",
    )
    assert answer.status_code == 400
    assert not Application.objects.exists()


def test_a_claimed_entry_of_another_kind_is_refused(shao, centre, management_admin):
    training = catalogue_entry_publish(
        code="PX-001",
        name="育婴员培训",
        kind="training",
        issuing_body="重庆市人力资源和社会保障局",
        hours=Decimal("40"),
        credits=Decimal("1"),
        evidence_required="培训证明",
        effective_from=datetime.date(2024, 1, 1),
        approving_body="重庆学分银行管理中心",
        rationale="培训",
        actor=management_admin,
    ).entry
    with pytest.raises(ValidationError) as exc:
        services.application_submit(
            outcome=principal_certificate(shao),
            centre=centre,
            actor=shao.holder,
            claimed_entry=training,
        )
    assert "claimed_entry" in exc.value.message_dict


def test_the_learner_does_not_see_the_centres_deliberation(
    api_client, in_review, reviewer, second_reviewer, shao
):
    services.individual_propose(
        application=in_review, actor=reviewer, hours=10, credits=1, reason="内部意见：可以认定"
    )
    services.individual_return(application=in_review, actor=second_reviewer, reason="内部：不同意")
    sign_in(api_client, shao.number, PASSWORD)
    body = api_client.get(f"/api/v1/applications/{in_review.pk}/").json()
    assert body["proposal"] is None
    assert "内部" not in str(body)
    services.individual_propose(
        application=in_review, actor=reviewer, hours=10, credits=1, reason="内部意见：可以认定"
    )
    body = api_client.get(f"/api/v1/applications/{in_review.pk}/").json()
    assert body["proposal"] is None
    assert "内部" not in str(body)


def test_an_overdue_application_resumes_as_late_as_it_was_and_is_escalated_again(
    in_review, reviewer, shao, centre_admin, monkeypatch
):
    from accreditation.deadlines import deadline_sweep

    due = in_review.due_on
    late = calendar.add_working_days(due, 2)  # two working days overdue
    at = datetime.datetime.combine(late, datetime.time(10), BEIJING)
    assert deadline_sweep(now=at).escalated == 1
    monkeypatch.setattr(services.timezone, "now", lambda: at)
    services.supplement_request(application=in_review, actor=reviewer, reason="请补充")
    assert refresh(in_review).working_days_left == -2

    answered = calendar.add_working_days(late, 5)
    at = datetime.datetime.combine(answered, datetime.time(10), BEIJING)
    monkeypatch.setattr(services.timezone, "now", lambda: at)
    services.application_resubmit(
        application=in_review,
        actor=shao.holder,
        uploads=[Upload(name="补充.png", data=png_bytes())],
    )
    resumed = refresh(in_review)
    assert resumed.due_on == calendar.subtract_working_days(answered, 2)
    assert resumed.escalated_at is None
    assert deadline_sweep(now=at).escalated == 1
    assert (
        Notification.objects.filter(
            recipient=centre_admin, kind=Notification.Kind.DEADLINE_ESCALATION
        ).count()
        == 2
    )
    # Decided now, it is not on time.
    decision = services.application_reject(application=in_review, actor=reviewer, reason="不符")
    assert decision.on_time is False


def test_the_list_api_reads_decided_applications_in_a_fixed_number_of_queries(
    api_client, shao, centre, reviewer, principal_entry, django_assert_max_num_queries
):
    def decided(title: str) -> None:
        application = services.application_submit(
            outcome=principal_certificate(shao, title=title), centre=centre, actor=shao.holder
        )
        services.review_start(application=application, actor=reviewer)
        services.accredit_against_catalogue(
            application=application, actor=reviewer, entry=principal_entry
        )

    decided("幼儿园园长任职资格证书")
    sign_in(api_client, shao.number, PASSWORD)
    with django_assert_max_num_queries(20) as one:
        api_client.get("/api/v1/applications/")
    for n in range(4):
        decided(f"幼儿园园长任职资格证书{n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(api_client.get("/api/v1/applications/").json()["results"]) == 5


# --- Revocation ---------------------------------------------------------------------------------


def test_revoking_an_accreditation_reverses_its_ledger_entry_once(
    api_client, in_review, reviewer, principal_entry, centre_admin, shao
):
    decision = services.accredit_against_catalogue(
        application=in_review, actor=reviewer, entry=principal_entry
    )
    with pytest.raises(ValidationError):
        services.accreditation_revoke(
            decision=decision, actor=reviewer, reason_code="evidence_false", reason="伪造"
        )
    with pytest.raises(ValidationError) as exc:
        services.accreditation_revoke(
            decision=decision, actor=centre_admin, reason_code="nonsense", reason="伪造"
        )
    assert "reason_code" in exc.value.message_dict

    revocation = services.accreditation_revoke(
        decision=decision, actor=centre_admin, reason_code="evidence_false", reason="证书系伪造"
    )

    assert revocation.decision == decision
    assert account_totals(account=shao) == (0, 0)
    assert LedgerEntry.objects.filter(account=shao).count() == 2  # the entry and its reversal
    assert refresh(in_review).outcome.status == LearningOutcome.Status.NOT_ACCREDITED
    assert Notification.objects.filter(
        recipient=shao.holder, kind=Notification.Kind.ACCREDITATION_REVOKED
    ).exists()
    with pytest.raises(ValidationError):
        services.accreditation_revoke(
            decision=decision, actor=centre_admin, reason_code="evidence_false", reason="再次"
        )
    assert LedgerEntry.objects.filter(account=shao).count() == 2
    sign_in(api_client, shao.number, PASSWORD)
    body = api_client.get(f"/api/v1/applications/{in_review.pk}/").json()
    assert body["decision"]["revocation"]["reason_code"] == "evidence_false"


def test_the_centre_admin_revokes_over_the_api(
    api_client, in_review, reviewer, principal_entry, centre_admin
):
    services.accredit_against_catalogue(
        application=in_review, actor=reviewer, entry=principal_entry
    )
    sign_in(api_client, "rita")
    url = f"/api/v1/applications/{in_review.pk}/revoke/"
    assert (
        api_client.post(url, {"reason_code": "decided_in_error", "reason": "x"}).status_code == 403
    )
    sign_in(api_client, "carl")
    bad = api_client.post(url, {"reason_code": "nope", "reason": ""}, format="json")
    assert set(bad.json()) == {"reason_code", "reason"}
    good = api_client.post(
        url, {"reason_code": "decided_in_error", "reason": "目录条目选错"}, format="json"
    )
    assert good.status_code == 200
    assert good.json()["decision"]["revocation"]["reason"] == "目录条目选错"


@pytest.mark.usefixtures("english")
def test_a_statement_hiding_an_identity_number_behind_zero_width_spaces_is_refused(
    api_client, shao, centre
):
    outcome = principal_certificate(shao)
    sign_in(api_client, shao.number, PASSWORD)
    hidden = "\u200b".join(RESIDENT[i : i + 3] for i in range(0, 18, 3))

    answer = api_client.post(
        "/api/v1/applications/",
        {"outcome": outcome.pk, "centre": centre.code, "statement": f"我的证件号 {hidden}"},
        format="json",
    )

    assert answer.status_code == 400
    assert "Do not write an identity number here" in answer.json()["statement"][0]
    assert not Application.objects.exists()


@pytest.mark.usefixtures("english")
def test_a_rejection_reason_with_a_direction_override_is_refused_on_its_field(
    api_client, in_review
):
    sign_in(api_client, "rita")

    answer = api_client.post(
        f"/api/v1/applications/{in_review.pk}/reject/",
        {"reason": "证书信息\u202e无法核实"},
        format="json",
    )

    assert answer.status_code == 400
    assert answer.json() == {"reason": ["Invisible control characters are not allowed."]}
    assert refresh(in_review).state == in_review.state
