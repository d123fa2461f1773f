"""The learner's account for the project's own pages, which any signed-in user may reach."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from accounts.models import LearningAccount, Role, User
from accounts.services import learning_account_required
from accounts.signin.permissions import user_has_role


def learner_account_or_403(*, user: User) -> LearningAccount:
    """The signed-in learner's account: 403 for a user of another role (these pages are no
    business of theirs), 404 for a learner who holds none yet."""
    if not user_has_role(user, Role.LEARNER):
        raise PermissionDenied
    return learning_account_required(user=user)
