"""Rows of the accounts app, written directly (the services have their own tests)."""

from typing import TYPE_CHECKING, Any

import factory
from factory.django import DjangoModelFactory

from accounts.models import Centre, Institution, LearningAccount, Role, User
from accounts.validators import uscc_check_character


class ManagementCentreFactory(DjangoModelFactory):
    class Meta:
        model = Centre
        django_get_or_create = ("code",)

    code = "MC"
    name = "管理中心"
    kind = Centre.Kind.MANAGEMENT


class CentreFactory(DjangoModelFactory):
    class Meta:
        model = Centre

    code = factory.Sequence(lambda n: f"BR{n:03d}")
    name = factory.Sequence(lambda n: f"第{n}认证分中心")
    kind = Centre.Kind.BRANCH
    parent = factory.SubFactory(ManagementCentreFactory)


def credit_code(n: int) -> str:
    """The n-th valid unified social credit code."""
    first17 = f"91500103MA{n:07d}"
    return first17 + uscc_check_character(first17)


class InstitutionFactory(DjangoModelFactory):
    class Meta:
        model = Institution

    name = factory.Sequence(lambda n: f"机构{n}")
    kind = Institution.Kind.ENTERPRISE
    credit_code = factory.Sequence(credit_code)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.cn")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    role = Role.LEARNER
    password = factory.django.Password("correct-horse-battery")


class CollectiveAccountFactory(DjangoModelFactory):
    """An approved collective account; pass ``institution`` (and ``opened_by``) of your own."""

    class Meta:
        model = "accounts.LearningAccount"

    number = factory.Sequence(lambda n: f"JT{n:09d}0")
    kind = "collective"
    status = "active"
    institution = factory.SubFactory(InstitutionFactory)


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
