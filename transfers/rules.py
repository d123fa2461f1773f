"""Conversion rules: a catalogue entry counts for a course of a programme, with credits.

Each (entry, course) pair has versions like the catalogue's: a change is a new version from a
date on, the previous one is closed the day before, re-publishing what is in effect changes
nothing, and a transfer decision points at the version it used. The catalogue shows the rules
through the provider registered in ``TransfersConfig.ready()``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution, User
from accounts.services import institutions_matching
from accreditation.catalogue import (
    CREATED,
    MAX_IMPORT_ROWS,
    ONE_DECIMAL,
    REVISED,
    UNCHANGED,
    Conversion,
    ImportResult,
    beijing_today,
    date_message,
    rows_publish,
    version_close,
    version_supersede,
)
from accreditation.models import CatalogueEntry
from accreditation.services import catalogue_entries_with_versions, catalogue_entry_has_version
from common.tables import (
    ListedTable,
    RowErrors,
    RowsInvalid,
    cell_date,
    cell_number,
    cell_text,
    refusal,
    table_read,
    table_write,
)

from .models import ConversionRule, Course, Programme

logger = logging.getLogger(__name__)

MAX_RULE_CREDITS = Decimal("999.9")


def _in_effect(on: datetime.date) -> Q:
    return Q(effective_from__lte=on) & (Q(effective_to__isnull=True) | Q(effective_to__gte=on))


def _rules() -> QuerySet[ConversionRule]:
    return ConversionRule.objects.select_related(
        "entry", "course__programme__institution"
    ).order_by("entry__code", "course__programme__institution__name", "course__code", "-version")


def conversion_rules_current(*, on: datetime.date | None = None) -> QuerySet[ConversionRule]:
    """The rule versions in effect on ``on`` (today in Beijing by default)."""
    return _rules().filter(_in_effect(on or beijing_today()))


def conversion_rules_for_entry(
    *, entry: CatalogueEntry, on: datetime.date | None = None
) -> QuerySet[ConversionRule]:
    """The courses ``entry`` counts for on ``on``, one rule version per course."""
    return conversion_rules_current(on=on).filter(entry=entry)


def conversion_rule_versions(*, entry: CatalogueEntry, course: Course) -> QuerySet[ConversionRule]:
    """Every version of the rule for ``entry`` and ``course``, newest first."""
    return _rules().filter(entry=entry, course=course)


def catalogue_conversions_provide(
    entry_ids: Collection[int], on: datetime.date
) -> dict[int, list[Conversion]]:
    """What the catalogue shows of the rules in effect on ``on`` (registered with
    ``accreditation.catalogue.conversion_provider_register``); one query."""
    found: dict[int, list[Conversion]] = {}
    for rule in conversion_rules_current(on=on).filter(entry_id__in=list(entry_ids)):
        course = rule.course
        programme = course.programme
        found.setdefault(rule.entry_id, []).append(
            Conversion(
                rule_id=rule.pk,
                rule_version=rule.version,
                course_code=course.code,
                course_name=course.name,
                course_name_en=course.name_en,
                programme_code=programme.code,
                programme_name=programme.name,
                programme_name_en=programme.name_en,
                institution=programme.institution.name,
                credits=rule.credits,
            )
        )
    return found


def course_find(
    *,
    institution_credit_code: str = "",
    institution: str = "",
    programme_code: str,
    course_code: str,
) -> Course:
    """The course named as in a rule file: its institution by unified social credit code (or,
    without one, by name), the programme's code and the course's code. Raises
    ValidationError keyed by the field that names nothing."""
    if institution_credit_code.strip():
        found = institutions_matching(credit_codes=[institution_credit_code.strip().upper()])
        field = "institution_credit_code"
    elif institution.strip():
        found = institutions_matching(names=[institution.strip()])
        field = "institution"
    else:
        raise ValidationError(
            {
                "institution_credit_code": _(
                    "Give the institution's unified social credit code or its name."
                )
            }
        )
    if not found:
        raise ValidationError({field: _("No such institution.")})
    if len(found) > 1:
        raise ValidationError(
            {
                field: _(
                    "Several institutions have this name; give the unified social credit code "
                    "instead."
                )
            }
        )
    programme = Programme.objects.filter(institution=found[0], code=programme_code.strip()).first()
    if programme is None:
        raise ValidationError(
            {"programme_code": _("The institution has no programme with this code.")}
        )
    course = Course.objects.filter(programme=programme, code=course_code.strip()).first()
    if course is None:
        raise ValidationError({"course_code": _("The programme has no course with this code.")})
    return course


# --- Publishing -------------------------------------------------------------------------------


def conversion_fields_check(
    *, course: Course | None, fields: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Clean and check ``credits``, ``effective_from``, ``approving_body`` and ``rationale``
    of a rule for ``course``, without the database; returns the cleaned fields and the
    problems by field."""
    errors: dict[str, list[Any]] = {}

    def add(name: str, message: Any) -> None:
        errors.setdefault(name, []).append(message)

    clean: dict[str, Any] = {}
    raw = fields.get("credits")
    credits = cell_number(raw) if not isinstance(raw, Decimal) else raw
    clean["credits"] = credits
    if raw is None or raw == "":
        add("credits", _("This field is required."))
    elif credits is None:
        add("credits", _("Write a number, such as 40 or 2.5."))
    elif credits <= 0:
        add("credits", _("Must be more than zero."))
    elif credits != credits.quantize(ONE_DECIMAL):
        add("credits", _("At most one decimal place."))
    elif course is not None and credits > course.credits:
        add(
            "credits",
            _("At most the course's own credits (%(credits)s).") % {"credits": course.credits},
        )
    elif credits > MAX_RULE_CREDITS:
        add("credits", _("At most %(n)s.") % {"n": MAX_RULE_CREDITS})
    else:
        clean["credits"] = credits.quantize(ONE_DECIMAL)
    for name in ("approving_body", "rationale"):
        clean[name] = str(fields.get(name) or "").strip()
        if not clean[name]:
            add(name, _("This field is required."))
    if len(clean["approving_body"]) > 200:
        add("approving_body", _("At most %(n)d characters.") % {"n": 200})
    clean["effective_from"] = fields.get("effective_from")
    if not isinstance(clean["effective_from"], datetime.date):
        add("effective_from", _("This field is required."))
    return clean, errors


def conversion_rule_publish_from(
    *, fields: Mapping[str, Any], actor: User | None
) -> tuple[ConversionRule, str]:
    """:func:`conversion_rule_publish` from a mapping of its arguments (a form's or a
    serializer's data, ``entry`` and ``course`` included), telling what happened: ``CREATED``
    (the pair's first rule), ``REVISED`` (a new version) or ``UNCHANGED`` (already in effect;
    the rule is that version)."""
    entry: CatalogueEntry = fields["entry"]
    course: Course = fields["course"]
    clean, errors = conversion_fields_check(course=course, fields=fields)
    if not catalogue_entry_has_version(entry=entry):
        errors.setdefault("entry", []).append(_("This catalogue entry has no version yet."))
    if errors:
        raise ValidationError(errors)
    effective_from: datetime.date = clean["effective_from"]
    with transaction.atomic():
        # Locked: two publications of a rule for this course (two managers, an import sent
        # twice) must number their versions and close the previous one one after the other.
        Course.objects.select_for_update().get(pk=course.pk)
        versions = list(
            ConversionRule.objects.filter(entry=entry, course=course).order_by("-version")
        )
        for rule in versions:
            if rule.credits == clean["credits"] and _effective_on(rule, effective_from):
                return rule, UNCHANGED
        latest = versions[0] if versions else None
        version_supersede(latest, effective_from=effective_from)
        rule = ConversionRule.objects.create(
            entry=entry,
            course=course,
            version=latest.version + 1 if latest is not None else 1,
            credits=clean["credits"],
            effective_from=effective_from,
            approving_body=clean["approving_body"],
            rationale=clean["rationale"],
            created_by=actor,
        )
    logger.info(
        "conversion rule %s -> %s version %d published by user %s",
        entry.code,
        course.pk,
        rule.version,
        getattr(actor, "pk", None),
    )
    return rule, (CREATED if latest is None else REVISED)


def _effective_on(rule: ConversionRule, day: datetime.date) -> bool:
    return rule.effective_from <= day and (rule.effective_to is None or day <= rule.effective_to)


def conversion_rule_publish(
    *,
    entry: CatalogueEntry,
    course: Course,
    credits: Decimal | int | str,
    effective_from: datetime.date,
    approving_body: str,
    rationale: str,
    actor: User | None,
) -> ConversionRule:
    """Publish that ``entry`` counts for ``course`` with ``credits`` from ``effective_from``
    on: the rule's first version, or a new one that closes the previous version the day
    before. Re-publishing what is in effect on that date is a no-op returning that version;
    a rule gives at most the course's own credits. Raises ValidationError by field."""
    rule, _what = conversion_rule_publish_from(
        fields={
            "entry": entry,
            "course": course,
            "credits": credits,
            "effective_from": effective_from,
            "approving_body": approving_body,
            "rationale": rationale,
        },
        actor=actor,
    )
    return rule


@transaction.atomic
def conversion_rule_retire(
    *,
    entry: CatalogueEntry,
    course: Course,
    effective_to: datetime.date,
    actor: User | None,
    rationale: str,
) -> ConversionRule:
    """End the rule for ``entry`` and ``course`` on ``effective_to`` (its last day)."""
    if not (rationale or "").strip():
        raise ValidationError({"rationale": _("Give the reason for retiring the rule.")})
    Course.objects.select_for_update().get(pk=course.pk)
    latest = ConversionRule.objects.filter(entry=entry, course=course).order_by("-version").first()
    if latest is None:
        raise ValidationError({"course": _("There is no rule for this entry and course.")})
    version_close(
        latest, effective_to=effective_to, already_ends=_("This rule already ends on %(date)s.")
    )
    logger.info(
        "conversion rule %s -> %s retired from %s by user %s: %s",
        entry.code,
        course.pk,
        effective_to.isoformat(),
        getattr(actor, "pk", None),
        rationale.strip(),
    )
    return latest


# --- Import and export ---------------------------------------------------------------------------

RULE_COLUMNS = (
    "catalogue_code", "institution_credit_code", "institution", "programme_code", "course_code",
    "credits", "effective_from", "approving_body", "rationale",
)  # fmt: skip
RULE_REQUIRED = ("catalogue_code", "programme_code", "course_code", "credits", "effective_from")
RULE_HEADINGS: dict[str, tuple[str, ...]] = {
    "catalogue_code": ("catalogue_code", "catalogue code", "成果编码", "目录编码"),
    "institution_credit_code": (
        "institution_credit_code",
        "credit code",
        "统一社会信用代码",
        "院校统一社会信用代码",
    ),
    "institution": ("institution", "institution_name", "institution name", "院校", "院校名称"),
    "programme_code": ("programme_code", "programme code", "专业代码", "专业编码"),
    "course_code": ("course_code", "course code", "课程代码", "课程编码"),
    "credits": ("credits", "学分"),
    "effective_from": ("effective_from", "effective from", "生效日期"),
    "approving_body": ("approving_body", "approved by", "批准机构", "审批机构"),
    "rationale": ("rationale", "依据", "理由"),
}


@dataclass(frozen=True)
class _RuleRow:
    number: int
    entry: CatalogueEntry | None
    course: Course | None
    fields: dict[str, Any]


class _Lookups:
    """Everything the rows name, looked up in a few queries for the whole file."""

    def __init__(self, table: ListedTable) -> None:
        def values(column: str) -> set[str]:
            return {cell_text(r.cells.get(column)) for r in table.rows} - {""}

        codes = {c.upper() for c in values("catalogue_code")}
        self.entries = catalogue_entries_with_versions(codes=codes)
        credit_codes = {c.upper() for c in values("institution_credit_code")}
        names = values("institution")
        institutions = institutions_matching(credit_codes=credit_codes, names=names)
        self.by_credit_code = {i.credit_code: i for i in institutions}
        self.by_name: dict[str, list[Institution]] = {}
        for institution in institutions:
            self.by_name.setdefault(institution.name, []).append(institution)
        self.programmes = {
            (p.institution_id, p.code): p
            for p in Programme.objects.filter(institution__in=institutions)
        }
        self.courses = {
            (c.programme_id, c.code): c
            for c in Course.objects.filter(programme__in=list(self.programmes.values()))
        }


def _rule_rows_check(table: ListedTable, errors: RowErrors) -> list[_RuleRow]:
    if "institution_credit_code" not in table.headings and "institution" not in table.headings:
        raise refusal(
            gettext(
                "The heading row lacks the institution: add a column institution_credit_code "
                "(统一社会信用代码) or institution (院校名称)."
            ),
            "missing_column",
        )
    found = _Lookups(table)
    rows: list[_RuleRow] = []
    first_row_of_pair: dict[tuple[int, int], int] = {}
    for source in table.rows:
        cells, row = source.cells, source.number

        def text(column: str, cells: dict[str, object] = cells) -> str:
            return cell_text(cells.get(column))

        entry = None
        code = text("catalogue_code").upper()
        if not code:
            errors.add(row, "catalogue_code", gettext("The catalogue code is missing."))
        else:
            entry = found.entries.get(code)
            if entry is None:
                errors.add(
                    row, "catalogue_code", gettext("The catalogue has no entry with this code.")
                )

        institution: Institution | None = None
        credit_code, name = text("institution_credit_code").upper(), text("institution")
        if credit_code:
            institution = found.by_credit_code.get(credit_code)
            if institution is None:
                errors.add(
                    row,
                    "institution_credit_code",
                    gettext("No institution has this unified social credit code."),
                )
        elif name:
            named = found.by_name.get(name, [])
            if len(named) == 1:
                institution = named[0]
            else:
                errors.add(
                    row,
                    "institution",
                    gettext("No institution has this name.")
                    if not named
                    else gettext(
                        "Several institutions have this name; give the unified social credit "
                        "code instead."
                    ),
                )
        else:
            errors.add(
                row,
                "institution_credit_code"
                if "institution_credit_code" in table.headings
                else "institution",
                gettext("Give the institution's unified social credit code or its name."),
            )

        programme: Programme | None = None
        if institution is not None:
            programme = found.programmes.get((institution.pk, text("programme_code")))
            if programme is None:
                errors.add(
                    row,
                    "programme_code",
                    gettext("The institution has no programme with this code."),
                )
        course: Course | None = None
        if programme is not None:
            course = found.courses.get((programme.pk, text("course_code")))
            if course is None:
                errors.add(
                    row, "course_code", gettext("The programme has no course with this code.")
                )

        fields: dict[str, Any] = {
            "credits": cells.get("credits"),
            "approving_body": text("approving_body"),
            "rationale": text("rationale"),
            "effective_from": None,
        }
        if text("credits") == "":
            fields["credits"] = ""
        if text("effective_from"):
            try:
                fields["effective_from"] = cell_date(cells.get("effective_from"))
            except ValueError:
                errors.add(row, "effective_from", date_message())
        _cleaned, problems = conversion_fields_check(course=course, fields=fields)
        for name_, messages in problems.items():
            if not errors.has(row, name_):
                errors.add(row, name_, " ".join(str(m) for m in messages))
        if entry is not None and course is not None:
            first = first_row_of_pair.setdefault((entry.pk, course.pk), row)
            if first != row:
                errors.add(
                    row,
                    "course_code",
                    gettext("The same entry and course are also on row %(row)d.") % {"row": first},
                )
        rows.append(_RuleRow(row, entry, course, fields))
    return rows


def conversion_rules_import(*, data: bytes, filename: str, actor: User | None) -> ImportResult:
    """Publish every row of a CSV or XLSX file of conversion rules (columns ``RULE_COLUMNS``;
    the institution by credit code or by name), each as :func:`conversion_rule_publish` would.

    All or nothing: a file refused as a whole raises ValidationError keyed ``file``; problems
    in rows raise ``RowsInvalid`` listing every one by row and column."""
    # Listed: the rows are gone over twice, to look up what they name and to check them.
    table = table_read(
        data,
        filename=filename,
        columns=RULE_HEADINGS,
        required=RULE_REQUIRED,
        max_rows=MAX_IMPORT_ROWS,
    ).listed()
    errors = RowErrors(table.headings, RULE_COLUMNS)
    rows = _rule_rows_check(table, errors)
    if errors:
        raise RowsInvalid(errors.sorted())
    return rows_publish(
        # Rows that name no entry or course were refused above.
        [row for row in rows if row.entry is not None and row.course is not None],
        publish=lambda row: conversion_rule_publish_from(
            fields={**row.fields, "entry": row.entry, "course": row.course}, actor=actor
        )[1],
        number=lambda row: row.number,
        errors=errors,
        columns=RULE_COLUMNS,
        column_else="catalogue_code",
    )


def _export_rows(rules: Iterable[ConversionRule]) -> Iterable[list[object]]:
    for rule in rules:
        programme = rule.course.programme
        yield [
            rule.entry.code,
            programme.institution.credit_code,
            programme.institution.name,
            programme.code,
            rule.course.code,
            rule.credits,
            rule.effective_from,
            rule.approving_body,
            rule.rationale,
        ]


def conversion_rules_export(*, fmt: str, on: datetime.date | None = None) -> bytes:
    """The rules in effect on ``on`` (today by default) as a CSV or XLSX file that
    :func:`conversion_rules_import` takes back unchanged."""
    return table_write(
        _export_rows(conversion_rules_current(on=on)),
        headings=RULE_COLUMNS,
        fmt=fmt,
        title="conversion rules",
    )
