"""Credit transfer: learners apply to have accredited outcomes count for courses, officers of
the programme's institution decide each course, and nothing counts twice."""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.urls import reverse

from accounts.models import (
    BusinessTransaction,
    LearningAccount,
    LedgerEntry,
    Notification,
    Role,
    User,
)
from accounts.services import account_totals
from accreditation.models import (
    ApplicationState,
    Decision,
)
from outcomes.models import LearningOutcome
from tests.accounts.factories import (
    CentreFactory,
    InstitutionFactory,
    PersonalAccountFactory,
    UserFactory,
)
from tests.accreditation.factories import ApplicationFactory, accredited_outcome, catalogue_version
from tests.outcomes.factories import LearningOutcomeFactory
from tests.people import login_verified, with_totp
from tests.transfers.factories import programme_with_courses, rule
from tests.transfers.helpers import body
from transfers.models import (
    TransferApplication,
    TransferEvent,
    TransferItem,
)
from transfers.services import (
    transfer_apply,
    transfer_item_decide,
    transfer_item_respond,
    transfer_withdraw,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(transfer_world):
    return transfer_world


# --- Data ----------------------------------------------------------------------------------------


def apply(world: dict[str, Any], learner: User, course=None, outcome=None) -> TransferApplication:
    return transfer_apply(
        account=world["account"],
        programme=world["programme"],
        items=[(course or world["courses"][0], outcome or world["outcome"])],
        actor=learner,
    )


def transferred(account: LearningAccount) -> Decimal:
    total = LedgerEntry.objects.filter(account=account, book="transferred").aggregate(
        s=Sum("credits")
    )["s"]
    return total or Decimal(0)


# --- Services ------------------------------------------------------------------------------------


def test_accepting_a_course_books_exactly_one_transferred_entry_and_tells_the_learner(
    world, learner, institution_officer
):
    application = apply(world, learner)
    item = application.items.get()

    transfer_item_decide(item=item, actor=institution_officer, decision="accept")
    with pytest.raises(ValidationError):
        transfer_item_decide(item=item, actor=institution_officer, decision="accept")

    entries = LedgerEntry.objects.filter(account=world["account"], book="transferred")
    assert [(e.credits, e.cause_type, e.cause_id) for e in entries] == [
        (Decimal("3.0"), "transfer_decision", str(item.pk))
    ]
    application.refresh_from_db()
    assert application.state == TransferApplication.State.DECIDED
    assert Notification.objects.filter(recipient=learner, kind="transfer_accepted").count() == 1
    assert world["account"].transactions.filter(kind=BusinessTransaction.Kind.TRANSFER).count() == 2
    assert list(item.events.values_list("action", flat=True)) == ["submit", "accept"]
    # The bank's own balance is not touched by a transfer.
    assert LedgerEntry.objects.filter(account=world["account"], book="accumulated").count() == 1


def test_on_postgresql_an_application_is_one_statement_that_writes_it_all(
    postgres, world, learner, django_assert_num_queries
):
    course = world["courses"][0]
    # Inside the test's transaction: a savepoint, the statement, the programme's rules in
    # force (none here: nothing more is read for the caps, ADR 0027), the institution's webhook
    # subscriptions (none here: the items are not read), the savepoint's release.
    with django_assert_num_queries(5):
        application = apply(world, learner)

    assert (application.account, application.programme) == (world["account"], world["programme"])
    stored = TransferApplication.objects.get()
    assert (stored.pk, stored.state, stored.submitted_at) == (
        application.pk,
        "pending",
        application.submitted_at,
    )
    item = stored.items.get()
    assert (item.course, item.outcome, item.account, item.programme) == (
        course,
        world["outcome"],
        world["account"],
        world["programme"],
    )
    assert (item.rule.course, item.credits, item.state, item.reason) == (
        course,
        Decimal("3.0"),
        "pending",
        "",
    )
    assert list(item.events.values_list("action", "from_state", "to_state", "actor")) == [
        ("submit", "pending", "pending", learner.pk)
    ]
    record = world["account"].transactions.get(kind=BusinessTransaction.Kind.TRANSFER)
    assert (record.actor, record.details) == (
        learner,
        {
            "event": "applied",
            "transfer": application.pk,
            "programme": world["programme"].code,
            "institution": world["programme"].institution.name,
            "courses": [course.code],
        },
    )


@pytest.mark.usefixtures("english")
def test_on_postgresql_a_refused_application_writes_nothing_and_says_why(postgres, world, learner):
    apply(world, learner)
    before = (TransferApplication.objects.count(), TransferEvent.objects.count())

    with pytest.raises(ValidationError) as refused:
        apply(world, learner)

    assert "already transferred or asked for" in str(refused.value.message_dict["items[0].course"])
    assert (TransferApplication.objects.count(), TransferEvent.objects.count()) == before


@pytest.mark.usefixtures("english")
def test_a_reserved_outcome_cannot_be_used_again_until_the_transfer_is_rejected(
    world, learner, institution_officer
):
    other_programme, other_courses = programme_with_courses(
        institution_officer.institution, code="EDU-BK"
    )
    rule(world["version"], other_courses[0])
    first = apply(world, learner)

    with pytest.raises(ValidationError) as refused:
        transfer_apply(
            account=world["account"],
            programme=other_programme,
            items=[(other_courses[0], world["outcome"])],
            actor=learner,
        )
    assert "reserved" in str(refused.value.message_dict["items[0].outcome"])

    with pytest.raises(ValidationError) as no_reason:
        transfer_item_decide(item=first.items.get(), actor=institution_officer, decision="reject")
    assert "reason" in no_reason.value.message_dict
    transfer_item_decide(
        item=first.items.get(), actor=institution_officer, decision="reject", reason="不符"
    )

    second = transfer_apply(
        account=world["account"],
        programme=other_programme,
        items=[(other_courses[0], world["outcome"])],
        actor=learner,
    )
    assert second.items.get().state == "pending"


def test_a_withdrawn_transfer_releases_the_outcome(world, learner):
    first = apply(world, learner)

    transfer_withdraw(application=first, actor=learner)

    first.refresh_from_db()
    assert first.state == TransferApplication.State.WITHDRAWN
    assert first.items.get().state == "withdrawn"
    again = apply(world, learner)
    assert again.items.get().state == "pending"


@pytest.mark.usefixtures("english")
def test_an_accepted_outcome_counts_for_a_programme_once(world, learner, institution_officer):
    rule(world["version"], world["courses"][1])
    application = apply(world, learner)
    transfer_item_decide(item=application.items.get(), actor=institution_officer, decision="accept")

    with pytest.raises(ValidationError) as refused:
        apply(world, learner, course=world["courses"][1])

    assert "already counts for this programme" in str(refused.value.message_dict)
    assert TransferItem.objects.count() == 1


@pytest.mark.usefixtures("english")
def test_it_refuses_everything_when_one_item_is_wrong(world, learner):
    stranger_outcome = LearningOutcomeFactory(status=LearningOutcome.Status.ACCREDITED)
    saved = LearningOutcomeFactory(account=world["account"], status=LearningOutcome.Status.SAVED)

    with pytest.raises(ValidationError) as refused:
        transfer_apply(
            account=world["account"],
            programme=world["programme"],
            items=[
                (world["courses"][0], world["outcome"]),
                (world["courses"][1], stranger_outcome),
            ],
            actor=learner,
        )
    with pytest.raises(ValidationError) as not_accredited:
        apply(world, learner, outcome=saved)

    assert set(refused.value.message_dict) == {"items[1].outcome"}
    assert "not accredited against the catalogue" in str(not_accredited.value.message_dict)
    assert not TransferApplication.objects.exists()


def test_an_individually_accredited_outcome_is_not_converted_by_rule(world, learner):
    individual = LearningOutcomeFactory(
        account=world["account"], status=LearningOutcome.Status.ACCREDITED
    )
    application = ApplicationFactory(outcome=individual, state=ApplicationState.ACCREDITED)
    Decision.objects.create(
        application=application,
        result=Decision.Result.ACCREDITED,
        basis=Decision.Basis.INDIVIDUAL,
        hours=10,
        credits=1,
        decided_by=world["decider"],
        approved_by=world["decider"],
        on_time=True,
    )

    with pytest.raises(ValidationError) as refused:
        apply(world, learner, outcome=individual)

    assert "items[0].outcome" in refused.value.message_dict


@pytest.mark.usefixtures("english")
def test_a_course_of_another_programme_is_refused(world, learner, institution_officer):
    _other, other_courses = programme_with_courses(institution_officer.institution, code="X")

    with pytest.raises(ValidationError) as refused:
        apply(world, learner, course=other_courses[0])

    assert "not a course of this programme" in str(refused.value.message_dict["items[0].course"])


def test_an_officer_of_another_institution_cannot_decide(world, learner):
    application = apply(world, learner)
    stranger = with_totp(
        UserFactory(
            role=Role.INSTITUTION_OFFICER,
            institution=InstitutionFactory(kind="degree_institution"),
        )
    )

    with pytest.raises(ValidationError):
        transfer_item_decide(item=application.items.get(), actor=stranger, decision="accept")

    assert not LedgerEntry.objects.filter(book="transferred").exists()


def test_an_information_request_waits_for_the_learners_answer(world, learner, institution_officer):
    item = apply(world, learner).items.get()

    transfer_item_decide(
        item=item, actor=institution_officer, decision="request_information", reason="请补充课表"
    )
    with pytest.raises(ValidationError):
        transfer_item_decide(item=item, actor=institution_officer, decision="accept")
    with pytest.raises(ValidationError):
        transfer_item_respond(item=item, actor=learner, response="  ")
    transfer_item_respond(item=item, actor=learner, response="已上传课表")
    transfer_item_decide(item=item, actor=institution_officer, decision="accept")

    assert list(TransferEvent.objects.values_list("action", flat=True)) == [
        "submit",
        "request_information",
        "respond",
        "accept",
    ]
    assert transferred(world["account"]) == Decimal("3")


# --- API -----------------------------------------------------------------------------------------


def test_a_learner_applies_and_the_officer_accepts_over_the_api(
    api_client, world, learner, institution_officer
):
    api_client.force_authenticate(learner)
    created = api_client.post("/api/v1/transfers/", body(world), format="json")
    assert created.status_code == 201, created.content
    item_id = created.json()["items"][0]["id"]

    api_client.force_authenticate(institution_officer)
    queue = api_client.get("/api/v1/transfers/?state=pending").json()
    no_reason = api_client.post(
        f"/api/v1/transfers/items/{item_id}/decide/", {"decision": "reject"}, format="json"
    )
    accepted = api_client.post(
        f"/api/v1/transfers/items/{item_id}/decide/", {"decision": "accept"}, format="json"
    )

    assert [t["id"] for t in queue["results"]] == [created.json()["id"]]
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "accepted"
    api_client.force_authenticate(learner)
    me = api_client.get("/api/v1/accounts/me/").json()
    assert me["transferred_credits"] == "3.0"
    assert me["credits"] == "6.0"  # the bank's own balance is unchanged


def test_others_get_404_for_a_transfer_that_is_not_theirs(
    api_client, world, learner, institution_officer
):
    api_client.force_authenticate(learner)
    transfer = api_client.post("/api/v1/transfers/", body(world), format="json").json()
    item_id = transfer["items"][0]["id"]
    stranger_officer = with_totp(
        UserFactory(
            role=Role.INSTITUTION_OFFICER,
            institution=InstitutionFactory(kind="degree_institution"),
        )
    )
    learner_b = UserFactory(role=Role.LEARNER)
    PersonalAccountFactory(holder=learner_b)

    api_client.force_authenticate(stranger_officer)
    officer_sees = api_client.get(f"/api/v1/transfers/{transfer['id']}/")
    officer_decides = api_client.post(
        f"/api/v1/transfers/items/{item_id}/decide/", {"decision": "accept"}, format="json"
    )
    officer_list = api_client.get("/api/v1/transfers/").json()
    api_client.force_authenticate(learner_b)
    learner_sees = api_client.get(f"/api/v1/transfers/{transfer['id']}/")
    learner_withdraws = api_client.post(f"/api/v1/transfers/{transfer['id']}/withdraw/")

    assert officer_sees.status_code == 404
    assert officer_decides.status_code == 404
    assert officer_list["results"] == []
    assert learner_sees.status_code == 404
    assert learner_withdraws.status_code == 404
    assert TransferItem.objects.get().state == "pending"


def test_bad_input_gets_field_errors_not_a_500(api_client, world, learner):
    api_client.force_authenticate(learner)

    empty = api_client.post(
        "/api/v1/transfers/", {"programme": world["programme"].pk, "items": []}, format="json"
    )
    unknown = api_client.post(
        "/api/v1/transfers/", body(world) | {"programme": 999999}, format="json"
    )
    garbage = api_client.post("/api/v1/transfers/", {"items": "x"}, format="json")

    assert empty.status_code == 400
    # Issue 22: one flat shape; the empty list's message is keyed by the list itself.
    assert list(empty.json()) == ["items"]
    assert unknown.status_code == 400
    assert "programme" in unknown.json()
    assert garbage.status_code == 400
    assert not TransferApplication.objects.exists()


def test_the_learner_answers_an_information_request_and_withdraws_over_the_api(
    api_client, world, learner, institution_officer
):
    api_client.force_authenticate(learner)
    transfer = api_client.post("/api/v1/transfers/", body(world), format="json").json()
    item_id = transfer["items"][0]["id"]
    api_client.force_authenticate(institution_officer)
    api_client.post(
        f"/api/v1/transfers/items/{item_id}/decide/",
        {"decision": "request_information", "reason": "请提供课程大纲"},
        format="json",
    )

    api_client.force_authenticate(learner)
    answered = api_client.post(
        f"/api/v1/transfers/items/{item_id}/respond/", {"response": "已补充"}, format="json"
    )
    withdrawn = api_client.post(f"/api/v1/transfers/{transfer['id']}/withdraw/")

    assert answered.json()["state"] == "pending"
    assert withdrawn.json()["state"] == "withdrawn"
    assert Notification.objects.filter(kind="transfer_information_requested").count() == 1


# --- Pages ---------------------------------------------------------------------------------------


def test_the_learner_applies_from_the_learning_path_page_and_the_officer_decides_on_a_page(
    client, world, learner, institution_officer
):
    from tests.people import login_verified

    client.force_login(learner)
    path_page = client.get(f"/file/goals/{world['programme'].pk}/")
    assert path_page.status_code == 200
    applied = client.post(
        f"/file/goals/{world['programme'].pk}/apply/",
        {"course": [world["courses"][0].pk]},
        follow=True,
    )
    application = TransferApplication.objects.get()
    item = application.items.get()
    assert applied.status_code == 200
    assert "课程1" in applied.content.decode()

    client.logout()
    login_verified(client, institution_officer)
    queue = client.get("/institution/transfers/")
    refused = client.post(
        f"/institution/transfers/items/{item.pk}/decide/", {f"item{item.pk}-decision": "reject"}
    )
    accepted = client.post(
        f"/institution/transfers/items/{item.pk}/decide/",
        {f"item{item.pk}-decision": "accept"},
        follow=True,
    )

    assert f"/institution/transfers/{application.pk}/" in queue.content.decode()
    assert refused.status_code == 400
    assert "给出理由" in refused.content.decode() or "Give a reason" in refused.content.decode()
    assert accepted.status_code == 200
    item.refresh_from_db()
    assert item.state == "accepted"

    client.logout()
    client.force_login(learner)
    path_after = client.get(f"/file/goals/{world['programme'].pk}/").content.decode()
    assert 'data-status="match"' in path_after
    assert transferred(world["account"]) == Decimal("3")


def test_an_officer_of_another_institution_gets_404_on_the_pages(client, world, learner):
    from tests.people import login_verified

    application = apply(world, learner)
    stranger = with_totp(
        UserFactory(
            role=Role.INSTITUTION_OFFICER,
            institution=InstitutionFactory(kind="degree_institution"),
        )
    )
    login_verified(client, stranger)

    assert client.get(f"/institution/transfers/{application.pk}/").status_code == 404
    assert client.get(f"/transfers/{application.pk}/").status_code == 403


# --- Concurrency ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_eight_threads_of_a_hundred_transfers_never_count_an_outcome_twice(
    postgres, institution_officer
):
    institution = institution_officer.institution
    versions = [catalogue_version(code=f"E{i}", name=f"证书{i}") for i in range(3)]
    programmes = []
    for p in range(3):
        programme, courses = programme_with_courses(institution, code=f"P{p}", n=3)
        for version, course in zip(versions, courses, strict=True):
            rule(version, course)
        programmes.append((programme, courses))
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    learners = []
    for _ in range(3):
        account = PersonalAccountFactory()
        learners.append((account, [accredited_outcome(account, v, decider) for v in versions]))

    counts = {"applied": 0, "refused": 0, "decided": 0, "withdrawn": 0}
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not a secret
        try:
            for _ in range(100):
                account, outcomes = rng.choice(learners)
                programme, courses = rng.choice(programmes)
                index = rng.randrange(3)
                try:
                    application = transfer_apply(
                        account=account,
                        programme=programme,
                        items=[(courses[index], outcomes[rng.randrange(3)])],
                        actor=account.holder,  # type: ignore[arg-type]
                    )
                except ValidationError:
                    with lock:
                        counts["refused"] += 1
                    continue
                with lock:
                    counts["applied"] += 1
                roll = rng.random()
                try:
                    if roll < 0.4:
                        transfer_item_decide(
                            item=application.items.get(),
                            actor=institution_officer,
                            decision=rng.choice(["accept", "reject"]),
                            reason="理由",
                        )
                        key = "decided"
                    elif roll < 0.7:
                        transfer_withdraw(application=application, actor=account.holder)  # type: ignore[arg-type]
                        key = "withdrawn"
                    else:
                        continue
                except ValidationError:
                    continue
                with lock:
                    counts[key] += 1
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    counting = TransferItem.objects.filter(
        state__in=["pending", "information_requested", "accepted"]
    )
    pairs = list(counting.values_list("outcome_id", "programme_id"))
    assert len(pairs) == len(set(pairs)), "an outcome counts twice for a programme"
    reserved = list(
        TransferItem.objects.filter(state__in=["pending", "information_requested"]).values_list(
            "outcome_id", flat=True
        )
    )
    assert len(reserved) == len(set(reserved)), "an outcome is reserved twice"
    courses = list(counting.values_list("account_id", "course_id"))
    assert len(courses) == len(set(courses))
    for account, _outcomes in learners:
        accepted = TransferItem.objects.filter(account=account, state="accepted")
        booked = LedgerEntry.objects.filter(account=account, book="transferred")
        assert booked.count() == accepted.count()
        assert transferred(account) == sum((i.credits for i in accepted), Decimal(0))
        hours, credits = account_totals(account=account)
        assert (hours, credits) == (Decimal("360"), Decimal("18"))
    assert counts["applied"] + counts["refused"] == 800
    assert counts["applied"] > 0
    assert counts["refused"] > 0
    assert counts["decided"] > 0
    print(f"8x100 transfers: {counts} in {elapsed:.1f}s")
    assert elapsed < 60


def test_the_transfer_history_in_chinese_takes_the_full_width_colon(
    client, open_work_world, institution_officer
):
    """The officer asked for information with a reason: the history line names who and says
    why, with "：" as Chinese writes it, not the ASCII colon."""
    login_verified(client, institution_officer)
    page = client.get(reverse("institution-transfer", args=[open_work_world["transfer"].pk]))

    assert page.status_code == 200
    history = page.content.decode().split('data-testid="transfer-events"')[1].split("</ul>")[0]
    assert "：您提到" in history
    assert ": 您提到" not in history


@pytest.mark.usefixtures("english")
def test_a_closed_account_applies_for_nothing(world, learner):
    # A closure that took the account's lock first withdrew its transfers; a request that
    # waited behind it must not start a new one (both the PostgreSQL statement and the Python
    # path read the account's state once the lock is theirs).
    LearningAccount.objects.filter(pk=world["account"].pk).update(
        status=LearningAccount.Status.CLOSED
    )

    with pytest.raises(ValidationError) as refused:
        apply(world, learner)

    assert "closed" in str(refused.value.message_dict["account"])
    assert not TransferApplication.objects.exists()
