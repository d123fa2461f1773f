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

The package, by what each module decides: :mod:`.queries` (reading it, and the conversions it
shows), :mod:`.versions` (publishing and retiring), :mod:`.matching` (recognising an outcome, a
certificate number's format), :mod:`.spreadsheets` (import and export), :mod:`.notices` (telling
learners that an outcome of theirs became accreditable). Other apps import from the package.
"""

from common.downloads import CONTENT_TYPES, EXPORT_FORMATS

from .matching import (
    CANDIDATES_CACHE_SECONDS,
    Candidate,
    candidate_best,
    candidate_of,
    candidates_forget,
    catalogue_match,
    catalogue_matches,
    catalogue_matches_of_account,
    catalogue_revision,
    catalogue_revision_bump,
    certificate_number_check,
    match_key,
    number_fits,
    pattern_example,
)
from .queries import (
    Conversion,
    ConversionProvider,
    beijing_today,
    catalogue_conversions,
    catalogue_current,
    catalogue_entry_find,
    catalogue_search,
    catalogue_version_current,
    catalogue_versions,
    conversion_provider_register,
    version_aliases,
)
from .spreadsheets import (
    CATALOGUE_COLUMNS,
    CATALOGUE_HEADINGS,
    CATALOGUE_REQUIRED,
    MAX_IMPORT_ROWS,
    ImportResult,
    ImportRow,
    RowRepeats,
    RowsInvalid,
    catalogue_export,
    catalogue_import,
    date_message,
    import_date_cell,
    import_problems_report,
    rows_publish,
    versioned_table_import,
)
from .versions import (
    ALIAS_SEPARATOR,
    CODE_RE,
    CONTENT_FIELDS,
    CREATED,
    MAX_CREDITS,
    MAX_HOURS,
    MAX_VALIDITY_MONTHS,
    ONE_DECIMAL,
    REVISED,
    TEXT_LIMITS,
    UNCHANGED,
    catalogue_entry_publish,
    catalogue_entry_publish_from,
    catalogue_entry_retire,
    catalogue_fields_check,
    decimal_or_none,
    version_close,
    version_publish,
    version_supersede,
)

__all__ = [
    "ALIAS_SEPARATOR",
    "CANDIDATES_CACHE_SECONDS",
    "CATALOGUE_COLUMNS",
    "CATALOGUE_HEADINGS",
    "CATALOGUE_REQUIRED",
    "CODE_RE",
    "CONTENT_FIELDS",
    "CONTENT_TYPES",
    "CREATED",
    "EXPORT_FORMATS",
    "MAX_CREDITS",
    "MAX_HOURS",
    "MAX_IMPORT_ROWS",
    "MAX_VALIDITY_MONTHS",
    "ONE_DECIMAL",
    "REVISED",
    "TEXT_LIMITS",
    "UNCHANGED",
    "Candidate",
    "Conversion",
    "ConversionProvider",
    "ImportResult",
    "ImportRow",
    "RowRepeats",
    "RowsInvalid",
    "beijing_today",
    "candidate_best",
    "candidate_of",
    "candidates_forget",
    "catalogue_conversions",
    "catalogue_current",
    "catalogue_entry_find",
    "catalogue_entry_publish",
    "catalogue_entry_publish_from",
    "catalogue_entry_retire",
    "catalogue_export",
    "catalogue_fields_check",
    "catalogue_import",
    "catalogue_match",
    "catalogue_matches",
    "catalogue_matches_of_account",
    "catalogue_revision",
    "catalogue_revision_bump",
    "catalogue_search",
    "catalogue_version_current",
    "catalogue_versions",
    "certificate_number_check",
    "conversion_provider_register",
    "date_message",
    "decimal_or_none",
    "import_date_cell",
    "import_problems_report",
    "match_key",
    "number_fits",
    "pattern_example",
    "rows_publish",
    "version_aliases",
    "version_close",
    "version_publish",
    "version_supersede",
    "versioned_table_import",
]

# dedupe-views: the catalogue as the conversion rules' pages show it.
from .queries import catalogue_entries_published, catalogue_names

__all__ += ["catalogue_entries_published", "catalogue_names"]
