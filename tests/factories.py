"""The factories live per app now: tests/accounts/factories.py, tests/outcomes/factories.py,
tests/accreditation/factories.py and tests/transfers/factories.py. No test imports this module;
it re-exports the accounts factories so that a branch written against it still merges."""

from tests.accounts.factories import (
    CentreFactory,
    CollectiveAccountFactory,
    InstitutionFactory,
    ManagementCentreFactory,
    PersonalAccountFactory,
    UserFactory,
)

__all__ = [
    "CentreFactory",
    "CollectiveAccountFactory",
    "InstitutionFactory",
    "ManagementCentreFactory",
    "PersonalAccountFactory",
    "UserFactory",
]
