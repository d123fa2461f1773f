"""Look-ups of centres, their staff and institutions that the apps above ask for, so that they
never query ``Centre``, ``User`` or ``Institution`` themselves."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from django.db.models import Q, QuerySet

from accounts.core.models import Centre, Institution, Role, User


def centres_list(*, branch: bool = False, active: bool = False) -> QuerySet[Centre]:
    """Centres by code; only accreditation branch centres with ``branch``, only those at work
    with ``active``."""
    centres = Centre.objects.all()
    if branch:
        centres = centres.filter(kind=Centre.Kind.BRANCH)
    if active:
        centres = centres.filter(is_active=True)
    return centres


def centre_find(*, pk: int) -> Centre | None:
    return Centre.objects.filter(pk=pk).first()


def centres_at_work_or(*, ids: Collection[int]) -> QuerySet[Centre]:
    """Every branch centre at work, and the centres ``ids`` whatever their state (a report
    still counts what a closed centre did)."""
    return Centre.objects.filter(
        Q(is_active=True, kind=Centre.Kind.BRANCH) | Q(pk__in=ids)
    ).order_by("code")


def staff_of_centre(*, centre: Centre, roles: Iterable[str]) -> QuerySet[User]:
    """The centre's active staff in ``roles``, by name."""
    return User.objects.filter(centre=centre, role__in=list(roles), is_active=True).order_by(
        "name", "username"
    )


def centre_admins_of(*, centre_ids: Collection[int]) -> QuerySet[User]:
    """The active administrators of the centres ``centre_ids``."""
    return User.objects.filter(
        role=Role.CENTRE_ADMIN, centre_id__in=centre_ids, is_active=True
    ).order_by("pk")


def users_or_centre_reviewers(
    *, user_ids: Collection[int], centre_ids: Collection[int]
) -> QuerySet[User]:
    """The users ``user_ids`` and every active reviewer of the centres ``centre_ids``: the rows
    of a per-reviewer report, where a reviewer with nothing to count still has a row."""
    return User.objects.filter(
        Q(pk__in=user_ids) | Q(centre__in=centre_ids, role=Role.CENTRE_REVIEWER, is_active=True)
    )


def users_active() -> QuerySet[User]:
    return User.objects.filter(is_active=True)


def institutions_matching(
    *, credit_codes: Collection[str] = (), names: Collection[str] = ()
) -> list[Institution]:
    """The institutions with one of ``credit_codes`` (unified social credit codes, upper case)
    or one of ``names`` (one query)."""
    return list(
        Institution.objects.filter(Q(credit_code__in=list(credit_codes)) | Q(name__in=list(names)))
    )
