"""What partitioning by year costs and saves the reads of the history tables (ADR 0024,
docs/scaling.md): each real query's plan with ``EXPLAIN (ANALYZE, BUFFERS)`` on the partitioned
table and on a plain copy of it with the same indexes, on a seeded database.

    DATABASE_URL=postgres://.../<seeded db> python manage.py shell -c \
        "from bench.partitions import main; main()"

The seed writes no staff accesses; two per account are added, spread over the seeded years
(made by the bench's first reviewer). The plain copies and the added rows are dropped at the
end. Buffers are pages touched (8 kB each, shared hits + reads); times are printed but the
machine may be busy: compare buffers.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.ledger.models import BusinessTransaction, LearningAccount, StaffAccess
from accounts.models import Role, User
from accreditation.models import Application, ApplicationEvent
from common.partitions import table_partition

PLAIN = "_plain"


def _sql(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall()) if cursor.description else []


def _plain_copy(table: str) -> None:
    """A plain table of the same rows and the same indexes (the primary key on id)."""
    copy = table + PLAIN
    _sql(f"DROP TABLE IF EXISTS {copy}")
    _sql(f"CREATE TABLE {copy} AS SELECT * FROM {table}")  # noqa: S608
    _sql(f"ALTER TABLE {copy} ADD PRIMARY KEY (id)")
    for (definition,) in _sql(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
        [table],
    ):
        on = definition.index(" ON ")
        name = definition[:on].split()[-1]
        rest = definition[on:].replace(f" {table} ", f" {copy} ").replace(f".{table} ", f".{copy} ")
        _sql(definition[:on].replace(name, name[:50] + PLAIN) + rest)
    _sql(f"ANALYZE {copy}")


def _partitioned_ledger_copy() -> None:
    """The ledger as it would be partitioned by year (without its unique cause constraint)."""
    copy = "accounts_ledgerentry_partitioned_copy"
    _sql(f"DROP TABLE IF EXISTS {copy} CASCADE")
    _sql(f"CREATE TABLE {copy} (LIKE accounts_ledgerentry INCLUDING DEFAULTS INCLUDING IDENTITY)")
    _sql(f"INSERT INTO {copy} SELECT * FROM accounts_ledgerentry")  # noqa: S608
    _sql(f"ALTER TABLE {copy} ADD PRIMARY KEY (id)")
    _sql(f"CREATE INDEX ledger_copy_account_cause ON {copy} (account_id, cause_type, cause_id)")

    table_partition(
        SimpleNamespace(connection=connection),
        table=copy,
        column="created_at",
        last_year=timezone.localdate().year + 1,
    )
    _sql(f"ANALYZE {copy}")


def _plan(sql: str, params: list[Any]) -> dict[str, Any]:
    (raw,) = _sql(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    relations: set[str] = set()
    executed: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node:
            relations.add(node["Relation Name"])
            if node.get("Actual Loops", 0):
                executed.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    top = plan["Plan"]
    return {
        "buffers": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
        "planned": len(relations),
        "executed": len(executed),
        "planning_ms": round(plan.get("Planning Time", 0), 2),
        "execution_ms": round(plan.get("Execution Time", 0), 2),
    }


def _compare(name: str, sql: str, params: list[Any], table: str, other: str) -> None:
    mine = _plan(sql, params)
    theirs = _plan(
        sql.replace(f'"{table}"', f'"{other}"').replace(f" {table} ", f" {other} "), params
    )
    for label, figures in ((table, mine), (other, theirs)):
        print(
            f"| {name} | {label} | {figures['planned']} / {figures['executed']} |"
            f" {figures['buffers']} | {figures['planning_ms']} | {figures['execution_ms']} |"
        )


def main() -> None:
    accounts = LearningAccount.objects.filter(number__startswith="XF").count()
    print(f"{accounts:,} seeded accounts")
    reviewer = User.objects.filter(role=Role.CENTRE_REVIEWER).order_by("pk").first()
    assert reviewer is not None
    # Two staff accesses per account, over the seeded years.
    _sql(
        "INSERT INTO accounts_staffaccess (account_id, staff_id, kind, reason, reference,"
        " occurred_at) SELECT a.id, %s, 'viewed_file', 'bench', '',"
        " a.opened_at + (n * interval '200 days') FROM accounts_learningaccount a,"
        " generate_series(0, 1) n WHERE a.number LIKE 'XF%%'",
        [reviewer.pk],
    )
    # Today's: the reviewer's reveals so far (the daily number's count).
    _sql(
        "INSERT INTO accounts_staffaccess (account_id, staff_id, kind, reason, reference,"
        " occurred_at) SELECT id, %s, 'revealed_identity', 'bench', 'x', now()"
        " FROM accounts_learningaccount WHERE number LIKE 'XF%%' LIMIT 5",
        [reviewer.pk],
    )
    for table in (
        "accounts_businesstransaction",
        "accounts_staffaccess",
        "accreditation_applicationevent",
    ):
        _sql(f"ANALYZE {table}")
        _plain_copy(table)
    _partitioned_ledger_copy()
    try:
        # A learner in the middle of the seed: her rows are spread like everyone's.
        account = LearningAccount.objects.filter(number__startswith="XF").order_by("pk")[
            accounts // 2
        ]
        application = Application.objects.filter(account=account).order_by("pk").first()
        print(
            "| query | table | tables planned / executed (partitions and joined) | buffers |"
            " planning ms | execution ms |"
        )
        print("|---|---|---|---|---|---|")
        history = BusinessTransaction.objects.filter(account=account).select_related("actor")[:50]
        sql, params = history.query.sql_with_params()
        _compare(
            "file page history (newest 50)",
            sql,
            list(params),
            "accounts_businesstransaction",
            "accounts_businesstransaction" + PLAIN,
        )
        day_start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        today = StaffAccess.objects.filter(
            staff=reviewer, kind=StaffAccess.Kind.REVEALED_IDENTITY, occurred_at__gte=day_start
        ).values("pk")
        sql, params = today.query.sql_with_params()
        _compare(
            "reveals today (daily number)",
            f"SELECT count(*) FROM ({sql}) t",  # noqa: S608 - the ORM's own SQL
            list(params),
            "accounts_staffaccess",
            "accounts_staffaccess" + PLAIN,
        )
        listed = StaffAccess.objects.filter(account=account).select_related("staff")[:50]
        sql, params = listed.query.sql_with_params()
        _compare(
            "learner's staff-access list",
            sql,
            list(params),
            "accounts_staffaccess",
            "accounts_staffaccess" + PLAIN,
        )
        events = ApplicationEvent.objects.filter(application=application)
        sql, params = events.query.sql_with_params()
        _compare(
            "an application's events",
            sql,
            list(params),
            "accreditation_applicationevent",
            "accreditation_applicationevent" + PLAIN,
        )
        balance = (
            "SELECT SUM(hours), SUM(credits) FROM accounts_ledgerentry"
            " WHERE account_id = %s AND book = %s"
        )
        _compare(
            "ledger balance (every request)",
            balance,
            [account.pk, "accumulated"],
            "accounts_ledgerentry",
            "accounts_ledgerentry_partitioned_copy",
        )
    finally:
        for table in (
            "accounts_businesstransaction",
            "accounts_staffaccess",
            "accreditation_applicationevent",
        ):
            _sql(f"DROP TABLE IF EXISTS {table}{PLAIN}")
        _sql("DROP TABLE IF EXISTS accounts_ledgerentry_partitioned_copy CASCADE")
        _sql("DELETE FROM accounts_staffaccess WHERE reason = 'bench'")
