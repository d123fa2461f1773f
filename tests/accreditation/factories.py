"""Rows of the accreditation app, written directly (the services have their own tests).

``ApplicationFactory`` builds an open application with its clock set the way submission sets it:
pass ``clock_started_on`` (default: today in Beijing) and it derives ``due_on`` and ``remind_on``
from the working-day calendar; pass ``due_on``/``remind_on`` to pin them.
"""

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import LearningAccount, LedgerEntry
from accreditation import calendar
from accreditation.models import (
    Application,
    ApplicationState,
    CatalogueEntry,
    CatalogueEntryVersion,
    Decision,
)
from outcomes.models import LearningOutcome
from tests.accounts.factories import CentreFactory
from tests.outcomes.factories import LearningOutcomeFactory

CLOCK_DAYS = 15
SINCE = datetime.date(2020, 1, 1)


def principal_entry_publish(actor: Any = None) -> Any:
    """The catalogue entry of the source texts' kindergarten principal qualification
    certificate: 120 learning hours, 4 credits, in effect from 2024."""
    from accreditation.catalogue import catalogue_entry_publish

    return catalogue_entry_publish(
        code="VQ-JY-001",
        name="幼儿园园长任职资格证书",
        name_en="Kindergarten principal qualification certificate",
        kind="vocational_qualification",
        issuing_body="重庆市教育委员会",
        hours=Decimal("120"),
        credits=Decimal("4"),
        evidence_required="证书原件扫描件",
        effective_from=datetime.date(2024, 1, 1),
        approving_body="重庆学分银行管理中心",
        rationale="园长任职资格培训 120 学时",
        actor=actor,
    ).entry


def catalogue_version(code: str = "CQ-ZG-001", name: str = "幼儿园园长任职资格证书"):
    """A catalogue entry's first version, written directly: 120 hours, 6 credits, from 2020."""
    entry = CatalogueEntry.objects.create(code=code)
    return CatalogueEntryVersion.objects.create(
        entry=entry,
        version=1,
        name=name,
        name_en="",
        kind="vocational_qualification",
        issuing_body="重庆市教育委员会",
        hours=Decimal("120"),
        credits=Decimal("6"),
        evidence_required="证书",
        effective_from=SINCE,
        approving_body="管理中心",
        rationale="示例",
    )


def _deadline(application: Any) -> calendar.Deadline:
    return calendar.deadline_from(application.clock_started_on, application.clock_days)


class ApplicationFactory(DjangoModelFactory[Application]):
    class Meta:
        model = Application

    if TYPE_CHECKING:  # calling the factory gives the model

        def __new__(cls, *args: Any, **kwargs: Any) -> Application: ...  # type: ignore[misc]

    class Params:
        deadline = factory.LazyAttribute(_deadline)

    outcome = factory.SubFactory(LearningOutcomeFactory)
    account = factory.SelfAttribute("outcome.account")
    centre = factory.SubFactory(CentreFactory)
    kind = factory.SelfAttribute("outcome.kind")
    state = ApplicationState.SUBMITTED
    submitted_at = factory.LazyFunction(timezone.now)
    clock_started_on = factory.LazyFunction(timezone.localdate)
    clock_days = CLOCK_DAYS
    due_on = factory.LazyAttribute(lambda a: a.deadline.due_on)
    remind_on = factory.LazyAttribute(lambda a: a.deadline.remind_on)


class RejectionFactory(DjangoModelFactory[Decision]):
    """A decision (a rejection with a reason: the simplest complete one); set ``on_time``."""

    class Meta:
        model = Decision

    if TYPE_CHECKING:  # calling the factory gives the model

        def __new__(cls, *args: Any, **kwargs: Any) -> Decision: ...  # type: ignore[misc]

    application = factory.SubFactory(ApplicationFactory, state=ApplicationState.REJECTED)
    result = Decision.Result.REJECTED
    reason = "证书编号无法核验"
    decided_by = factory.SelfAttribute("application.assigned_to")
    decided_at = factory.LazyFunction(timezone.now)
    on_time = True


def accredited_outcome(account: LearningAccount, version, decided_by: Any) -> LearningOutcome:
    """An outcome accredited against ``version``: application, decision and ledger entry."""
    outcome = LearningOutcomeFactory(
        account=account, title=version.name, status=LearningOutcome.Status.ACCREDITED
    )
    # Decided at the decider's centre (a centre of its own when the decider has none).
    centre = {"centre": decided_by.centre} if getattr(decided_by, "centre", None) else {}
    application = ApplicationFactory(
        outcome=outcome, state=ApplicationState.ACCREDITED, assigned_to=decided_by, **centre
    )
    decision = Decision.objects.create(
        application=application,
        result=Decision.Result.ACCREDITED,
        basis=Decision.Basis.CATALOGUE,
        catalogue_version=version,
        hours=version.hours,
        credits=version.credits,
        decided_by=decided_by,
        on_time=True,
    )
    LedgerEntry.objects.create(
        account=account,
        hours=version.hours,
        credits=version.credits,
        cause_type="accreditation_decision",
        cause_id=str(decision.pk),
    )
    return outcome
