"""Reading the catalogue: the versions in effect on a day, searching them, an entry's history,
and the conversion rules the catalogue shows beside each entry (registered by the transfers
layer above, which owns them)."""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone, translation

from ..models import CatalogueEntry, CatalogueEntryVersion


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


# --- dedupe-views: what the conversion rules' pages show of the catalogue ----------------------


def catalogue_names(*, entry_ids: Collection[int] | None = None) -> dict[int, str]:
    """The name of each entry as the catalogue says it today, by entry id (one query); every
    entry in effect when ``entry_ids`` is None."""
    versions = catalogue_current()
    if entry_ids is not None:
        versions = versions.filter(entry_id__in=entry_ids)
    return {v.entry_id: v.display_name for v in versions}


def catalogue_entries_published() -> QuerySet[CatalogueEntry]:
    """The entries that have a version (in effect or not), by code: what a rule may name."""
    return CatalogueEntry.objects.filter(versions__isnull=False).distinct().order_by("code")
