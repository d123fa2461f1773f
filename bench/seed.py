"""Fill a scratch PostgreSQL database with N learning accounts and what hangs on them, by COPY.

Per account (on average): 1 user, 1 account, 1 lifelong learning file, 10 learning outcomes
(5 to 15), 1 open application (submitted or in review, spread over the branch centres and over
the working days of the 15-day clock), 1 accredited application with its decision and ledger
entry, 3 application events, 2 business transactions; every 10th account has an issued,
signed transcript; every 100th whose accredited outcome converts to a course (about 3 in 10) a
pending credit transfer. Identity numbers are valid resident
ID numbers, Fernet-encrypted and blind-indexed with the portal's own keys, so the app reads
every row as it would its own.

The rows are generated in Python as COPY text and streamed chunk by chunk (bounded memory).
Foreign keys are not checked row by row during the load (``session_replication_role =
replica`` switches off the RI triggers, as pg_restore does); every check constraint and unique
index still applies, the ledger's append-only trigger is for UPDATE/DELETE only, the COPY into
a partitioned parent (business transactions, application events; ADR 0024) puts each row in
its year's partition, and :func:`orphans_check` verifies the foreign keys afterwards with
anti-joins.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from stdnum import damm

from accounts.identity import crypto
from accounts.identity.numbers import mask_identity_number
from accounts.models import Centre, LearningAccount, Role, User
from accounts.notifications.services import portal_url
from accreditation.calendar import deadline_from, local_date, subtract_working_days
from accreditation.models import CatalogueEntryVersion
from transfers.certificates.content import CONTENT_VERSION
from transfers.certificates.signing import canonical_bytes, key_id_of, signing_key
from transfers.models import ConversionRule

BENCH_PASSWORD = "Bench-Learner-2026"  # noqa: S105 - scratch data, printed on purpose
EXTRA_CENTRES = 18
CHUNK = 20_000
# Account numbers of seeded learners: XF + 9 digits from this base + Damm check digit.
NUMBER_BASE = 700_000_000

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力俊峰琳雪梅宇浩"
PROVIDERS = ["重庆开放大学", "重庆市职业技能鉴定指导中心", "重庆工商职业学院", "中国大学MOOC"]
ISSUER = "重庆市终身教育学分银行 / Chongqing Credit Bank"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(i: int) -> tuple[str, datetime.date, str]:
    """A valid, unique resident ID number for seeded person ``i``."""
    born = datetime.date(1960, 1, 1) + datetime.timedelta(days=(i // 500) % 14_000)
    sequence = f"{i % 500 + 500 * ((i // 500) // 14_000):03d}"
    assert len(sequence) == 3, "resident_id numbers are unique and valid below 7,000,000"
    body = f"500103{born:%Y%m%d}{sequence}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]
    gender = "male" if int(sequence[-1]) % 2 else "female"
    return body + check, born, gender


def account_number(i: int) -> str:
    digits = f"{NUMBER_BASE + i:09d}"
    return "XF" + digits + damm.calc_check_digit(digits)


def _ts(moment: datetime.datetime) -> str:
    return moment.isoformat()


def _row(*values: Any) -> str:
    return "\t".join("\\N" if v is None else str(v) for v in values) + "\n"


@dataclass
class Tables:
    """COPY text per table for one chunk, and the next id of each table."""

    next_id: dict[str, int]
    rows: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, line: str) -> None:
        self.rows.setdefault(table, []).append(line)

    def take_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value


COLUMNS = {
    "accounts_user": "id, password, is_superuser, username, email, is_staff, is_active, "
    "date_joined, name, phone, role",
    "accounts_learningaccount": "id, number, kind, status, holder_id, id_type, "
    "id_number_encrypted, id_number_index, id_number_masked, birth_date, gender, "
    "identity_check, opened_at, document_note, decision_note",
    "accounts_lifelonglearningfile": "id, account_id, created_at",
    "accounts_businesstransaction": "id, account_id, kind, occurred_at, actor_id, details",
    "outcomes_learningoutcome": "id, account_id, kind, title, issuing_body, certificate_number, "
    "achieved_on, content, mode, place, provider, hours, result, status, version, created_at, "
    "updated_at",
    "accreditation_application": "id, outcome_id, account_id, centre_id, kind, claimed_entry_id, "
    "statement, state, assigned_to_id, submitted_at, clock_started_on, clock_days, due_on, "
    "remind_on, due_is_provisional, reminded_at, escalated_at, decided_at, proposal_reason, "
    "updated_at",
    "accreditation_applicationevent": "id, application_id, action, from_state, to_state, "
    "actor_id, reason, details, occurred_at",
    "accreditation_decision": "id, application_id, result, basis, catalogue_version_id, hours, "
    "credits, reason, decided_by_id, decided_at, on_time",
    "accounts_ledgerentry": "id, account_id, book, hours, credits, cause_type, cause_id, "
    "created_at",
    "transfers_transferapplication": "id, account_id, programme_id, state, submitted_at",
    "transfers_transferitem": "id, application_id, course_id, programme_id, account_id, "
    "outcome_id, rule_id, credits, state, reason",
    "transfers_certificate": "id, serial, account_id, kind, disclose, state, content, "
    "signature, key_id, file_token, pdf, requested_by_id, requested_at, issued_at",
}


@dataclass
class Reference:
    """What the seeded rows point at: centres with their reviewers, catalogue, rules."""

    centres: list[tuple[int, int, str]]  # (centre id, reviewer id, centre name)
    versions: list[CatalogueEntryVersion]
    rules: dict[int, ConversionRule]  # by catalogue entry id
    deadlines: list[tuple[datetime.date, datetime.date, datetime.date, bool]]
    overdue: list[tuple[datetime.date, datetime.date, datetime.date, bool]]
    today: datetime.date
    password: str
    outcome_text: dict[int, str] = field(default_factory=dict)
    key: Any = None
    key_id: str = ""


def reference_data(out: Callable[[str], None]) -> Reference:
    """seed_demo's centres, staff, catalogue and rules, plus more branch centres with a
    reviewer and an administrator each, so the open applications spread over 20 centres."""
    if not Centre.objects.exists():
        call_command("seed_demo", stdout=io.StringIO())
    management = Centre.objects.get(kind=Centre.Kind.MANAGEMENT)
    for n in range(1, EXTRA_CENTRES + 1):
        centre, _ = Centre.objects.get_or_create(
            code=f"CQ-B{n:02d}",
            defaults={
                "name": f"第{n}学习成果认证分中心",
                "kind": Centre.Kind.BRANCH,
                "parent": management,
            },
        )
        for role, prefix in ((Role.CENTRE_REVIEWER, "reviewer"), (Role.CENTRE_ADMIN, "admin")):
            User.objects.get_or_create(
                username=f"{prefix}.b{n:02d}",
                defaults={"role": role, "centre": centre, "name": f"{prefix} {n}"},
            )
    centres = []
    for centre in Centre.objects.filter(kind=Centre.Kind.BRANCH).order_by("id"):
        reviewer = centre.staff.filter(role=Role.CENTRE_REVIEWER).order_by("id").first()
        assert reviewer is not None, centre
        centres.append((centre.pk, reviewer.pk, centre.name))
    versions = list(
        CatalogueEntryVersion.objects.filter(effective_to__isnull=True).order_by("entry_id")
    )
    rules = {
        rule.entry_id: rule
        for rule in ConversionRule.objects.select_related("course").order_by("-id")
        if rule.effective_to is None
    }
    today = local_date(timezone.now())
    deadlines = []
    for k in range(15):  # started k working days ago: due in 15 - k working days
        start = subtract_working_days(today, k)
        d = deadline_from(start, 15)
        deadlines.append((start, d.due_on, d.remind_on, d.provisional))
    overdue = []
    for k in range(16, 19):
        start = subtract_working_days(today, k)
        d = deadline_from(start, 15)
        overdue.append((start, d.due_on, d.remind_on, d.provisional))
    outcome_text = {v.pk: f"{v.kind}\t{v.name}\t{v.issuing_body}\t" for v in versions}
    out(f"reference: {len(centres)} branch centres, {len(versions)} catalogue entries")
    return Reference(
        centres=centres,
        versions=versions,
        rules=rules,
        deadlines=deadlines,
        overdue=overdue,
        today=today,
        password=make_password(BENCH_PASSWORD),
        outcome_text=outcome_text,
        key=signing_key(),
        key_id=key_id_of(signing_key().public_key()),
    )


def _at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=timezone.get_current_timezone()
    )


def _account_rows(i: int, ref: Reference, t: Tables, now: datetime.datetime) -> None:
    user_id = t.take_id("accounts_user")
    account_id = t.take_id("accounts_learningaccount")
    number = account_number(i)
    name = (
        SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)] + GIVEN[(i // 53) % len(GIVEN)]
    )
    id_number, born, gender = resident_id(i)
    opened = now - datetime.timedelta(days=400 + i % 1500)
    opened_text = opened.isoformat()
    t.add(
        "accounts_user",
        _row(user_id, ref.password, "f", number, "", "f", "t", _ts(opened), name, "", "learner"),
    )
    t.add(
        "accounts_learningaccount",
        _row(
            account_id,
            number,
            "personal",
            "active",
            user_id,
            "resident_id",
            crypto.encrypt(id_number),
            crypto.blind_index(id_number),
            mask_identity_number(id_number),
            born.isoformat(),
            gender,
            "online_self_declared",
            _ts(opened),
            "",
            "",
        ),
    )
    t.add(
        "accounts_lifelonglearningfile",
        _row(t.take_id("accounts_lifelonglearningfile"), account_id, _ts(opened)),
    )
    t.add(
        "accounts_businesstransaction",
        _row(
            t.take_id("accounts_businesstransaction"),
            account_id,
            "account_opened",
            _ts(opened),
            user_id,
            '{"identity_check": "online_self_declared"}',
        ),
    )
    n_outcomes = 5 + (i * 7919) % 11
    versions = ref.versions
    for k in range(n_outcomes):
        outcome_id = t.take_id("outcomes_learningoutcome")
        version = versions[(i + k * 5) % len(versions)]
        status = "submitted" if k == 0 else "accredited" if k == 1 else "saved"
        achieved = (opened + datetime.timedelta(days=30 * k + 10)).date()
        # The columns the catalogue entry decides are formatted once per entry.
        t.add(
            "outcomes_learningoutcome",
            f"{outcome_id}\t{account_id}\t{ref.outcome_text[version.pk]}\t{achieved}\t\t\t\t"
            f"{PROVIDERS[(i + k) % len(PROVIDERS)]}\t{version.hours}\t\t{status}\t1\t"
            f"{opened_text}\t{opened_text}\n",
        )
        if k == 0:
            _open_application(i, ref, t, outcome_id, account_id, user_id, version)
        elif k == 1:
            _accredited_application(
                i, ref, t, outcome_id, account_id, user_id, version, achieved, name, number
            )


def _open_application(
    i: int,
    ref: Reference,
    t: Tables,
    outcome_id: int,
    account_id: int,
    user_id: int,
    version: CatalogueEntryVersion,
) -> None:
    centre_id, reviewer_id, _name = ref.centres[i % len(ref.centres)]
    # 2% overdue; the rest spread evenly over the 15 working days of the clock.
    if i % 50 == 7:
        start, due, remind, provisional = ref.overdue[(i // 50) % len(ref.overdue)]
    else:
        start, due, remind, provisional = ref.deadlines[(i // 3) % len(ref.deadlines)]
    submitted = _at(start)
    # Earlier sweeps already sent what was due before today.
    reminded = _ts(_at(remind, 9)) if remind < ref.today else None
    escalated = _ts(_at(ref.today, 0)) if due < ref.today and due != ref.overdue[0][1] else None
    in_review = i % 10 < 3
    app_id = t.take_id("accreditation_application")
    t.add(
        "accreditation_application",
        _row(
            app_id,
            outcome_id,
            account_id,
            centre_id,
            version.kind,
            version.entry_id if i % 2 else None,
            "",
            "in_review" if in_review else "submitted",
            reviewer_id if in_review else None,
            _ts(submitted),
            start.isoformat(),
            15,
            due.isoformat(),
            remind.isoformat(),
            "t" if provisional else "f",
            reminded,
            escalated,
            None,
            "",
            _ts(submitted),
        ),
    )
    t.add(
        "accreditation_applicationevent",
        _row(
            t.take_id("accreditation_applicationevent"),
            app_id,
            "submit",
            "submitted",
            "submitted",
            user_id,
            "",
            "{}",
            _ts(submitted),
        ),
    )


def _accredited_application(
    i: int,
    ref: Reference,
    t: Tables,
    outcome_id: int,
    account_id: int,
    user_id: int,
    version: CatalogueEntryVersion,
    achieved: datetime.date,
    name: str,
    number: str,
) -> None:
    centre_id, reviewer_id, centre_name = ref.centres[(i + 1) % len(ref.centres)]
    submitted = _at(achieved + datetime.timedelta(days=20))
    decided = submitted + datetime.timedelta(days=12)
    app_id = t.take_id("accreditation_application")
    t.add(
        "accreditation_application",
        _row(
            app_id,
            outcome_id,
            account_id,
            centre_id,
            version.kind,
            version.entry_id,
            "",
            "accredited",
            reviewer_id,
            _ts(submitted),
            submitted.date().isoformat(),
            15,
            None,
            None,
            "f",
            None,
            None,
            _ts(decided),
            "",
            _ts(decided),
        ),
    )
    for action, from_state, to_state, actor, when in (
        ("submit", "submitted", "submitted", user_id, submitted),
        ("accredit", "in_review", "accredited", reviewer_id, decided),
    ):
        t.add(
            "accreditation_applicationevent",
            _row(
                t.take_id("accreditation_applicationevent"),
                app_id,
                action,
                from_state,
                to_state,
                actor,
                "",
                "{}",
                _ts(when),
            ),
        )
    decision_id = t.take_id("accreditation_decision")
    t.add(
        "accreditation_decision",
        _row(
            decision_id,
            app_id,
            "accredited",
            "catalogue",
            version.pk,
            version.hours,
            version.credits,
            "",
            reviewer_id,
            _ts(decided),
            "t",
        ),
    )
    t.add(
        "accounts_ledgerentry",
        _row(
            t.take_id("accounts_ledgerentry"),
            account_id,
            "accumulated",
            version.hours,
            version.credits,
            "accreditation_decision",
            decision_id,
            _ts(decided),
        ),
    )
    t.add(
        "accounts_businesstransaction",
        _row(
            t.take_id("accounts_businesstransaction"),
            account_id,
            "application_decided",
            _ts(decided),
            reviewer_id,
            json.dumps({"application": app_id, "result": "accredited"}, ensure_ascii=False),
        ),
    )
    rule = ref.rules.get(version.entry_id)
    if rule is not None and i % 100 == 0:
        transfer_id = t.take_id("transfers_transferapplication")
        t.add(
            "transfers_transferapplication",
            _row(transfer_id, account_id, rule.course.programme_id, "pending", _ts(decided)),
        )
        t.add(
            "transfers_transferitem",
            _row(
                t.take_id("transfers_transferitem"),
                transfer_id,
                rule.course_id,
                rule.course.programme_id,
                account_id,
                outcome_id,
                rule.pk,
                rule.credits,
                "pending",
                "",
            ),
        )
    if i % 10 == 0:
        serial = secrets.token_urlsafe(18)
        issued = decided + datetime.timedelta(days=3)
        content = {
            "version": CONTENT_VERSION,
            "issuer": {
                "name": "重庆市终身教育学分银行 / Chongqing Credit Bank",
                "url": portal_url() + "/",
            },
            "serial": serial,
            "kind": "transcript",
            "issued_on": issued.date().isoformat(),
            "period": None,
            "learner": {
                "name": name,
                "id_type": "resident_id",
                "id_number_masked": "500***********" + str(i % 10_000).zfill(4),
                "account_number": number,
            },
            "items": [
                {
                    "outcome": version.name,
                    "catalogue_code": "",
                    "learned_on": achieved.isoformat(),
                    "accredited_on": decided.date().isoformat(),
                    "centre": centre_name,
                    "hours": f"{version.hours}",
                    "credits": f"{version.credits}",
                }
            ],
            "totals": {
                "hours": f"{version.hours}",
                "credits": f"{version.credits}",
                "transferred_credits": "0.0",
            },
            "disclose": [],
            "transfers": [],
        }
        signature = base64.b64encode(ref.key.sign(canonical_bytes(content))).decode()
        t.add(
            "transfers_certificate",
            _row(
                t.take_id("transfers_certificate"),
                serial,
                account_id,
                "transcript",
                "[]",
                "issued",
                json.dumps(content, ensure_ascii=False).replace("\\", "\\\\"),
                signature,
                ref.key_id,
                uuid.uuid4(),
                "",
                user_id,
                _ts(issued),
                _ts(issued),
            ),
        )


def _next_ids() -> dict[str, int]:
    ids = {}
    with connection.cursor() as cursor:
        for table in COLUMNS:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608
            ids[table] = cursor.fetchone()[0]
    return ids


def _copy(t: Tables) -> int:
    written = 0
    with connection.cursor() as cursor:
        for table, columns in COLUMNS.items():
            lines = t.rows.get(table)
            if not lines:
                continue
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write("".join(lines))
            t.counts[table] = t.counts.get(table, 0) + len(lines)
            written += len(lines)
    t.rows = {}
    return written


def orphans_check() -> dict[str, int]:
    """Rows whose foreign key points nowhere (must all be 0): the load ran without RI triggers."""
    checks = {
        "account.holder": "accounts_learningaccount a LEFT JOIN accounts_user u ON u.id = "
        "a.holder_id WHERE a.holder_id IS NOT NULL AND u.id IS NULL",
        "outcome.account": "outcomes_learningoutcome o LEFT JOIN accounts_learningaccount a ON "
        "a.id = o.account_id WHERE a.id IS NULL",
        "application.outcome": "accreditation_application p LEFT JOIN outcomes_learningoutcome "
        "o ON o.id = p.outcome_id WHERE o.id IS NULL",
        "decision.application": "accreditation_decision d LEFT JOIN accreditation_application p "
        "ON p.id = d.application_id WHERE p.id IS NULL",
        "ledger.account": "accounts_ledgerentry l LEFT JOIN accounts_learningaccount a ON a.id "
        "= l.account_id WHERE a.id IS NULL",
    }
    found = {}
    with connection.cursor() as cursor:
        for name, sql in checks.items():
            cursor.execute(f"SELECT count(*) FROM {sql}")  # noqa: S608
            found[name] = cursor.fetchone()[0]
    return found


def seed(*, accounts: int, start: int = 0, out: Callable[[str], None] = print) -> dict[str, Any]:
    """Add ``accounts`` seeded learners (numbered from ``start``) to the database."""
    assert connection.vendor == "postgresql", "bench_seed needs PostgreSQL (COPY)"
    with transaction.atomic():
        ref = reference_data(out)
    started = time.perf_counter()
    if LearningAccount.objects.filter(number=account_number(start)).exists():
        raise RuntimeError(f"seeded accounts from {start} are already there")
    t = Tables(next_id=_next_ids())
    now = timezone.now()
    rows = 0
    for chunk_start in range(start, start + accounts, CHUNK):
        chunk_end = min(chunk_start + CHUNK, start + accounts)
        with transaction.atomic():
            # For this transaction only: behind PgBouncer in transaction mode the next one may
            # run on another server connection, which a session-wide SET would not reach.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            for i in range(chunk_start, chunk_end):
                _account_rows(i, ref, t, now)
            rows += _copy(t)
        elapsed = time.perf_counter() - started
        out(
            f"  {chunk_end - start:>9,} accounts  {rows:>11,} rows  "
            f"{elapsed:7.1f} s  {rows / elapsed:9,.0f} rows/s"
        )
    load_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        for table in COLUMNS:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT GREATEST(MAX(id), 1) FROM {table}))"
            )
    analyze_started = time.perf_counter()
    with connection.cursor() as cursor:
        # VACUUM as well as ANALYZE: a table that was only ever appended to by COPY has no
        # visibility map yet, so every index-only scan (the queue's count over its partial
        # index) would read the heap instead: 1 s instead of 27 ms at 1,000,000 accounts. A
        # live database's autovacuum keeps that map; this puts the seeded one in that state.
        cursor.execute("VACUUM (ANALYZE)")
    analyze_seconds = time.perf_counter() - analyze_started
    orphans = orphans_check()
    if any(orphans.values()):
        raise RuntimeError(f"foreign keys point nowhere: {orphans}")
    return {
        "accounts": accounts,
        "rows": rows,
        "tables": t.counts,
        "load_seconds": round(load_seconds, 1),
        "rows_per_second": round(rows / load_seconds),
        "analyze_seconds": round(analyze_seconds, 1),
        "orphans": orphans,
    }
