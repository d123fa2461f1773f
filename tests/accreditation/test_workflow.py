"""The table of moves of an accreditation application: every move it does not allow is refused
with ``illegal_move``, leaves no event and keeps the state."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accreditation import services
from accreditation.models import Application, ApplicationEvent, ApplicationState
from accreditation.workflow import TRANSITIONS, application_move
from tests.accreditation.factories import principal_entry_publish
from tests.outcomes.factories import certificate_save as principal_certificate
from tests.people import RESIDENT
from tests.people import learner_register as register

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(centre, management_admin):
    shao = register("邵涛涛", RESIDENT, "13912345678")
    return services.application_submit(
        outcome=principal_certificate(shao),
        centre=centre,
        actor=shao.holder,
        claimed_entry=principal_entry_publish(management_admin),
    )


def refresh(application: Application) -> Application:
    return Application.objects.select_related("outcome").get(pk=application.pk)


@pytest.mark.parametrize(
    ("action", "state"),
    [
        (action, state)
        for action, (sources, _target) in TRANSITIONS.items()
        for state in ApplicationState.values
        if state not in sources
    ],
)
def test_every_move_the_table_does_not_allow_is_refused(submitted, reviewer, action, state):
    Application.objects.filter(pk=submitted.pk).update(state=state)
    application = refresh(submitted)
    events = ApplicationEvent.objects.count()

    with pytest.raises(ValidationError) as exc:
        application_move(application, action=action, actor=reviewer)

    assert exc.value.error_dict["state"][0].code == "illegal_move"
    assert application.state == state
    assert ApplicationEvent.objects.count() == events
