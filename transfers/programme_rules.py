"""A programme's rules, as data the institution keeps (issue 24; ADR 0027).

Caps refuse: a transfer that would take more credits than the programme allows per calendar
year, from one source, or as a share of the programme, is refused with a message naming the
rule and the figures, when the learner applies (both paths of ``transfer_apply``) and when the
officer accepts (``transfer_item_decide``). Both run behind the learner's account lock, so two
transfers arriving at once are counted one after the other.

Minimums (credits per course category, credits earned at the institution) never refuse: the
learning path shows how far the learner is from each (``programme_rule_states``).

Counting, per learner and programme:
- applying: every course accepted or waiting for a decision counts (a transfer waiting holds
  its room); for the year, accepted courses count in the year (Beijing time) they were
  accepted, waiting ones in the current year;
- accepting: only accepted courses count, and the one being accepted.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import LearningAccount, Role, User
from accounts.services import user_acts_for_institution
from accreditation.catalogue import beijing_today, version_supersede
from accreditation.models import CatalogueEntryVersion

from .models import (
    COUNTING_STATES,
    Course,
    CourseCategory,
    CourseCategoryMember,
    Programme,
    ProgrammeRules,
    TransferItem,
    TransferItemState,
)

logger = logging.getLogger(__name__)

BEIJING = ZoneInfo("Asia/Shanghai")
MAX_CREDITS = Decimal("9999.9")
MAX_CATEGORIES = 30

# The states a rule is in, as the path shows them.
MET, NOT_YET, WOULD_EXCEED = "met", "not_yet", "would_exceed"
# The rules, by name (the API's ``rule`` field).
PER_YEAR, PER_SOURCE, BANK_SHARE = "per_year", "per_source", "bank_share"
CATEGORY, RESIDENCY = "category", "residency"


# --- Reading the rules ----------------------------------------------------------------------------


def _in_effect(on: datetime.date) -> Q:
    return Q(effective_from__lte=on) & (Q(effective_to__isnull=True) | Q(effective_to__gte=on))


def _with_categories(rules: QuerySet[ProgrammeRules]) -> QuerySet[ProgrammeRules]:
    return rules.select_related("programme", "created_by").prefetch_related(
        Prefetch(
            "categories",
            queryset=CourseCategory.objects.prefetch_related(
                Prefetch("members", queryset=CourseCategoryMember.objects.select_related("course"))
            ),
        )
    )


def programme_rules_in_force(
    programme: Programme, at: datetime.date | None = None
) -> ProgrammeRules | None:
    """The version of ``programme``'s rules in force on ``at`` (today in Beijing by default),
    its categories prefetched; ``None`` when the institution has set none for that day. A
    pre-assessment or a decision that binds to the rules records this version."""
    return (
        _with_categories(ProgrammeRules.objects.filter(programme=programme))
        .filter(_in_effect(at or beijing_today()))
        .order_by("-version")
        .first()
    )


def programme_caps_in_force(programme: Programme) -> ProgrammeRules | None:
    """The version in force today when it sets a cap, else ``None``; one query, without the
    categories (what a transfer checks)."""
    rules = (
        ProgrammeRules.objects.filter(programme=programme)
        .filter(_in_effect(beijing_today()))
        .order_by("-version")
        .first()
    )
    return rules if rules is not None and has_caps(rules) else None


def has_caps(rules: ProgrammeRules) -> bool:
    return not (
        rules.max_credits_per_year is None
        and rules.max_credits_per_source is None
        and rules.max_bank_share_percent is None
    )


def programme_rules_history(programme: Programme) -> QuerySet[ProgrammeRules]:
    """Every version of ``programme``'s rules, newest first."""
    return _with_categories(ProgrammeRules.objects.filter(programme=programme)).order_by("-version")


def programme_rules_may_edit(user: Any, programme: Programme) -> bool:
    """The institution's officers and administrators keep its programmes' rules."""
    return (
        user_acts_for_institution(user, Role.INSTITUTION_OFFICER)
        or user_acts_for_institution(user, Role.INSTITUTION_ADMIN)
    ) and user.institution_id == programme.institution_id


# --- Publishing a version -------------------------------------------------------------------------


@dataclass(frozen=True)
class CategorySpec:
    name: str
    min_credits: Decimal
    course_codes: tuple[str, ...]
    name_en: str = ""


_CATEGORY_LINE = re.compile(r"^(?P<name>[^|]+)\|(?P<min>[^|]+)\|(?P<codes>.*)$")


def categories_parse(text: str) -> list[CategorySpec]:
    """Categories from the page's text: one a line, ``name | minimum credits | course codes``
    (codes separated by spaces or commas). Raises ValidationError on ``categories``."""
    specs: list[CategorySpec] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _CATEGORY_LINE.match(line.replace("｜", "|"))
        if match is None:
            raise ValidationError(
                {
                    "categories": _("Line %(line)d: write “name | minimum credits | course codes”.")
                    % {"line": number}
                }
            )
        try:
            minimum = Decimal(match["min"].strip())
        except InvalidOperation:
            raise ValidationError(
                {
                    "categories": _("Line %(line)d: the minimum credits must be a number.")
                    % {"line": number}
                }
            ) from None
        codes = tuple(c for c in re.split(r"[\s,，、]+", match["codes"].strip()) if c)
        specs.append(
            CategorySpec(name=match["name"].strip(), min_credits=minimum, course_codes=codes)
        )
    return specs


def _credits_field(value: Any, field_name: str, errors: dict[str, list[str]]) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors.setdefault(field_name, []).append(str(_("Enter a number.")))
        return None
    if not number.is_finite() or number <= 0 or number > MAX_CREDITS:
        errors.setdefault(field_name, []).append(
            str(_("Enter a number of credits above 0 and at most 9999.9, or leave it empty."))
        )
        return None
    if number != number.quantize(Decimal("0.1")):
        errors.setdefault(field_name, []).append(str(_("Use at most one decimal place.")))
        return None
    return number


def programme_rules_publish(
    *,
    programme: Programme,
    actor: User,
    effective_from: datetime.date,
    approving_body: str,
    rationale: str,
    max_credits_per_year: Any = None,
    max_credits_per_source: Any = None,
    max_bank_share_percent: Any = None,
    residency_credits: Any = None,
    categories: Sequence[CategorySpec] = (),
) -> ProgrammeRules:
    """A new version of ``programme``'s rules, in force from ``effective_from`` (today or
    later: the past is never rewritten); the version before it ends the day before. All or
    nothing; refusals by field (``categories`` for the categories)."""
    if not programme_rules_may_edit(actor, programme):
        raise ValidationError({"programme": _("This programme is another institution's.")})
    errors: dict[str, list[str]] = {}
    caps = {
        name: _credits_field(value, name, errors)
        for name, value in (
            ("max_credits_per_year", max_credits_per_year),
            ("max_credits_per_source", max_credits_per_source),
            ("residency_credits", residency_credits),
        )
    }
    share: int | None = None
    if max_bank_share_percent not in (None, ""):
        try:
            share = int(str(max_bank_share_percent))
        except ValueError:
            share = 0
        if not 1 <= share <= 100:
            errors.setdefault("max_bank_share_percent", []).append(
                str(_("Enter a whole percentage from 1 to 100, or leave it empty."))
            )
    if effective_from < beijing_today():
        errors.setdefault("effective_from", []).append(
            str(_("Rules take effect today or later: the past is not rewritten."))
        )
    for name, value in (("approving_body", approving_body), ("rationale", rationale)):
        if not (value or "").strip():
            errors.setdefault(name, []).append(str(_("This field is required.")))
    if len((approving_body or "").strip()) > 200:
        errors.setdefault("approving_body", []).append(str(_("At most 200 characters.")))
    courses = {c.code: c for c in Course.objects.filter(programme=programme)}
    _categories_check(categories, courses, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Locked: two versions published at once number themselves one after the other.
        Programme.objects.select_for_update().get(pk=programme.pk)
        latest = ProgrammeRules.objects.filter(programme=programme).order_by("-version").first()
        version_supersede(latest, effective_from=effective_from)
        rules = ProgrammeRules.objects.create(
            programme=programme,
            version=latest.version + 1 if latest is not None else 1,
            effective_from=effective_from,
            approving_body=approving_body.strip(),
            rationale=rationale.strip(),
            created_by=actor,
            max_credits_per_year=caps["max_credits_per_year"],
            max_credits_per_source=caps["max_credits_per_source"],
            max_bank_share_percent=share,
            residency_credits=caps["residency_credits"],
        )
        for position, spec in enumerate(categories):
            category = CourseCategory.objects.create(
                rules=rules,
                name=spec.name,
                name_en=spec.name_en,
                min_credits=spec.min_credits,
                position=position,
            )
            CourseCategoryMember.objects.bulk_create(
                CourseCategoryMember(rules=rules, category=category, course=courses[code])
                for code in spec.course_codes
            )
    logger.info(
        "programme %s rules version %d from %s published by user %s",
        programme.pk,
        rules.version,
        effective_from,
        actor.pk,
    )
    return rules


def _categories_check(
    categories: Sequence[CategorySpec], courses: dict[str, Course], errors: dict[str, list[str]]
) -> None:
    problems: list[str] = []
    if len(categories) > MAX_CATEGORIES:
        problems.append(str(_("At most %(n)d categories.") % {"n": MAX_CATEGORIES}))
    names: set[str] = set()
    placed: dict[str, str] = {}
    for spec in categories:
        if not spec.name or len(spec.name) > 200:
            problems.append(str(_("Give each category a name of at most 200 characters.")))
        elif spec.name in names:
            problems.append(str(_("“%(name)s” is named twice.") % {"name": spec.name}))
        names.add(spec.name)
        if (
            not spec.min_credits.is_finite()
            or spec.min_credits < 0
            or spec.min_credits > MAX_CREDITS
            or spec.min_credits != spec.min_credits.quantize(Decimal("0.1"))
        ):
            problems.append(
                str(
                    _("“%(name)s”: the minimum is from 0 to 9999.9 credits, one decimal place.")
                    % {"name": spec.name}
                )
            )
        for code in spec.course_codes:
            if code not in courses:
                problems.append(
                    str(_("“%(code)s” is not a course of this programme.") % {"code": code})
                )
            elif code in placed:
                problems.append(
                    str(
                        _("“%(code)s” is in “%(first)s” already: a course is in one category.")
                        % {"code": code, "first": placed[code]}
                    )
                )
            else:
                placed[code] = spec.name
    if problems:
        errors.setdefault("categories", []).extend(problems)


# --- Counting against the caps --------------------------------------------------------------------


@dataclass
class CapCheck:
    """One cap and the credits counted against it: ``used`` already, ``adding`` asked for."""

    rule: str
    cap: Decimal
    used: Decimal = Decimal(0)
    adding: Decimal = Decimal(0)
    source: str = ""
    percent: int = 0
    required: Decimal = Decimal(0)
    # Index into the credits being added of the first that goes past the cap.
    first_over: int | None = None

    @property
    def exceeded(self) -> bool:
        return self.used + self.adding > self.cap

    @property
    def message(self) -> str:
        figures = {"used": self.used, "adding": self.adding, "cap": self.cap}
        if not self.adding:
            # Where the learner stands, with nothing being asked for (the learning path).
            if self.rule == PER_YEAR:
                return (
                    gettext(
                        "Most credits recognised per year: %(used)s credits already this "
                        "year; the limit is %(cap)s credits."
                    )
                    % figures
                )
            if self.rule == PER_SOURCE:
                return gettext(
                    "Most credits from one source (%(source)s): %(used)s credits already; the "
                    "limit is %(cap)s credits."
                ) % {**figures, "source": self.source}
            return gettext(
                "Largest share from the credit bank: %(used)s credits already; the limit is "
                "%(cap)s credits (%(percent)d%% of %(required)s)."
            ) % {**figures, "percent": self.percent, "required": self.required}
        if self.rule == PER_YEAR:
            return (
                gettext(
                    "Most credits recognised per year: %(used)s credits already this year, "
                    "%(adding)s more asked for; the limit is %(cap)s credits."
                )
                % figures
            )
        if self.rule == PER_SOURCE:
            return gettext(
                "Most credits from one source (%(source)s): %(used)s credits already, "
                "%(adding)s more asked for; the limit is %(cap)s credits."
            ) % {**figures, "source": self.source}
        return gettext(
            "Largest share from the credit bank: %(used)s credits already, %(adding)s more "
            "asked for; the limit is %(cap)s credits (%(percent)d%% of %(required)s)."
        ) % {**figures, "percent": self.percent, "required": self.required}


def programme_credits_required(programme: Programme) -> Decimal:
    """The programme's credits: as published, else the sum of its courses'."""
    if programme.credits_required:
        return programme.credits_required.quantize(Decimal("0.1"))
    return sum(
        Course.objects.filter(programme=programme).values_list("credits", flat=True), Decimal(0)
    ).quantize(Decimal("0.1"))


def _sources_of(entry_ids: Iterable[int]) -> dict[int, str]:
    """Catalogue entry id -> its source: the issuing body its latest version names (ADR 0027;
    one query). A transfer's source is read from the entry of the conversion rule it records,
    so that it counts as long as the transfer does, whatever becomes of the accreditation
    (revoked and kept, say)."""
    return dict(
        CatalogueEntryVersion.objects.filter(entry_id__in=list(entry_ids))
        .order_by("entry_id", "version")
        .values_list("entry_id", "issuing_body")
    )


def cap_checks(
    *,
    account: LearningAccount,
    programme: Programme,
    rules: ProgrammeRules | None,
    adding: Sequence[tuple[int, Decimal]],
    accepted_only: bool = False,
    exclude: Q | None = None,
) -> list[CapCheck]:
    """Each cap of ``rules`` with what counts against it for ``account`` in ``programme``, and
    ``adding`` ((catalogue entry id of the conversion rule, credits), in the order asked) on
    top. ``accepted_only``: count accepted courses only (an acceptance); else waiting ones too
    (an application). ``exclude``: items not to count (those being added, already written)."""
    if rules is None or not has_caps(rules):
        return []
    states = (
        [TransferItemState.ACCEPTED.value] if accepted_only else [s.value for s in COUNTING_STATES]
    )
    items = TransferItem.objects.filter(account=account, programme=programme, state__in=states)
    if exclude is not None:
        items = items.exclude(exclude)
    counted = list(items.values_list("rule__entry_id", "credits", "state", "decided_at"))
    sources = (
        {
            entry_id: body.strip()
            for entry_id, body in _sources_of(
                {e for e, *_rest in counted} | {e for e, _c in adding}
            ).items()
        }
        if rules.max_credits_per_source is not None
        else {}
    )
    year = beijing_today().year
    checks: list[CapCheck] = []
    if rules.max_credits_per_year is not None:
        check = CapCheck(rule=PER_YEAR, cap=rules.max_credits_per_year)
        for _o, credits, state, decided_at in counted:
            if state != TransferItemState.ACCEPTED or (
                decided_at is not None and decided_at.astimezone(BEIJING).year == year
            ):
                check.used += credits
        checks.append(check)
    if rules.max_bank_share_percent is not None:
        required = programme_credits_required(programme)
        cap = (required * rules.max_bank_share_percent / 100).quantize(Decimal("0.1"))
        check = CapCheck(
            rule=BANK_SHARE,
            cap=cap,
            used=sum((c for _o, c, _s, _d in counted), Decimal(0)),
            percent=rules.max_bank_share_percent,
            required=required,
        )
        checks.append(check)
    for index, (_entry, credits) in enumerate(adding):
        for check in checks:
            check.adding += credits
            if check.first_over is None and check.exceeded:
                check.first_over = index
    if rules.max_credits_per_source is not None:
        by_source: dict[str, CapCheck] = {}
        for entry_id, credits, _s, _d in counted:
            source = sources.get(entry_id, "")
            if source:
                by_source.setdefault(
                    source,
                    CapCheck(rule=PER_SOURCE, cap=rules.max_credits_per_source, source=source),
                ).used += credits
        for index, (entry_id, credits) in enumerate(adding):
            source = sources.get(entry_id, "")
            if not source:
                continue
            check = by_source.setdefault(
                source, CapCheck(rule=PER_SOURCE, cap=rules.max_credits_per_source, source=source)
            )
            check.adding += credits
            if check.first_over is None and check.exceeded:
                check.first_over = index
        checks.extend(by_source.values())
    return checks


def transfer_caps_refusals(
    *,
    account: LearningAccount,
    programme: Programme,
    adding: Sequence[tuple[int, Decimal]],
    exclude: Q | None = None,
    rules: ProgrammeRules | None = None,
) -> dict[int, list[str]]:
    """An application's refusals by the caps in force today (``rules``, read when not given):
    index into ``adding`` -> the messages of the caps that course would take the learner
    past. The caller holds the learner's account lock."""
    refusals: dict[int, list[str]] = {}
    for check in cap_checks(
        account=account,
        programme=programme,
        rules=rules or programme_caps_in_force(programme),
        adding=adding,
        exclude=exclude,
    ):
        if check.first_over is not None:
            refusals.setdefault(check.first_over, []).append(check.message)
    return refusals


def acceptance_caps_refusals(*, item: TransferItem) -> list[str]:
    """An acceptance's refusals by the caps in force today: accepting ``item`` would take the
    learner past them. Only the caps the item's credits count against refuse: a source the
    item is not from may be past its cap already (lowered since), and that is not this
    item's doing. The caller holds the learner's account lock."""
    return [
        check.message
        for check in cap_checks(
            account=item.account,
            programme=item.programme,
            rules=programme_caps_in_force(item.programme),
            adding=[(item.rule.entry_id, item.credits)],
            accepted_only=True,
            exclude=Q(pk=item.pk),
        )
        if check.first_over is not None
    ]


# --- What the path shows --------------------------------------------------------------------------


@dataclass
class RuleState:
    """One rule on the learning path: its state (met, not yet, would be exceeded) and a
    sentence with the figures."""

    rule: str
    state: str
    message: str
    figures: dict[str, str] = field(default_factory=dict)


def programme_rule_states(
    *,
    account: LearningAccount,
    programme: Programme,
    applicable: Sequence[tuple[int, Decimal]] = (),
    course_credits: dict[int, Decimal] | None = None,
) -> tuple[ProgrammeRules | None, list[RuleState]]:
    """The rules in force for ``programme`` and, for each, where ``account`` stands.
    ``applicable``: (catalogue entry id, credits) the learner could apply for now (a cap they would
    go past is "would be exceeded"); ``course_credits``: course id -> credits transferred or
    asked for (accepted or waiting) towards the minimums."""
    rules = programme_rules_in_force(programme)
    if rules is None:
        return None, []
    states: list[RuleState] = []
    for check in cap_checks(account=account, programme=programme, rules=rules, adding=applicable):
        figures = {"used": str(check.used), "adding": str(check.adding), "cap": str(check.cap)}
        if check.source:
            figures["source"] = check.source
        states.append(
            RuleState(
                rule=check.rule,
                state=WOULD_EXCEED if check.exceeded else MET,
                message=check.message,
                figures=figures,
            )
        )
    course_credits = course_credits or {}
    for category in rules.categories.all():
        have = sum(
            (course_credits.get(m.course_id, Decimal(0)) for m in category.members.all()),
            Decimal(0),
        )
        missing = max(category.min_credits - have, Decimal(0))
        figures = {"have": str(have), "min": str(category.min_credits), "missing": str(missing)}
        if missing:
            message = gettext(
                "Still needs %(missing)s credits in %(category)s (%(have)s of %(min)s)."
            ) % {**figures, "category": category.display_name}
        else:
            message = gettext("%(category)s: %(have)s of %(min)s credits.") % {
                **figures,
                "category": category.display_name,
            }
        states.append(
            RuleState(
                rule=CATEGORY,
                state=NOT_YET if missing else MET,
                message=message,
                figures={**figures, "category": category.display_name},
            )
        )
    if rules.residency_credits is not None:
        required = programme_credits_required(programme)
        from_bank = sum(course_credits.values(), Decimal(0)) + sum(
            (c for _o, c in applicable), Decimal(0)
        )
        left = max(required - from_bank, Decimal(0))
        figures = {"residency": str(rules.residency_credits), "left": str(left)}
        if left < rules.residency_credits:
            state, message = (
                WOULD_EXCEED,
                gettext(
                    "At least %(residency)s credits must be earned at the institution; the "
                    "transfers would leave only %(left)s."
                )
                % figures,
            )
        else:
            state, message = (
                NOT_YET,
                gettext("At least %(residency)s credits must be earned at the institution.")
                % figures,
            )
        states.append(RuleState(rule=RESIDENCY, state=state, message=message, figures=figures))
    return rules, states
