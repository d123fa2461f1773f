"""Rows of the outcomes app: written directly, or saved through the service where the
evidence file must exist in storage."""

import datetime
from typing import TYPE_CHECKING, Any

import factory
from factory.django import DjangoModelFactory

from accounts.models import LearningAccount
from outcomes.models import LearningOutcome, OutcomeKind
from outcomes.services import outcome_save
from outcomes.storage import Upload
from tests.accounts.factories import PersonalAccountFactory
from tests.outcomes.samples import pdf_bytes


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
