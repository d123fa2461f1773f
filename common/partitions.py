"""History tables (rows added, never removed) range-partitioned by time, one partition a year
(ADR 0024).

PostgreSQL only; on SQLite the tables stay plain. A partitioned table here has:

- ``<table>_before<first year>``: every row older than the first yearly partition;
- ``<table>_y<year>``: one a year, in Beijing time (the years the portal reports in);
- ``<table>_default``: rows past the last yearly partition, so an insert never fails for want
  of a partition (a clock far ahead, a test travelling in time); :func:`partitions_ahead`
  moves such rows into the year partition it creates for them.

The database's primary key is ``(id, <time column>)``, since a partitioned table's unique
constraints must hold its partition key; Django's model keeps ``id`` as its primary key and
only ever looks rows up by it, which the index of that key serves.

No domain words: the migrations of the apps name their tables, and :func:`partitions_ahead`
finds the partitioned tables in the catalogue.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

# Beijing time, no daylight saving: the bound of year Y is midnight of 1 January there.
YEAR_TZ = "+08"
# The first yearly partition; anything older is in the "before" partition.
FIRST_YEAR = 2020
# Yearly: at a million accounts the busiest of these tables (application events) gains ~500,000
# rows a year at the bench seed's rate, a partition of ~100 MB with its indexes; monthly ones
# would be ~12x more tables for the planner to weigh for no query that reads a month (ADR 0024).
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _name(value: str) -> str:
    # Every name interpolated into SQL here comes from code (migrations, the catalogue), never
    # from input; this refuses anything but a plain lower-case identifier all the same.
    if not _NAME.match(value):
        raise ValueError(f"not a plain identifier: {value!r}")
    return value


def _bound(year: int) -> str:
    return f"'{year:04d}-01-01 00:00:00{YEAR_TZ}'"


def year_partition(table: str, year: int) -> str:
    return f"{_name(table)}_y{year:04d}"


def default_partition(table: str) -> str:
    return f"{_name(table)}_default"


def _fetch(cursor: Any, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    cursor.execute(sql, params or [])
    return list(cursor.fetchall())


def table_partition(schema_editor: Any, *, table: str, column: str, last_year: int) -> None:
    """Turn ``table`` into a table partitioned by range of ``column``, keeping its rows, its
    column types and defaults, check constraints, indexes, foreign keys, row triggers and its
    id sequence (its next value included). For a migration, which runs in one transaction:
    the table is renamed into place only when everything is copied.

    Unique constraints other than the primary key cannot be kept (they would have to hold
    ``column``): the caller must have dropped them, and keep their rule otherwise."""
    if schema_editor.connection.vendor != "postgresql":
        return
    table, column = _name(table), _name(column)
    new = _name(f"{table}__partitioned")
    with schema_editor.connection.cursor() as cursor:
        uniques = _fetch(
            cursor,
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'u'",
            [table],
        )
        if uniques:
            raise ValueError(f"{table} keeps unique constraints {uniques}: drop them first")
        indexes = _fetch(
            cursor,
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
            [table],
        )
        foreign_keys = _fetch(
            cursor,
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        triggers = _fetch(
            cursor,
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger"
            " WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [table],
        )
        referenced = _fetch(
            cursor,
            "SELECT conname FROM pg_constraint WHERE confrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        if referenced:
            raise ValueError(f"foreign keys point at {table}: {referenced}")
        # Columns, NOT NULLs, defaults, check constraints (with their names) and the identity
        # column (a sequence of the new table's own, set to go on where the old one stood).
        cursor.execute(
            f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            f" INCLUDING IDENTITY INCLUDING STORAGE) PARTITION BY RANGE ({column})"
        )
        cursor.execute(
            f"CREATE TABLE {table}_before{FIRST_YEAR} PARTITION OF {new}"
            f" FOR VALUES FROM (MINVALUE) TO ({_bound(FIRST_YEAR)})"
        )
        for year in range(FIRST_YEAR, last_year + 1):
            cursor.execute(
                f"CREATE TABLE {year_partition(table, year)} PARTITION OF {new}"
                f" FOR VALUES FROM ({_bound(year)}) TO ({_bound(year + 1)})"
            )
        cursor.execute(f"CREATE TABLE {default_partition(table)} PARTITION OF {new} DEFAULT")
        cursor.execute(f"INSERT INTO {new} SELECT * FROM {table}")  # noqa: S608
        # The new sequence goes on where the old one stood (not just past the last row: an id
        # handed out by a transaction that rolled back is not handed out again).
        (old_sequence,) = _fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [table])[0]
        (next_id,) = _fetch(
            cursor,
            f"SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM {old_sequence}",  # noqa: S608
        )[0]
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", [new, next_id])
        cursor.execute(f"DROP TABLE {table}")
        cursor.execute(f"ALTER TABLE {new} RENAME TO {table}")
        cursor.execute(f"ALTER SEQUENCE {new}_id_seq RENAME TO {table}_id_seq")
        cursor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id, {column})"
        )
        # The definitions name the table by its old name, now the new table's.
        for (definition,) in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        # A row trigger on a partitioned table is cloned onto every partition, present and
        # future (PostgreSQL 13+): the append-only rule holds on each partition too.
        for (definition,) in triggers:
            cursor.execute(definition)


def _partitioned_tables(cursor: Any) -> list[tuple[str, str]]:
    """(table, partition key column) of every table :func:`table_partition` made (other
    partitioned tables, of other schemes, are left alone)."""
    return [
        (name, key)
        for name, key in _fetch(
            cursor,
            "SELECT c.relname, a.attname FROM pg_partitioned_table p"
            " JOIN pg_class c ON c.oid = p.partrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]"
            " WHERE p.partstrat = 'r' AND NOT c.relispartition"
            # Only the tables partitioned here, by year: they have the "before" partition.
            " AND EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class b ON b.oid = i.inhrelid"
            " WHERE i.inhparent = c.oid AND b.relname = c.relname || %s)"
            " ORDER BY c.relname",
            [f"_before{FIRST_YEAR}"],
        )
    ]


def _exists(cursor: Any, name: str) -> bool:
    return bool(_fetch(cursor, "SELECT to_regclass(%s) IS NOT NULL", [name])[0][0])


def partitions_ahead(connection: Any, *, months: int, today: datetime.date) -> list[str]:
    """Create the yearly partitions every partitioned table needs from ``today`` to ``months``
    ahead, of the tables :func:`table_partition` made; returns the names created (none when
    they exist: safe to run again, and by two processes at once, since the first takes the
    table's lock and the second then finds the partition made).

    Rows that have already landed in the default partition for a year being created are moved
    into it, in the same transaction."""
    if connection.vendor != "postgresql":
        return []
    month_index = today.year * 12 + today.month - 1 + months
    years = range(today.year, month_index // 12 + 1)
    created: list[str] = []
    with connection.cursor() as cursor:
        for table, column in _partitioned_tables(cursor):
            for year in years:
                name = year_partition(table, year)
                if _exists(cursor, name):
                    continue
                _partition_create(cursor, table, column, year)
                created.append(name)
    return created


def _partition_create(cursor: Any, table: str, column: str, year: int) -> None:
    default = default_partition(table)
    name = year_partition(table, year)
    # The parent's lock first: a second run waits here, then sees the partition.
    cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    if _exists(cursor, name):
        return
    low, high = _bound(year), _bound(year + 1)
    in_year = f"{column} >= {low} AND {column} < {high}"
    strays = _fetch(
        cursor,
        f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {in_year})",  # noqa: S608
    )[0][0]
    if not strays:
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({low}) TO ({high})"
        )
    else:
        # The default partition may not hold rows of a range given to another partition: take
        # it off, make the year's partition, move the rows, put it back. The move deletes from
        # the default partition, which the append-only trigger refuses; this is not a change
        # of the history, so the table's user triggers are off for that statement only.
        cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {default}")
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({low}) TO ({high})"
        )
        cursor.execute(f"INSERT INTO {name} SELECT * FROM {default} WHERE {in_year}")  # noqa: S608
        cursor.execute(f"ALTER TABLE {default} DISABLE TRIGGER USER")
        cursor.execute(f"DELETE FROM {default} WHERE {in_year}")  # noqa: S608
        cursor.execute(f"ALTER TABLE {default} ENABLE TRIGGER USER")
        cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {default} DEFAULT")


def partitions_of(connection: Any, table: str) -> list[str]:
    """The partitions of ``table``, by name."""
    with connection.cursor() as cursor:
        return [
            name
            for (name,) in _fetch(
                cursor,
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = %s::regclass ORDER BY c.relname",
                [_name(table)],
            )
        ]
