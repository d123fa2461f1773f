"""A pristine copy of the freshly migrated test database, for the tests whose processes work on a
scratch database of their own (the quick benchmarks, the short load run, the two banks of
tests/transfers/two_portals.py): they make theirs as a copy of it (``CREATE DATABASE ...
TEMPLATE``, under a second) instead of migrating one from nothing (tens of seconds on a busy CI
machine, once for each of them).

The copy is made right after pytest-django has migrated the test database, before any test has
written to it (a transactional test's flush would empty what the data migrations wrote, the
working-day calendar among them), and only when a collected test asks for it through the
``migrated_template`` fixture or is marked ``portals``. It is dropped when the session ends.
Nobody ever connects to it: PostgreSQL copies only a database nobody is connected to.
"""

from __future__ import annotations

import pytest
from django.db import connections

from . import pooler

FIXTURE = "migrated_template"


def wanted(session: pytest.Session) -> bool:
    return any(
        FIXTURE in getattr(item, "fixturenames", ()) or item.get_closest_marker("portals")
        for item in session.items
    )


def name_of(test_database: str) -> str:
    return f"{test_database}_migrated"


def create(test_database: str) -> str:
    """Copy ``test_database`` (just migrated, nothing written to it yet) as the template; its
    name, or '' when PostgreSQL refused twice because someone is connected to the test database
    (then whoever asked migrates a database of their own, as without the copy)."""
    import psycopg

    name = name_of(test_database)
    # Names made from the test database's, never input.
    pooler.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for attempt in (1, 2):
        # The test database is copied only with nobody connected to it: this process's
        # connection is closed (it reconnects on its next query) and, behind PgBouncer, its
        # idle server ones.
        connections.close_all()
        if pooler.behind_pgbouncer():
            pooler.database_release(test_database)
        try:
            pooler.admin(f'CREATE DATABASE "{name}" TEMPLATE "{test_database}"')
        except psycopg.errors.ObjectInUse:
            if attempt == 2:
                return ""
        else:
            _made["name"] = name
            return name
    return ""


def copy(template: str, name: str) -> None:
    """``name`` made afresh as a copy of ``template`` (which nobody may be connected to)."""
    pooler.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pooler.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def drop(test_database: str) -> None:
    _made.pop("name", None)
    pooler.admin(f'DROP DATABASE IF EXISTS "{name_of(test_database)}" WITH (FORCE)')


# This session's copy, once made (for code that has no fixture request: two_portals).
_made: dict[str, str] = {}


def current() -> str | None:
    """The name of this session's pristine migrated copy, or None when none was made."""
    return _made.get("name")


MADE = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def migrated_template(django_db_setup: None, request: pytest.FixtureRequest) -> str:
    """The name of the pristine migrated copy on the test database's server, or '' when there
    is none (SQLite, or ``--reuse-db``: a reused test database is not freshly migrated); then
    whoever asked migrates a database of their own, as without it."""
    return request.config.stash.get(MADE, "")
