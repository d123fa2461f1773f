"""The catalogue of accredited learning outcomes: reading it, publishing and retiring entries,
recognising a learner's outcome in it, and exchanging it as a spreadsheet.

An entry (:class:`CatalogueEntry`) is identified by its code; what it says lives in versions
(:class:`CatalogueEntryVersion`) that are never edited. A change is a new version from a date
on, and the version before it is closed the day before; re-publishing what is already in effect
changes nothing, so re-importing the same file is harmless. Decisions point at the version they
used, so a change never rewrites a past decision.

The conversion rules that say which courses an entry counts for belong to the transfers layer
above; the catalogue shows them through :func:`catalogue_conversions`, which asks the providers
that layer registers (see ``conversion_provider_register``).
"""

from __future__ import annotations

import datetime
import importlib
import itertools
import logging
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.collective import imports
from accounts.models import User
from outcomes.models import OutcomeKind

from .models import CatalogueEntry, CatalogueEntryVersion

logger = logging.getLogger(__name__)

CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,29}")
ALIAS_SEPARATOR = "|"
MAX_HOURS = Decimal("999999.9")
MAX_CREDITS = Decimal("9999.9")
MAX_VALIDITY_MONTHS = 1200
ONE_DECIMAL = Decimal("0.1")

# What a version says; two versions saying the same are the same for re-publishing.
CONTENT_FIELDS = (
    "name", "name_en", "kind", "issuing_body", "level", "hours", "credits", "validity_months",
    "evidence_required", "aliases", "certificate_number_pattern",
)  # fmt: skip
TEXT_LIMITS = {
    "name": 200,
    "name_en": 200,
    "issuing_body": 200,
    "level": 50,
    "certificate_number_pattern": 200,
    "approving_body": 200,
}


def beijing_today() -> datetime.date:
    """Today in Beijing (the portal's time zone), the day the catalogue is read on by default."""
    return timezone.localdate()


# --- Reading ------------------------------------------------------------------------------------


def _in_effect(on: datetime.date) -> Q:
    return Q(effective_from__lte=on) & (Q(effective_to__isnull=True) | Q(effective_to__gte=on))


def catalogue_current(*, on: datetime.date | None = None) -> QuerySet[CatalogueEntryVersion]:
    """The versions in effect on ``on`` (today in Beijing by default), one per entry at most,
    in the order of their codes."""
    return (
        CatalogueEntryVersion.objects.filter(_in_effect(on or beijing_today()))
        .select_related("entry")
        .order_by("entry__code")
    )


def catalogue_search(
    *, q: str = "", kind: str = "", on: datetime.date | None = None
) -> QuerySet[CatalogueEntryVersion]:
    """Current versions whose code, name, English name, other names or issuing body contain
    every word of ``q`` (case-insensitive), of ``kind`` when given."""
    versions = catalogue_current(on=on)
    if kind:
        versions = versions.filter(kind=kind)
    for word in unicodedata.normalize("NFKC", q or "").split()[:10]:
        versions = versions.filter(
            Q(entry__code__icontains=word)
            | Q(name__icontains=word)
            | Q(name_en__icontains=word)
            | Q(aliases__icontains=word)
            | Q(issuing_body__icontains=word)
        )
    return versions


def catalogue_version_current(
    *, entry: CatalogueEntry, on: datetime.date | None = None
) -> CatalogueEntryVersion | None:
    """The version of ``entry`` in effect on ``on`` (today by default), or None."""
    return catalogue_current(on=on).filter(entry=entry).first()


def catalogue_versions(*, entry: CatalogueEntry) -> QuerySet[CatalogueEntryVersion]:
    """Every version of ``entry``, newest first: its history."""
    return entry.versions.select_related("entry", "created_by").order_by("-version")


def catalogue_entry_find(*, code: str) -> CatalogueEntry | None:
    return CatalogueEntry.objects.filter(code=(code or "").strip().upper()).first()


def version_aliases(version: CatalogueEntryVersion) -> list[str]:
    return [line for line in version.aliases.splitlines() if line.strip()]


# --- Publishing -------------------------------------------------------------------------------

CREATED, REVISED, UNCHANGED = "created", "revised", "unchanged"


def _clean_aliases(aliases: Sequence[str] | str, errors: dict[str, list[Any]]) -> str:
    if isinstance(aliases, str):
        items = re.split(r"[|\n]", aliases)
    else:
        items = list(aliases)
        if any(ALIAS_SEPARATOR in str(a) or "\n" in str(a) for a in items):
            errors.setdefault("aliases", []).append(
                _("An other name cannot contain “|” or a line break.")
            )
    seen: dict[str, None] = {}
    for alias in items:
        text = str(alias).strip()
        if text:
            seen.setdefault(text, None)
    return "\n".join(seen)


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def catalogue_fields_check(
    fields: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Clean and check what a version would say (the content fields, ``code``,
    ``effective_from``, ``approving_body`` and ``rationale``), without the database.

    Returns the cleaned fields and the problems by field; used by publishing and, row by row,
    by the import, so that both refuse the same things with the same words."""
    errors: dict[str, list[Any]] = {}

    def add(name: str, message: Any) -> None:
        errors.setdefault(name, []).append(message)

    clean: dict[str, Any] = {}
    for name in (
        "name", "name_en", "issuing_body", "level", "evidence_required",
        "certificate_number_pattern", "approving_body", "rationale",
    ):  # fmt: skip
        clean[name] = str(fields.get(name) or "").strip()
        limit = TEXT_LIMITS.get(name)
        if limit and len(clean[name]) > limit:
            add(name, _("At most %(n)d characters.") % {"n": limit})
    for name in ("name", "issuing_body", "evidence_required", "approving_body", "rationale"):
        if not clean[name]:
            add(name, _("This field is required."))

    code = str(fields.get("code") or "").strip().upper()
    clean["code"] = code
    if not code:
        add("code", _("This field is required."))
    elif not CODE_RE.fullmatch(code):
        add(
            "code",
            _(
                "Use up to 30 letters, digits, dots, hyphens and underscores, starting with a "
                "letter or digit."
            ),
        )

    kind = str(fields.get("kind") or "")
    clean["kind"] = kind
    if kind not in OutcomeKind.values:
        add("kind", _("Choose one of the kinds of learning outcome."))

    for name, low, high, allow_zero in (
        ("hours", Decimal(0), MAX_HOURS, False),
        ("credits", Decimal(0), MAX_CREDITS, True),
    ):
        raw = fields.get(name)
        number = _decimal(raw)
        clean[name] = number
        if raw is None or raw == "":
            add(name, _("This field is required."))
        elif number is None:
            add(name, _("Write a number, such as 40 or 2.5."))
        elif number < low or (number == low and not allow_zero):
            add(
                name,
                _("Must be zero or more.") if allow_zero else _("Must be more than zero."),
            )
        elif number > high:
            add(name, _("At most %(n)s.") % {"n": high})
        elif number != number.quantize(ONE_DECIMAL):
            add(name, _("At most one decimal place."))
        else:
            clean[name] = number.quantize(ONE_DECIMAL)

    validity = fields.get("validity_months")
    clean["validity_months"] = None
    if validity not in (None, ""):
        months = _decimal(validity)
        if months is None or months != months.to_integral_value():
            add("validity_months", _("Write a whole number of months, or leave it empty."))
        elif not 1 <= months <= MAX_VALIDITY_MONTHS:
            add(
                "validity_months",
                _("Between 1 and %(n)d months, or empty if it does not expire.")
                % {"n": MAX_VALIDITY_MONTHS},
            )
        else:
            clean["validity_months"] = int(months)

    clean["aliases"] = _clean_aliases(fields.get("aliases") or (), errors)

    pattern = clean["certificate_number_pattern"]
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            add(
                "certificate_number_pattern",
                _("This is not a valid regular expression: %(error)s.") % {"error": exc},
            )

    effective_from = fields.get("effective_from")
    clean["effective_from"] = effective_from
    if not isinstance(effective_from, datetime.date):
        add("effective_from", _("This field is required."))
    return clean, errors


def _content_of(version: CatalogueEntryVersion) -> dict[str, Any]:
    return {name: getattr(version, name) for name in CONTENT_FIELDS}


def catalogue_entry_publish_from(
    *, fields: Mapping[str, Any], actor: User | None
) -> tuple[CatalogueEntryVersion, str]:
    """:func:`catalogue_entry_publish` from a mapping of its arguments (a form's or a
    serializer's data), telling what happened: ``CREATED`` (a new entry), ``REVISED`` (a new
    version of an entry) or ``UNCHANGED`` (already in effect; the version is that one)."""
    clean, errors = catalogue_fields_check(fields)
    if errors:
        raise ValidationError(errors)
    content = {name: clean[name] for name in CONTENT_FIELDS}
    effective_from: datetime.date = clean["effective_from"]
    with transaction.atomic():
        entry, _created = CatalogueEntry.objects.get_or_create(code=clean["code"])
        # Locked: two publications of one entry (two managers, an import sent twice) must
        # number their versions and close the previous one one after the other.
        entry = CatalogueEntry.objects.select_for_update().get(pk=entry.pk)
        versions = list(entry.versions.order_by("-version"))
        for version in versions:
            if _content_of(version) == content and version.is_effective_on(effective_from):
                return version, UNCHANGED
        latest = versions[0] if versions else None
        version_supersede(latest, effective_from=effective_from)
        version = CatalogueEntryVersion.objects.create(
            entry=entry,
            version=latest.version + 1 if latest is not None else 1,
            effective_from=effective_from,
            approving_body=clean["approving_body"],
            rationale=clean["rationale"],
            created_by=actor,
            **content,
        )
        transaction.on_commit(_forget_candidates)
        # robust: a broker that is down must not turn the committed publication into an error.
        transaction.on_commit(_tell_matching_learners_after(version.pk), robust=True)
    logger.info(
        "catalogue entry %s version %d published by user %s",
        entry.code,
        version.version,
        getattr(actor, "pk", None),
    )
    return version, (CREATED if latest is None else REVISED)


def _tell_matching_learners_after(version_id: int) -> Callable[[], None]:
    """A named callable (Django logs a failed robust callback by its ``__qualname__``)."""

    def tell_matching_learners() -> None:
        from .tasks import catalogue_match_notify_task

        catalogue_match_notify_task.delay(version_id)

    return tell_matching_learners


def catalogue_entry_publish(
    *,
    code: str,
    name: str,
    name_en: str = "",
    kind: str,
    issuing_body: str,
    level: str = "",
    hours: Decimal | int | str,
    credits: Decimal | int | str,
    validity_months: int | None = None,
    evidence_required: str,
    aliases: Sequence[str] | str = (),
    certificate_number_pattern: str = "",
    effective_from: datetime.date,
    approving_body: str,
    rationale: str,
    actor: User | None,
) -> CatalogueEntryVersion:
    """Publish what the entry ``code`` says from ``effective_from`` on: the entry's first
    version, or a new one that closes the previous version the day before.

    Re-publishing content that is already in effect on that date is a no-op returning that
    version. A new version must take effect after the latest one does. Raises ValidationError
    by field."""
    fields = {
        "code": code, "name": name, "name_en": name_en, "kind": kind,
        "issuing_body": issuing_body, "level": level, "hours": hours, "credits": credits,
        "validity_months": validity_months, "evidence_required": evidence_required,
        "aliases": aliases, "certificate_number_pattern": certificate_number_pattern,
        "effective_from": effective_from, "approving_body": approving_body,
        "rationale": rationale,
    }  # fmt: skip
    version, _what = catalogue_entry_publish_from(fields=fields, actor=actor)
    return version


def version_supersede(latest: Any, *, effective_from: datetime.date) -> None:
    """Make room for a new version of a versioned row (a catalogue entry, a conversion rule)
    taking effect on ``effective_from``: it must start after the latest version (``None``: there
    is none yet), which then ends the day before. The caller holds the lock that publishing
    takes."""
    if latest is None:
        return
    if effective_from <= latest.effective_from:
        raise ValidationError(
            {
                "effective_from": _(
                    "A new version must take effect after the current one, which is in "
                    "effect from %(date)s."
                )
                % {"date": latest.effective_from.isoformat()}
            }
        )
    if latest.effective_to is None or latest.effective_to >= effective_from:
        latest.effective_to = effective_from - datetime.timedelta(days=1)
        latest.save(update_fields=["effective_to"])


def version_close(latest: Any, *, effective_to: datetime.date, already_ends: Any) -> None:
    """Give the latest version of a versioned row (a catalogue entry, a conversion rule) its
    last day in effect. The caller holds the lock that publishing takes."""
    if latest.effective_to is not None:
        raise ValidationError(
            {"effective_to": already_ends % {"date": latest.effective_to.isoformat()}}
        )
    if effective_to < latest.effective_from:
        raise ValidationError(
            {
                "effective_to": _(
                    "The last day cannot be before the current version takes effect (%(date)s)."
                )
                % {"date": latest.effective_from.isoformat()}
            }
        )
    latest.effective_to = effective_to
    latest.save(update_fields=["effective_to"])


@transaction.atomic
def catalogue_entry_retire(
    *, entry: CatalogueEntry, effective_to: datetime.date, actor: User | None, rationale: str
) -> CatalogueEntryVersion:
    """End the entry on ``effective_to`` (its last day in effect): the latest version is
    closed on that day. Raises ValidationError by field."""
    if not (rationale or "").strip():
        raise ValidationError({"rationale": _("Give the reason for retiring the entry.")})
    # Locked like publishing: a retirement and a new version must not interleave.
    entry = CatalogueEntry.objects.select_for_update().get(pk=entry.pk)
    latest = entry.versions.order_by("-version").first()
    if latest is None:
        raise ValidationError({"entry": _("This entry has no version to retire.")})
    version_close(
        latest, effective_to=effective_to, already_ends=_("This entry already ends on %(date)s.")
    )
    transaction.on_commit(_forget_candidates)
    # The version has no field for why it ended; the log keeps who retired it and why.
    logger.info(
        "catalogue entry %s retired from %s by user %s: %s",
        entry.code,
        effective_to.isoformat(),
        getattr(actor, "pk", None),
        rationale.strip(),
    )
    return latest


# --- Recognising a learner's outcome -----------------------------------------------------------


def match_key(text: str) -> str:
    """``text`` as outcomes are compared: NFKC (full-width forms become ordinary ones),
    case-folded, without spaces, punctuation (Chinese 《》（）、。 included) and control
    characters."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZC")


def number_fits(pattern: str, number: str) -> bool:
    """Whether the whole certificate ``number`` has the format ``pattern``; a pattern that
    does not compile (publishing refuses those) never blocks."""
    try:
        return re.fullmatch(pattern, unicodedata.normalize("NFKC", number).strip()) is not None
    except re.error:
        return True


@dataclass(frozen=True)
class _Candidate:
    """A current version reduced to what matching needs (and small enough to cache)."""

    version_id: int
    kind: str
    keys: tuple[str, ...]
    issuer: str
    pattern: str
    name: str
    name_en: str

    @property
    def display_name(self) -> str:
        if self.name_en and translation.get_language() == "en":
            return self.name_en
        return self.name


def _candidate(version: CatalogueEntryVersion) -> _Candidate:
    names = [version.name, version.name_en, *version_aliases(version)]
    keys = tuple(dict.fromkeys(k for k in (match_key(n) for n in names) if k))
    return _Candidate(
        version_id=version.pk,
        kind=version.kind,
        keys=keys,
        issuer=match_key(version.issuing_body),
        pattern=version.certificate_number_pattern,
        name=version.name,
        name_en=version.name_en,
    )


def _best(
    candidates: Iterable[_Candidate],
    *,
    kind: str,
    title: str,
    issuing_body: str = "",
    certificate_number: str = "",
    check_number: bool = True,
) -> _Candidate | None:
    """The candidate of ``kind`` with the longest name (or other name) found in ``title``;
    between equally long ones, the one whose issuing body agrees. With ``check_number``,
    entries whose number format the given number does not have are passed over."""
    title_key = match_key(title)
    if not title_key:
        return None
    issuer_key = match_key(issuing_body)
    best: _Candidate | None = None
    best_rank: tuple[int, bool] = (0, False)
    for candidate in candidates:
        if candidate.kind != kind:
            continue
        length = max((len(k) for k in candidate.keys if k in title_key), default=0)
        if not length:
            continue
        if (
            check_number
            and certificate_number
            and candidate.pattern
            and not number_fits(candidate.pattern, certificate_number)
        ):
            continue
        issuer_agrees = bool(
            issuer_key
            and candidate.issuer
            and (candidate.issuer in issuer_key or issuer_key in candidate.issuer)
        )
        rank = (length, issuer_agrees)
        if rank > best_rank:
            best, best_rank = candidate, rank
    return best


def catalogue_match(
    *,
    kind: str,
    title: str,
    issuing_body: str = "",
    certificate_number: str = "",
    on: datetime.date | None = None,
) -> CatalogueEntryVersion | None:
    """The current catalogue version that an outcome of ``kind`` titled ``title`` is: the
    same kind, and its name or one of its other names equal to or contained in the title
    (compared by :func:`match_key`); where the entry has a number format and a number is
    given, the number has that format. The longest matching name wins."""
    versions = {v.pk: v for v in catalogue_current(on=on).filter(kind=kind)}
    best = _best(
        (_candidate(v) for v in versions.values()),
        kind=kind,
        title=title,
        issuing_body=issuing_body,
        certificate_number=certificate_number,
    )
    return versions[best.version_id] if best is not None else None


class _OutcomeLike(Protocol):
    pk: Any
    kind: str
    title: str
    issuing_body: str
    certificate_number: str


def catalogue_matches(
    outcomes: Iterable[_OutcomeLike], *, on: datetime.date | None = None
) -> dict[int, CatalogueEntryVersion]:
    """:func:`catalogue_match` for many outcomes at once, in one query: outcome id -> the
    version it matches (outcomes matching nothing are left out)."""
    outcomes = list(outcomes)
    kinds = {o.kind for o in outcomes}
    if not kinds:
        return {}
    versions = {v.pk: v for v in catalogue_current(on=on).filter(kind__in=kinds)}
    candidates = [_candidate(v) for v in versions.values()]
    found: dict[int, CatalogueEntryVersion] = {}
    for outcome in outcomes:
        best = _best(
            candidates,
            kind=outcome.kind,
            title=outcome.title,
            issuing_body=outcome.issuing_body or "",
            certificate_number=outcome.certificate_number or "",
        )
        if best is not None:
            found[outcome.pk] = versions[best.version_id]
    return found


# The number check runs for each row of an institution's batch (up to 10,000 rows), so the
# candidates of a kind are cached for a few minutes; publishing or retiring forgets them.
CANDIDATES_CACHE_SECONDS = 300


def _candidates_key(kind: str, day: datetime.date) -> str:
    return f"catalogue:candidates:{kind}:{day.isoformat()}"


def _forget_candidates() -> None:
    day = beijing_today()
    cache.delete_many([_candidates_key(kind, day) for kind in OutcomeKind.values])


def _cached_candidates(kind: str) -> list[_Candidate]:
    key = _candidates_key(kind, beijing_today())
    candidates: list[_Candidate] | None = cache.get(key)
    if candidates is None:
        candidates = [_candidate(v) for v in catalogue_current().filter(kind=kind)]
        cache.set(key, candidates, CANDIDATES_CACHE_SECONDS)
    return candidates


def certificate_number_check(data: Mapping[str, Any]) -> str | None:
    """The catalogue's check of an outcome's certificate number (registered with
    ``outcomes.hooks``): when the outcome's kind and title are those of a current entry with
    a number format, and the number does not have it, say so with an example."""
    kind, title = str(data.get("kind") or ""), str(data.get("title") or "")
    number = str(data.get("certificate_number") or "")
    if not (kind and title and number):
        return None
    best = _best(_cached_candidates(kind), kind=kind, title=title, check_number=False)
    if best is None or not best.pattern or number_fits(best.pattern, number):
        return None
    example = pattern_example(best.pattern)
    if example:
        return gettext(
            "This certificate number does not have the format of %(name)s (e.g. %(example)s)."
        ) % {"name": best.display_name, "example": example}
    return gettext("This certificate number does not have the format of %(name)s.") % {
        "name": best.display_name
    }


# --- An example of a number format ---------------------------------------------------------------

# The parser of the standard library's own regular expressions; private, so anything it does
# not give as expected only means that no example is shown.
_re_parser: Any = importlib.import_module("re._parser")


def pattern_example(pattern: str) -> str:
    """A certificate number that has the format ``pattern``, to show a learner, or "" when
    none can be made (the example is checked against the pattern before it is given)."""
    digits = itertools.cycle("1234567890")
    try:
        example = _example(_re_parser.parse(pattern), digits)
    except Exception:  # any surprise of a private parser: no example
        return ""
    try:
        return example if re.fullmatch(pattern, example) else ""
    except re.error:
        return ""


def _example(tokens: Iterable[tuple[Any, Any]], digits: Iterator[str]) -> str:
    out: list[str] = []
    for op, arg in tokens:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("A" if arg != ord("A") else "B")
        elif name == "ANY":
            out.append("A")
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            out.extend(_example(sub, digits) for _ in range(low))
        elif name == "SUBPATTERN":
            out.append(_example(arg[-1], digits))
        elif name == "ATOMIC_GROUP":
            out.append(_example(arg, digits))
        elif name == "BRANCH":
            out.append(_example(arg[1][0], digits))
        elif name == "IN":
            out.append(_example_in(arg, digits))
        elif name == "CATEGORY":
            out.append(_example_category(arg, digits))
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        else:
            raise ValueError(name)
    return "".join(out)


def _example_in(items: Sequence[tuple[Any, Any]], digits: Iterator[str]) -> str:
    if items and str(items[0][0]) == "NEGATE":
        raise ValueError("negated set")
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            low, high = arg
            digit = next(digits)
            return digit if low <= ord(digit) <= high else chr(low)
        if name == "CATEGORY":
            return _example_category(arg, digits)
    raise ValueError("empty set")


def _example_category(category: Any, digits: Iterator[str]) -> str:
    name = str(category)
    if name == "CATEGORY_DIGIT":
        return next(digits)
    if name in ("CATEGORY_WORD", "CATEGORY_NOT_DIGIT", "CATEGORY_NOT_SPACE"):
        return "A"
    if name == "CATEGORY_SPACE":
        return " "
    raise ValueError(name)


# --- Conversion rules, as the catalogue shows them ---------------------------------------------


@dataclass(frozen=True)
class Conversion:
    """A course that a catalogue entry counts for, with the credits it gives."""

    rule_id: int
    rule_version: int
    course_code: str
    course_name: str
    course_name_en: str
    programme_code: str
    programme_name: str
    programme_name_en: str
    institution: str
    credits: Decimal

    @property
    def course(self) -> str:
        return _display(self.course_name, self.course_name_en)

    @property
    def programme(self) -> str:
        return _display(self.programme_name, self.programme_name_en)


def _display(name: str, name_en: str) -> str:
    return name_en if name_en and translation.get_language() == "en" else name


# entry ids, the day -> entry id -> the conversions in effect that day
ConversionProvider = Callable[[Collection[int], datetime.date], Mapping[int, Sequence[Conversion]]]
_conversion_providers: list[ConversionProvider] = []


def conversion_provider_register(provider: ConversionProvider) -> ConversionProvider:
    """The transfers layer, which owns conversion rules, registers here what the catalogue
    shows of them (in its ``AppConfig.ready()``)."""
    if provider not in _conversion_providers:
        _conversion_providers.append(provider)
    return provider


def catalogue_conversions(
    *, entry_ids: Collection[int], on: datetime.date | None = None
) -> dict[int, list[Conversion]]:
    """The courses each entry counts for on ``on`` (today by default): entry id -> list."""
    found: dict[int, list[Conversion]] = {}
    if not entry_ids:
        return found
    for provider in _conversion_providers:
        for entry_id, conversions in provider(entry_ids, on or beijing_today()).items():
            found.setdefault(entry_id, []).extend(conversions)
    return found


# --- Spreadsheets --------------------------------------------------------------------------------

MAX_IMPORT_ROWS = 5_000
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXPORT_FORMATS = tuple(CONTENT_TYPES)


class RowsInvalid(imports.MemberRowsInvalid):
    """Rows of a catalogue or conversion-rule file are wrong; ``rows`` lists every problem
    (the same report as a member import's); nothing was written."""


class SheetRowErrors(imports.RowErrors):
    """Row problems, sorted by row and then by the column order of the file's kind."""

    def __init__(self, headings: dict[str, str], columns: Sequence[str]) -> None:
        super().__init__(headings)
        self.columns = tuple(columns)

    def sorted(self) -> list[imports.RowError]:
        order = {column: n for n, column in enumerate(self.columns)}
        return sorted(self.items, key=lambda e: (e.row, order.get(e.column, len(order))))


@dataclass(frozen=True)
class ImportResult:
    created: int = 0
    revised: int = 0
    unchanged: int = 0

    @property
    def rows(self) -> int:
        return self.created + self.revised + self.unchanged


def spreadsheet_read(
    *,
    data: bytes,
    filename: str,
    headings: Mapping[str, Sequence[str]],
    required: Sequence[str],
    max_rows: int = MAX_IMPORT_ROWS,
) -> imports.MemberTable:
    """Read a CSV or XLSX file whose heading row names some of ``headings`` (column -> the
    headings it may have, compared like the member import's), with the member import's
    readers and their size, format and zip-bomb checks. Raises ValidationError keyed ``file``
    when the file as a whole cannot be taken."""
    if not data:
        raise imports.refuse(gettext("The file is empty."), "empty")
    if len(data) > imports.MAX_FILE_BYTES:
        raise imports.refuse(
            gettext("The file is larger than %(size)d MB. Split the list into several files.")
            % {"size": imports.MAX_FILE_BYTES // (1024 * 1024)},
            "too_large",
        )
    if data.startswith(imports.OLE2_MAGIC):
        raise imports.refuse(
            gettext(
                "This is an old-style Excel workbook (.xls) or a password-protected workbook. "
                "Save it as an Excel workbook (.xlsx) without a password, or as CSV, and upload "
                "it again."
            ),
            "format",
        )
    column_of = {imports._heading_key(h): column for column, hs in headings.items() for h in hs}
    is_xlsx = data.startswith(imports.ZIP_MAGIC)
    rows = imports._xlsx_rows(data) if is_xlsx else imports._csv_rows(data)
    table = imports.MemberTable(
        filename=filename, file_format="xlsx" if is_xlsx else "csv", headings={}
    )
    columns: dict[int, str] = {}
    non_blank = 0
    with closing(rows):
        for number, cells in rows:
            if imports._is_blank(cells):
                continue
            non_blank += 1
            if not columns:
                # The heading row is the first naming one of the columns; title rows above
                # it are skipped.
                for index, cell in enumerate(cells):
                    if not isinstance(cell, str):
                        continue
                    column = column_of.get(imports._heading_key(cell))
                    if column is None:
                        continue
                    if column in table.headings:
                        raise imports.refuse(
                            gettext(
                                "The columns “%(first)s” and “%(second)s” both hold the "
                                "%(column)s; keep only one of them."
                            )
                            % {
                                "first": table.headings[column],
                                "second": cell.strip(),
                                "column": column,
                            },
                            "duplicate_column",
                        )
                    columns[index] = column
                    table.headings[column] = cell.strip()
                if not columns and non_blank >= imports.HEADING_SEARCH_ROWS:
                    break
                continue
            if len(table.rows) >= max_rows:
                raise imports.refuse(
                    gettext("The file has more than %(rows)s rows. Split it into several files.")
                    % {"rows": f"{max_rows:,}"},
                    "too_many_rows",
                )
            table.rows.append(
                imports.SourceRow(
                    number=number,
                    cells={col: cells[i] if i < len(cells) else None for i, col in columns.items()},
                )
            )
    if non_blank == 0:
        raise imports.refuse(gettext("The file is empty."), "empty")
    missing = [column for column in required if column not in table.headings]
    if missing:
        raise imports.refuse(
            gettext("The heading row lacks these columns: %(columns)s.")
            % {"columns": ", ".join(missing)},
            "missing_column",
        )
    if not table.rows:
        raise imports.refuse(gettext("The file has no rows below its heading row."), "empty")
    return table


def cell_text(value: object) -> str:
    """A cell as text: as written (no width folding: names keep their full-width brackets),
    trimmed, without the apostrophe that an export puts before a would-be formula."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime | datetime.date):
        value = value.isoformat()
    text = str(value).strip()
    if text.startswith("'") and text[1:2] and text[1:].startswith(imports.FORMULA_TRIGGERS):
        text = text[1:]
    return text


_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def cell_date(value: object) -> datetime.date:
    """A date cell: a spreadsheet date, or text such as 2024-01-01, 2024/1/1 or 2024年1月1日.
    Raises ValueError."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    match = _DATE_RE.fullmatch(unicodedata.normalize("NFKC", cell_text(value)))
    if match is None:
        raise ValueError(value)
    return datetime.date(*(int(part) for part in match.groups()))


def cell_number(value: object) -> Decimal | None:
    """A number cell (an XLSX number or text such as 12.5), or None when it is not one."""
    if isinstance(value, float):
        value = repr(value)
    return _decimal(unicodedata.normalize("NFKC", cell_text(value)))


def date_message() -> str:
    return gettext("Write the date as a date, such as 2024-01-01.")


# --- Catalogue import and export -----------------------------------------------------------------

CATALOGUE_COLUMNS = (
    "code", "name", "name_en", "kind", "issuing_body", "level", "hours", "credits",
    "validity_months", "evidence_required", "aliases", "certificate_number_pattern",
    "effective_from", "approving_body", "rationale",
)  # fmt: skip
CATALOGUE_REQUIRED = ("code", "name", "kind", "issuing_body", "hours", "credits", "effective_from")
CATALOGUE_HEADINGS: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码", "成果编码", "代码"),
    "name": ("name", "名称", "成果名称"),
    "name_en": ("name_en", "name in english", "english name", "英文名称"),
    "kind": ("kind", "类型", "成果类型"),
    "issuing_body": ("issuing_body", "issuing body", "颁发机构", "发证机构"),
    "level": ("level", "等级", "级别"),
    "hours": ("hours", "learning hours", "学时"),
    "credits": ("credits", "学分"),
    "validity_months": ("validity_months", "valid for (months)", "有效期(月)", "有效期"),
    "evidence_required": ("evidence_required", "evidence required", "所需证明材料", "证明材料"),
    "aliases": ("aliases", "other names", "别名", "其他名称"),
    "certificate_number_pattern": (
        "certificate_number_pattern",
        "certificate number format",
        "证书编号格式",
    ),
    "effective_from": ("effective_from", "effective from", "生效日期"),
    "approving_body": ("approving_body", "approved by", "批准机构", "审批机构"),
    "rationale": ("rationale", "依据", "理由"),
}


def _kind_of_value() -> dict[str, str]:
    """A kind as written in a file: its value, or its name in Chinese or English."""
    found: dict[str, str] = {}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for value, label in OutcomeKind.choices:
                found[imports._heading_key(str(label))] = value
    for value in OutcomeKind.values:
        found[imports._heading_key(value)] = value
    return found


@dataclass(frozen=True)
class _CatalogueRow:
    number: int
    fields: dict[str, Any]


def _catalogue_rows_check(
    table: imports.MemberTable, errors: SheetRowErrors
) -> list[_CatalogueRow]:
    kinds = _kind_of_value()
    rows: list[_CatalogueRow] = []
    first_row_of_code: dict[str, int] = {}
    for source in table.rows:
        cells, row = source.cells, source.number
        fields: dict[str, Any] = {
            name: cell_text(cells.get(name))
            for name in CATALOGUE_COLUMNS
            if name not in ("hours", "credits", "validity_months", "effective_from", "kind")
        }
        raw_kind = cell_text(cells.get("kind"))
        fields["kind"] = kinds.get(imports._heading_key(raw_kind), "")
        if raw_kind and not fields["kind"]:
            errors.add(
                row,
                "kind",
                gettext("“%(value)s” is not a kind of learning outcome. Write one of: %(kinds)s.")
                % {"value": raw_kind, "kinds": ", ".join(OutcomeKind.values)},
            )
        for name in ("hours", "credits", "validity_months"):
            raw = cells.get(name)
            if cell_text(raw) == "":
                fields[name] = None
                continue
            number = cell_number(raw)
            if number is None:
                errors.add(row, name, gettext("Write a number, such as 40 or 2.5."))
            fields[name] = number if number is not None else cell_text(raw)
        fields["effective_from"] = None
        if cell_text(cells.get("effective_from")):
            try:
                fields["effective_from"] = cell_date(cells.get("effective_from"))
            except ValueError:
                errors.add(row, "effective_from", date_message())
        fields["aliases"] = [
            a for a in cell_text(cells.get("aliases")).split(ALIAS_SEPARATOR) if a.strip()
        ]
        clean, problems = catalogue_fields_check(fields)
        for name, messages in problems.items():
            if not errors.has(row, name):
                errors.add(row, name, " ".join(str(m) for m in messages))
        code = clean["code"]
        if code:
            first = first_row_of_code.setdefault(code, row)
            if first != row:
                errors.add(
                    row,
                    "code",
                    gettext("This code is also on row %(row)d; list each entry once.")
                    % {"row": first},
                )
        rows.append(_CatalogueRow(row, fields))
    return rows


def catalogue_import(*, data: bytes, filename: str, actor: User | None) -> ImportResult:
    """Publish every row of a CSV or XLSX catalogue file (columns ``CATALOGUE_COLUMNS``), each
    as :func:`catalogue_entry_publish` would: a new entry, a new version, or nothing when the
    row says what is already in effect.

    All or nothing: a file refused as a whole raises ValidationError keyed ``file``; problems
    in rows raise :class:`RowsInvalid` listing every one by row and column."""
    table = spreadsheet_read(
        data=data, filename=filename, headings=CATALOGUE_HEADINGS, required=CATALOGUE_REQUIRED
    )
    errors = SheetRowErrors(table.headings, CATALOGUE_COLUMNS)
    rows = _catalogue_rows_check(table, errors)
    if errors:
        raise RowsInvalid(errors.sorted())
    counts = {CREATED: 0, REVISED: 0, UNCHANGED: 0}
    with transaction.atomic():
        for row in rows:
            try:
                # A savepoint per row: a refused row is reported, the others still checked.
                with transaction.atomic():
                    _version, what = catalogue_entry_publish_from(fields=row.fields, actor=actor)
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    column = name if name in CATALOGUE_COLUMNS else "code"
                    errors.add(row.number, column, " ".join(messages))
                continue
            counts[what] += 1
        if errors:
            raise RowsInvalid(errors.sorted())
    return ImportResult(
        created=counts[CREATED], revised=counts[REVISED], unchanged=counts[UNCHANGED]
    )


def _export_row(version: CatalogueEntryVersion) -> list[object]:
    return [
        version.entry.code,
        version.name,
        version.name_en,
        version.kind,
        version.issuing_body,
        version.level,
        version.hours,
        version.credits,
        version.validity_months if version.validity_months is not None else "",
        version.evidence_required,
        ALIAS_SEPARATOR.join(version_aliases(version)),
        version.certificate_number_pattern,
        version.effective_from,
        version.approving_body,
        version.rationale,
    ]


def spreadsheet_write(
    *, fmt: str, title: str, headings: Sequence[str], rows: Iterable[Sequence[object]]
) -> bytes:
    """A CSV or XLSX file, with text that a spreadsheet would run as a formula defused."""
    if fmt == "csv":
        return imports.csv_write(headings=headings, rows=rows)
    if fmt == "xlsx":
        return imports.xlsx_write(title=title, headings=headings, rows=rows)
    raise ValidationError({"format": _("Choose csv or xlsx.")})


def catalogue_export(*, fmt: str, on: datetime.date | None = None) -> bytes:
    """The versions in effect on ``on`` (today by default) as a CSV or XLSX file that
    :func:`catalogue_import` takes back unchanged."""
    return spreadsheet_write(
        fmt=fmt,
        title="catalogue",
        headings=CATALOGUE_COLUMNS,
        rows=(_export_row(v) for v in catalogue_current(on=on)),
    )
