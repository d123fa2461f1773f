"""Read replicas against a real hot standby (issue 25): a PostgreSQL primary and its streaming
standby of the test's own (tests/standby.py), a gunicorn with ``DATABASE_URL`` on the primary
and ``DATABASE_REPLICA_URLS`` on the standby.

Where a read was served is told by what it shows while the standby's replay is paused: a row
committed on the primary after the pause is on the primary only."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.outcomes.samples import pdf_bytes
from tests.people import LEARNER_PASSWORD, RESIDENT
from tests.processes import free_port, require, stop, subprocess_env
from tests.standby import Pair, binaries_missing, pair_start

# django_db: the test database is set up (it is what the primary is a copy of).
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db]

ROOT = Path(settings.BASE_DIR)
CENTRE_SQL = (
    "INSERT INTO accounts_centre (code, name, kind, address, phone, is_active) "
    "VALUES (%s, %s, 'management', '', '', true)"
)


class Portal:
    def __init__(self, url: str, process: subprocess.Popen, log: Path) -> None:
        self.url, self.process, self.log = url, process, log

    def get(self, session: requests.Session, path: str, **kwargs) -> requests.Response:
        return session.get(self.url + path, timeout=30, **kwargs)

    def post(self, session: requests.Session, path: str, **kwargs) -> requests.Response:
        return session.post(self.url + path, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def pair(django_db_setup, django_db_blocker) -> Iterator[Pair]:
    """The primary (a copy of the migrated test database) and its standby, for the module."""
    require(connection.vendor == "postgresql", "needs PostgreSQL: set DATABASE_URL")
    reason = binaries_missing()
    require(not reason, reason)
    db = connection.settings_dict
    source = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    pair = pair_start(source)
    yield pair
    pair.close()


@pytest.fixture(scope="module")
def portal(pair: Pair, tmp_path_factory) -> Iterator[Portal]:
    var_dir = tmp_path_factory.mktemp("replica-portal")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = subprocess_env(
        DJANGO_ENV="development",
        DJANGO_DEBUG="0",
        VAR_DIR=str(var_dir),
        DATABASE_URL=pair.primary.url(),
        DATABASE_REPLICA_URLS=pair.standby.url(),
        # The standby is paused on purpose below, for seconds: the bound is not what is tested
        # here (tests/common/test_replicas.py is).
        REPLICA_MAX_LAG_SECONDS="600",
        REPLICA_LAG_SAMPLE_SECONDS="1",
        REPLICA_PIN_SECONDS="30",
        PORTAL_URL=url,
        CERTIFICATE_SIGNING_KEY=base64.b64encode(os.urandom(32)).decode(),
        CELERY_TASK_ALWAYS_EAGER="1",
        THROTTLE_ANON_RATE="100000/min",
        LOG_LEVEL="WARNING",
    )
    for inherited in ("REDIS_URL", "CACHE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        env.pop(inherited, None)
    log = var_dir / "gunicorn.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "creditbank.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if requests.get(url + "/healthz", timeout=20).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
    yield Portal(url, process, log)
    stop(process)


def centre_codes(portal: Portal, session: requests.Session) -> list[str]:
    response = portal.get(session, "/api/v1/centres/")
    assert response.status_code == 200, response.text
    return [centre["code"] for centre in response.json()]


def outcome_titles(portal: Portal, session: requests.Session) -> list[str]:
    response = portal.get(session, "/api/v1/outcomes/")
    assert response.status_code == 200, response.text
    body = response.json()
    return [outcome["title"] for outcome in body.get("results", body)]


def outcome_add(portal: Portal, session: requests.Session, title: str) -> requests.Response:
    return portal.post(
        session,
        "/api/v1/outcomes/",
        data={
            "kind": "training",
            "title": title,
            "provider": "重庆开放大学",
            "hours": "8",
            "started_on": "2025-06-01",
            "achieved_on": "2025-06-30",
        },
        files={"files": (f"{title}.pdf", pdf_bytes(title), "application/pdf")},
    )


@pytest.fixture(scope="module")
def learner_token(portal: Portal, pair: Pair) -> str:
    with requests.Session() as session:
        registered = portal.post(
            session,
            "/api/v1/accounts/",
            json={
                "name": "邵涛涛",
                "id_type": "resident_id",
                "id_number": RESIDENT,
                "phone": "13912345678",
                "email": "shao@example.cn",
                "password": LEARNER_PASSWORD,
            },
        )
        assert registered.status_code == 201, registered.text
        signed_in = portal.post(
            session,
            "/api/v1/auth/token/",
            json={"username": "shao@example.cn", "password": LEARNER_PASSWORD},
        )
        assert signed_in.status_code == 200, signed_in.text
    pair.caught_up()
    return signed_in.json()["token"]


def learner_session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    return session


def test_public_reads_are_served_by_the_standby(portal, pair):
    visitor = requests.Session()
    assert "RPL-1" not in centre_codes(portal, visitor)
    pair.replay_pause()
    try:
        pair.primary.sql(CENTRE_SQL, ("RPL-1", "复制测试中心"))
        # Committed on the primary, not yet replayed on the standby: the list does not show it,
        # so it was read from the standby.
        assert "RPL-1" not in centre_codes(portal, visitor)
        assert pair.primary.sql("SELECT 1 FROM accounts_centre WHERE code = 'RPL-1'") == [(1,)]
    finally:
        pair.replay_resume()
    pair.caught_up()
    assert "RPL-1" in centre_codes(portal, visitor)


def test_a_learner_reads_what_they_just_wrote_from_the_primary(portal, pair, learner_token):
    writer = learner_session(learner_token)
    assert outcome_titles(portal, writer) == []
    pair.replay_pause()
    try:
        added = outcome_add(portal, writer, "幼儿游戏活动设计培训")
        assert added.status_code == 201, added.text
        # The same learner, right after the write: the primary answers, the outcome is there.
        assert outcome_titles(portal, writer) == ["幼儿游戏活动设计培训"]
        # The same list without the pin (another device of hers, say) reads the paused
        # standby: what it shows is a few seconds old.
        assert outcome_titles(portal, learner_session(learner_token)) == []
    finally:
        pair.replay_resume()
    pair.caught_up()
    assert outcome_titles(portal, learner_session(learner_token)) == ["幼儿游戏活动设计培训"]


def test_a_standby_cut_off_from_its_primary_is_not_read(portal, pair):
    # Up and answering, but its WAL receiver lost the primary: nothing arrives, so everything
    # received is replayed and it looked caught up forever, serving ever older rows.
    visitor = requests.Session()
    assert "RPL-2" not in centre_codes(portal, visitor)
    conninfo = pair.receiver_cut()
    try:
        pair.primary.sql(CENTRE_SQL, ("RPL-2", "断开测试中心"))
        assert pair.standby.sql("SELECT 1 FROM accounts_centre WHERE code = 'RPL-2'") == []
        # Once the portal's sample is renewed (every second here), the primary answers.
        deadline = time.monotonic() + 20
        while "RPL-2" not in centre_codes(portal, visitor):
            assert time.monotonic() < deadline, "still reading the cut-off standby"
            time.sleep(0.2)
        assert pair.standby.sql("SELECT 1 FROM accounts_centre WHERE code = 'RPL-2'") == []
    finally:
        pair.receiver_restore(conninfo)


def test_with_the_standby_stopped_the_same_requests_answer_without_errors(
    portal, pair, learner_token
):
    pair.standby.stop()
    pinned, unpinned, visitor = (
        learner_session(learner_token),
        learner_session(learner_token),
        requests.Session(),
    )
    statuses = []
    for round_ in range(3):
        for session in (visitor, unpinned, pinned):
            statuses.append(portal.get(session, "/api/v1/centres/").status_code)
            statuses.append(portal.get(session, "/api/v1/catalogue/").status_code)
            statuses.append(portal.get(session, "/catalogue/").status_code)
        statuses.append(portal.get(unpinned, "/api/v1/outcomes/").status_code)
        statuses.append(outcome_add(portal, pinned, f"停机期间的培训 {round_}").status_code)
        statuses.append(portal.get(pinned, "/api/v1/outcomes/").status_code)
    assert statuses.count(200) + statuses.count(201) == len(statuses), statuses
    # Read from the primary: up to date.
    assert "停机期间的培训 2" in outcome_titles(portal, learner_session(learner_token))
    assert "unavailable" in portal.log.read_text()  # the fallback is logged, as a warning
