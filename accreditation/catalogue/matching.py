"""Recognising a learner's outcome in the catalogue: comparing names, checking certificate
numbers against an entry's number format, and giving an example of that format."""

from __future__ import annotations

import datetime
import importlib
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.cache import cache
from django.db import connection
from django.utils import translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext

from outcomes.models import OutcomeKind

from ..models import CatalogueEntryVersion, CatalogueRevision
from .queries import beijing_today, catalogue_current, version_aliases

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
class Candidate:
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


def candidate_of(version: CatalogueEntryVersion) -> Candidate:
    names = [version.name, version.name_en, *version_aliases(version)]
    keys = tuple(dict.fromkeys(k for k in (match_key(n) for n in names) if k))
    return Candidate(
        version_id=version.pk,
        kind=version.kind,
        keys=keys,
        issuer=match_key(version.issuing_body),
        pattern=version.certificate_number_pattern,
        name=version.name,
        name_en=version.name_en,
    )


def candidate_best(
    candidates: Iterable[Candidate],
    *,
    kind: str,
    title: str,
    issuing_body: str = "",
    certificate_number: str = "",
    check_number: bool = True,
) -> Candidate | None:
    """The candidate of ``kind`` with the longest name (or other name) found in ``title``;
    between equally long ones, the one whose issuing body agrees. With ``check_number``,
    entries whose number format the given number does not have are passed over."""
    title_key = match_key(title)
    if not title_key:
        return None
    issuer_key = match_key(issuing_body)
    best: Candidate | None = None
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
    best = candidate_best(
        (candidate_of(v) for v in versions.values()),
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
    candidates = [candidate_of(v) for v in versions.values()]
    found: dict[int, CatalogueEntryVersion] = {}
    for outcome in outcomes:
        best = candidate_best(
            candidates,
            kind=outcome.kind,
            title=outcome.title,
            issuing_body=outcome.issuing_body or "",
            certificate_number=outcome.certificate_number or "",
        )
        if best is not None:
            found[outcome.pk] = versions[best.version_id]
    return found


# --- A learner's matches, cached --------------------------------------------------------------

# The dashboard and the file page show, for each saved outcome, what accreditation against its
# catalogue entry would give. The matches of one account are cached under a key made of what
# they depend on: the account, the catalogue's revision (raised in the same transaction as any
# catalogue write), the day in Beijing (versions take effect and end by date) and a keyed digest
# of the saved outcomes' own matching fields (an outcome saved, changed, submitted or accredited
# changes the digest). No write has to remember to forget anything, and no key is shared by two
# accounts. The value holds only catalogue versions, which are public.
MATCHES_CACHE_SECONDS = 600


def catalogue_revision() -> int:
    """The catalogue's revision number (0 before the first write)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT number FROM {CatalogueRevision._meta.db_table} WHERE id = 1"  # noqa: S608
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def catalogue_revision_bump(**_signal: Any) -> None:
    """Raise the catalogue's revision in the caller's transaction (a signal receiver on every
    catalogue model; the publishing services run inside ``transaction.atomic``)."""
    from django.db.models import F

    if not CatalogueRevision.objects.filter(pk=1).update(number=F("number") + 1):
        CatalogueRevision.objects.get_or_create(pk=1, defaults={"number": 1})


def _matches_key(account_id: int, outcomes: Sequence[_OutcomeLike], revision: int) -> str:
    fields = sorted(
        (o.pk, o.kind, o.title, o.issuing_body or "", o.certificate_number or "") for o in outcomes
    )
    digest = salted_hmac("catalogue-matches", repr(fields), algorithm="sha256").hexdigest()
    return f"catalogue:matches:{account_id}:{revision}:{beijing_today().isoformat()}:{digest}"


def catalogue_matches_of_account(
    account_id: int, outcomes: Iterable[_OutcomeLike]
) -> dict[int, CatalogueEntryVersion]:
    """:func:`catalogue_matches` of the account's ``outcomes`` today, through the cache."""
    outcomes = list(outcomes)
    if not outcomes:
        return {}
    # The revision is read before the catalogue: a write committing in between can only put
    # newer matches under the older key, never older matches under the newer one.
    key = _matches_key(account_id, outcomes, catalogue_revision())
    found: dict[int, CatalogueEntryVersion] | None = cache.get(key)
    if found is None:
        found = catalogue_matches(outcomes)
        cache.set(key, found, MATCHES_CACHE_SECONDS)
    return found


# The number check runs for each row of an institution's batch (up to 10,000 rows), so the
# candidates of a kind are cached for a few minutes; publishing or retiring forgets them.
CANDIDATES_CACHE_SECONDS = 300


def _candidates_key(kind: str, day: datetime.date) -> str:
    return f"catalogue:candidates:{kind}:{day.isoformat()}"


def candidates_forget() -> None:
    day = beijing_today()
    cache.delete_many([_candidates_key(kind, day) for kind in OutcomeKind.values])


def _cached_candidates(kind: str) -> list[Candidate]:
    key = _candidates_key(kind, beijing_today())
    candidates: list[Candidate] | None = cache.get(key)
    if candidates is None:
        candidates = [candidate_of(v) for v in catalogue_current().filter(kind=kind)]
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
    best = candidate_best(_cached_candidates(kind), kind=kind, title=title, check_number=False)
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
