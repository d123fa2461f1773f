"""`make load`: simulated users against the real stack, then the ledger and application invariants.

The script starts everything itself, on free ports, against a scratch database:

1. drops and recreates the database (``--database``, default ``cb_load_run``) on the server of
   ``DATABASE_URL`` as a copy of a migrated template it keeps (``<database>_template``,
   migrated again when the code has a migration it lacks, or with ``--fresh``), and runs
   ``seed_demo``; adds the load's learners (with
   identity numbers, as registration would), reviewers of both centres and officers of the
   open university (each with an authenticator), and a few issued certificates to verify;
2. flushes the Redis database of ``--redis-url`` (default ``LOAD_REDIS_URL``, else db 13 of
   ``REDIS_URL``'s server) and starts gunicorn (``--workers`` processes x ``--threads``) and a
   Celery worker on it;
3. runs ``--users`` simulated users for ``--duration`` seconds, each signing in first (staff with
   TOTP) over the API: learners add results with evidence, apply for accreditation, look at
   their file, apply for credit transfer and ask for certificates; reviewers take applications
   from their centre's queue and accredit or reject them; officers decide transfer courses;
   anonymous visitors verify certificates and read the catalogue;
4. checks: no 5xx; each account's totals as the API reports them equal the sums of its ledger
   entries; no outcome counted twice for a programme, no course twice for a learner; every
   accredited application has exactly one decision and one ledger entry, every other none;
   every accepted transfer course one entry in the transferred book;
5. prints a table, writes JSON (``--json``) and, with ``--report``, the section file
   ``docs/reliability/load.md``.

The portal runs as behind one reverse proxy (``TRUSTED_PROXY_COUNT=1``, as docker-compose
deploys it), and each simulated user sends its own ``X-Forwarded-For`` address: throttles and
lockout count each user as the one client it is, at their production rates. A 429 is counted
apart from errors.

Why threads and ``requests`` rather than locust: the dependencies are already in the dev extra;
one process owns the whole run (start, load, invariants through the ORM, stop), so there is
nothing to coordinate; and a user blocked on a slow answer waits like a browser does, which is
what a closed-loop test of 50 users measures. The server, not the client, is the bottleneck on
this machine (the client sleeps most of the time between requests).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import io
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "Load-test-password-2026"  # noqa: S105 - the scratch database's users only
CENTRES = ("CQ-YZ", "CQ-SPB")
# (catalogue entry, outcome kind, title, issuing body, certificate number maker)
RESULTS: list[tuple[str, str, str, str, Callable[[random.Random], str]]] = [
    (
        "CQ-ZG-001",
        "vocational_qualification",
        "幼儿园园长任职资格证书",
        "重庆市教育委员会",
        lambda r: f"YZ{r.randint(2010, 2024)}-{r.randint(0, 999999):06d}",
    ),
    (
        "CQ-ZG-002",
        "vocational_qualification",
        "幼儿园教师资格证书",
        "重庆市教育委员会",
        lambda r: f"{r.randint(10**16, 10**17 - 1)}",
    ),
    (
        "CQ-JN-001",
        "skill_level",
        "保育师职业技能等级证书（四级/中级工）",
        "重庆市职业技能鉴定指导中心",
        lambda r: f"S{r.randint(10**9, 10**10 - 1)}",
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def default_redis_url() -> str:
    if os.environ.get("LOAD_REDIS_URL"):
        return os.environ["LOAD_REDIS_URL"]
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    return base.rsplit("/", 1)[0] + "/13"


# --- Statistics ---------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    samples: dict[tuple[str, int], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, status: int, seconds: float, unexpected: str | None = None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1
            if unexpected is not None and (kind, status) not in self.samples:
                self.samples[(kind, status)] = unexpected[:300]


class User(threading.Thread):
    """One simulated person: signs in, then acts until the run ends."""

    role = "user"

    def __init__(self, run: Run, index: int, login: dict[str, Any]) -> None:
        super().__init__(name=f"{self.role}-{index}", daemon=True)
        self.run_ = run
        self.login = login
        self.rng = random.Random(run.seed * 1000 + index)  # noqa: S311 - not cryptographic
        self.http = requests.Session()
        self.http.headers.update(
            {
                "Accept-Language": "en",
                # The one proxy in front of the portal appends the address it saw.
                "X-Forwarded-For": f"10.77.{index // 250 % 250}.{index % 250 + 1}",
            }
        )

    def call(
        self, kind: str, method: str, path: str, expect: tuple[int, ...] = (200, 201), **kwargs: Any
    ) -> requests.Response | None:
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                response = self.http.request(method, self.run_.base + path, timeout=60, **kwargs)
                break
            except requests.ConnectionError as exc:
                # A browser sends a GET again when a kept-alive connection was closed under it.
                if method == "GET" and attempt == 1:
                    continue
                self.run_.stats.record(kind, 599, time.perf_counter() - started, repr(exc))
                return None
            except requests.RequestException as exc:
                self.run_.stats.record(kind, 599, time.perf_counter() - started, repr(exc))
                return None
        self.run_.stats.record(
            kind,
            response.status_code,
            time.perf_counter() - started,
            None if response.status_code in expect else response.text,
        )
        return response

    def think(self) -> None:
        low, high = self.run_.think
        time.sleep(self.rng.uniform(low, high))

    def sign_in(self) -> bool:
        for _ in range(20):
            body = {"username": self.login["username"], "password": PASSWORD}
            if self.login.get("totp_key"):
                from django_otp.oath import totp

                # The code of this moment: a retry needs a new one (each is accepted once).
                body["otp_code"] = str(totp(bytes.fromhex(self.login["totp_key"]))).zfill(6)
            response = self.call("sign in", "POST", "/api/v1/auth/token/", json=body)
            if response is not None and response.status_code == 200:
                self.login["token"] = response.json()["token"]
                self.http.headers["Authorization"] = f"Token {self.login['token']}"
                return True
            time.sleep(2)
        return False

    def run(self) -> None:
        # People arrive over the ramp-up rather than in the same millisecond.
        time.sleep(self.rng.uniform(0, self.run_.ramp))
        ok = self.role == "anonymous" or self.sign_in()
        with self.run_.stats.lock:
            self.run_.signed_in.append(self.name if ok else "")
        # The timed part starts once everyone has signed in (password hashing is slow on
        # purpose; 50 sign-ins at once are a burst no steady load has).
        self.run_.go.wait()
        if not ok:
            return
        while time.monotonic() < self.run_.ends_at:
            try:
                self.act()
            except Exception as exc:  # a client bug must not stop the run
                self.run_.stats.record(f"{self.role}: client error", 0, 0.0, repr(exc))
            self.think()

    def act(self) -> None:
        raise NotImplementedError


class Learner(User):
    role = "learner"

    def act(self) -> None:
        roll = self.rng.random()
        if roll < 0.35:
            self.add_result_and_apply()
        elif roll < 0.70:
            self.look()
        elif roll < 0.93:
            self.apply_for_transfer()
        else:
            self.ask_for_certificate()

    def add_result_and_apply(self) -> None:
        code, kind, title, issuer, number = self.rng.choice(RESULTS)
        created = self.call(
            "learner: add result with evidence",
            "POST",
            "/api/v1/outcomes/",
            data={
                "kind": kind,
                "title": title,
                "issuing_body": issuer,
                "certificate_number": number(self.rng),
                "achieved_on": f"20{self.rng.randint(15, 24)}-0{self.rng.randint(1, 9)}-15",
                "result": "合格",
            },
            files={"files": ("certificate.pdf", evidence_pdf(self.rng), "application/pdf")},
        )
        if created is None or created.status_code != 201:
            return
        self.call(
            "learner: apply for accreditation",
            "POST",
            "/api/v1/applications/",
            json={
                "outcome": created.json()["id"],
                "centre": self.rng.choice(CENTRES),
                "claimed_entry": code,
            },
        )

    def look(self) -> None:
        path, kind = self.rng.choice(
            [
                ("/api/v1/applications/", "learner: my applications"),
                ("/api/v1/accounts/me/", "learner: my account"),
                ("/api/v1/accounts/me/ledger/", "learner: ledger statement"),
                ("/api/v1/notifications/", "learner: notifications"),
                ("/api/v1/outcomes/", "learner: my outcomes"),
            ]
        )
        self.call(kind, "GET", path)

    def apply_for_transfer(self) -> None:
        programme = self.run_.programme
        found = self.call("learner: learning path", "GET", f"/api/v1/transfers/paths/{programme}/")
        if found is None or found.status_code != 200:
            return
        items = [
            {"course": line["course"], "outcome": line["outcome"]}
            for line in found.json()["courses"]
            if line["status"] == "match"
            and line["outcome"]
            and not line["transferred"]
            and not line["pending"]
        ]
        if not items:
            return
        self.call(
            "learner: apply for transfer",
            "POST",
            "/api/v1/transfers/",
            json={"programme": programme, "items": items[:3]},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )

    def ask_for_certificate(self) -> None:
        self.call(
            "learner: ask for a transcript",
            "POST",
            "/api/v1/certificates/",
            expect=(200, 201, 202),
            json={"kind": "transcript"},
        )


class Reviewer(User):
    role = "reviewer"

    def act(self) -> None:
        mine = self.call(
            "reviewer: my applications in review",
            "GET",
            "/api/v1/applications/?state=in_review&reviewer=me",
        )
        if mine is not None and mine.status_code == 200 and mine.json()["results"]:
            application = self.rng.choice(mine.json()["results"])
            self.decide(application)
            return
        queue = self.call("reviewer: centre queue", "GET", "/api/v1/applications/?state=submitted")
        if queue is None or queue.status_code != 200 or not queue.json()["results"]:
            return
        application = self.rng.choice(queue.json()["results"])
        self.call("reviewer: open application", "GET", f"/api/v1/applications/{application['id']}/")
        # Two reviewers may reach for the same one: the second is told it is taken (4xx).
        self.call(
            "reviewer: start review",
            "POST",
            f"/api/v1/applications/{application['id']}/start-review/",
            expect=(200, 400, 409),
            json={},
        )

    def decide(self, application: dict[str, Any]) -> None:
        entry = application.get("claimed_entry")
        if entry and self.rng.random() < 0.85:
            self.call(
                "reviewer: accredit",
                "POST",
                f"/api/v1/applications/{application['id']}/accredit/",
                json={"entry": entry},
            )
        else:
            self.call(
                "reviewer: reject",
                "POST",
                f"/api/v1/applications/{application['id']}/reject/",
                json={"reason": "证书信息无法核验（负载测试）"},
            )


class Officer(User):
    role = "officer"

    def act(self) -> None:
        pending = self.call("officer: pending transfers", "GET", "/api/v1/transfers/?state=pending")
        if pending is None or pending.status_code != 200 or not pending.json()["results"]:
            return
        transfer = self.rng.choice(pending.json()["results"])
        detail = self.call("officer: open transfer", "GET", f"/api/v1/transfers/{transfer['id']}/")
        if detail is None or detail.status_code != 200:
            return
        for item in detail.json()["items"]:
            if item["state"] != "pending":
                continue
            accept = self.rng.random() < 0.8
            # Two officers may decide the same course: the second is told it is decided (4xx).
            self.call(
                "officer: decide course",
                "POST",
                f"/api/v1/transfers/items/{item['id']}/decide/",
                expect=(200, 400, 409),
                json={"decision": "accept"}
                if accept
                else {"decision": "reject", "reason": "课程目标不符（负载测试）"},
            )


class Anonymous(User):
    role = "anonymous"

    def act(self) -> None:
        roll = self.rng.random()
        serial = self.rng.choice(self.run_.serials)
        if roll < 0.55:
            self.call("anonymous: verify (API)", "GET", f"/api/v1/certificates/verify/{serial}/")
        elif roll < 0.75:
            self.call("anonymous: verify (page)", "GET", f"/verify/{serial}/")
        elif roll < 0.85:
            unknown = base64.urlsafe_b64encode(os.urandom(18)).decode()
            self.call(
                "anonymous: verify unknown serial",
                "GET",
                f"/api/v1/certificates/verify/{unknown}/",
                expect=(404,),
            )
        else:
            self.call("anonymous: catalogue", "GET", "/api/v1/catalogue/?q=幼儿园")

    def think(self) -> None:
        # A person reading a verification page: about 20 a minute, under the 30/min limit.
        time.sleep(self.rng.uniform(2.0, 4.0))


# --- The run ------------------------------------------------------------------------------------


@dataclass
class Run:
    base: str
    seed: int
    think: tuple[float, float]
    ends_at: float = 0.0
    ramp: float = 0.0
    go: threading.Event = field(default_factory=threading.Event)
    signed_in: list[str] = field(default_factory=list)
    programme: int = 0
    serials: list[str] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)


def mix(users: int) -> dict[str, int]:
    """Learners 60 %, reviewers 16 %, officers 6 %, anonymous visitors the rest; one at least."""
    reviewers = max(2, round(users * 0.16))
    officers = max(1, round(users * 0.06))
    anonymous = max(1, round(users * 0.18))
    learners = max(1, users - reviewers - officers - anonymous)
    return {"learner": learners, "reviewer": reviewers, "officer": officers, "anonymous": anonymous}


def applied_migrations(url: str) -> set[tuple[str, str]]:
    import psycopg

    try:
        with psycopg.connect(url) as connection:
            rows = connection.execute("SELECT app, name FROM django_migrations").fetchall()
    except psycopg.Error:
        return set()
    return {(app, name) for app, name in rows}


def template_name(name: str) -> str:
    """The name of the migrated template kept beside the scratch database ``name``: named after
    the migrations' text, not only their names, so a migration edited before it landed is not
    taken for the one the template already applied."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    digest = hashlib.sha256()
    for key in sorted(loader.disk_migrations):
        digest.update(
            Path(
                sys.modules[type(loader.disk_migrations[key]).__module__].__file__ or ""
            ).read_bytes()
        )
    return f"{name}_t{digest.hexdigest()[:12]}"


def prepare_database(server: str, name: str, fresh: bool, given: str = "") -> None:
    """Recreate the scratch database as a copy of a migrated template kept beside it
    (``<name>_template``): migrating from nothing takes long on a busy machine. The template is
    migrated again whenever the code has a migration it lacks (or with ``--fresh``). With
    ``given`` (``--template``: a migrated database nobody is connected to, as the test suite's
    pristine copy, tests/migrated.py), that one is copied and none is kept."""
    import psycopg
    from django.core.management import call_command
    from django.db import connections

    if given:
        with psycopg.connect(with_database(server, "postgres"), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{given}"')
        connections["default"].settings_dict["NAME"] = name
        return
    from django.db.migrations.loader import MigrationLoader

    wanted = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    template = template_name(name)
    admin = with_database(server, "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        stale = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
            [f"{name}_t%", template],
        ).fetchall()
        for (old,) in stale:
            connection.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
        if fresh or not wanted <= applied_migrations(with_database(server, template)):
            print(f"load: migrating the template database {template}", flush=True)
            connection.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{template}"')
            connections["default"].settings_dict["NAME"] = template
            call_command("migrate", verbosity=0)
            connections.close_all()
        # PostgreSQL copies only a database nobody is connected to: behind PgBouncer its idle
        # server connections to the template are ended first.
        connection.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [template],
        )
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    connections["default"].settings_dict["NAME"] = name


def drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def evidence_pdf(rng: random.Random) -> bytes:
    """A small genuine PDF, different each time (a learner cannot upload the same file twice);
    a core font, so that making it costs the client next to nothing."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=f"Certificate scan (load test) No. {rng.getrandbits(64):016x}")
    return bytes(pdf.output())


def seed(counts: dict[str, int]) -> dict[str, Any]:
    """The people of the run, and certificates for the anonymous visitors to verify."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.core.management import call_command
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from stdnum.iso7064 import mod_11_2

    from accounts.models import Centre, Institution, LearningAccount, Role
    from accounts.models import User as Person
    from accounts.services import personal_account_register
    from accreditation.models import CatalogueEntry
    from accreditation.services import accredit_against_catalogue, application_submit, review_start
    from outcomes.services import outcome_save
    from outcomes.storage import Upload
    from transfers.certificates.issuing import certificate_render, certificate_request
    from transfers.models import Programme

    call_command("seed_demo", stdout=io.StringIO())
    hashed = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    logins: dict[str, list[dict[str, Any]]] = {role: [] for role in counts}
    samples = 2
    for index in range(counts["learner"] + samples):
        first17 = f"500103{datetime.date(1970, 1, 1) + datetime.timedelta(days=index * 37):%Y%m%d}"
        first17 += f"{index % 1000:03d}"
        account = personal_account_register(
            name=f"负载学员{index}",
            id_type="resident_id",
            id_number=first17 + mod_11_2.calc_check_digit(first17),
            phone=f"139{index:08d}",
            email=f"learner{index}@load.example.cn",
            password=None,
        )
        holder = account.holder
        assert holder is not None
        Person.objects.filter(pk=holder.pk).update(password=hashed)
        logins["learner"].append({"username": holder.phone, "account": account.number})
    staff_specs = [("reviewer", Role.CENTRE_REVIEWER), ("officer", Role.INSTITUTION_OFFICER)]
    university = Institution.objects.get(name__contains="开放大学")
    for role, staff_role in staff_specs:
        for index in range(counts[role]):
            centre = Centre.objects.get(code=CENTRES[index % len(CENTRES)])
            user = Person.objects.create(
                username=f"load.{role}.{index}",
                name=f"负载{role}{index}",
                role=staff_role,
                centre=centre if role == "reviewer" else None,
                institution=university if role == "officer" else None,
                password=hashed,
                email=f"{role}{index}@load.example.cn",
            )
            key = os.urandom(20).hex()
            TOTPDevice.objects.create(user=user, name="load", key=key, confirmed=True)
            logins[role].append({"username": user.username, "totp_key": key})

    # Certificates for the anonymous visitors: the last learners, accredited and certified.
    reviewer = Person.objects.get(username="load.reviewer.0")
    serials = []
    evidence = evidence_pdf(random.Random(0))  # noqa: S311 - not cryptographic
    for login in logins["learner"][-samples:]:
        account = LearningAccount.objects.get(number=login["account"])
        holder = account.holder
        assert holder is not None
        assert reviewer.centre is not None
        outcome = outcome_save(
            account=account,
            actor=holder,
            data={
                "kind": "vocational_qualification",
                "title": "幼儿园园长任职资格证书",
                "issuing_body": "重庆市教育委员会",
                "certificate_number": "YZ2019-000123",
                "achieved_on": datetime.date(2019, 7, 12),
                "result": "合格",
            },
            uploads=[Upload(name="证书.pdf", data=evidence)],
        )
        entry = CatalogueEntry.objects.get(code="CQ-ZG-001")
        application = application_submit(
            outcome=outcome, centre=reviewer.centre, actor=holder, claimed_entry=entry
        )
        review_start(application=application, actor=reviewer)
        accredit_against_catalogue(application=application, actor=reviewer, entry=entry)
        certificate = certificate_request(
            account=account, actor=holder, kind="transcript", disclose=["name", "items"]
        )
        serials.append(certificate_render(certificate_id=certificate.pk).serial)
    logins["learner"] = logins["learner"][:-samples]
    programme = Programme.objects.get(code="PRE-ZK").pk
    return {"logins": logins, "serials": serials, "programme": programme}


def start_processes(env: dict[str, str], port: int, args: argparse.Namespace, logs: Path):
    gunicorn = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "creditbank.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
            "--timeout",
            "120",
            "--graceful-timeout",
            "10",
            # As behind a proxy that keeps its upstream connections open: a user's next request
            # never races the server closing an idle connection.
            "--keep-alive",
            "30",
            # The application is imported once and forked: four workers start in the time of one.
            "--preload",
        ],
        cwd=ROOT,
        env=env,
        stdout=(logs / "gunicorn.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [
            str(BIN / "celery"),
            "--app",
            "creditbank",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--hostname",
            f"load-{port}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=(logs / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return gunicorn, worker


def stop_processes(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(base: str, processes: list[subprocess.Popen], logs: Path) -> None:
    deadline = time.monotonic() + 120
    last = ""
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise SystemExit(f"a process of the stack exited; see the logs in {logs}")
        try:
            answer = requests.get(base + "/readyz", timeout=10)
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text[:300]}"
        except requests.RequestException as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise SystemExit(f"the portal was not ready within 120 s ({last}); see the logs in {logs}")


def drain(timeout: float) -> int:
    """Wait for the worker to finish the certificates asked for; how many are still not made."""
    from transfers.models import Certificate

    deadline = time.monotonic() + timeout
    while True:
        waiting = Certificate.objects.filter(state=Certificate.State.REQUESTED).count()
        if waiting == 0 or time.monotonic() > deadline:
            return waiting
        time.sleep(1)


def invariants(run: Run, logins: list[dict[str, Any]]) -> dict[str, Any]:
    """What must hold after the run, each with the number of cases that break it."""
    from django.db.models import Count, Q, Sum

    from accounts.models import LearningAccount, LedgerEntry
    from accreditation.models import Application, ApplicationState, Decision
    from accreditation.services import LEDGER_CAUSE as ACCREDITATION
    from transfers.models import Certificate, TransferItem, TransferItemState
    from transfers.services import LEDGER_CAUSE as TRANSFER

    checks: dict[str, Any] = {}
    zero = Decimal(0)

    # Totals reported by the API equal the sums of the ledger entries, per book.
    sums: dict[tuple[int, str], dict[str, Any]] = {}
    for row in LedgerEntry.objects.values("account", "book").annotate(
        hours=Sum("hours"), credits=Sum("credits")
    ):
        sums[(row["account"], row["book"])] = dict(row)
    wrong_totals = []
    session = requests.Session()
    for login in logins:
        if not login.get("token"):
            wrong_totals.append(f"{login['account']}: never signed in")
            continue
        headers = {"Authorization": f"Token {login['token']}"}
        me = session.get(run.base + "/api/v1/accounts/me/", headers=headers, timeout=60).json()
        account = LearningAccount.objects.get(number=login["account"])
        accumulated = sums.get((account.pk, LedgerEntry.Book.ACCUMULATED), {})
        transferred = sums.get((account.pk, LedgerEntry.Book.TRANSFERRED), {})
        if (
            Decimal(str(me["hours"])) != accumulated.get("hours", zero)
            or Decimal(str(me["credits"])) != accumulated.get("credits", zero)
            or Decimal(str(me["transferred_credits"])) != transferred.get("credits", zero)
        ):
            wrong_totals.append(
                f"{login['account']}: API {me} vs ledger {accumulated} {transferred}"
            )
    checks["accounts whose API totals differ from the sum of their ledger entries"] = wrong_totals

    # Accredited applications: one decision and one ledger entry; the others neither.
    accredited = Application.objects.filter(state=ApplicationState.ACCREDITED)
    decisions = Decision.objects.filter(result=Decision.Result.ACCREDITED)
    entries_by_decision = Counter(
        LedgerEntry.objects.filter(cause_type=ACCREDITATION).values_list("cause_id", flat=True)
    )
    broken = [
        f"application {pk}: decision {decision}, {entries_by_decision[str(decision)]} entries"
        for pk, decision in accredited.values_list("pk", "decision__pk")
        if decision is None or entries_by_decision[str(decision)] != 1
    ]
    broken += [
        f"decision {pk} of application {application} ({state}) accredited"
        for pk, application, state in decisions.exclude(
            application__state=ApplicationState.ACCREDITED
        ).values_list("pk", "application", "application__state")
    ]
    not_accredited = set(
        map(
            str,
            Decision.objects.exclude(result=Decision.Result.ACCREDITED).values_list(
                "pk", flat=True
            ),
        )
    )
    broken += [
        f"decision {pk} not accredited has a ledger entry"
        for pk in not_accredited & set(entries_by_decision)
    ]
    checks["accredited applications without exactly one decision and one ledger entry"] = broken

    # Transfers: an outcome once per programme, a course once per learner, one entry each.
    counted = TransferItem.objects.filter(state=TransferItemState.ACCEPTED)
    checks["outcomes counted twice for a programme"] = [
        f"outcome {row['outcome']} x{row['n']} for programme {row['programme']}"
        for row in counted.values("outcome", "programme").annotate(n=Count("id")).filter(n__gt=1)
    ]
    checks["courses counted twice for a learner"] = [
        f"course {row['course']} x{row['n']} for account {row['account']}"
        for row in counted.values("course", "account").annotate(n=Count("id")).filter(n__gt=1)
    ]
    transfer_entries = Counter(
        LedgerEntry.objects.filter(cause_type=TRANSFER).values_list("cause_id", flat=True)
    )
    checks["accepted transfer courses without exactly one ledger entry"] = [
        f"item {pk}: {transfer_entries[str(pk)]} entries"
        for pk in counted.values_list("pk", flat=True)
        if transfer_entries[str(pk)] != 1
    ]
    # Book totals: the decisions' and accepted courses' amounts are what the ledger holds.
    decided = decisions.aggregate(h=Sum("hours"), c=Sum("credits"))
    booked = LedgerEntry.objects.filter(cause_type=ACCREDITATION).aggregate(
        h=Sum("hours"), c=Sum("credits")
    )
    accepted = counted.aggregate(c=Sum("credits"))["c"] or zero
    moved = LedgerEntry.objects.filter(cause_type=TRANSFER).aggregate(c=Sum("credits"))["c"] or zero
    mismatch = []
    if (decided["h"] or zero, decided["c"] or zero) != (booked["h"] or zero, booked["c"] or zero):
        mismatch.append(f"decisions {decided} vs accumulated book {booked}")
    if accepted != moved:
        mismatch.append(f"accepted courses {accepted} vs transferred book {moved}")
    checks["book totals that differ from what was decided"] = mismatch
    checks["certificates not made by the worker"] = [
        f"certificate {pk}"
        for pk in Certificate.objects.exclude(state=Certificate.State.ISSUED).values_list(
            "pk", flat=True
        )
    ]

    facts = {
        "applications": Application.objects.count(),
        "accredited": accredited.count(),
        "rejected": Application.objects.filter(state=ApplicationState.REJECTED).count(),
        "still open": Application.objects.filter(
            Q(state=ApplicationState.SUBMITTED) | Q(state=ApplicationState.IN_REVIEW)
        ).count(),
        "ledger entries": LedgerEntry.objects.count(),
        "transfer courses accepted": counted.count(),
        "transfer courses rejected": TransferItem.objects.filter(
            state=TransferItemState.REJECTED
        ).count(),
        "certificates issued": Certificate.objects.filter(state=Certificate.State.ISSUED).count(),
    }
    return {"checks": checks, "facts": facts}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarise(stats: Stats, seconds: float) -> dict[str, Any]:
    kinds = {}
    for kind in sorted(stats.latencies):
        latencies = stats.latencies[kind]
        statuses = stats.statuses[kind]
        kinds[kind] = {
            "requests": len(latencies),
            "statuses": {str(code): n for code, n in sorted(statuses.items())},
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        }
    every = [value for values in stats.latencies.values() for value in values]
    codes: Counter[int] = Counter()
    for statuses in stats.statuses.values():
        codes.update(statuses)
    return {
        "requests": len(every),
        "requests_per_second": round(len(every) / seconds, 1) if seconds else 0.0,
        "p50_ms": round(percentile(every, 50) * 1000, 1),
        "p95_ms": round(percentile(every, 95) * 1000, 1),
        "server_errors": sum(n for code, n in codes.items() if code >= 500),
        "throttled_429": codes.get(429, 0),
        "other_4xx": sum(n for code, n in codes.items() if 400 <= code < 500 and code != 429),
        "client_errors": codes.get(0, 0),
        "by_kind": kinds,
    }


def table(result: dict[str, Any]) -> str:
    summary = result["summary"]
    lines = [
        f"{'kind':<42} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8}  statuses",
        "-" * 100,
    ]
    for kind, row in summary["by_kind"].items():
        statuses = " ".join(f"{code}:{n}" for code, n in row["statuses"].items())
        lines.append(
            f"{kind:<42} {row['requests']:>8} {row['p50_ms']:>8} {row['p95_ms']:>8}  {statuses}"
        )
    lines += [
        "-" * 100,
        f"{'all':<42} {summary['requests']:>8} {summary['p50_ms']:>8} {summary['p95_ms']:>8}"
        f"  {summary['requests_per_second']} req/s",
        "",
        f"server errors (5xx or no answer): {summary['server_errors']}   "
        f"throttled (429): {summary['throttled_429']}   other 4xx: {summary['other_4xx']}   "
        f"client errors: {summary['client_errors']}",
        "",
        "invariants (cases that break them):",
    ]
    for check, cases in result["invariants"]["checks"].items():
        lines.append(f"  {len(cases):>5}  {check}" + (f"  e.g. {cases[0]}" if cases else ""))
    lines.append("")
    lines.append(
        "state at the end: "
        + ", ".join(f"{k} {v}" for k, v in result["invariants"]["facts"].items())
    )
    return "\n".join(lines)


ROLE_NAMES = {
    "learner": "learners",
    "reviewer": "reviewers",
    "officer": "officers",
    "anonymous": "anonymous visitors",
}


def markdown(result: dict[str, Any]) -> str:
    summary = result["summary"]
    setup = result["setup"]
    people = ", ".join(f"{n} {ROLE_NAMES[role]}" for role, n in setup["mix"].items())
    rows = "\n".join(
        f"| {kind} | {row['requests']} | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} | "
        + ", ".join(f"{code}: {n}" for code, n in row["statuses"].items())
        + " |"
        for kind, row in summary["by_kind"].items()
    )
    checks = "\n".join(
        f"| {check} | {len(cases)} |" for check, cases in result["invariants"]["checks"].items()
    )
    facts = ", ".join(f"{k} {v}" for k, v in result["invariants"]["facts"].items())
    think = setup["think_s"]
    paragraphs = [
        "## Load (`make load`)",
        f"Latest run: {result['finished_at']} UTC, commit `{result['commit']}`, on "
        f"{setup['machine']} (load average {setup['load_average'][0]:.1f} at the start, "
        f"{setup['load_average'][1]:.1f} at the end; "
        + (
            "other work ran beside it, so the figures are low)."
            if setup["load_average"][0] >= 2
            else "nothing else ran beside it: the load at the end is the run's own)."
        ),
        f"{setup['users']} simulated users ({people}) for {setup['duration_s']:.0f} s against "
        f"gunicorn ({setup['gunicorn_workers']} workers x {setup['gunicorn_threads']} threads) + "
        "PostgreSQL + Redis + one Celery worker (2 processes), on a scratch database seeded by "
        f"`seed_demo`. Everyone signs in over the API first (staff with TOTP), spread over "
        f"{setup['ramp_s']:.0f} s; users think {think[0]}–{think[1]} s between actions "
        "(anonymous visitors 2–4 s).",
        f"**{summary['requests']} requests, {summary['requests_per_second']} per second; p50 "
        f"{summary['p50_ms']:.0f} ms, p95 {summary['p95_ms']:.0f} ms. Server errors (5xx or no "
        f"answer): {summary['server_errors']}.** Throttled (429): {summary['throttled_429']}. "
        f"Other 4xx: {summary['other_4xx']} (expected: unknown serials, two reviewers reaching "
        "for the same application, two officers deciding the same course).",
        "| requests by kind | n | p50 ms | p95 ms | statuses |\n|---|---|---|---|---|\n" + rows,
        "| invariant | cases that break it |\n|---|---|\n" + checks,
        f"At the end: {facts}.",
        "Reproduce: `make load` (this run; `LOAD_ARGS=...` passes options to `bench/load.py`) "
        "or `make load-quick` (10 users, 20 s). The JSON is `bench/results/load.json`.",
    ]
    return "\n\n".join(paragraphs) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--think", type=float, nargs=2, default=(0.2, 1.0), metavar=("MIN", "MAX"))
    parser.add_argument("--database", default="cb_load_run", help="scratch database (recreated)")
    parser.add_argument("--redis-url", default=default_redis_url(), help="flushed at the start")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "load.json")
    parser.add_argument("--report", type=Path, default=None, help="markdown section to write")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--fresh", action="store_true", help="migrate the template again")
    parser.add_argument(
        "--template", default="", help="copy this migrated database instead of keeping one"
    )
    args = parser.parse_args(argv)

    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not server.startswith("postgres"):
        raise SystemExit("make load needs PostgreSQL: set DATABASE_URL=postgres://...")
    database_url = with_database(server, args.database)
    scratch = ROOT / "var" / f"load-{args.database}"
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "logs").mkdir(parents=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_ALLOW"))},
        "DJANGO_SETTINGS_MODULE": "creditbank.settings",
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "VAR_DIR": str(scratch),
        "CERTIFICATE_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "TRUSTED_PROXY_COUNT": "1",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)

    import redis

    started = time.monotonic()
    print(f"load: scratch database {args.database}, Redis {args.redis_url}", flush=True)
    redis.Redis.from_url(args.redis_url).flushdb()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    prepare_database(server, args.database, args.fresh, args.template)
    # The stack starts while the data is seeded: it needs only the migrated schema.
    port = free_port()
    logs = scratch / "logs"
    gunicorn, worker = start_processes(env, port, args, logs)
    counts = mix(args.users)
    try:
        seeded = seed(counts)
    except BaseException:
        stop_processes(gunicorn, worker)
        raise
    print(f"load: seeded in {time.monotonic() - started:.0f} s: {counts}", flush=True)

    run = Run(base=f"http://127.0.0.1:{port}", seed=args.seed, think=(args.think[0], args.think[1]))
    run.programme = seeded["programme"]
    run.ramp = min(20.0, 0.4 * args.users)
    run.serials = seeded["serials"]
    result: dict[str, Any] = {}
    try:
        wait_ready(run.base, [gunicorn, worker], logs)
        print(
            f"load: stack ready at {run.base}; {args.users} users for {args.duration:.0f} s",
            flush=True,
        )
        users: list[User] = []
        kinds: dict[str, type[User]] = {
            "learner": Learner,
            "reviewer": Reviewer,
            "officer": Officer,
            "anonymous": Anonymous,
        }
        index = 0
        for role, n in counts.items():
            for i in range(n):
                login = seeded["logins"][role][i] if role != "anonymous" else {}
                users.append(kinds[role](run, index, login))
                index += 1
        for user in users:
            user.start()
        deadline = time.monotonic() + 600
        while len(run.signed_in) < len(users) and time.monotonic() < deadline:
            time.sleep(0.2)
        print(f"load: {sum(map(bool, run.signed_in))} users signed in", flush=True)
        load_started = time.monotonic()
        load_before = os.getloadavg()[0]
        run.ends_at = load_started + args.duration
        run.go.set()
        for user in users:
            user.join(timeout=max(0.0, run.ends_at - time.monotonic()) + 90)
        seconds = time.monotonic() - load_started
        left = drain(60)
        print(f"load: load done in {seconds:.0f} s; checking invariants", flush=True)
        checked = invariants(run, seeded["logins"]["learner"])
        for process, name in ((gunicorn, "gunicorn"), (worker, "worker")):
            if process.poll() is not None:
                checked["checks"].setdefault("processes that died", []).append(name)
        result = {
            "finished_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip(),
            "setup": {
                "users": args.users,
                "mix": counts,
                "duration_s": args.duration,
                "gunicorn_workers": args.workers,
                "gunicorn_threads": args.threads,
                "think_s": list(args.think),
                "machine": f"{os.cpu_count()} CPU cores",
                "load_average": [load_before, os.getloadavg()[0]],
                "ramp_s": run.ramp,
                "certificates_waiting_after_drain": left,
            },
            "summary": summarise(run.stats, seconds),
            "invariants": checked,
            "unexpected_answers": {
                f"{kind} -> {status}": body for (kind, status), body in run.stats.samples.items()
            },
        }
    finally:
        stop_processes(gunicorn, worker)
        from django.db import connections

        connections.close_all()
        if not args.keep and result:
            drop_database(server, args.database)

    print(table(result))
    if result["unexpected_answers"]:
        print("\nfirst unexpected answer of each kind:")
        for where, body in result["unexpected_answers"].items():
            print(f"  {where}: {body[:200]}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(markdown(result))
    broken = sum(len(cases) for cases in result["invariants"]["checks"].values())
    failed = result["summary"]["server_errors"] or broken or result["summary"]["client_errors"]
    print(f"\nload: {'FAILED' if failed else 'passed'} ({time.monotonic() - started:.0f} s in all)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
