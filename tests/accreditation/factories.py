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

from accounts.models import LearningAccount
from accounts.services import personal_account_register
from accreditation import calendar
from accreditation.models import Application, ApplicationState, Decision
from outcomes.models import LearningOutcome, OutcomeKind
from outcomes.services import outcome_save
from outcomes.storage import Upload
from tests.accounts.factories import CentreFactory, UserFactory
from tests.outcomes.samples import pdf_bytes
from tests.people import LEARNER_PASSWORD as PASSWORD

CLOCK_DAYS = 15


def learner_register(name: str, id_number: str, phone: str) -> Any:
    """A learner with a personal account opened as online registration opens it."""
    return personal_account_register(
        name=name,
        id_type="resident_id",
        id_number=id_number,
        phone=phone,
        email=f"{phone}@example.cn",
        password=PASSWORD,
    )


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


def certificate_save(
    account: LearningAccount, title: str = "幼儿园园长任职资格证书"
) -> LearningOutcome:
    """A saved vocational qualification certificate with a PDF as its evidence."""
    return outcome_save(
        account=account,
        actor=account.holder,  # type: ignore[arg-type]
        data={
            "kind": "vocational_qualification",
            "title": title,
            "issuing_body": "重庆市教育委员会",
            "certificate_number": "YZ-2018-0042",
            "achieved_on": datetime.date(2018, 6, 30),
            "result": "合格",
        },
        uploads=[Upload(name="证书.pdf", data=pdf_bytes(title))],
    )


class PersonalAccountFactory(DjangoModelFactory[LearningAccount]):
    class Meta:
        model = LearningAccount

    if TYPE_CHECKING:  # calling the factory gives the model

        def __new__(cls, *args: Any, **kwargs: Any) -> LearningAccount: ...  # type: ignore[misc]

    number = factory.Sequence(lambda n: f"GR{n:09d}0")
    kind = LearningAccount.Kind.PERSONAL
    holder = factory.SubFactory(UserFactory)
    id_type = "resident_id"
    id_number_index = factory.Sequence(lambda n: f"{n:064x}")
    id_number_masked = "5001**********0000"


class LearningOutcomeFactory(DjangoModelFactory[LearningOutcome]):
    class Meta:
        model = LearningOutcome

    if TYPE_CHECKING:  # calling the factory gives the model

        def __new__(cls, *args: Any, **kwargs: Any) -> LearningOutcome: ...  # type: ignore[misc]

    account = factory.SubFactory(PersonalAccountFactory)
    kind = OutcomeKind.VOCATIONAL_QUALIFICATION
    title = factory.Sequence(lambda n: f"保育员职业资格证书{n}")
    issuing_body = "重庆市人力资源和社会保障局"
    achieved_on = datetime.date(2024, 6, 1)
    status = LearningOutcome.Status.SUBMITTED


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
