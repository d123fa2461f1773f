"""Each status machine of accounts refuses every move its table does not allow, and every move
it allows leaves one event."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.collective.workflow import APPLICATION, INVITATION
from accounts.models import (
    ClosureEvent,
    ClosureRequest,
    CollectiveApplicationEvent,
    CollectiveMembership,
    CollectiveMembershipEvent,
    CorrectionEvent,
    CorrectionRequest,
    LearningAccount,
)
from accounts.rights.workflow import CLOSURE, CORRECTION
from tests.accounts.factories import (
    CollectiveAccountFactory,
    PersonalAccountFactory,
    UserFactory,
)
from tests.workflows import allowed_moves, forbidden_moves


def an_account() -> Any:
    return CollectiveAccountFactory()


def closure_request(state: str) -> Any:
    return ClosureRequest.objects.create(account=an_account(), status=state, due_at=timezone.now())


def correction_request(state: str) -> Any:
    return CorrectionRequest.objects.create(
        account=an_account(),
        field="name",
        new_value="邵涛",
        reason="Misspelt at the counter.",
        status=state,
    )


def application(state: str) -> Any:
    return CollectiveAccountFactory(status=state)


def invitation(state: str) -> Any:
    collective: Any = CollectiveAccountFactory()
    added_by: Any = UserFactory()
    return CollectiveMembership.objects.create(
        collective=collective, member=PersonalAccountFactory(), added_by=added_by, status=state
    )


MACHINES: dict[str, tuple[Any, ...]] = {
    "closure": (CLOSURE, ClosureRequest.Status.values, closure_request, ClosureEvent),
    "correction": (
        CORRECTION,
        CorrectionRequest.Status.values,
        correction_request,
        CorrectionEvent,
    ),
    "application": (
        APPLICATION,
        LearningAccount.Status.values,
        application,
        CollectiveApplicationEvent,
    ),
    "invitation": (
        INVITATION,
        CollectiveMembership.Status.values,
        invitation,
        CollectiveMembershipEvent,
    ),
}


def cases(pick) -> list:
    return [
        pytest.param(name, state, action, id=f"{name}-{state}-{action}")
        for name, (workflow, states, _make, _event) in MACHINES.items()
        for state, action in pick(workflow, states)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(("machine", "state", "action"), cases(forbidden_moves))
def test_it_refuses_every_move_its_table_forbids(machine, state, action):
    workflow, _states, make, event_model = MACHINES[machine]
    subject = make(state)

    with pytest.raises(ValidationError) as refused:
        workflow.move(subject, action=action, actor=UserFactory(), reason="Trying.")

    codes = [e.code for errors in refused.value.error_dict.values() for e in errors]
    assert codes == ["illegal_move"]
    subject.refresh_from_db()
    assert subject.status == state
    assert not event_model.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("machine", "state", "action"), cases(allowed_moves))
def test_every_move_it_allows_leaves_one_event(machine, state, action):
    workflow, _states, make, event_model = MACHINES[machine]
    subject = make(state)
    actor = UserFactory()

    event = workflow.move(
        subject, action=action, actor=actor, reason="Checked.", save=lambda s: s.save()
    )

    subject.refresh_from_db()
    assert subject.status == workflow.target(action)
    assert list(event_model.objects.values_list("action", "from_state", "to_state")) == [
        (action, state, workflow.target(action))
    ]
    assert event.actor == actor
