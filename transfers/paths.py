"""The learning path to a goal programme: course by course, what the learner's outcomes cover.

- ``match``: an outcome accredited against a catalogue entry that a conversion rule in effect
  converts to the course (which outcome, and whether it is already transferred or asked for);
- ``maybe``: a saved or submitted outcome that matches such a catalogue entry, so it would cover
  the course once accredited;
- ``miss``: nothing covers it yet; the catalogue entries that would are listed.

A fixed number of queries, however many courses the programme has; ``offers_of`` and
``holdings_of`` read what ``path_of`` compares, so that the what-if across programmes
(``transfers.whatif``) reads many programmes' paths in the same few queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from accounts.models import LearningAccount
from accreditation.catalogue import catalogue_current, catalogue_matches
from accreditation.models import CatalogueEntryVersion
from outcomes.models import LearningOutcome
from outcomes.services import outcomes_towards_courses

from .models import (
    COUNTING_STATES,
    RESERVING_STATES,
    ConversionRule,
    Course,
    PreAssessment,
    Programme,
    ProgrammeRules,
    TransferItem,
    TransferItemState,
)
from .preassessments import binding_for, preassessment_bindings
from .programme_rules import RuleState, programme_rule_states
from .rules import conversion_rules_current
from .services import accredited_versions_of

MATCH, MAYBE, MISS = "match", "maybe", "miss"


@dataclass
class CourseOnPath:
    course: Course
    status: str
    # The outcome that covers (match) or would cover (maybe) the course, and the rule doing it.
    outcome: LearningOutcome | None = None
    rule: ConversionRule | None = None
    # Already transferred (an accepted transfer) or asked for (a transfer waiting for a decision).
    transferred: bool = False
    pending: bool = False
    transfer_id: int | None = None
    # Transferred on an accreditation revoked since, and not settled yet (the institution
    # rescinds or keeps it); ``basis_kept``: the institution kept it despite the revocation.
    basis_revoked: bool = False
    basis_kept: bool = False
    # For a miss (and a maybe): the catalogue versions whose rules would cover the course.
    covering: list[CatalogueEntryVersion] = field(default_factory=list)
    # What the rule gives (for a transfer already made: what its rule version gave).
    credits: Decimal = Decimal(0)
    # The conversion rules in effect for the course (the plan picks among them).
    rules: list[ConversionRule] = field(default_factory=list)
    # A yes to a pre-assessment binding the institution for this course today (ADR 0028).
    binding: PreAssessment | None = None

    @property
    def can_apply(self) -> bool:
        return self.status == MATCH and not self.transferred and not self.pending


@dataclass
class Path:
    programme: Programme
    courses: list[CourseOnPath]
    credits_required: Decimal
    credits_covered: Decimal
    credits_transferred: Decimal
    # The programme's rules in force and where the learner stands with each (issue 24).
    rules: ProgrammeRules | None = None
    rule_states: list[RuleState] = field(default_factory=list)

    @property
    def credits_still_needed(self) -> Decimal:
        return max(self.credits_required - self.credits_covered, Decimal(0))

    @property
    def applicable(self) -> list[CourseOnPath]:
        return [c for c in self.courses if c.can_apply]


@dataclass
class Holdings:
    """What a learner holds towards any programme's courses, read once: their accredited
    outcomes and those that would be accredited (each by catalogue entry), and the courses they
    already transferred or asked for."""

    accredited_by_entry: dict[int, list[LearningOutcome]]
    hopeful_by_entry: dict[int, list[LearningOutcome]]
    items: list[TransferItem]
    # Her yes answers to pre-assessments binding today, (entry id, course id) -> most credits
    # first (ADR 0028), and course id -> the entries bound for it.
    bindings: dict[tuple[int, int], list[PreAssessment]] = field(default_factory=dict)
    bound_entries: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class Offer:
    """What a programme offers to the bank: its courses, the conversion rules in effect for
    each, and the current catalogue version of each rule's entry."""

    courses: list[Course] = field(default_factory=list)
    rules_by_course: dict[int, list[ConversionRule]] = field(default_factory=dict)
    versions_by_entry: dict[int, CatalogueEntryVersion] = field(default_factory=dict)


def learning_path(*, account: LearningAccount, programme: Programme) -> Path:
    """Compare the learner's outcomes with ``programme``'s courses (eight queries: her binding
    yes answers to pre-assessments are read with her holdings), and show where the learner
    stands with the programme's rules (one query when it has none; with rules, their
    categories and the counting against the caps, up to six)."""
    offer = offers_of([programme])[programme.pk]
    holdings = holdings_of(account=account)
    path = path_of(programme=programme, offer=offer, holdings=holdings)
    path.rules, path.rule_states = programme_rule_states(
        account=account,
        programme=programme,
        applicable=[
            (line.rule.entry_id, line.credits)
            for line in path.courses
            if line.can_apply and line.rule
        ],
        course_credits={
            item.course_id: item.credits
            for item in holdings.items
            if item.programme_id == programme.pk
        },
    )
    return path


def offers_of(programmes: Sequence[Programme]) -> dict[int, Offer]:
    """Programme id -> its :class:`Offer`, for any number of programmes in three queries."""
    ids = [p.pk for p in programmes]
    offers = {pk: Offer() for pk in ids}
    courses: dict[int, Course] = {}
    for course in Course.objects.filter(programme_id__in=ids).order_by("programme_id", "code"):
        offers[course.programme_id].courses.append(course)
        courses[course.pk] = course
    # The rules' own columns only: their courses are read above and their entries come with the
    # versions below (at 200 programmes the joined rows were most of the what-if's CPU time).
    rules = list(
        conversion_rules_current().filter(course__programme_id__in=ids).select_related(None)
    )
    entry_ids = {rule.entry_id for rule in rules}
    versions_by_entry = {
        v.entry_id: v for v in catalogue_current().filter(entry_id__in=list(entry_ids))
    }
    for rule in rules:
        rule.course = course = courses[rule.course_id]
        offer = offers[course.programme_id]
        offer.rules_by_course.setdefault(rule.course_id, []).append(rule)
        if (version := versions_by_entry.get(rule.entry_id)) is not None:
            rule.entry = version.entry
            offer.versions_by_entry[rule.entry_id] = version
    return offers


def holdings_of(*, account: LearningAccount) -> Holdings:
    """The learner's :class:`Holdings` (five queries at most: her binding yes answers for any
    course are one)."""
    outcomes = outcomes_towards_courses(account=account)
    accredited = accredited_versions_of(
        o.pk for o in outcomes if o.status == LearningOutcome.Status.ACCREDITED
    )
    hopeful = catalogue_matches(
        o for o in outcomes if o.status != LearningOutcome.Status.ACCREDITED
    )
    by_id = {o.pk: o for o in outcomes}
    # Courses already exempted or asked for, and outcomes no longer free for a programme. A
    # course counts as taken exactly when transfer_apply refuses it (the same states), whatever
    # has become of the outcome since: an accepted course whose accreditation was revoked stays
    # transferred (flagged) until the institution rescinds it.
    items = list(
        TransferItem.objects.filter(
            account=account, state__in=[s.value for s in COUNTING_STATES]
        ).select_related("outcome")
    )
    accredited_by_entry: dict[int, list[LearningOutcome]] = {}
    for outcome_id, version in accredited.items():
        accredited_by_entry.setdefault(version.entry_id, []).append(by_id[outcome_id])
    hopeful_by_entry: dict[int, list[LearningOutcome]] = {}
    for outcome_id, version in hopeful.items():
        hopeful_by_entry.setdefault(version.entry_id, []).append(by_id[outcome_id])
    bindings = preassessment_bindings(account=account)
    bound_entries: dict[int, list[int]] = {}
    for entry_id, course_id in bindings:
        bound_entries.setdefault(course_id, []).append(entry_id)
    return Holdings(
        accredited_by_entry=accredited_by_entry,
        hopeful_by_entry=hopeful_by_entry,
        items=items,
        bindings=bindings,
        bound_entries=bound_entries,
    )


def path_of(*, programme: Programme, offer: Offer, holdings: Holdings) -> Path:
    """The path to ``programme`` from what was read already (no query): the one core the
    learning path and the what-if across programmes share."""
    courses = offer.courses
    rules_by_course = offer.rules_by_course
    versions_by_entry = offer.versions_by_entry
    items = holdings.items
    course_items = {item.course_id: item for item in items}
    used = {item.outcome_id for item in items if item.programme_id == programme.pk}
    used |= {item.outcome_id for item in items if item.state in RESERVING_STATES}
    accredited_by_entry = holdings.accredited_by_entry
    hopeful_by_entry = holdings.hopeful_by_entry

    lines: list[CourseOnPath] = []
    for course in courses:
        rules = rules_by_course.get(course.pk, [])
        covering = [versions_by_entry[r.entry_id] for r in rules if r.entry_id in versions_by_entry]
        taken = course_items.get(course.pk)
        if taken is not None:
            lines.append(
                CourseOnPath(
                    course=course,
                    status=MATCH,
                    outcome=taken.outcome,
                    credits=taken.credits,
                    transferred=taken.state == TransferItemState.ACCEPTED,
                    pending=taken.state != TransferItemState.ACCEPTED,
                    transfer_id=taken.application_id,
                    basis_revoked=taken.basis_unsettled,
                    basis_kept=taken.basis_kept_at is not None,
                )
            )
            continue
        line = _best_line(course, rules, accredited_by_entry, used, holdings, status=MATCH)
        if line is not None and line.outcome is not None:
            used.add(line.outcome.pk)  # one outcome counts for one course of the programme
        else:
            line = _best_line(course, rules, hopeful_by_entry, set(), holdings, status=MAYBE)
        if line is None:
            # A yes naming no outcome binds whichever outcome of its entry she obtains.
            line = CourseOnPath(
                course=course,
                status=MISS,
                binding=next(
                    (
                        prea
                        for entry_id in holdings.bound_entries.get(course.pk, [])
                        for prea in holdings.bindings[(entry_id, course.pk)]
                        if prea.outcome_id is None
                    ),
                    None,
                ),
            )
        line.covering = covering
        line.rules = rules
        lines.append(line)

    total_courses = sum((c.credits for c in courses), Decimal(0))
    required = programme.credits_required or total_courses
    covered = sum((line.credits for line in lines if line.status == MATCH), Decimal(0))
    # Maybe-lines do not count as covered; their credits are shown beside them.
    transferred = sum((line.credits for line in lines if line.transferred), Decimal(0))
    return Path(
        programme=programme,
        courses=lines,
        credits_required=required,
        credits_covered=covered,
        credits_transferred=transferred,
    )


def _best_line(
    course: Course,
    rules: list[ConversionRule],
    outcomes_by_entry: dict[int, list[LearningOutcome]],
    used: set[int],
    holdings: Holdings,
    *,
    status: str,
) -> CourseOnPath | None:
    """The most credits for which the learner has a free outcome: under the rule in effect for
    its entry, or, where a binding yes covers that outcome, under the rule version and credits
    it bound, chosen per outcome as transfer_apply chooses (``binding_for``)."""
    current: dict[int, ConversionRule] = {}
    for in_effect in sorted(rules, key=lambda r: (-r.credits, r.pk)):
        current.setdefault(in_effect.entry_id, in_effect)
    entries = [
        *current,
        *(e for e in holdings.bound_entries.get(course.pk, []) if e not in current),
    ]
    best: tuple[tuple[Decimal, int, int], CourseOnPath] | None = None
    for entry_id in entries:
        for position, outcome in enumerate(outcomes_by_entry.get(entry_id, [])):
            if outcome.pk in used:
                continue
            bound = binding_for(
                holdings.bindings, entry_id=entry_id, course_id=course.pk, outcome_id=outcome.pk
            )
            rule = bound.rule if bound is not None else current.get(entry_id)
            if rule is None:
                continue
            credits = bound.credits if bound is not None and bound.credits else rule.credits
            key = (-credits, rule.pk, position)
            if best is None or key < best[0]:
                best = (
                    key,
                    CourseOnPath(
                        course=course,
                        status=status,
                        outcome=outcome,
                        rule=rule,
                        credits=credits,
                        binding=bound,
                    ),
                )
    return best[1] if best is not None else None
