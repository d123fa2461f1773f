"""``make faults``: inject faults into the real processes and check that nothing is lost or
duplicated.

    python -m bench.faults.run [--iterations 10] [--only a,b,c,d]

It starts a private stack (bench/faults/stack.py: its own PostgreSQL cluster and redis-server,
gunicorn with production settings, a Celery worker and beat, an SMTP sink), then, each fault
``--iterations`` times:

a. SIGKILL of the worker (its whole process group) while it renders certificates; restarted.
   Every requested certificate is issued once, with one stored PDF, one notice, one email.
b. SIGKILL of the worker in the middle of the deadline sweep; restarted. Every application gets
   its reminder or escalation notice once, and one email each.
c. redis-server SIGKILLed while learners submit accreditation applications, started again ~2 s
   later. Each submission is answered 201 (then its application exists once and its email
   arrives once Redis is back) or 503 (then nothing is written); anything else is counted.
d. PostgreSQL stopped (immediate: as after a crash) and started again under transfer load
   (learners apply with Idempotency-Key and retry; an officer accepts). /readyz is back within
   30 s; each course transferred once with one ledger entry; the transferred book's total
   (API) equals the sum of its entries.

It prints a table (fault, times injected, requests made, lost, duplicated, max recovery time)
and writes it to bench/results/faults.json and docs/reliability/faults.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import re
import shutil
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .stack import ROOT, Mail, Stack, wait_for

RESULTS = ROOT / "bench" / "results" / "faults.json"
SECTION = ROOT / "docs" / "reliability" / "faults.md"
OVERVIEW = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- faults:begin -->", "<!-- faults:end -->"

# Short timings so that a run takes minutes, not hours; each is explained in the section file.
TUNING = {
    # A task a killed worker held is delivered again after this (production: 3600).
    "CELERY_VISIBILITY_TIMEOUT": "20",
    # The re-send of lost work (production: every 300 s; after 300/600/600 s).
    "LOST_WORK_SWEEP_INTERVAL_SECONDS": "5",
    "NOTIFICATION_RESEND_AFTER_SECONDS": "10",
    "NOTIFICATION_EMAIL_LEASE_SECONDS": "30",
    "STALE_REQUEST_SECONDS": "15",
    # Beat sends the deadline sweep every 10 s (production: 900); the fault also sends one.
    "DEADLINE_SWEEP_INTERVAL_SECONDS": "10",
}


# The same settings' values in production (their defaults), for the report.
PRODUCTION = {
    "CELERY_VISIBILITY_TIMEOUT": "3600",
    "LOST_WORK_SWEEP_INTERVAL_SECONDS": "300",
    "NOTIFICATION_RESEND_AFTER_SECONDS": "300",
    "NOTIFICATION_EMAIL_LEASE_SECONDS": "600",
    "STALE_REQUEST_SECONDS": "600",
    "DEADLINE_SWEEP_INTERVAL_SECONDS": "900",
}


@dataclass
class Result:
    fault: str
    what: str
    injected: int = 0
    requests: int = 0
    lost: int = 0
    duplicated: int = 0
    # Emails sent again with the same Message-ID: a worker killed after the mail server took
    # an email and before it stored that it was sent (at least once, by design).
    resent_emails: int = 0
    max_recovery_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def recovered(self, seconds: float) -> None:
        self.max_recovery_s = round(max(self.max_recovery_s, seconds), 1)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def emails(self, what: str, mails: list[Mail]) -> None:
        """Tally the emails about one thing (one notice, one certificate): none is lost; one
        more Message-ID is a duplicate; the same Message-ID again is a re-sent email."""
        distinct = len({mail.message_id for mail in mails})
        self.lost += distinct == 0
        self.duplicated += max(0, distinct - 1)
        self.resent_emails += len(mails) - distinct
        if len(mails) > 1:
            self.notes.append(
                f"{what}: {len(mails)} emails, {distinct} distinct Message-ID"
                + ("s" if distinct != 1 else "")
            )


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", flush=True)


# --- Emails ------------------------------------------------------------------------------------

ID_IN_BODY = re.compile(r"#(\d+)")


def mails_by(stack: Stack, subject_part: str) -> dict[str, list[Mail]]:
    """Emails whose subject holds ``subject_part``, by (recipient, first #id of body)."""
    found_by: dict[str, list[Mail]] = {}
    for mail in stack.sink.snapshot():
        if subject_part in mail.subject:
            found = ID_IN_BODY.search(mail.body)
            found_by.setdefault(f"{mail.to}|{found.group(1) if found else '?'}", []).append(mail)
    return found_by


def mails_naming(stack: Stack, needle: str) -> list[Mail]:
    return [mail for mail in stack.sink.snapshot() if needle in mail.body]


# --- a. worker killed while rendering certificates ----------------------------------------------


def fault_certificates(stack: Stack, world: Any, iterations: int) -> Result:
    result = Result("a", "worker SIGKILL during certificate generation")
    serials: list[str] = []
    for i in range(iterations):
        learners = world.learners(3, accredited=True)
        mine = []
        for learner in learners:
            status, body = stack.request(
                "POST", "/api/v1/certificates/", token=learner.token, body={"kind": "transcript"}
            )
            result.requests += 1
            if status != 202:
                result.notes.append(f"request answered {status}: {str(body)[:200]}")
                continue
            mine.append(body["serial"])
        serials += mine
        if not wait_for(lambda: world.worker_holds_row_lock("transfers_certificate"), 30, 0.02):
            result.notes.append(f"iteration {i}: no render caught in progress")
        time.sleep(random.uniform(0, 0.4))  # noqa: S311 - a point somewhere inside the render
        killed_at = time.monotonic()
        stack.kill("worker")
        result.injected += 1
        pending = sum(c.state == "requested" for c in world.certificates(mine))
        result.count("certificates still being made at the kill", pending)
        stack.worker_start()
        done = wait_for(
            lambda: all(c.state == "issued" for c in world.certificates(mine)),  # noqa: B023
            180,
            0.3,
        )
        result.recovered(time.monotonic() - killed_at)
        log(f"a{i}: killed with {pending}/{len(mine)} unfinished; all issued: {done}")

    # Emails may follow the issue by the re-send's delay.
    certificates = world.certificates(serials)
    wait_for(lambda: all(mails_naming(stack, s) for s in serials), 60, 0.5)
    notices = world.certificate_notices([c.pk for c in certificates])
    media = stack.var_dir / "media" / "certificates"
    files = sorted(p.name for p in media.glob("*")) if media.exists() else []
    for certificate in certificates:
        if certificate.state != "issued" or not certificate.pdf.name:
            result.lost += 1
            result.notes.append(f"certificate {certificate.serial} is {certificate.state}")
            continue
        name = Path(certificate.pdf.name).name
        if name not in files:
            result.lost += 1
            result.notes.append(f"certificate {certificate.serial}: its PDF is not stored")
        result.duplicated += max(0, notices[certificate.pk] - 1)
        result.lost += notices[certificate.pk] == 0
        result.emails(f"certificate {certificate.serial}", mails_naming(stack, certificate.serial))
    result.lost += len(serials) - len(certificates)
    result.duplicated += max(0, len(files) - len(certificates))
    result.count("certificates requested", len(serials))
    result.count("PDF files stored", len(files))
    return result


# --- b. worker killed during the deadline sweep -------------------------------------------------


def fault_sweep(stack: Stack, world: Any, iterations: int) -> Result:
    from accounts.models import Notification
    from creditbank.celery import app

    result = Result("b", "worker SIGKILL during the deadline sweep")
    reminded: list[int] = []
    escalated: list[int] = []
    for i in range(iterations):
        remind, escalate = world.sweep_applications(120, 120)
        reminded += remind
        escalated += escalate
        app.send_task("accreditation.tasks.deadline_sweep_task")
        result.requests += len(remind) + len(escalate)
        caught = wait_for(
            lambda: world.worker_holds_row_lock("accreditation_application"), 30, 0.01
        )
        if not caught:
            result.notes.append(f"iteration {i}: no sweep caught in progress")
        time.sleep(random.uniform(0, 0.3))  # noqa: S311
        killed_at = time.monotonic()
        stack.kill("worker")
        result.injected += 1
        stack.worker_start()
        # Beat's next sweep (or the killed task's message, delivered again) finishes the job.
        done = wait_for(
            lambda: world.applications_done(remind, escalate),  # noqa: B023
            180,
            0.3,
        )
        result.recovered(time.monotonic() - killed_at)
        log(f"b{i}: sweep caught in progress: {caught}; all notices stored: {done}")

    wanted = len(reminded) + len(escalated)
    wait_for(
        lambda: (
            len(mails_by(stack, "Decision due soon")) + len(mails_by(stack, "Decision overdue"))
            >= wanted
        ),
        90,
        0.5,
    )
    for kind, ids, subject, to in (
        (Notification.Kind.DEADLINE_REMINDER, reminded, "Decision due soon", world.reviewer_email),
        (Notification.Kind.DEADLINE_ESCALATION, escalated, "Decision overdue", world.admin_email),
    ):
        notices = world.notices(kind, ids)
        mails = mails_by(stack, subject)
        for pk in ids:
            result.lost += notices[pk] == 0
            result.duplicated += max(0, notices[pk] - 1)
            if notices[pk] > 1:
                result.notes.append(f"application {pk}: {notices[pk]} {kind.label} notices")
            result.emails(f"application {pk}, {subject}", mails.get(f"{to}|{pk}", []))
    result.count("applications swept", wanted)
    return result


# --- c. Redis stopped while learners submit applications ----------------------------------------


def fault_redis(stack: Stack, world: Any, iterations: int) -> Result:
    result = Result("c", "Redis SIGKILL while learners submit applications")
    accepted: dict[int, int] = {}  # outcome -> application id
    refused: list[int] = []
    for i in range(iterations):
        learners = world.learners(12, saved=True)
        answers: list[tuple[int, int, Any]] = []
        lock = threading.Lock()

        def submit(
            learner: Any,
            delay: float,
            answers: list[tuple[int, int, Any]] = answers,
            lock: threading.Lock = lock,
        ) -> None:
            time.sleep(delay)
            try:
                status, body = stack.request(
                    "POST",
                    "/api/v1/applications/",
                    token=learner.token,
                    body={"outcome": learner.saved, "centre": world.centre_code},
                )
            except OSError as exc:
                status, body = 0, repr(exc)
            with lock:
                answers.append((learner.saved, status, body))

        threads = [
            threading.Thread(target=submit, args=(x, n * 0.25)) for n, x in enumerate(learners)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.6)
        stack.redis_kill()
        result.injected += 1
        time.sleep(2.0)
        stack.redis_start()
        back_at = time.monotonic()
        for thread in threads:
            thread.join()
        result.requests += len(answers)
        for outcome, status, body in answers:
            if status == 201:
                accepted[outcome] = int(body["id"])
                result.count("answered 201 (accepted)")
            elif status == 503:
                refused.append(outcome)
                result.count("answered 503 (refused cleanly)")
            else:
                result.count(f"answered {status or 'no answer'}")
                result.notes.append(f"a submission was answered {status}: {str(body)[:200]}")
        ids = list(accepted.values())
        delivered = wait_for(
            lambda: (
                {str(pk) for pk in ids}  # noqa: B023
                <= {k.split("|")[1] for k in mails_by(stack, "Application received")}
            ),
            120,
            0.5,
        )
        result.recovered(time.monotonic() - back_at)
        log(f"c{i}: answers {Counter(s for _, s, _ in answers)}; emails delivered: {delivered}")

    apps = world.applications_of_outcomes(list(accepted) + refused)
    mails = mails_by(stack, "Application received")
    per_app: dict[str, list[Mail]] = {}
    for key, found in mails.items():
        per_app.setdefault(key.split("|")[1], []).extend(found)
    for outcome, application in accepted.items():
        result.lost += apps[outcome] == 0
        result.duplicated += max(0, apps[outcome] - 1)
        result.emails(f"application {application}", per_app.get(str(application), []))
    for outcome in refused:
        if apps[outcome]:
            result.notes.append(f"outcome {outcome}: refused with 503 but its application exists")
            result.duplicated += apps[outcome]
    return result


# --- d. PostgreSQL restarted under transfer load ------------------------------------------------


def fault_postgres(stack: Stack, world: Any, iterations: int) -> Result:
    result = Result("d", "PostgreSQL restart (immediate) under transfer load")
    everyone: list[Any] = []
    failures: Counter[str] = Counter()
    lock = threading.Lock()

    def call(method: str, path: str, token: str, body: Any, key: str | None = None) -> Any:
        """Retry as a client would until a final answer (a 2xx or a 4xx other than 409)."""
        deadline = time.monotonic() + 120
        headers = {"Idempotency-Key": key} if key else None
        while time.monotonic() < deadline:
            try:
                status, answer = stack.request(
                    method, path, token=token, body=body, headers=headers
                )
            except OSError:
                status, answer = 0, None
            with lock:
                result.requests += 1
                if status >= 500 or status in {0, 409}:
                    failures[f"answered {status or 'no answer'} (retried)"] += 1
            if status and status < 500 and status != 409:
                return status, answer
            time.sleep(0.3)
        return 0, "gave up after 120 s"

    def learner_load(learner: Any) -> None:
        for course, outcome in zip(world.course_ids, learner.outcomes, strict=True):
            status, body = call(
                "POST",
                "/api/v1/transfers/",
                learner.token,
                {
                    "programme": world.programme_id,
                    "items": [{"course": course, "outcome": outcome}],
                },
                key=str(uuid.uuid4()),
            )
            if status != 201:
                with lock:
                    result.notes.append(f"apply answered {status}: {str(body)[:200]}")
                continue
            item = body["items"][0]["id"]
            status, body = call(
                "POST",
                f"/api/v1/transfers/items/{item}/decide/",
                world.officer_token,
                {"decision": "accept"},
            )
            if status != 200:
                with lock:
                    result.notes.append(f"accept of item {item} answered {status}: {body}")

    for i in range(iterations):
        learners = world.learners(6, accredited=True)
        everyone += learners
        threads = [threading.Thread(target=learner_load, args=(x,)) for x in learners]
        for thread in threads:
            thread.start()
        time.sleep(random.uniform(0.3, 1.0))  # noqa: S311
        stopped_at = time.monotonic()
        stack.pg_stop("immediate")
        result.injected += 1
        time.sleep(1.0)
        stack.pg_start()
        ready = wait_for(lambda: stack.get_status("/readyz") == 200, 60, 0.1)
        recovery = time.monotonic() - stopped_at
        result.recovered(recovery)
        for thread in threads:
            thread.join()
        log(f"d{i}: /readyz back after {recovery:.1f} s (ready: {ready})")

    state = world.transfer_state(everyone)
    expected = Decimal(len(world.course_ids)) * Decimal("3")
    for learner in everyone:
        for course in world.course_ids:
            items = state["items"].get((learner.account_id, course), [])
            accepted = [x for x in items if x.state == "accepted"]
            result.lost += not accepted
            result.duplicated += max(0, len(accepted) - 1)
            for item in accepted:
                n = state["entries"].get(str(item.pk), 0)
                result.lost += n == 0
                result.duplicated += max(0, n - 1)
        status, me = stack.request("GET", "/api/v1/accounts/me/", token=learner.token)
        total = Decimal(str(me.get("transferred_credits"))) if status == 200 else None
        summed = state["sums"].get(learner.account_id, Decimal(0))
        if total != summed or summed != expected:
            result.notes.append(
                f"account {learner.account_id}: API total {total}, entries sum {summed}, "
                f"expected {expected}"
            )
            result.count("accounts whose total is not the sum of entries")
    result.count("transfers intended", len(everyone) * len(world.course_ids))
    for name, n in failures.items():
        result.count(name, n)
    return result


# --- Report ------------------------------------------------------------------------------------

HEADER = [
    "fault",
    "times injected",
    "requests made",
    "lost",
    "duplicated",
    "emails re-sent (same Message-ID)",
    "max recovery (s)",
]


def table(results: list[Result]) -> str:
    rows = [
        [
            f"{r.fault}. {r.what}",
            str(r.injected),
            str(r.requests),
            str(r.lost),
            str(r.duplicated),
            str(r.resent_emails),
            f"{r.max_recovery_s:.1f}",
        ]
        for r in results
    ]
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_overview(results: list[Result], date: str) -> None:
    """The summary between the markers of docs/reliability.md."""
    if not OVERVIEW.exists():
        return
    text = OVERVIEW.read_text()
    if BEGIN not in text or END not in text:
        return
    postgres = [r for r in results if r.fault == "d"]
    back = (
        f" PostgreSQL answered again within {postgres[0].max_recovery_s:.1f} s of its stop "
        "(limit 30 s)."
        if postgres
        else ""
    )
    summary = (
        f"Last run of `make faults`: {date}. "
        f"{sum(r.injected for r in results)} faults injected, "
        f"{sum(r.requests for r in results)} requests made, "
        f"**{sum(r.lost for r in results)} lost, "
        f"{sum(r.duplicated for r in results)} duplicated**; "
        f"{sum(r.resent_emails for r in results)} emails sent again with the same Message-ID "
        f"(at least once, by design).{back}"
    )
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    OVERVIEW.write_text(f"{head}{BEGIN}\n{summary}\n\n{table(results)}\n{END}{tail}")


def write_reports(
    results: list[Result], started: datetime.datetime, seconds: float, machine: str
) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round(seconds, 1),
        "machine": machine,
        "tuning": TUNING,
        "results": [asdict(r) for r in results],
    }
    RESULTS.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    SECTION.parent.mkdir(parents=True, exist_ok=True)
    details = []
    for r in results:
        details.append(f"**{r.fault}. {r.what}**\n")
        for name, n in sorted(r.counts.items()):
            details.append(f"- {name}: {n}")
        for note in r.notes[:20]:
            details.append(f"- note: {note}")
        if len(r.notes) > 20:
            details.append(f"- … {len(r.notes) - 20} more notes in bench/results/faults.json")
        details.append("")
    SECTION.write_text(
        SECTION_TEMPLATE.format(
            date=started.strftime("%Y-%m-%d %H:%M UTC"),
            minutes=f"{seconds / 60:.1f}",
            machine=machine,
            table=table(results),
            details="\n".join(details),
            tuning="\n".join(
                f"- `{k}={v}` (production: {PRODUCTION.get(k, '?')})" for k, v in TUNING.items()
            ),
        )
    )
    write_overview(results, started.strftime("%Y-%m-%d %H:%M UTC"))


def reports_from_json() -> None:
    """Write the section and the overview again from bench/results/faults.json."""
    payload = json.loads(RESULTS.read_text())
    results = [Result(**r) for r in payload["results"]]
    write_reports(
        results,
        datetime.datetime.fromisoformat(payload["date"]),
        float(payload["duration_s"]),
        payload.get("machine", "the development machine"),
    )


SECTION_TEMPLATE = """## Fault injection (`make faults`)

Last run: {date}, {minutes} minutes, on {machine}.
Figures are written by `bench/faults/run.py`; the raw numbers are in `bench/results/faults.json`.

{table}

"Requests made" are HTTP requests to the portal, retries included (a, c, d), and for b the
applications the sweep had to remind or escalate. "Lost" counts anything asked for that did not
happen at least once (a certificate not issued, a missing PDF, notice or email, a transfer not
booked, a ledger entry missing); "duplicated" counts anything that happened more than once
(for emails: a second email, with its own Message-ID, about one thing). "Emails re-sent" counts
an email sent again with the same Message-ID: the worker was killed after the mail server took
it and before it stored that it was sent, and after the lease the email went out again. Email
is delivered at least once by design (never lost); a mail store that keeps one message per
Message-ID shows it once.
Recovery: (a, b) from the SIGKILL until every certificate is issued / every notice stored; (c)
from Redis being back until every accepted application's email has arrived; (d) from the stop
of PostgreSQL until `/readyz` answers 200 again (the 30 s limit).

### How

The script starts its own stack and never touches the machine's shared servers: a PostgreSQL
cluster made with `initdb` under `var/faults/`, a `redis-server` with the append-only file on
(as docker-compose runs it), gunicorn (2 workers × 4 threads) with `DJANGO_ENV=production`
(clients send `X-Forwarded-Proto: https` as the TLS proxy would), a Celery worker (prefork, 2
children) and beat, and an SMTP sink that records every email. A worker is killed with SIGKILL
to its whole process group (main process and pool children, as a crashed container). Redis is
killed with SIGKILL and restarted 2 s later. PostgreSQL is stopped with `pg_ctl -m immediate`
(no checkpoint: it recovers from its WAL, as after a crash) and started 1 s later.

Timings shortened so that a run takes minutes (the recovery times above scale with them: in
production a certificate whose worker died is made again within about 10 minutes, a sweep is
finished by the next one, 15 minutes later, and a lost email goes out within 5 to 10 minutes):

{tuning}

### What each fault did

{details}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--only", default="a,b,c,d")
    parser.add_argument("--keep", action="store_true", help="keep var/faults/<run>/ afterwards")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the docs from the last JSON results"
    )
    args = parser.parse_args(argv)
    if args.report_only:
        reports_from_json()
        return 0

    started = datetime.datetime.now(datetime.UTC)
    t0 = time.monotonic()
    machine = f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start"
    run_dir = ROOT / "var" / "faults" / started.strftime("%Y%m%d-%H%M%S")
    stack = Stack(run_dir)
    results: list[Result] = []
    try:
        log(f"stack in {run_dir}")
        stack.pg_init()
        stack.redis_start()
        os.environ.update(stack.portal_env(**TUNING))
        stack.manage("migrate", "--noinput")
        stack.manage("collectstatic", "--noinput")
        stack.manage("compile_translations")
        stack.web_start()
        stack.worker_start()
        stack.beat_start()
        stack.supervise()

        import django

        os.environ["DJANGO_SETTINGS_MODULE"] = "creditbank.settings"
        django.setup()
        from .world import World

        world = World.build()
        log("stack up; world seeded")
        faults = {
            "a": fault_certificates,
            "b": fault_sweep,
            "c": fault_redis,
            "d": fault_postgres,
        }
        for name in args.only.split(","):
            log(f"fault {name}")
            before, hung_before = dict(stack.restarts), dict(stack.hung)
            result = faults[name](stack, world, args.iterations)
            for process, n in stack.restarts.items():
                if n > before.get(process, 0):
                    result.count(
                        f"{process} exited by itself and was restarted by the supervisor",
                        n - before.get(process, 0),
                    )
            for process, n in stack.hung.items():
                if n > hung_before.get(process, 0):
                    result.count(
                        f"{process} stopped consuming after an unrecoverable error "
                        "(killed and restarted, as a liveness probe would)",
                        n - hung_before.get(process, 0),
                    )
            results.append(result)
            print(table(results[-1:]), flush=True)
    finally:
        stack.stop_all()
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    seconds = time.monotonic() - t0
    print(table(results))
    write_reports(results, started, seconds, machine)
    bad = sum(r.lost + r.duplicated for r in results)
    bad += sum(r.max_recovery_s > 30 for r in results if r.fault == "d")
    # A process that gave up after an unrecoverable error is a product fault too (the broker
    # transport of creditbank/broker.py fixed the one fault c used to find).
    bad += sum(stack.hung.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
