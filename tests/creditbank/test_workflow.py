"""The status machine of the data export (creditbank.workflow): every move its table forbids is
refused, writes no event and leaves the state as it was; every move it allows writes one
event."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from creditbank.models import DataExport, DataExportEvent
from creditbank.workflow import DATA_EXPORT
from tests.accounts.factories import PersonalAccountFactory
from tests.workflows import allowed_moves, forbidden_moves

pytestmark = pytest.mark.django_db

PAIRS = forbidden_moves(DATA_EXPORT, DataExport.State.values, DataExportEvent.Action.values)
MOVES = allowed_moves(DATA_EXPORT, DataExport.State.values, DataExportEvent.Action.values)


def export_in(state: str) -> DataExport:
    return DataExport.objects.create(account=PersonalAccountFactory(), state=state)


def test_the_table_forbids_something_and_allows_something():
    assert PAIRS
    assert MOVES


@pytest.mark.parametrize(("state", "action"), PAIRS)
def test_a_data_export_refuses_every_move_its_table_forbids(state, action):
    export = export_in(state)

    with pytest.raises(ValidationError) as refused:
        DATA_EXPORT.move(export, action=action)

    assert [e.code for e in refused.value.error_dict["state"]] == ["illegal_move"]
    assert export.state == state
    export.refresh_from_db()
    assert export.state == state
    assert not export.events.exists()


@pytest.mark.parametrize(("state", "action"), MOVES)
def test_a_data_export_move_its_table_allows_writes_one_event(state, action):
    export = export_in(state)

    DATA_EXPORT.move(export, action=action, save=lambda e: e.save(update_fields=["state"]))

    export.refresh_from_db()
    assert export.state == DATA_EXPORT.target(action)
    assert list(export.events.values_list("action", "from_state", "to_state")) == [
        (action, state, DATA_EXPORT.target(action))
    ]
