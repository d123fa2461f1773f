"""Fixtures shared by the whole suite: the named people (tests/people.py) and worlds
(tests/worlds.py) are made available here; starting processes is in tests/processes.py.

Tests that need PostgreSQL, Redis or a browser skip with the reason when those are absent; with
CREDITBANK_REQUIRE_SERVICES=1 (as .ci/run sets) they fail instead, so CI cannot skip them.
"""

from __future__ import annotations

import gettext as gettext_module
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import translation
from django.utils.translation import trans_real
from rest_framework.test import APIClient

from . import demo, flush, migrated, pooler, processes
from .migrated import migrated_template  # noqa: F401 - fixture
from .people import (  # noqa: F401 - fixtures
    centre,
    centre_admin,
    institution,
    institution_admin,
    institution_officer,
    learner,
    management_admin,
    other_centre,
    reviewer,
    shao,
    wang,
)
from .processes import require
from .worlds import (  # noqa: F401 - fixtures
    admin_client,
    certificate_world,
    closure_world,
    collective,
    correction_world,
    open_work_world,
    security_world,
    security_world_kept,
    security_world_without_documents,
    security_world_without_documents_kept,
    statement_history,
    transfer_world,
)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_configure(config: pytest.Config) -> None:
    # Pages and messages are asserted in both languages, so the catalogues must be compiled,
    # and any catalogue Django loaded before that must be forgotten.
    call_command("compile_translations", verbosity=0)
    trans_real._translations = {}  # type: ignore[attr-defined]
    trans_real._default = None  # type: ignore[attr-defined]
    gettext_module._translations.clear()  # type: ignore[attr-defined]
    # Transactional tests end by emptying only the tables they filled (tests/flush.py).
    flush.install()


# The database's name before pytest-django sets up the test database (which it does only when a
# collected test uses the database): the name changes once it has.
_database_before_setup: dict[str, Any] = {}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """The test database need not survive a crash, so on PostgreSQL a commit does not wait for
    its WAL to reach the disk (``synchronous_commit=off``; what other sessions see is the same).
    Every transactional test ends by truncating all tables, which otherwise waits ~1.5 s for
    the disk; the migrations that build the test database commit quicker too."""
    db = connections["default"].settings_dict
    _database_before_setup["NAME"] = db["NAME"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        options = db.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()
        if pooler.behind_pgbouncer():
            # A test database left by an earlier run is dropped before it is made again.
            pooler.database_release(db.get("TEST", {}).get("NAME") or f"test_{db['NAME']}")


@pytest.fixture(scope="session")
def django_db_setup(
    django_db_setup: None, django_db_blocker: Any, request: pytest.FixtureRequest
) -> Iterator[None]:
    """The same for the processes the tests start (Celery workers, gunicorn), which connect to
    the test database by its URL (and for every connection behind PgBouncer, which ignores the
    connection's own ``options``). Then, if a collected test asks for it (the quick benchmarks,
    the short load run, the two banks' tests), the pristine copy of the freshly migrated test
    database (tests/migrated.py)."""
    if connection.vendor != "postgresql":
        yield
        processes.reap()
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        name = connection.ops.quote_name(connection.settings_dict["NAME"])
        cursor.execute(f"ALTER DATABASE {name} SET synchronous_commit = off")
    if pooler.behind_pgbouncer():
        # PgBouncer's server connections from the migrations predate the setting.
        pooler.database_release(connection.settings_dict["NAME"])
    reused = request.config.getoption("reuse_db", False) and not request.config.getoption(
        "create_db", False
    )
    template = ""
    # Only a test database pytest-django has just made and migrated is copied: not one reused
    # (--reuse-db), nor one holding no migration's data (--nomigrations), nor the main database
    # (no collected test uses the database: none was made, the name is still the main one's;
    # then whoever asked migrates a database of their own).
    if (
        migrated.wanted(request.session)
        and not reused
        and not request.config.getoption("nomigrations", False)
        and connection.settings_dict["NAME"] != _database_before_setup.get("NAME")
    ):
        with django_db_blocker.unblock():
            template = migrated.create(connection.settings_dict["NAME"])
        request.config.stash[migrated.MADE] = template
    yield
    with django_db_blocker.unblock():
        demo.demo_snapshot_drop()
    # The workers tests stopped without waiting hold connections to the test database.
    processes.reap()
    if template:
        migrated.drop(connection.settings_dict["NAME"])
    if pooler.behind_pgbouncer():
        # Then the test database can be dropped.
        connections.close_all()
        pooler.database_release(connection.settings_dict["NAME"])


@pytest.fixture(autouse=True, scope="session")
def _tasks_run_in_process() -> None:
    """Tasks run where they are sent (the tests of real workers start their own processes)."""
    from creditbank.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _celery_join_allowed() -> None:
    """Celery marks "inside a task" in a process-wide flag while it runs an eager task; tests
    that race threads through eager tasks can leave it set, and a later ``result.get()`` in
    the test process would then refuse to wait."""
    from celery._state import _set_task_join_will_block  # type: ignore[attr-defined]

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _official_calendar(request: pytest.FixtureRequest) -> None:
    """The working-day calendar is data its migration seeds; a transactional test flushes it
    (unless it left it as loaded: tests/flush.py), so tests that use the database get it back
    before they start."""
    if request.node.get_closest_marker("django_db") is None and "db" not in request.fixturenames:
        return
    request.getfixturevalue("_django_db_helper")
    from accreditation.calendar import calendar_load
    from accreditation.models import CalendarYear

    if not CalendarYear.objects.exists():
        calendar_load()
        flush.calendar_loaded(connection)


@pytest.fixture(autouse=True)
def _isolated_settings(settings, tmp_path: Path) -> None:
    """Fast password hashing, and a cache and file storage of each test's own, so that one
    test's throttle counters or files never leak into another's."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        }
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }


@pytest.fixture
def postgres() -> None:
    require(connection.vendor == "postgresql", "needs PostgreSQL: set DATABASE_URL")


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    require(bool(url), "needs Redis: set REDIS_URL")
    return url


@pytest.fixture
def api_client() -> APIClient:
    """An API client that asks for English, so that tests can read the messages; the Chinese
    default is asserted in the i18n tests."""
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


# --- Browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    require(Path(CHROMIUM).exists(), f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM in the same thread
    # must be told that this is deliberate.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
