"""Credit transfers resting on an accreditation that is revoked (issue 17, item 1).

A revocation withdraws the courses still waiting on the outcome and flags the courses already
accepted; an officer's acceptance re-checks the accreditation under the account lock; the
institution rescinds (the credits reversed in the transferred book) or keeps a flagged course;
and the learning path agrees with the ledger and with what re-applying allows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from accounts.models import LearningAccount, LedgerEntry, Notification, Role
from accounts.services import account_totals
from accreditation import services as accreditation_services
from accreditation.models import Decision
from tests.accounts.factories import (
    CentreFactory,
    InstitutionFactory,
    PersonalAccountFactory,
    UserFactory,
)
from tests.accreditation.factories import accredited_outcome, catalogue_version
from tests.locks import until_another_waits_on_a_lock
from tests.people import login_verified
from tests.transfers.factories import programme_with_courses, rule
from tests.transfers.helpers import body
from transfers import services as transfer_services
from transfers.models import TransferItem
from transfers.services import transfer_apply, transfer_item_decide

pytestmark = pytest.mark.django_db

REVOKE = {"reason_code": "evidence_false", "reason": "证书系伪造"}


@pytest.fixture
def world(transfer_world):
    return transfer_world


def transferred(account: LearningAccount) -> Decimal:
    total = LedgerEntry.objects.filter(account=account, book="transferred").aggregate(
        s=Sum("credits")
    )["s"]
    return total or Decimal(0)


def revoke_url(outcome: Any) -> str:
    return f"/api/v1/applications/{outcome.applications.get().pk}/revoke/"


def applied(api_client, world, learner, outcome=None) -> dict[str, Any]:
    api_client.force_authenticate(learner)
    created = api_client.post("/api/v1/transfers/", body(world, outcome=outcome), format="json")
    assert created.status_code == 201, created.content
    return created.json()


def revoked(api_client, world, management_admin) -> None:
    api_client.force_authenticate(management_admin)
    answer = api_client.post(revoke_url(world["outcome"]), REVOKE, format="json")
    assert answer.status_code == 200, answer.content


def path_line(api_client, world, learner) -> dict[str, Any]:
    api_client.force_authenticate(learner)
    found = api_client.get(f"/api/v1/transfers/paths/{world['programme'].pk}/").json()
    return next(c for c in found["courses"] if c["course"] == world["courses"][0].pk)


@pytest.mark.usefixtures("english")
def test_a_revocation_withdraws_the_waiting_course_and_the_learner_can_apply_again(
    api_client, world, learner, institution_officer, management_admin
):
    someone = PersonalAccountFactory()
    theirs = accredited_outcome(someone, world["version"], world["decider"])
    their_item = transfer_apply(
        account=someone,
        programme=world["programme"],
        items=[(world["courses"][0], theirs)],
        actor=someone.holder,  # type: ignore[arg-type]
    ).items.get()
    transfer = applied(api_client, world, learner)
    item_id = transfer["items"][0]["id"]

    revoked(api_client, world, management_admin)

    api_client.force_authenticate(institution_officer)
    shown = api_client.get(f"/api/v1/transfers/{transfer['id']}/").json()
    accept = api_client.post(
        f"/api/v1/transfers/items/{item_id}/decide/", {"decision": "accept"}, format="json"
    )
    assert shown["state"] == "withdrawn"
    assert (shown["items"][0]["state"], shown["items"][0]["reason"]) == (
        "withdrawn",
        "basis revoked",
    )
    assert accept.status_code == 400
    assert "has been revoked" in accept.json()["outcome"][0]
    item = TransferItem.objects.get(pk=item_id)
    assert list(item.events.values_list("action", "reason")) == [
        ("submit", ""),
        ("withdraw", "basis revoked"),
    ]
    told = Notification.objects.filter(kind="transfer_basis_withdrawn")
    assert set(told.values_list("recipient", flat=True)) == {learner.pk, institution_officer.pk}
    assert transferred(world["account"]) == 0
    their_item.refresh_from_db()
    assert their_item.state == "pending"  # another learner's transfer of the same entry

    # The path agrees: nothing covers the course now, and another accredited outcome can.
    assert path_line(api_client, world, learner)["status"] == "miss"
    other = accredited_outcome(world["account"], world["version"], world["decider"])
    line = path_line(api_client, world, learner)
    assert (line["status"], line["outcome"], line["transferred"], line["pending"]) == (
        "match",
        other.pk,
        False,
        False,
    )
    again = applied(api_client, world, learner, outcome=other)
    assert again["items"][0]["state"] == "pending"


@pytest.mark.usefixtures("english")
def test_an_acceptance_rechecks_the_accreditation_under_the_lock(
    api_client, world, learner, institution_officer, management_admin, monkeypatch
):
    """Even with no listener to withdraw the course (a revocation committed while the officer
    was reading), the acceptance sees the revocation and refuses with a field error."""
    transfer = applied(api_client, world, learner)
    item_id = transfer["items"][0]["id"]
    monkeypatch.setattr(accreditation_services, "revocation_listeners", [], raising=False)
    revoked(api_client, world, management_admin)

    api_client.force_authenticate(institution_officer)
    accept = api_client.post(
        f"/api/v1/transfers/items/{item_id}/decide/", {"decision": "accept"}, format="json"
    )

    assert accept.status_code == 400
    assert accept.json() == {
        "outcome": [
            f"The accreditation of “{world['outcome'].title}” has been revoked, so it cannot be "
            "accepted for this course."
        ]
    }
    assert TransferItem.objects.get(pk=item_id).state == "pending"
    assert transferred(world["account"]) == 0


@pytest.mark.usefixtures("english")
def test_an_accepted_course_is_flagged_then_rescinded_and_the_path_follows_the_ledger(
    api_client, world, learner, institution_officer, management_admin
):
    transfer = applied(api_client, world, learner)
    item_id = transfer["items"][0]["id"]
    api_client.force_authenticate(institution_officer)
    api_client.post(
        f"/api/v1/transfers/items/{item_id}/decide/", {"decision": "accept"}, format="json"
    )

    revoked(api_client, world, management_admin)

    # Flagged, for the officer and the learner alike; the officer who accepted it is told.
    for user in (institution_officer, learner):
        api_client.force_authenticate(user)
        item = api_client.get(f"/api/v1/transfers/{transfer['id']}/").json()["items"][0]
        assert item["state"] == "accepted"
        assert item["basis_revoked_at"] is not None
        assert item["basis_kept_at"] is None
    assert Notification.objects.filter(
        recipient=institution_officer, kind="transfer_basis_revoked"
    ).exists()
    assert account_totals(account=world["account"])[1] == 0
    assert transferred(world["account"]) == Decimal("3")
    # Until the institution settles it the course stays transferred, as the ledger says, and
    # applying for it again is refused, as the path says.
    line = path_line(api_client, world, learner)
    assert (line["status"], line["transferred"], line["basis_revoked"]) == ("match", True, True)
    other = accredited_outcome(world["account"], world["version"], world["decider"])
    api_client.force_authenticate(learner)
    refused = api_client.post("/api/v1/transfers/", body(world, outcome=other), format="json")
    assert refused.status_code == 400
    assert "items[0].course" in refused.json()

    # Only the institution's officers rescind, and with a reason.
    rescind = f"/api/v1/transfers/items/{item_id}/rescind/"
    assert api_client.post(rescind, {"reason": "x"}, format="json").status_code == 403
    stranger = UserFactory(
        role=Role.INSTITUTION_OFFICER, institution=InstitutionFactory(kind="degree_institution")
    )
    api_client.force_authenticate(stranger)
    assert api_client.post(rescind, {"reason": "x"}, format="json").status_code == 404
    api_client.force_authenticate(institution_officer)
    no_reason = api_client.post(rescind, {"reason": ""}, format="json")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()
    assert transferred(world["account"]) == Decimal("3")

    done = api_client.post(rescind, {"reason": "认定已撤销"}, format="json")
    twice = api_client.post(rescind, {"reason": "认定已撤销"}, format="json")

    assert done.status_code == 200, done.content
    assert done.json()["state"] == "rescinded"
    assert twice.status_code == 400
    entries = LedgerEntry.objects.filter(account=world["account"], book="transferred")
    assert sorted(e.credits for e in entries) == [Decimal("-3.0"), Decimal("3.0")]
    assert transferred(world["account"]) == 0
    assert Notification.objects.filter(recipient=learner, kind="transfer_rescinded").exists()
    assert list(TransferItem.objects.get(pk=item_id).events.values_list("action", flat=True)) == [
        "submit",
        "accept",
        "basis_revoked",
        "rescind",
    ]

    # The course is free again: the path offers the other outcome and applying works.
    line = path_line(api_client, world, learner)
    assert (line["status"], line["outcome"], line["transferred"]) == ("match", other.pk, False)
    again = applied(api_client, world, learner, outcome=other)
    assert again["items"][0]["state"] == "pending"


@pytest.mark.usefixtures("english")
def test_after_a_rescind_the_path_shows_the_course_missing(
    api_client, world, learner, institution_officer, management_admin
):
    transfer = applied(api_client, world, learner)
    item_id = transfer["items"][0]["id"]
    api_client.force_authenticate(institution_officer)
    api_client.post(
        f"/api/v1/transfers/items/{item_id}/decide/", {"decision": "accept"}, format="json"
    )
    revoked(api_client, world, management_admin)
    api_client.force_authenticate(institution_officer)
    rescinded = api_client.post(
        f"/api/v1/transfers/items/{item_id}/rescind/", {"reason": "撤销"}, format="json"
    )

    line = path_line(api_client, world, learner)
    assert rescinded.status_code == 200

    assert (line["status"], line["transferred"], line["pending"]) == ("miss", False, False)
    api_client.force_authenticate(learner)
    found = api_client.get(f"/api/v1/transfers/paths/{world['programme'].pk}/").json()
    assert found["credits_transferred"] == "0.0"


@pytest.mark.usefixtures("english")
def test_the_institution_keeps_a_flagged_course_with_a_reason(
    api_client, world, learner, institution_officer, management_admin
):
    transfer = applied(api_client, world, learner)
    item_id = transfer["items"][0]["id"]
    keep = f"/api/v1/transfers/items/{item_id}/keep/"
    api_client.force_authenticate(institution_officer)
    api_client.post(
        f"/api/v1/transfers/items/{item_id}/decide/", {"decision": "accept"}, format="json"
    )
    standing = api_client.post(keep, {"reason": "仍然有效"}, format="json")
    assert standing.status_code == 400  # nothing to settle while the accreditation holds
    assert "item" in standing.json()

    revoked(api_client, world, management_admin)
    api_client.force_authenticate(institution_officer)
    kept = api_client.post(keep, {"reason": "已通过本校考试"}, format="json")
    rescind_after = api_client.post(
        f"/api/v1/transfers/items/{item_id}/rescind/", {"reason": "改主意"}, format="json"
    )

    assert kept.status_code == 200, kept.content
    assert kept.json()["state"] == "accepted"
    assert kept.json()["basis_kept_at"] is not None
    assert rescind_after.status_code == 400
    assert transferred(world["account"]) == Decimal("3")
    item = TransferItem.objects.get(pk=item_id)
    assert item.events.get(action="keep").reason == "已通过本校考试"
    assert Notification.objects.filter(recipient=learner, kind="transfer_kept").exists()


def test_the_officer_settles_a_flagged_course_on_the_page(
    client, world, learner, institution_officer, management_admin
):
    application = transfer_apply(
        account=world["account"],
        programme=world["programme"],
        items=[(world["courses"][0], world["outcome"])],
        actor=learner,
    )
    item = application.items.get()
    transfer_item_decide(item=item, actor=institution_officer, decision="accept")
    accreditation_services.accreditation_revoke(
        decision=Decision.objects.get(application__outcome=world["outcome"]),
        actor=management_admin,
        **REVOKE,
    )
    login_verified(client, institution_officer)
    # The queue opens on its pending applications; the course to settle is listed above them.
    queue = client.get("/institution/transfers/").content.decode()
    page = client.get(f"/institution/transfers/{application.pk}/").content.decode()
    empty = client.post(
        f"/institution/transfers/items/{item.pk}/rescind/", {f"settle{item.pk}-reason": ""}
    )
    done = client.post(
        f"/institution/transfers/items/{item.pk}/rescind/",
        {f"settle{item.pk}-reason": "认定已撤销"},
        follow=True,
    )

    assert 'data-testid="basis-revoked-queue"' in queue
    assert f'href="/institution/transfers/{application.pk}/"' in queue
    assert 'data-testid="basis-revoked"' in page
    assert f"/institution/transfers/items/{item.pk}/rescind/" in page
    assert f"/institution/transfers/items/{item.pk}/keep/" in page
    assert empty.status_code == 400
    assert transferred(world["account"]) == 0
    assert done.status_code == 200
    shown = done.content.decode()
    assert 'data-testid="rescind"' not in shown
    item.refresh_from_db()
    assert item.state == "rescinded"
    assert (
        'data-testid="basis-revoked-queue"'
        not in client.get("/institution/transfers/").content.decode()
    )

    client.logout()
    client.force_login(learner)
    mine = client.get(f"/transfers/{application.pk}/").content.decode()
    assert 'data-testid="basis-revoked"' in mine
    assert "认定已撤销" in mine


# --- Concurrency ---------------------------------------------------------------------------------


@dataclass
class Round:
    """One race of an acceptance against a revocation. ``first`` is "accept", "revoke" or
    "either": a forced order starts the second only once the first is inside its transaction
    (holding its locks) and the first goes on only once the second is waiting on a lock, so
    both orders are run through the locks, not by luck of timing."""

    first: str
    start: threading.Barrier = field(default_factory=lambda: threading.Barrier(2))
    accept_inside: threading.Event = field(default_factory=threading.Event)
    revoke_inside: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)


def _accept(race: Round, item: TransferItem, officer: Any) -> None:
    try:
        race.start.wait()
        if race.first == "revoke":
            race.revoke_inside.wait(timeout=10)
        transfer_item_decide(item=item, actor=officer, decision="accept")
    except Exception as exc:
        race.errors.append(exc)
    finally:
        connection.close()


def _revoke(race: Round, decision: Decision, admin: Any) -> None:
    try:
        race.start.wait()
        if race.first == "accept":
            race.accept_inside.wait(timeout=10)
        accreditation_services.accreditation_revoke(decision=decision, actor=admin, **REVOKE)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_an_acceptance_racing_a_revocation_never_leaves_credits_on_nothing(
    postgres, institution_officer, management_admin, monkeypatch
):
    """An officer accepts while the centre revokes, on two connections, each order forced
    twice and left to chance twice: either the course is withdrawn and nothing is transferred,
    or the acceptance came first and the course is flagged; never accepted, unflagged, on an
    accreditation worth nothing."""
    version = catalogue_version()
    programme, courses = programme_with_courses(institution_officer.institution)
    rule(version, courses[0])
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    now: dict[str, Round] = {}

    def revoke_inside(_revocation: Any) -> None:  # the last listener, inside the revocation
        if now["race"].first == "revoke":
            now["race"].revoke_inside.set()
            until_another_waits_on_a_lock()

    booked = transfer_services.ledger_append

    def accept_inside(**kwargs: Any) -> Any:  # the acceptance's booking, inside its transaction
        if now["race"].first == "accept":
            now["race"].accept_inside.set()
            until_another_waits_on_a_lock()
        return booked(**kwargs)

    listeners = getattr(accreditation_services, "revocation_listeners", [])
    monkeypatch.setattr(
        accreditation_services, "revocation_listeners", [*listeners, revoke_inside], raising=False
    )
    monkeypatch.setattr(transfer_services, "ledger_append", accept_inside)

    seen: list[str] = []
    for first in ("revoke", "accept", "either", "revoke", "accept", "either"):
        race = now["race"] = Round(first=first)
        account = PersonalAccountFactory()
        outcome = accredited_outcome(account, version, decider)
        item = transfer_apply(
            account=account,
            programme=programme,
            items=[(courses[0], outcome)],
            actor=account.holder,  # type: ignore[arg-type]
        ).items.get()
        decision = Decision.objects.get(application__outcome=outcome)
        threads = [
            threading.Thread(target=_accept, args=(race, item, institution_officer)),
            threading.Thread(target=_revoke, args=(race, decision, management_admin)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        item.refresh_from_db()
        assert account_totals(account=account)[1] == 0
        if item.state == "withdrawn":
            assert transferred(account) == 0
            assert [type(e).__name__ for e in race.errors] == ["ValidationError"]
            seen.append(f"{first}: withdrawn")
        else:
            assert not race.errors
            assert item.state == "accepted"
            flagged = getattr(item, "basis_revoked_at", None)  # (the old code had no flag)
            assert flagged is not None, "accepted on a revoked accreditation, not flagged"
            assert transferred(account) == item.credits
            seen.append(f"{first}: flagged")
    # The forced orders end the way their order says.
    assert [s for s in seen if not s.startswith("either")] == [
        "revoke: withdrawn",
        "accept: flagged",
        "revoke: withdrawn",
        "accept: flagged",
    ]


@pytest.mark.usefixtures("english")
def test_a_kept_course_shows_on_the_path_as_settled_not_revoked(
    api_client, client, world, learner, institution_officer, management_admin
):
    transfer = applied(api_client, world, learner)
    item_id = transfer["items"][0]["id"]
    api_client.force_authenticate(institution_officer)
    api_client.post(
        f"/api/v1/transfers/items/{item_id}/decide/", {"decision": "accept"}, format="json"
    )
    revoked(api_client, world, management_admin)
    api_client.force_authenticate(institution_officer)
    kept = api_client.post(
        f"/api/v1/transfers/items/{item_id}/keep/", {"reason": "已通过本校考试"}, format="json"
    )
    assert kept.status_code == 200, kept.content

    line = path_line(api_client, world, learner)
    client.force_login(learner)
    page = client.get(f"/file/goals/{world['programme'].pk}/")

    assert (line["transferred"], line["basis_revoked"], line["basis_kept"]) == (True, False, True)
    assert page.status_code == 200
    assert 'data-testid="basis-revoked"' not in page.content.decode()
    assert 'data-testid="basis-kept"' in page.content.decode()


@pytest.mark.usefixtures("english")
def test_invisible_characters_in_a_revocation_or_keep_reason_are_refused_on_its_field(
    api_client, world, learner, institution_officer, management_admin
):
    transfer = applied(api_client, world, learner)
    item_id = transfer["items"][0]["id"]
    api_client.force_authenticate(institution_officer)
    api_client.post(
        f"/api/v1/transfers/items/{item_id}/decide/", {"decision": "accept"}, format="json"
    )
    api_client.force_authenticate(management_admin)
    hidden_revoke = api_client.post(
        revoke_url(world["outcome"]), {**REVOKE, "reason": "证书\u202e系伪造"}, format="json"
    )
    assert hidden_revoke.status_code == 400
    assert "Invisible control characters" in hidden_revoke.json()["reason"][0]
    assert TransferItem.objects.get(pk=item_id).basis_revoked_at is None

    revoked(api_client, world, management_admin)
    api_client.force_authenticate(institution_officer)
    hidden_keep = api_client.post(
        f"/api/v1/transfers/items/{item_id}/keep/",
        {"reason": "已通过\u200b本校考试"},
        format="json",
    )

    assert hidden_keep.status_code == 400
    assert "Invisible control characters" in hidden_keep.json()["reason"][0]
    assert TransferItem.objects.get(pk=item_id).basis_kept_at is None
