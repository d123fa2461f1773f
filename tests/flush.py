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

It needs a superuser (CI's ``postgres``); otherwise, on SQLite, or when sequences are to be reset,
Django's own flush runs.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush as flush_command
from django.core.management.sql import sql_flush as django_sql_flush

KEPT = {"django_content_type", "auth_permission"}

_superuser: dict[str, bool] = {}


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
    tables = sorted(
        set(connection.introspection.django_table_names(only_existing=True, include_views=False))
        - KEPT
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


def install() -> None:
    flush_command.sql_flush = sql_flush  # type: ignore[attr-defined]
