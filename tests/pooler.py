"""The suite behind PgBouncer in transaction mode (``DATABASE_PGBOUNCER=1``, as .ci/run sets).

PgBouncer keeps its idle server connections to a database open after its clients leave, and
PostgreSQL refuses ``DROP DATABASE`` (without ``FORCE``) and ``CREATE DATABASE ... TEMPLATE``
while anyone is connected to the database: the test database and the databases the tests copy
are released first. Directly connected, nothing is left open and this finds nobody.
"""

from __future__ import annotations

import os

from django.db import connection


def behind_pgbouncer() -> bool:
    return os.environ.get("DATABASE_PGBOUNCER", "").strip().lower() in {"1", "true", "yes", "on"}


def admin_url(database: str = "postgres") -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database}"


def admin(statement: str) -> None:
    """Run ``statement`` (``CREATE``/``DROP DATABASE``: outside a transaction) on the test
    database's server."""
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True) as connection_:
        connection_.execute(statement)


def database_release(name: str) -> None:
    """End the server connections to ``name`` (PgBouncer's idle ones), waiting up to 5 s each
    for them to go."""
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
