"""The status machines of the transfers layer (transfers.workflow): every move their tables
forbid is refused, writes no event and leaves the state as it was; every move they allow
writes one event."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Role
from tests.accounts.factories import CentreFactory, PersonalAccountFactory, UserFactory
from tests.accreditation.factories import accredited_outcome, catalogue_version
from tests.transfers.factories import programme_with_courses, rule
from tests.workflows import allowed_moves, forbidden_moves
from transfers.models import (
    Certificate,
    CertificateEvent,
    TransferEvent,
    TransferItem,
    TransferItemState,
)
from transfers.services import transfer_apply
from transfers.workflow import CERTIFICATE, TRANSFER_ITEM

pytestmark = pytest.mark.django_db

ITEM_PAIRS = forbidden_moves(TRANSFER_ITEM, TransferItemState.values, TransferEvent.Action.values)
ITEM_MOVES = allowed_moves(TRANSFER_ITEM, TransferItemState.values, TransferEvent.Action.values)
CERTIFICATE_PAIRS = forbidden_moves(
    CERTIFICATE, Certificate.State.values, CertificateEvent.Action.values
)
CERTIFICATE_MOVES = allowed_moves(
    CERTIFICATE, Certificate.State.values, CertificateEvent.Action.values
)


@pytest.fixture
def item(learner, institution_officer) -> TransferItem:
    """A pending transfer item of 李爱丽's, for a course of the officer's institution."""
    account = PersonalAccountFactory(holder=learner)
    version = catalogue_version()
    programme, courses = programme_with_courses(institution_officer.institution)
    rule(version, courses[0])
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    outcome = accredited_outcome(account, version, decider)
    application = transfer_apply(
        account=account, programme=programme, items=[(courses[0], outcome)], actor=learner
    )
    return application.items.get()


def item_in(item: TransferItem, state: str, officer: Any) -> TransferItem:
    # Set up by hand: the state is the premise of the test, not a move under test.
    TransferItem.objects.filter(pk=item.pk).update(
        state=state, reason="理由", decided_by=officer, decided_at=timezone.now()
    )
    item.refresh_from_db()
    return item


def certificate_in(state: str) -> Certificate:
    issued = state == Certificate.State.ISSUED
    return Certificate.objects.create(
        serial=secrets.token_urlsafe(18),
        account=PersonalAccountFactory(),
        kind=Certificate.Kind.TRANSCRIPT,
        state=state,
        content={"serial": "x"} if issued else None,
        signature="c2lnbmF0dXJl" if issued else "",
        issued_at=timezone.now() if issued else None,
    )


def test_an_accepted_course_is_flagged_rescinded_or_kept_and_nothing_else_is():
    """The moves for an accreditation revoked after acceptance start from accepted only; a
    rescinded course is final."""
    revocation_moves = {
        TransferEvent.Action.BASIS_REVOKED: None,
        TransferEvent.Action.RESCIND: TransferItemState.RESCINDED,
        TransferEvent.Action.KEEP: None,
    }
    for action, target in revocation_moves.items():
        assert [s for s in TransferItemState.values if TRANSFER_ITEM.is_allowed(s, action)] == [
            TransferItemState.ACCEPTED
        ]
        assert TRANSFER_ITEM.target(action) == target
    assert TRANSFER_ITEM.allowed(TransferItemState.RESCINDED) == []


def test_the_tables_forbid_something_and_allow_something():
    assert ITEM_PAIRS
    assert ITEM_MOVES
    assert CERTIFICATE_PAIRS
    assert CERTIFICATE_MOVES


@pytest.mark.parametrize(("state", "action"), ITEM_PAIRS)
def test_a_transfer_item_refuses_every_move_its_table_forbids(
    item, institution_officer, state, action
):
    item = item_in(item, state, institution_officer)
    events = item.events.count()

    with pytest.raises(ValidationError) as refused:
        TRANSFER_ITEM.move(item, action=action, actor=institution_officer, reason="理由")

    assert [e.code for e in refused.value.error_dict["state"]] == ["illegal_move"]
    assert item.state == state
    item.refresh_from_db()
    assert item.state == state
    assert item.events.count() == events


@pytest.mark.parametrize(("state", "action"), ITEM_MOVES)
def test_a_transfer_item_move_its_table_allows_writes_one_event(
    item, institution_officer, state, action
):
    item = item_in(item, state, institution_officer)
    events = item.events.count()

    event = TRANSFER_ITEM.move(item, action=action, actor=institution_officer, reason="理由")

    # A move to no state (a flag, a keep) is an event that leaves the state as it was.
    assert (event.from_state, event.to_state) == (state, TRANSFER_ITEM.target(action) or state)
    assert item.events.count() == events + 1


@pytest.mark.usefixtures("english")
def test_the_refusal_of_a_transfer_item_says_what_it_said_before(item, institution_officer):
    item = item_in(item, TransferItemState.ACCEPTED, institution_officer)

    with pytest.raises(ValidationError) as refused:
        TRANSFER_ITEM.move(item, action=TransferEvent.Action.ACCEPT, actor=institution_officer)

    assert refused.value.message_dict == {
        "state": ["A course that is “Accepted” cannot be “Accepted”."]
    }


@pytest.mark.parametrize(("state", "action"), CERTIFICATE_PAIRS)
def test_a_certificate_refuses_every_move_its_table_forbids(state, action):
    certificate = certificate_in(state)

    with pytest.raises(ValidationError) as refused:
        CERTIFICATE.move(certificate, action=action)

    assert [e.code for e in refused.value.error_dict["state"]] == ["illegal_move"]
    assert certificate.state == state
    certificate.refresh_from_db()
    assert certificate.state == state
    assert not certificate.events.exists()


@pytest.mark.parametrize(("state", "action"), CERTIFICATE_MOVES)
def test_a_certificate_move_its_table_allows_writes_one_event(state, action):
    certificate = certificate_in(state)
    # What the render sets beside the state (an issued certificate is signed).
    certificate.content, certificate.signature = {"serial": "x"}, "c2lnbmF0dXJl"
    certificate.issued_at = timezone.now()

    CERTIFICATE.move(certificate, action=action, save=lambda c: c.save())

    certificate.refresh_from_db()
    assert certificate.state == CERTIFICATE.target(action)
    assert list(certificate.events.values_list("action", "from_state", "to_state")) == [
        (action, state, CERTIFICATE.target(action))
    ]
