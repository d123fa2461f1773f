"""The member import's staging table: the checked rows of a member list, kept in the database
instead of in the process, so that a file of any length is imported in flat memory.

The rows are read, checked and looked up STAGE_CHUNK at a time and copied into a temporary
table of the import's own transaction (COPY on PostgreSQL). What needs the whole file (the same
person, phone or email on two rows) is then one query over that table; and when nothing is wrong
the new learners' users, accounts, files, history entries and memberships are each written by
one ``INSERT ... SELECT`` from it, with no model instance built in Python. Nothing is written
before every row has been checked: any problem and the transaction is rolled back, the table
with it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import connection, models

from accounts.collective.imports import EMAIL, ID_NUMBER, PHONE, MemberRow
from accounts.collective.models import CollectiveMembership
from accounts.core.models import User
from accounts.identity import crypto
from accounts.identity.numbers import mask_identity_number
from accounts.ledger.models import LearningAccount
from accounts.ledger.services import account_number_generate

STAGE = "collective_member_stage"
STAGE_CHUNK = 5_000
_COLUMNS = (
    "row_no",
    "name",
    "id_type",
    "idx",
    "enc",
    "masked",
    "birth",
    "gender",
    "phone",
    "email",
    "email_key",
    "account_id",
    "number",
    "password",
)

# A row as staged: the values of _COLUMNS in order.
StagedRow = tuple[Any, ...]


def stage_create() -> None:
    """The staging table, empty. Temporary: it lives in this connection only and, created in
    the import's transaction, goes with it when that ends (``ON COMMIT DROP``: behind PgBouncer
    in transaction mode the server connection passes to another client after it)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGE} (row_no integer PRIMARY KEY, name text, "
            "id_type text, idx text, enc text, masked text, birth date, gender text, "
            "phone text, email text, email_key text, account_id bigint, number text, "
            "password text)" + (" ON COMMIT DROP" if connection.vendor == "postgresql" else "")
        )
        cursor.execute(f"CREATE INDEX {STAGE}_number ON {STAGE} (number)")


def stage_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")


def chunks(rows: Iterable[Any], size: int = STAGE_CHUNK) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _among(expression: str, values: Iterable[Any]) -> tuple[str, list[Any]]:
    """``expression`` is one of ``values``: one array parameter on PostgreSQL (a list of
    5,000 placeholders costs more to build and parse than the lookup itself), a list of
    placeholders on SQLite."""
    listed = sorted(set(values))
    if connection.vendor == "postgresql":
        return f"{expression} = ANY(%s)", [listed]
    return f"{expression} IN ({', '.join(['%s'] * len(listed))})", listed


def _column(sql: str, condition: tuple[str, list[Any]], params: Sequence[Any] = ()) -> list[Any]:
    """The rows of ``sql`` (which ends in WHERE) with ``condition``; an empty list of values
    finds nothing."""
    if not condition[1] or condition[1] == [[]]:
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} {condition[0]}", [*params, *condition[1]])
        return cursor.fetchall()


_ACCOUNTS = connection.ops.quote_name(LearningAccount._meta.db_table)
_USERS = connection.ops.quote_name(User._meta.db_table)
_MEMBERSHIPS = connection.ops.quote_name(CollectiveMembership._meta.db_table)


class Found:
    """What the database holds about the people of one chunk, before anything is written."""

    def __init__(self, *, collective: LearningAccount, members: Sequence[MemberRow]) -> None:
        self.index = {m.number: crypto.blind_index(m.identity.number) for m in members}
        self.accounts: dict[str, tuple[int, str]] = {
            index: (pk, status)
            for index, pk, status in _column(
                f"SELECT id_number_index, id, status FROM {_ACCOUNTS} WHERE kind = %s AND",  # noqa: S608
                _among("id_number_index", self.index.values()),
                [LearningAccount.Kind.PERSONAL],
            )
        }
        # The conditions match those of the unique indexes on email and phone, so that
        # PostgreSQL can use them.
        self.emails: set[str] = {
            email
            for (email,) in _column(
                f"SELECT LOWER(email) FROM {_USERS} WHERE email <> '' AND",  # noqa: S608
                _among("LOWER(email)", (m.email.lower() for m in members if m.email)),
            )
        }
        self.phones: set[str] = {
            phone
            for (phone,) in _column(
                f"SELECT phone FROM {_USERS} WHERE phone <> '' AND",  # noqa: S608
                _among("phone", (m.phone for m in members if m.phone)),
            )
        }
        self.memberships: dict[int, str] = dict(self._memberships(collective))

    def _memberships(self, collective: LearningAccount) -> list[tuple[int, str]]:
        found = sorted({pk for pk, _status in self.accounts.values()})
        if connection.vendor != "postgresql" or not found:
            return _column(
                f"SELECT member_id, status FROM {_MEMBERSHIPS} WHERE collective_id = %s AND",  # noqa: S608
                _among("member_id", found),
                [collective.pk],
            )
        # One probe of the unique (collective, member) index per person, whatever the planner's
        # statistics say (after an import they lag 100,000 new members behind): the lookup by
        # "member_id = ANY(...)" was once seen running for over 12 s on the benchmark's
        # database, its plan not caught.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT m.member_id, m.status FROM unnest(%s::bigint[]) AS found(id) "  # noqa: S608
                f"JOIN {_MEMBERSHIPS} m ON m.collective_id = %s AND m.member_id = found.id",
                [found, collective.pk],
            )
            return cursor.fetchall()

    def account(self, member: MemberRow) -> tuple[int, str] | None:
        return self.accounts.get(self.index[member.number])


def numbers_free(count: int) -> list[str]:
    """``count`` new personal account numbers, distinct from each other, from every account
    number and username in use and from those staged already."""
    numbers: set[str] = set()
    while len(numbers) < count:
        fresh = {
            account_number_generate(kind=LearningAccount.Kind.PERSONAL)
            for _n in range(count - len(numbers))
        } - numbers
        taken: set[str] = set()
        for sql, column in (
            (f"SELECT number FROM {_ACCOUNTS} WHERE", "number"),  # noqa: S608
            (f"SELECT username FROM {_USERS} WHERE", "username"),  # noqa: S608
            (f"SELECT number FROM {STAGE} WHERE", "number"),  # noqa: S608
        ):
            taken.update(number for (number,) in _column(sql, _among(column, fresh)))
        numbers.update(fresh - taken)
    return sorted(numbers)


def staged(member: MemberRow, *, index: str, account_id: int | None, number: str) -> StagedRow:
    """The row to stage. A person to open an account for (``number`` given) also gets what the
    insert needs: the encrypted and masked identity number and an unusable password (as
    make_password(None) makes it, at a fraction of the cost: the learner chooses one through
    "forgot my password")."""
    identity = member.identity
    opening = bool(number)
    return (
        member.number,
        member.name,
        identity.id_type,
        index,
        crypto.encrypt(identity.number) if opening else None,
        mask_identity_number(identity.number) if opening else None,
        identity.birth_date,
        identity.gender,
        member.phone,
        member.email,
        member.email.lower(),
        account_id,
        number or None,
        UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30) if opening else None,
    )


def stage_write(rows: Sequence[StagedRow]) -> None:
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {STAGE} ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(_COLUMNS))
            cursor.executemany(
                f"INSERT INTO {STAGE} ({', '.join(_COLUMNS)}) VALUES ({marks})",  # noqa: S608
                rows,
            )


def stage_analyze() -> None:
    # Statistics for the joins of the inserts (autovacuum never sees a temporary table).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {STAGE}")


def duplicates() -> Iterator[tuple[int, str, int]]:
    """(row, column, first row) for every row whose identity number, phone or email is on an
    earlier row of the file (the rows whose person could be looked up)."""
    keys = {ID_NUMBER: "idx", PHONE: "phone", EMAIL: "email_key"}
    with connection.cursor() as cursor:
        for column, key in keys.items():
            cursor.execute(
                f"SELECT row_no, first_row FROM (SELECT row_no, MIN(row_no) OVER "  # noqa: S608
                f"(PARTITION BY {key}) AS first_row FROM {STAGE} WHERE {key} <> '') AS d "
                "WHERE row_no <> first_row"
            )
            for row, first in cursor.fetchall():
                yield row, column, first


def staged_counts() -> tuple[int, int]:
    """(accounts to open, people to invite)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(number), COUNT(account_id) FROM {STAGE}"  # noqa: S608
        )
        opened, linked = cursor.fetchone()
    return int(opened), int(linked)


def staged_links(size: int) -> Iterator[list[tuple[int, str]]]:
    """(account id, name on the row) of the people to invite, in the order of the file, ``size``
    at a time."""
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_no, account_id, name FROM {STAGE} "  # noqa: S608
                "WHERE account_id IS NOT NULL AND row_no > %s ORDER BY row_no LIMIT %s",
                [after, size],
            )
            found = cursor.fetchall()
        if not found:
            return
        after = found[-1][0]
        yield [(account_id, name) for _row, account_id, name in found]


def insert_select(
    model: type[models.Model],
    *,
    columns: Mapping[str, str],
    constants: Mapping[str, Any],
    source: str,
) -> int:
    """``INSERT INTO <model> SELECT ...`` from ``source`` (a FROM clause over the staging table,
    aliased ``s``): each field of the model is the SQL expression of ``columns``, else the value
    of ``constants``, else the field's default as a new instance would have it."""
    meta = model._meta
    quote = connection.ops.quote_name
    names: list[str] = []
    expressions: list[str] = []
    params: list[Any] = []
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        names.append(quote(field.attname if field.column is None else field.column))
        if field.attname in columns:
            expressions.append(columns[field.attname])
            continue
        value = constants[field.attname] if field.attname in constants else field.get_default()
        expressions.append("%s")
        params.append(field.get_db_prep_save(value, connection))
    unknown = set(columns) | set(constants)
    unknown -= {f.attname for f in meta.concrete_fields}
    if unknown:
        raise ValueError(f"{meta.label} has no fields {sorted(unknown)}")
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(names)}) "
        f"SELECT {', '.join(expressions)} {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def opened_source(join: str = "") -> str:
    """The staged people to open an account for, in the order of the file."""
    return f"FROM {STAGE} s {join} WHERE s.account_id IS NULL ORDER BY s.row_no"


def account_join() -> str:
    table = connection.ops.quote_name(LearningAccount._meta.db_table)
    return f"JOIN {table} a ON a.number = s.number"


def user_join() -> str:
    table = connection.ops.quote_name(User._meta.db_table)
    return f"JOIN {table} u ON u.username = s.number"
