"""The flush that ends each transactional test (live server, browser, real workers, races),
emptying only the tables that hold rows.

Django's flush truncates every table, ~60 here: on PostgreSQL each TRUNCATE makes new files for
the table and its indexes, ~0.3 s a test even with ``synchronous_commit=off``, and then
``post_migrate`` writes all content types and permissions again. A test fills a few tables, so
this flush finds those (one query) and deletes their rows in one transaction, with triggers off
(``session_replication_role = replica``, as pg_restore loads: the ledger's append-only trigger
would refuse the DELETE, and no foreign key can be left dangling once every row is gone). Content
types and permissions are kept: ``post_migrate`` would write the same rows again (it still runs,
and adds any that a test removed).

Two more steps it spares when they would change nothing:

- ``post_migrate``'s receivers (Django's two: content types and permissions, ~0.1 s, 80 queries)
  only add rows that are missing; they run when those two tables differ from what they held the
  last time the receivers ran (a test added or removed one), not otherwise.
- The working-day calendar is loaded again by the next test (conftest's ``_official_calendar``,
  ~0.1 s). When the calendar's two tables hold exactly what that load wrote (every column, ids
  included: the test did not change them), they are kept, and the next test finds the calendar
  the load would have given it.

It needs a superuser (CI's ``postgres``); otherwise, on SQLite, or when sequences are to be reset,
Django's own flush runs.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush as flush_command
from django.core.management.sql import emit_post_migrate_signal as django_emit_post_migrate
from django.core.management.sql import sql_flush as django_sql_flush
from django.db import connections

KEPT = {"django_content_type", "auth_permission"}
CALENDAR = ("accreditation_calendaryear", "accreditation_calendarday")

_superuser: dict[str, bool] = {}
# What the kept tables held after post_migrate last ran, and what the calendar's tables held
# right after the calendar was last loaded (per database alias).
_kept_contents: dict[str, str] = {}
_calendar_contents: dict[str, str] = {}


def _contents(connection: Any, tables: Any) -> str:
    """Every row of ``tables``, every column, in one digest (a few ms for these tables)."""
    quote = connection.ops.quote_name
    parts = " || ".join(
        f"(SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '')"  # noqa: S608
        f" FROM {quote(table)} t)"
        for table in tables
    )
    with connection.cursor() as cursor:
        # Model table names, quoted; never input.
        cursor.execute(f"SELECT {parts}")
        return str(cursor.fetchone()[0])


def _fast(connection: Any) -> bool:
    return connection.vendor == "postgresql" and _is_superuser(connection)


def calendar_loaded(connection: Any) -> None:
    """Called right after the calendar was loaded into an empty database: what its tables hold
    now is what a flush may keep."""
    if _fast(connection):
        _calendar_contents[connection.alias] = _contents(connection, CALENDAR)


def _is_superuser(connection: Any) -> bool:
    alias = connection.alias
    if alias not in _superuser:
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
        _superuser[alias] = bool(row and row[0])
    return _superuser[alias]


def sql_flush(
    style: Any, connection: Any, reset_sequences: bool = True, allow_cascade: bool = False
) -> list[str]:
    if connection.vendor != "postgresql" or reset_sequences or not _is_superuser(connection):
        return django_sql_flush(
            style, connection, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
    kept = set(KEPT)
    loaded = _calendar_contents.get(connection.alias)
    if loaded is not None and _contents(connection, CALENDAR) == loaded:
        kept.update(CALENDAR)
    tables = sorted(
        set(connection.introspection.django_table_names(only_existing=True, include_views=False))
        - kept
    )
    # Table names come from the models, quoted; never input.
    quote = connection.ops.quote_name
    probe = " UNION ALL ".join(
        f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})"  # noqa: S608
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(probe, tables)
        filled = [row[0] for row in cursor.fetchall()]
    # execute_sql_flush runs these in one transaction: SET LOCAL ends with it.
    return [
        "SET LOCAL session_replication_role = replica",
        *(f"DELETE FROM {quote(table)}" for table in filled),  # noqa: S608
    ]


def emit_post_migrate_signal(verbosity: int, interactive: bool, db: str, **kwargs: Any) -> None:
    connection = connections[db]
    if not _fast(connection):
        django_emit_post_migrate(verbosity, interactive, db, **kwargs)
        return
    before = _contents(connection, sorted(KEPT))
    if _kept_contents.get(db) == before:
        # Nothing missing: the receivers would add nothing. Their one other effect, a fresh
        # content type cache, is kept.
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()
        return
    django_emit_post_migrate(verbosity, interactive, db, **kwargs)
    _kept_contents[db] = _contents(connection, sorted(KEPT))


def install() -> None:
    flush_command.sql_flush = sql_flush  # type: ignore[attr-defined]
    flush_command.emit_post_migrate_signal = emit_post_migrate_signal  # type: ignore[attr-defined]


def calendar_as_loaded(connection: Any) -> bool:
    """Whether the calendar's tables hold exactly what its last load wrote."""
    loaded = _calendar_contents.get(connection.alias)
    return loaded is not None and _contents(connection, CALENDAR) == loaded


def fast(connection: Any) -> bool:
    """Whether this flush (and what builds on it) runs here: PostgreSQL, as a superuser."""
    return _fast(connection)
