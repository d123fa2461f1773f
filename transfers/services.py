"""Operations of the transfers layer that pages, the API and other layers call."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import BusinessTransaction, LearningAccount, User
from accounts.services import transaction_record

from .models import Course, LearningGoal, Programme

MAX_GOALS = 10


def programmes_published() -> QuerySet[Programme]:
    return (
        Programme.objects.filter(is_published=True, institution__is_active=True)
        .select_related("institution")
        .prefetch_related(Prefetch("courses", queryset=Course.objects.order_by("code")))
    )


@transaction.atomic
def learning_goal_set(
    *, account: LearningAccount, programme: Programme, actor: User
) -> LearningGoal:
    """The learner aims at ``programme``; setting the same goal twice is refused."""
    if not programme.is_published:
        raise ValidationError({"programme": _("This programme is not open to learners.")})
    # Lock the account row so that two requests cannot both slip under the limit.
    LearningAccount.objects.select_for_update().get(pk=account.pk)
    if LearningGoal.objects.filter(account=account).count() >= MAX_GOALS:
        raise ValidationError(
            {"programme": _("You can follow at most %(n)d goals at once.") % {"n": MAX_GOALS}}
        )
    try:
        with transaction.atomic():
            goal = LearningGoal.objects.create(account=account, programme=programme)
    except IntegrityError as exc:
        raise ValidationError(
            {"programme": _("This programme is already one of your goals.")}
        ) from exc
    transaction_record(
        account=account,
        kind=BusinessTransaction.Kind.GOAL_SET,
        actor=actor,
        details={"programme": programme.code, "institution": programme.institution.name},
    )
    return goal


@transaction.atomic
def learning_goal_remove(*, goal: LearningGoal, actor: User) -> None:
    programme = goal.programme
    account = goal.account
    goal.delete()
    transaction_record(
        account=account,
        kind=BusinessTransaction.Kind.GOAL_REMOVED,
        actor=actor,
        details={"programme": programme.code, "institution": programme.institution.name},
    )


def learning_goals_of(*, account: LearningAccount) -> QuerySet[LearningGoal]:
    return LearningGoal.objects.filter(account=account).select_related(
        "programme", "programme__institution"
    )
