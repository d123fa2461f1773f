"""Rows of the transfers app, written directly (the services have their own tests)."""

from decimal import Decimal

from accounts.models import Institution
from tests.accreditation.factories import SINCE
from transfers.models import ConversionRule, Course, Programme


def programme_with_courses(institution: Institution, code: str = "PRE-ZK", n: int = 2):
    """A degree programme of ``institution`` (10 credits required) and its ``n`` courses of
    3 credits each."""
    programme = Programme.objects.create(
        institution=institution,
        code=code,
        name="学前教育（专科）",
        name_en="Preschool Education",
        kind=Programme.Kind.DEGREE,
        credits_required=Decimal("10"),
    )
    courses = [
        Course.objects.create(
            programme=programme,
            code=f"{code}-{i}",
            name=f"课程{i}",
            name_en=f"Course {i}",
            credits=Decimal("3"),
        )
        for i in range(1, n + 1)
    ]
    return programme, courses


def rule(version, course, credits: str = "3") -> ConversionRule:
    """A conversion rule from ``version``'s catalogue entry to ``course``."""
    return ConversionRule.objects.create(
        entry=version.entry,
        course=course,
        version=1,
        credits=Decimal(credits),
        effective_from=SINCE,
        approving_body="重庆开放大学",
        rationale="覆盖课程目标",
    )
