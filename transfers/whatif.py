"""What-if across programmes, and the plan to one programme.

The what-if ranks every published programme (filtered by institution, level and kind) by the
share of its required credits that the learner's outcomes cover:

1. **now**: accredited outcomes through the conversion rules in effect (the learning path's
   ``match`` courses, transferred ones included);
2. **with your outcomes**: adding the saved and submitted outcomes that would cover a course once
   accredited (``maybe``);
3. **obtainable**: adding what the plan's catalogue entries would cover.

Ties go to the programme needing fewer credits still after all three, then by institution and
code. Each share is capped at 1 and cut (not rounded) to four places, so "1" means covered.

The plan to a programme: the courses already done (or waiting for an accreditation), and for
each missing course the catalogue entry that would cover it. One obtained outcome counts for one
course of a programme, so each entry is planned for one course at most: courses are given the
entry whose rule gives the most credits (then the fewest hours), the largest first. The steps are
shown by credits per learning hour, the best value first (the model holds no prerequisites).

Both read the same few queries whatever the number of programmes: ``transfers.paths`` reads the
learner's holdings once and every programme's offer at once, and compares them in memory. Her
binding yes answers to pre-assessments (ADR 0028) are among her holdings, read in one query for
all her courses: a course she can apply for under a binding counts as it would on the path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.db.models import QuerySet

from accounts.models import Institution, LearningAccount
from accreditation.models import CatalogueEntryVersion

from .models import ConversionRule, Course, Programme
from .paths import MATCH, MAYBE, CourseOnPath, Path, holdings_of, offers_of, path_of

SHARE_PLACES = Decimal("0.0001")
ZERO = Decimal(0)


@dataclass
class PlanStep:
    """Obtain an outcome of ``version``'s catalogue entry: it covers ``course`` through
    ``rule``."""

    course: Course
    version: CatalogueEntryVersion
    rule: ConversionRule

    @property
    def credits(self) -> Decimal:
        return self.rule.credits

    @property
    def hours(self) -> Decimal:
        return self.version.hours

    @property
    def credits_per_hour(self) -> Decimal:
        return self.rule.credits / self.version.hours


@dataclass
class Plan:
    path: Path
    done: list[CourseOnPath] = field(default_factory=list)
    # Covered once a saved or submitted outcome is accredited.
    waiting: list[CourseOnPath] = field(default_factory=list)
    steps: list[PlanStep] = field(default_factory=list)
    # Missing courses that no catalogue entry in effect covers: taken at the institution.
    uncovered: list[CourseOnPath] = field(default_factory=list)

    @property
    def programme(self) -> Programme:
        return self.path.programme

    @property
    def credits_done(self) -> Decimal:
        return self.path.credits_covered

    @property
    def credits_waiting(self) -> Decimal:
        return sum((line.credits for line in self.waiting), ZERO)

    @property
    def credits_planned(self) -> Decimal:
        return sum((step.credits for step in self.steps), ZERO)

    @property
    def hours_planned(self) -> Decimal:
        return sum((step.hours for step in self.steps), ZERO)

    @property
    def credits_after(self) -> Decimal:
        """Covered once every waiting outcome is accredited and every step is obtained."""
        return self.credits_done + self.credits_waiting + self.credits_planned

    @property
    def credits_still_needed_after(self) -> Decimal:
        return max(self.path.credits_required - self.credits_after, ZERO)


def plan_of(path: Path) -> Plan:
    """The plan to ``path``'s programme (no query)."""
    plan = Plan(path=path)
    # Entries the learner already holds for this programme are not planned again.
    held = {line.rule.entry_id for line in path.courses if line.rule is not None}
    missing: list[CourseOnPath] = []
    for line in path.courses:
        if line.status == MATCH:
            plan.done.append(line)
        elif line.status == MAYBE:
            plan.waiting.append(line)
        else:
            missing.append(line)
    versions = {v.entry_id: v for line in missing for v in line.covering}
    candidates = [
        (rule, line)
        for line in missing
        for rule in line.rules
        if rule.entry_id in versions and rule.entry_id not in held
    ]
    candidates.sort(
        key=lambda c: (-c[0].credits, versions[c[0].entry_id].hours, c[1].course.code, c[0].pk)
    )
    planned_courses: set[int] = set()
    for rule, line in candidates:
        if line.course.pk in planned_courses or rule.entry_id in held:
            continue
        planned_courses.add(line.course.pk)
        held.add(rule.entry_id)
        plan.steps.append(PlanStep(course=line.course, version=versions[rule.entry_id], rule=rule))
    plan.steps.sort(key=lambda s: (-s.credits_per_hour, -s.credits, s.version.entry.code))
    plan.uncovered = [line for line in missing if line.course.pk not in planned_courses]
    return plan


def _share(credits: Decimal, required: Decimal) -> Decimal:
    if required <= 0:
        return ZERO
    return min(credits / required, Decimal(1)).quantize(SHARE_PLACES, rounding=ROUND_DOWN)


@dataclass
class WhatIf:
    """One programme of the what-if: its path, its plan and the three shares."""

    plan: Plan

    @property
    def programme(self) -> Programme:
        return self.plan.path.programme

    @property
    def path(self) -> Path:
        return self.plan.path

    @property
    def credits_with_outcomes(self) -> Decimal:
        return self.plan.credits_done + self.plan.credits_waiting

    @property
    def share_now(self) -> Decimal:
        return _share(self.plan.credits_done, self.path.credits_required)

    @property
    def share_with_outcomes(self) -> Decimal:
        return _share(self.credits_with_outcomes, self.path.credits_required)

    @property
    def share_obtainable(self) -> Decimal:
        return _share(self.plan.credits_after, self.path.credits_required)

    # Whole percentages for the page, cut like the shares (99.99 % covered is not 100 %).
    @property
    def percent_now(self) -> int:
        return int(self.share_now * 100)

    @property
    def percent_with_outcomes(self) -> int:
        return int(self.share_with_outcomes * 100)

    @property
    def percent_obtainable(self) -> int:
        return int(self.share_obtainable * 100)

    def rank_key(self) -> tuple[Decimal, Decimal, Decimal, Decimal, str, str, int]:
        programme = self.programme
        return (
            -self.share_now,
            -self.share_with_outcomes,
            -self.share_obtainable,
            self.plan.credits_still_needed_after,
            programme.institution.name,
            programme.code,
            programme.pk,
        )


def programmes_for_what_if(
    *, institution: Institution | None = None, level: str = "", kind: str = ""
) -> QuerySet[Programme]:
    """Published programmes, filtered by institution, level and kind (each optional)."""
    programmes = Programme.objects.filter(is_published=True).select_related("institution")
    if institution is not None:
        programmes = programmes.filter(institution=institution)
    if level:
        programmes = programmes.filter(level=level)
    if kind:
        programmes = programmes.filter(kind=kind)
    return programmes


def what_if(
    *,
    account: LearningAccount,
    institution: Institution | None = None,
    level: str = "",
    kind: str = "",
) -> list[WhatIf]:
    """Every published programme matching the filters, ranked (see the module's docstring);
    nine queries at most, however many programmes."""
    programmes = list(programmes_for_what_if(institution=institution, level=level, kind=kind))
    return what_if_of(account=account, programmes=programmes)


def what_if_of(*, account: LearningAccount, programmes: Sequence[Programme]) -> list[WhatIf]:
    """:func:`what_if` over ``programmes`` already read."""
    if not programmes:
        return []
    offers = offers_of(programmes)
    holdings = holdings_of(account=account)
    rows = [
        WhatIf(plan=plan_of(path_of(programme=p, offer=offers[p.pk], holdings=holdings)))
        for p in programmes
    ]
    rows.sort(key=WhatIf.rank_key)
    return rows


def programme_plan(*, account: LearningAccount, programme: Programme) -> Plan:
    """The plan to one programme (eight queries)."""
    return what_if_of(account=account, programmes=[programme])[0].plan


def programme_levels() -> list[str]:
    """The levels published programmes give, in order (one query)."""
    return list(
        Programme.objects.filter(is_published=True)
        .exclude(level="")
        .order_by("level")
        .values_list("level", flat=True)
        .distinct()
    )


def institutions_publishing() -> QuerySet[Institution]:
    """Institutions with at least one published programme, by name."""
    return Institution.objects.filter(
        pk__in=Programme.objects.filter(is_published=True).values("institution_id")
    ).order_by("name")
