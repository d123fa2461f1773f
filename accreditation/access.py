"""What a centre's applications open to its staff, registered with the layers below in
``AccreditationConfig.ready()``: the evidence of an outcome whose application the centre has
under review or decided; an application under review as the reference of an identity reveal;
and the centre that decided an outcome, where a correction of it goes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.models import CENTRE_ROLES, LearningAccount, Role, User
from accounts.services import reference_number

from .models import UNDECIDED_STATES, Application, ApplicationState

DECIDED_STATES = (ApplicationState.ACCREDITED, ApplicationState.REJECTED)
# What a reviewer needs the evidence for: reviewing it, and after the decision, a correction,
# a revocation or a question about it. A withdrawn application opens nothing.
EVIDENCE_STATES = (*UNDECIDED_STATES, *DECIDED_STATES)


def evidence_staff_check(user: User, outcome_id: int) -> bool:
    """Centre staff: the outcome has an application at their centre, under review or decided
    there. The management admin, who oversees every centre's applications: one anywhere."""
    applications = Application.objects.filter(outcome_id=outcome_id, state__in=EVIDENCE_STATES)
    if user.role in CENTRE_ROLES and user.centre_id is not None:
        return applications.filter(centre_id=user.centre_id).exists()
    if user.role == Role.MANAGEMENT_ADMIN:
        return applications.exists()
    return False


def application_reveal_check(staff: User, account: LearningAccount, reference: str) -> str | None:
    """A reveal's reference: the learner's application under review at the staff member's
    centre, by its number."""
    number = reference_number(reference)
    if number is None or staff.centre_id is None:
        return None
    found = Application.objects.filter(
        pk=number, account=account, centre_id=staff.centre_id, state__in=UNDECIDED_STATES
    ).exists()
    if not found:
        return None
    return str(_("Accreditation application #%(number)s") % {"number": number})


def correction_router(
    account: LearningAccount, record_kind: str, record_id: int | None
) -> int | None:
    """The centre that decided the outcome (its latest decided application); for basic
    information, the centre of the learner's latest application."""
    applications = Application.objects.filter(account=account)
    if record_kind == "outcome":
        applications = applications.filter(outcome_id=record_id, state__in=DECIDED_STATES)
    elif record_kind:
        return None
    else:
        applications = applications.exclude(state=ApplicationState.WITHDRAWN)
    latest = applications.order_by("-submitted_at", "-id").values_list("centre_id", flat=True)
    return latest.first()
