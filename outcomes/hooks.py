"""Hooks through which the layers above take part in checking a learning outcome, and in
deciding who besides the learner may open its evidence, without this layer importing them.

The catalogue (accreditation) knows the format of each certificate's number; it registers a
check here in its ``AppConfig.ready()``, and ``outcome_precheck`` asks every registered check,
so that a learner hears about a mistyped number when saving the outcome rather than fifteen
working days later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# A check takes the outcome's description (the fields of ``OUTCOME_FIELDS``, as the services
# see them) and returns a message for the ``certificate_number`` field, or None when it has
# nothing to say.
CertificateNumberCheck = Callable[[Mapping[str, Any]], str | None]

certificate_number_checks: list[CertificateNumberCheck] = []


def certificate_number_check_register(check: CertificateNumberCheck) -> CertificateNumberCheck:
    """Add ``check`` to the checks of a certificate number; registering it twice (``ready()``
    may run more than once) keeps one. Usable as a decorator."""
    if check not in certificate_number_checks:
        certificate_number_checks.append(check)
    return check


def certificate_number_problems(data: Mapping[str, Any]) -> list[str]:
    """What the registered checks say about the outcome's certificate number."""
    return [message for check in certificate_number_checks if (message := check(data))]


# Staff may open a learner's evidence only for the business their centre has with that outcome:
# accreditation registers a check (an application of the outcome at the staff member's centre,
# under review or decided there). Opening the learner's file or revealing their identity number
# grants nothing. A check takes the staff member and the evidence's outcome id.
EvidenceStaffCheck = Callable[[Any, int], bool]

evidence_staff_checks: list[EvidenceStaffCheck] = []


def evidence_staff_check_register(check: EvidenceStaffCheck) -> EvidenceStaffCheck:
    """Add ``check`` to who among staff may open an outcome's evidence; registering it twice
    keeps one."""
    if check not in evidence_staff_checks:
        evidence_staff_checks.append(check)
    return check


def evidence_staff_may_open(user: Any, outcome_id: int) -> bool:
    """Whether any registered check lets ``user`` (staff) open the outcome's evidence."""
    return any(check(user, outcome_id) for check in evidence_staff_checks)
