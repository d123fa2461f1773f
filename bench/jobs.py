"""The benchmarks of background work, each run in a process of its own with Django set up on
the benchmark's database (``python -m bench job <name> ...``, started by bench/suite.py):

* ``sweep``: the deadline sweep over every open application, then a second sweep (must send
  nothing); what the first sweep wrote is undone afterwards, so the run can be repeated.
* ``import``: a collective account's import of members from a CSV file; rows/s and the process's
  peak memory (the file is generated first and its size subtracted from nothing: the figure is
  the whole process's high-water mark).
* ``pdf``: certificates rendered and signed one after another in one process, as one worker
  process does; PDFs/s and size.
* ``transfers``: 8 processes applying for credit transfers at once; transfers/s.
* ``whatif``: the what-if across programmes (issue 24) of the learners with the most outcomes,
  over 200 published programmes (added for the run, rolled back); queries and CPU time each.
"""

from __future__ import annotations

import csv
import datetime
import io
import multiprocessing
import resource
import tempfile
import time
from typing import IO, Any, BinaryIO, cast

from django.db import connection, transaction
from django.utils import timezone


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- Deadline sweep ----------------------------------------------------------------------------


def sweep() -> dict[str, Any]:
    from accounts.models import Notification
    from accreditation.deadlines import deadline_sweep
    from accreditation.models import OPEN_STATES, Application

    open_count = Application.objects.filter(state__in=[s.value for s in OPEN_STATES]).count()
    now = timezone.now()
    started = time.perf_counter()
    first = deadline_sweep(now=now)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = deadline_sweep(now=now + datetime.timedelta(minutes=15))
    second_seconds = time.perf_counter() - started
    notices = Notification.objects.filter(
        kind__in=[Notification.Kind.DEADLINE_REMINDER, Notification.Kind.DEADLINE_ESCALATION],
        created_at__gte=now,
    )
    notices_sent = notices.count()
    # Undo: the seeded state comes back, so the next run measures the same work.
    with transaction.atomic():
        notices.delete()
        Application.objects.filter(reminded_at=now).update(reminded_at=None)
        Application.objects.filter(escalated_at=now).update(escalated_at=None)
    # The undo leaves dead rows and pages no longer all-visible; the queue's count would then
    # read the heap in the next HTTP run (160 ms instead of 27 ms at 1,000,000), as it would
    # not on a live database that autovacuum keeps.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) accreditation_application, accounts_notification")
    return {
        "open_applications": open_count,
        "first_sweep_seconds": round(first_seconds, 2),
        "reminded": first.reminded,
        "escalated": first.escalated,
        "notices_sent": notices_sent,
        "applications_per_second": round((first.reminded + first.escalated) / first_seconds),
        "second_sweep_seconds": round(second_seconds, 3),
        "second_sweep_reminded": second.reminded,
        "second_sweep_escalated": second.escalated,
        "target_seconds": 60,
        "target_met": first_seconds < 60 and second.reminded == 0 and second.escalated == 0,
    }


# --- Collective import -------------------------------------------------------------------------


def _collective() -> tuple[Any, Any]:
    from accounts.models import LearningAccount, Role, User
    from accounts.services import account_number_generate

    admin = User.objects.get(username="inst.admin", role=Role.INSTITUTION_ADMIN)
    assert admin.institution_id is not None
    collective = LearningAccount.objects.filter(institution_id=admin.institution_id).first()
    if collective is None:
        collective = LearningAccount.objects.create(
            number=account_number_generate(kind=LearningAccount.Kind.COLLECTIVE),
            kind=LearningAccount.Kind.COLLECTIVE,
            status=LearningAccount.Status.ACTIVE,
            institution_id=admin.institution_id,
        )
    return collective, admin


def members_csv(rows: int, *, first: int, out: IO[str] | None = None) -> bytes:
    """A member list as an institution would upload it: the template's Chinese headings.
    Written to ``out`` a row at a time when given (then returns nothing)."""
    from accounts.collective.imports import TEMPLATE_HEADINGS

    from .seed import GIVEN, SURNAMES, resident_id

    buffer = io.StringIO()
    writer = csv.writer(buffer if out is None else out)
    writer.writerow(TEMPLATE_HEADINGS)
    for n in range(first, first + rows):
        number, _born, _gender = resident_id(n)
        name = SURNAMES[n % len(SURNAMES)] + GIVEN[(n // 3) % len(GIVEN)]
        writer.writerow([name, "居民身份证", number, f"136{n % 10**8:08d}", f"m{n}@example.cn"])
    return buffer.getvalue().encode("utf-8")


def import_members(*, rows: int) -> dict[str, Any]:
    """The file is written to disk first and read from there as the import goes, as an upload
    spooled to a temporary file would be: the process never holds it whole. A file beyond the
    upload's limits (100,000 rows, 10 MB) is imported with the limits raised, to show that
    memory does not grow with the file."""
    from accounts.collective.imports import MAX_ROWS
    from accounts.collective.services import collective_members_import
    from common.tables import MAX_FILE_BYTES

    collective, admin = _collective()
    # People numbered above any seeded learner: every row opens a new account (resident_id
    # numbers are valid up to 7,000,000; a run of a million rows takes a block of its own).
    first = 1_000_000 + (int(time.time()) % 5) * 1_200_000
    with tempfile.TemporaryFile() as file:
        text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        members_csv(rows, first=first, out=text)
        text.flush()
        size = file.tell()
        text.detach()  # closing the text would close the file
        file.seek(0)
        before_mb = _rss_mb()
        started = time.perf_counter()
        result = collective_members_import(
            collective=collective,
            uploaded_by=admin,
            filename="members.csv",
            data=cast(BinaryIO, file),
            max_rows=max(rows, MAX_ROWS),
            max_bytes=max(size, MAX_FILE_BYTES),
        )
        seconds = time.perf_counter() - started
    peak = _rss_mb()
    return {
        "rows": rows,
        "file_mb": round(size / 1024 / 1024, 1),
        "accounts_opened": result.accounts_opened,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "peak_rss_mb": round(peak),
        "rss_before_import_mb": round(before_mb),
        "target_rows_per_second": 3000,
        "target_peak_mb": 300,
        "target_met": rows / seconds >= 3000 and peak < 300,
    }


# --- Certificate PDFs --------------------------------------------------------------------------


def pdfs(*, count: int) -> dict[str, Any]:
    from accounts.models import LearningAccount, User
    from transfers.certificates.issuing import certificate_render, certificate_request
    from transfers.models import Certificate

    accounts = list(
        # A transcript needs something to list (an empty one is refused): learners with an
        # accredited result. Which seeded learners have one depends on the seed's draw.
        LearningAccount.objects.filter(
            kind="personal",
            number__startswith="XF7",
            applications__decision__result="accredited",
        )
        .distinct()
        .select_related("holder")
        .order_by("id")[:count]
    )
    # Requested first (after the commit a worker would be told; here nobody is), then rendered
    # one after another, as one worker process does.
    with transaction.atomic():
        requested = [
            certificate_request(
                account=account,
                actor=cast(User, account.holder),
                kind=Certificate.Kind.TRANSCRIPT,
            )
            for account in accounts
        ]
    started = time.perf_counter()
    cpu_started = time.process_time()
    sizes = []
    for certificate in requested:
        rendered = certificate_render(certificate_id=certificate.pk)
        sizes.append(rendered.pdf.size)
    seconds = time.perf_counter() - started
    # The worker's own CPU time too: on a shared machine the wall clock also counts the time
    # other processes held the cores (PostgreSQL's share is not in it: a few queries a PDF).
    cpu_seconds = time.process_time() - cpu_started
    return {
        "pdfs": len(sizes),
        "seconds": round(seconds, 2),
        "pdfs_per_second": round(len(sizes) / seconds, 1),
        "cpu_seconds": round(cpu_seconds, 2),
        "pdfs_per_cpu_second": round(len(sizes) / cpu_seconds, 1),
        "mean_pdf_bytes": round(sum(sizes) / len(sizes)),
        "max_pdf_bytes": max(sizes),
        "target_pdfs_per_second": 10,
        "target_met": len(sizes) / seconds >= 10,
    }


# --- Concurrent transfers ----------------------------------------------------------------------


def _transfer_candidates() -> list[tuple[int, int, int]]:
    """(account id, outcome id, course id): learners whose accredited outcome converts to a
    course they have not asked for yet, one transfer each."""
    from transfers.models import ConversionRule, TransferItem

    rules = {r.entry_id: r for r in ConversionRule.objects.filter(effective_to__isnull=True)}
    taken = set(TransferItem.objects.values_list("account_id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.account_id, a.outcome_id, v.entry_id
            FROM accreditation_decision d
            JOIN accreditation_application a ON a.id = d.application_id
            JOIN accreditation_catalogueentryversion v ON v.id = d.catalogue_version_id
            WHERE d.result = 'accredited' AND v.entry_id = ANY(%s)
            ORDER BY a.account_id
            """,
            [list(rules)],
        )
        return [
            (account, outcome, rules[entry].course_id)
            for account, outcome, entry in cursor.fetchall()
            if account not in taken
        ]


def _transfer_client(work: list[tuple[int, int, int]], ready: Any, go: Any, done_q: Any) -> None:
    import django

    django.setup()
    from accounts.models import LearningAccount, User
    from outcomes.models import LearningOutcome
    from transfers.models import Course
    from transfers.services import transfer_apply

    done = 0
    loaded = []
    for account_id, outcome_id, course_id in work:
        account = LearningAccount.objects.select_related("holder").get(pk=account_id)
        course = Course.objects.select_related("programme").get(pk=course_id)
        loaded.append((account, course, LearningOutcome.objects.get(pk=outcome_id)))
    ready.wait()
    go.wait()
    try:
        for account, course, outcome in loaded:
            transfer_apply(
                account=account,
                programme=course.programme,
                items=[(course, outcome)],
                actor=cast(User, account.holder),
            )
            done += 1
    finally:
        # Told even when a transfer fails, so that the parent never waits for ever.
        connection.close()
        done_q.put(done)


def transfers(*, clients: int, per_client: int) -> dict[str, Any]:
    candidates = _transfer_candidates()
    needed = clients * per_client
    if len(candidates) < needed:
        raise RuntimeError(f"only {len(candidates)} learners can still transfer; need {needed}")
    connection.close()
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(clients + 1)
    go = context.Barrier(clients + 1)
    # Client k takes every clients-th learner: neighbouring accounts in different clients.
    slices = [candidates[k:needed:clients] for k in range(clients)]
    done_q = context.Queue()
    processes = [
        context.Process(target=_transfer_client, args=(s, ready, go, done_q)) for s in slices
    ]
    for process in processes:
        process.start()
    ready.wait()  # every client has loaded its work and is connected
    started = time.perf_counter()
    go.wait()
    done = sum(done_q.get() for _ in processes)
    seconds = time.perf_counter() - started
    for process in processes:
        process.join()
    if done != needed:
        raise RuntimeError(f"only {done} of {needed} transfers were made; see the clients' errors")
    return {
        "clients": clients,
        "transfers": done,
        "seconds": round(seconds, 2),
        "transfers_per_second": round(done / seconds, 1),
    }


# --- What-if across programmes ------------------------------------------------------------------


def _programmes_fill(total: int) -> int:
    """Published programmes until there are ``total``, each of 10 courses of 3 credits with a
    conversion rule from a catalogue entry in effect to 6 of them (entries taken in turn, so
    learners' accredited outcomes cover some); written in the caller's transaction. Returns
    how many were added."""
    from decimal import Decimal

    from accounts.models import Institution
    from accreditation.catalogue import catalogue_current
    from transfers.models import ConversionRule, Course, Programme

    missing = total - Programme.objects.filter(is_published=True).count()
    if missing <= 0:
        return 0
    institutions = list(Institution.objects.order_by("id")[:5])
    entries = [v.entry_id for v in catalogue_current()]
    programmes = Programme.objects.bulk_create(
        [
            Programme(
                institution=institutions[i % len(institutions)],
                code=f"WI-{i:04d}",
                name=f"专业{i}",
                kind=Programme.Kind.DEGREE if i % 3 else Programme.Kind.VOCATIONAL_CERTIFICATE,
                level=("专科", "本科", "")[i % 3],
                credits_required=Decimal(30),
            )
            for i in range(missing)
        ]
    )
    courses = Course.objects.bulk_create(
        [
            Course(programme=p, code=f"C{k:02d}", name=f"课程{k}", credits=Decimal(3))
            for p in programmes
            for k in range(10)
        ]
    )
    since = datetime.date(2020, 1, 1)
    ConversionRule.objects.bulk_create(
        [
            ConversionRule(
                entry_id=entries[(n * 7) % len(entries)],
                course=course,
                version=1,
                credits=Decimal(3),
                effective_from=since,
                approving_body="基准",
                rationale="基准",
            )
            for n, course in enumerate(courses)
            if n % 10 < 6
        ]
    )
    return missing


def whatif(*, programmes: int, learners: int) -> dict[str, Any]:
    """The what-if of ``learners`` learners (those with the most outcomes first) over
    ``programmes`` published programmes: queries and the process's CPU time per learner. The
    programmes added are rolled back afterwards."""
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from accounts.models import LearningAccount
    from transfers.whatif import what_if

    with transaction.atomic():
        added = _programmes_fill(programmes)
        accounts = list(
            LearningAccount.objects.annotate(n=Count("outcomes"))
            .filter(n__gt=0)
            .order_by("-n", "id")[:learners]
        )
        what_if(account=accounts[0])  # the imports and the first connection's setup
        queries: list[int] = []
        cpu: list[float] = []
        wall: list[float] = []
        ranked = 0
        for account in accounts:
            started, cpu_started = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as captured:
                rows = what_if(account=account)
            cpu.append(time.process_time() - cpu_started)
            wall.append(time.perf_counter() - started)
            queries.append(len(captured))
            ranked = len(rows)
        transaction.set_rollback(True)
    cpu.sort()
    wall.sort()
    return {
        "programmes": ranked,
        "programmes_added": added,
        "learners": len(accounts),
        "queries_min": min(queries),
        "queries_max": max(queries),
        "cpu_ms_median": round(cpu[len(cpu) // 2] * 1000, 1),
        "cpu_ms_max": round(cpu[-1] * 1000, 1),
        "wall_ms_median": round(wall[len(wall) // 2] * 1000, 1),
        "wall_ms_p95": round(wall[min(len(wall) - 1, int(len(wall) * 0.95))] * 1000, 1),
    }
