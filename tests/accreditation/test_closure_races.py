"""Closing an account while the centre works on it: the closure holds the learner's account and
then withdraws and erases the account's applications, so every accreditation move must take
the account before the application (and nothing it writes may wait behind the account lock
while it holds an application), or the two wait on each other and PostgreSQL kills one with
"deadlock detected". PostgreSQL only: SQLite's writers take turns for the whole database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation

from accounts.models import CorrectionRequest, LearningAccount, Role
from accounts.rights import services as rights_services
from accounts.rights.services import correction_request
from accounts.services import ClosureWithdrawal, account_totals
from accreditation import services as accreditation_services
from accreditation.models import (
    Application,
    ApplicationEvent,
    ApplicationState,
    Decision,
    Revocation,
)
from tests.accounts.factories import PersonalAccountFactory, UserFactory
from tests.accreditation.factories import ApplicationFactory, accredited_outcome, catalogue_version
from tests.locks import until_another_waits_on_a_lock
from tests.outcomes.factories import LearningOutcomeFactory


@dataclass
class Round:
    """One race of a closure against a centre's move (``rival``: "revoke", "decide" or
    "correct").
    ``first`` is "close" or "rival": the second starts only once the first is inside its
    transaction, holding its locks, and the first goes on only once the second waits on a
    lock (or has finished), so the order is forced through the locks, not left to timing."""

    rival: str
    first: str
    start: threading.Barrier = field(default_factory=lambda: threading.Barrier(2))
    inside: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    errors: dict[str, BaseException] = field(default_factory=dict)


def _run(race: Round, me: str, work: Callable[[], Any]) -> None:
    try:
        race.start.wait()
        if race.first != me:
            race.inside.wait(timeout=10)
        work()
    except Exception as exc:
        race.errors[me] = exc
    finally:
        race.done.set()
        connection.close()


def closure_pauses(monkeypatch: Any, now: dict[str, Round]) -> None:
    """The closure pauses inside its transaction, the account locked and the holder's data
    already erased, just before the layers withdraw their open work (when it goes first)."""

    def closure_inside(account: LearningAccount, holder: Any) -> int:
        if now["race"].first == "close":
            now["race"].inside.set()
            until_another_waits_on_a_lock(now["race"].done)
        return 0

    pause = ClosureWithdrawal(name="race", open_of=lambda account: [], withdraw=closure_inside)
    monkeypatch.setattr(
        rights_services,
        "closure_withdrawals",
        {"race": pause, **rights_services.closure_withdrawals},
    )


def race_run(race: Round, close: Callable[[], Any], rival: Callable[[], Any]) -> None:
    """The closure and its rival, each on a thread (and a connection) of its own."""
    threads = [
        threading.Thread(target=_run, args=(race, "close", close)),
        threading.Thread(target=_run, args=(race, "rival", rival)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.django_db(transaction=True)
def test_a_closure_racing_a_revocation_or_a_decision_never_deadlocks(
    postgres, reviewer, management_admin, monkeypatch
):
    """An account with an accredited outcome and an application under review is closed while
    the centre's administrator revokes the accreditation, while the reviewer rejects the
    application, or while the reviewer rejects the learner's correction request: each order
    forced. Both finish, or the decision that comes second is refused with a clear message;
    the open application ends withdrawn or decided, never both."""
    version = catalogue_version()
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=reviewer.centre)
    now: dict[str, Round] = {}

    closure_pauses(monkeypatch, now)
    # The revocation and the decision pause at their learner's notice, their last write.
    notified = accreditation_services.notify

    def rival_inside(**kwargs: Any) -> Any:
        if now["race"].first == "rival":
            now["race"].inside.set()
            until_another_waits_on_a_lock(now["race"].done)
        return notified(**kwargs)

    monkeypatch.setattr(accreditation_services, "notify", rival_inside)
    monkeypatch.setattr(rights_services, "notify", rival_inside)  # the correction's notice

    seen: list[str] = []
    for rival, first in (
        ("revoke", "close"),
        ("decide", "close"),
        ("correct", "close"),
        ("revoke", "rival"),
        ("decide", "rival"),
        ("correct", "rival"),
    ):
        race = now["race"] = Round(rival=rival, first=first)
        account = PersonalAccountFactory()
        accredited = accredited_outcome(account, version, decider)
        decision = Decision.objects.get(application__outcome=accredited)
        open_application = ApplicationFactory(
            outcome=LearningOutcomeFactory(account=account),
            centre=reviewer.centre,
            assigned_to=reviewer,
            state=ApplicationState.IN_REVIEW,
        )
        correction = correction_request(
            user=account.holder,  # type: ignore[arg-type]
            field="name",
            new_value="李爱莉",
            reason="户口本上是这样",
        )
        assert correction.centre_id == reviewer.centre_id

        def close(account: LearningAccount = account) -> None:
            rights_services.account_close(account=account)

        def revoke(decision: Decision = decision) -> None:
            accreditation_services.accreditation_revoke(
                decision=decision,
                actor=management_admin,
                reason_code="evidence_false",
                reason="证书系伪造",
            )

        def decide(application: Application = open_application) -> None:
            accreditation_services.application_reject(
                application=application, actor=reviewer, reason="证书编号无法核验"
            )

        def correct(correction: CorrectionRequest = correction) -> None:
            rights_services.correction_decide(
                request_id=correction.pk, reviewer=reviewer, accept=False, reason="与户籍不符"
            )

        rivals: dict[str, Callable[[], Any]] = {
            "revoke": revoke,
            "decide": decide,
            "correct": correct,
        }
        race_run(race, close, rivals[rival])

        # No deadlock: the closure always finishes; the rival finishes, or a decision that
        # comes after the closure is refused with the reason.
        assert "close" not in race.errors, f"{rival}, {first} first: {race.errors}"
        refused = race.errors.get("rival")
        if refused is not None:
            refusable = {("decide", "close"), ("correct", "close")}
            assert (rival, first) in refusable, f"{rival}, {first} first: {refused!r}"
            assert isinstance(refused, ValidationError), repr(refused)
            field = "application" if rival == "decide" else "request"
            with translation.override("en"):
                assert "account has been closed" in str(refused.message_dict[field])
        account.refresh_from_db()
        assert account.status == LearningAccount.Status.CLOSED

        open_application.refresh_from_db()
        withdrawn = ApplicationEvent.objects.filter(
            application=open_application, action=ApplicationEvent.Action.WITHDRAW
        ).exists()
        decided = Decision.objects.filter(application=open_application).exists()
        assert withdrawn != decided, f"{rival}, {first} first: withdrawn and decided"
        correction.refresh_from_db()
        if rival == "correct":
            assert correction.status == ("rejected" if first == "rival" else "pending")
            assert correction.new_value == ""  # erased by the closure, whichever came first
        if rival == "revoke":
            assert Revocation.objects.filter(decision=decision).exists()
            assert account_totals(account=account)[1] == 0  # the credits reversed
            assert open_application.state == ApplicationState.WITHDRAWN
        seen.append(f"{rival}, {first} first: {open_application.state}")
    assert seen == [
        "revoke, close first: withdrawn",
        "decide, close first: withdrawn",
        "correct, close first: withdrawn",
        "revoke, rival first: withdrawn",
        "decide, rival first: rejected",
        "correct, rival first: withdrawn",
    ]
