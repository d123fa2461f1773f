"""Publishing and retiring catalogue entries: an entry's content lives in versions that are
never edited; a change is a new version from a date on, the version before it closed the day
before. :func:`version_publish` serves the bank's versioned rows whose versions hang off them
(recognition agreements too); :func:`version_supersede` and :func:`version_close` serve every
versioned row of the bank (conversion rules too)."""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from outcomes.models import OutcomeKind

from ..models import CatalogueEntry, CatalogueEntryVersion
from .matching import candidates_forget

# The name it had before the catalogue became a package: log filters and alerts keep working.
logger = logging.getLogger("accreditation.catalogue")

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


def decimal_or_none(value: object) -> Decimal | None:
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

    amounts_check(fields, clean, add, blank=_("This field is required."))

    validity = fields.get("validity_months")
    clean["validity_months"] = None
    if validity not in (None, ""):
        months = decimal_or_none(validity)
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


def amounts_check(
    fields: Mapping[str, Any],
    clean: dict[str, Any],
    add: Callable[[str, Any], None],
    *,
    blank: Any = None,
) -> None:
    """Check the ``hours`` (more than zero) and ``credits`` (zero or more) a version gives, to
    one decimal place, into ``clean``; each problem goes to ``add``. ``blank``: what an empty
    one is told (by default, that it is not a number)."""
    for name, high, allow_zero in (("hours", MAX_HOURS, False), ("credits", MAX_CREDITS, True)):
        raw = fields.get(name)
        number = decimal_or_none(raw)
        clean[name] = number
        if blank is not None and (raw is None or raw == ""):
            add(name, blank)
        elif number is None:
            add(name, _("Write a number, such as 40 or 2.5."))
        elif number < 0 or (number == 0 and not allow_zero):
            add(name, _("Must be zero or more.") if allow_zero else _("Must be more than zero."))
        elif number > high:
            add(name, _("At most %(n)s.") % {"n": high})
        elif number != number.quantize(ONE_DECIMAL):
            add(name, _("At most one decimal place."))
        else:
            clean[name] = number.quantize(ONE_DECIMAL)


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
        version, what = version_publish(
            entry,
            content=content,
            content_of=_content_of,
            effective_from=effective_from,
            approving_body=clean["approving_body"],
            rationale=clean["rationale"],
            created_by=actor,
        )
        if what == UNCHANGED:
            return version, what
        transaction.on_commit(candidates_forget)
        # robust: a broker that is down must not turn the committed publication into an error.
        transaction.on_commit(_tell_matching_learners_after(version.pk), robust=True)
    logger.info(
        "catalogue entry %s version %d published by user %s",
        entry.code,
        version.version,
        getattr(actor, "pk", None),
    )
    return version, what


def _tell_matching_learners_after(version_id: int) -> Callable[[], None]:
    """A named callable (Django logs a failed robust callback by its ``__qualname__``)."""

    def tell_matching_learners() -> None:
        from ..tasks import catalogue_match_notify_task

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


def version_publish(
    parent: Any,
    *,
    content: dict[str, Any],
    content_of: Callable[[Any], dict[str, Any]],
    effective_from: datetime.date,
    approving_body: str,
    rationale: str,
    created_by: User | None,
) -> tuple[Any, str]:
    """Publish ``content`` (what a version says, as ``content_of`` reads it from one) as a
    version of ``parent``, a versioned row (a catalogue entry, a recognition agreement) whose
    ``versions`` are never edited, from ``effective_from`` on: ``UNCHANGED`` with the version
    already saying it on that day, else a new version superseding the latest
    (:func:`version_supersede`), ``CREATED`` for the first and ``REVISED`` after. Call it inside
    a transaction."""
    # Locked: two publications of one row (two managers, an import sent twice) must number
    # their versions and close the previous one one after the other.
    parent = type(parent).objects.select_for_update().get(pk=parent.pk)
    versions = list(parent.versions.order_by("-version"))
    for version in versions:
        if content_of(version) == content and version.is_effective_on(effective_from):
            return version, UNCHANGED
    latest = versions[0] if versions else None
    version_supersede(latest, effective_from=effective_from)
    version = parent.versions.create(
        version=latest.version + 1 if latest is not None else 1,
        effective_from=effective_from,
        approving_body=approving_body,
        rationale=rationale,
        created_by=created_by,
        **content,
    )
    return version, (CREATED if latest is None else REVISED)


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
    transaction.on_commit(candidates_forget)
    # The version has no field for why it ended; the log keeps who retired it and why.
    logger.info(
        "catalogue entry %s retired from %s by user %s: %s",
        entry.code,
        effective_to.isoformat(),
        getattr(actor, "pk", None),
        rationale.strip(),
    )
    return latest
