"""Fixtures shared by the whole suite.

Tests that need PostgreSQL, Redis or a browser skip with the reason when those are absent; with
CREDITBANK_REQUIRE_SERVICES=1 (as .ci/run sets) they fail instead, so CI cannot skip them.
"""

from __future__ import annotations

import gettext as gettext_module
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import translation
from django.utils.translation import trans_real
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import Role, User
from tests.accounts.factories import CentreFactory, InstitutionFactory, UserFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PASSWORD = "correct-horse-battery"


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CREDITBANK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    # Pages and messages are asserted in both languages, so the catalogues must be compiled,
    # and any catalogue Django loaded before that must be forgotten.
    call_command("compile_translations", verbosity=0)
    trans_real._translations = {}  # type: ignore[attr-defined]
    trans_real._default = None  # type: ignore[attr-defined]
    gettext_module._translations.clear()  # type: ignore[attr-defined]


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
    """The working-day calendar is data its migration seeds; a transactional test flushes it,
    so tests that use the database get it back before they start."""
    if request.node.get_closest_marker("django_db") is None and "db" not in request.fixturenames:
        return
    request.getfixturevalue("_django_db_helper")
    from accreditation.calendar import calendar_load
    from accreditation.models import CalendarYear

    if not CalendarYear.objects.exists():
        calendar_load()


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


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    require(path is not None, "needs redis-server on PATH")
    assert path is not None
    return path


def start_redis(port: int, *options: str) -> subprocess.Popen:
    """A redis-server of the test's own on ``port`` (nothing kept on disk unless ``options``
    say so), answering when this returns."""
    import redis

    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            *options,
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    require(bool(url), "needs Redis: set REDIS_URL")
    return url


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The environment for a process the test starts: ours, less what only this test process
    may have (the browser fixture's async-safety switch), plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, **overrides}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- People ------------------------------------------------------------------------------------


def with_totp(user):
    """Staff sign in with a second factor: give the user a confirmed authenticator."""
    TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return user


def otp_code(user) -> str:
    """A code the user's authenticator would show now. django-otp accepts each time step once
    and pauses a device briefly after a wrong code, so both memories are cleared first: tests
    may sign in repeatedly and straight after a deliberate mistake."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    TOTPDevice.objects.filter(pk=device.pk).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    return str(totp(device.bin_key)).zfill(6)


def login_verified(client, user) -> None:
    """A browser session that has given both factors."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()


@pytest.fixture
def centre(db):
    return CentreFactory(name="渝中区学习成果认证分中心")


@pytest.fixture
def other_centre(db):
    return CentreFactory(name="沙坪坝区学习成果认证分中心")


@pytest.fixture
def institution(db):
    return InstitutionFactory(name="阳光幼教集团")


@pytest.fixture
def learner(db):
    return UserFactory(username="alice", name="李爱丽", role=Role.LEARNER)


@pytest.fixture
def reviewer(centre):
    return with_totp(
        UserFactory(username="rita", name="王审核", role=Role.CENTRE_REVIEWER, centre=centre)
    )


@pytest.fixture
def centre_admin(centre):
    return with_totp(
        UserFactory(username="carl", name="陈主任", role=Role.CENTRE_ADMIN, centre=centre)
    )


@pytest.fixture
def management_admin(db):
    return with_totp(
        UserFactory(username="mona", name="孟管理", role=Role.MANAGEMENT_ADMIN, is_staff=True)
    )


@pytest.fixture
def institution_admin(institution):
    return with_totp(
        UserFactory(
            username="ivan", name="赵机构", role=Role.INSTITUTION_ADMIN, institution=institution
        )
    )


@pytest.fixture
def institution_officer(db):
    university = InstitutionFactory(name="开放大学", kind="degree_institution")
    return with_totp(
        UserFactory(
            username="olga", name="刘老师", role=Role.INSTITUTION_OFFICER, institution=university
        )
    )


@pytest.fixture
def api_client() -> APIClient:
    """An API client that asks for English, so that tests can read the messages; the Chinese
    default is asserted in the i18n tests."""
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def token_for(client: APIClient, username: str, password: str = PASSWORD) -> str:
    body = {"username": username, "password": password}
    user = User.objects.filter(username=username).first()
    if user is not None and TOTPDevice.objects.filter(user=user).exists():
        body["otp_code"] = otp_code(user)
    response = client.post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


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
