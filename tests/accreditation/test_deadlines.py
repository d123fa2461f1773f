"""The deadline sweep (reminders before the due date, escalations after it, each once), its
periodic task, the on-time report and the centre's deadlines page."""

from __future__ import annotations

import datetime
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Notification, Role
from accreditation import calendar, deadlines
from accreditation.deadlines import SweepResult, deadline_sweep, on_time_rates
from accreditation.models import Application, ApplicationState
from accreditation.tasks import deadline_sweep_task
from tests.accounts.factories import UserFactory
from tests.accreditation.factories import ApplicationFactory, RejectionFactory
from tests.people import login_verified, with_totp
from tests.processes import process_env, start, stop

BEIJING = ZoneInfo("Asia/Shanghai")
REMINDER = Notification.Kind.DEADLINE_REMINDER
ESCALATION = Notification.Kind.DEADLINE_ESCALATION
# Submitted on Tuesday 18 March 2025: 15 working days run to Wednesday 9 April, with Qingming
# (Friday 4 April) a day off on the way.
SUBMITTED_ON = datetime.date(2025, 3, 18)
DUE_ON = datetime.date(2025, 4, 9)
REMIND_ON = datetime.date(2025, 4, 3)


def at(day: datetime.date, hour: int = 9, minute: int = 0) -> datetime.datetime:
    """A moment on ``day``, Beijing time."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), BEIJING)


def today() -> datetime.date:
    return calendar.local_date(timezone.now())


def centre_admin_of(centre, **kwargs):
    return UserFactory(role=Role.CENTRE_ADMIN, centre=centre, **kwargs)


def reviewer_of(centre, **kwargs):
    return with_totp(UserFactory(role=Role.CENTRE_REVIEWER, centre=centre, **kwargs))


# --- The sweep ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_reminds_the_assigned_reviewer_three_working_days_before_the_due_date_not_earlier(
    centre, reviewer, centre_admin
):
    application = ApplicationFactory(
        centre=centre,
        assigned_to=reviewer,
        state=ApplicationState.IN_REVIEW,
        clock_started_on=SUBMITTED_ON,
        outcome__title="保育员职业资格证书",
    )
    assert (application.due_on, application.remind_on) == (DUE_ON, REMIND_ON)
    assert calendar.working_days_between(REMIND_ON, DUE_ON) == 3

    assert deadline_sweep(now=at(REMIND_ON - datetime.timedelta(days=1), 23, 59)) == (0, 0)
    assert not Notification.objects.exists()

    assert deadline_sweep(now=at(REMIND_ON, 0, 5)) == SweepResult(reminded=1, escalated=0)
    notice = Notification.objects.get()
    assert (notice.recipient, notice.kind) == (reviewer, REMINDER)
    assert notice.key == f"application:{application.pk}:reminder:{application.due_on}"
    assert notice.params == {
        "outcome": "保育员职业资格证书",
        "application": application.pk,
        "due_on": "2025-04-09",
    }
    assert notice.link == f"/centre/applications/{application.pk}/"
    application.refresh_from_db()
    assert application.reminded_at == at(REMIND_ON, 0, 5)
    assert application.escalated_at is None


@pytest.mark.django_db
def test_it_escalates_to_the_centres_admins_only_after_the_due_date(
    centre, other_centre, reviewer, centre_admin
):
    deputy = centre_admin_of(centre)
    centre_admin_of(centre, is_active=False)
    centre_admin_of(other_centre)
    application = ApplicationFactory(
        centre=centre, assigned_to=reviewer, clock_started_on=SUBMITTED_ON
    )

    # The whole due date (Beijing time) is still in time.
    assert deadline_sweep(now=at(DUE_ON, 23, 59)).escalated == 0
    assert not Notification.objects.filter(kind=ESCALATION).exists()

    # 00:01 on 10 April in Beijing is still 9 April in UTC.
    assert deadline_sweep(now=at(DUE_ON + datetime.timedelta(days=1), 0, 1)).escalated == 1
    escalations = Notification.objects.filter(kind=ESCALATION)
    assert {notice.recipient for notice in escalations} == {centre_admin, deputy}
    assert {notice.key for notice in escalations} == {
        f"application:{application.pk}:escalation:{application.due_on}"
    }
    assert escalations[0].params["reviewer"] == "王审核"
    assert escalations[0].params["due_on"] == "2025-04-09"
    assert not Notification.objects.filter(kind=ESCALATION, recipient=reviewer).exists()


@pytest.mark.django_db
def test_an_application_nobody_is_assigned_to_reminds_the_centres_admins(
    centre, other_centre, reviewer, centre_admin
):
    deputy = centre_admin_of(centre)
    centre_admin_of(centre, is_active=False)
    centre_admin_of(other_centre)
    application = ApplicationFactory(centre=centre, clock_started_on=SUBMITTED_ON)

    assert deadline_sweep(now=at(REMIND_ON)) == SweepResult(reminded=1, escalated=0)

    reminders = Notification.objects.filter(kind=REMINDER)
    assert {notice.recipient for notice in reminders} == {centre_admin, deputy}
    assert {notice.key for notice in reminders} == {
        f"application:{application.pk}:reminder:{application.due_on}"
    }


@pytest.mark.django_db
def test_a_second_sweep_right_after_finds_nothing(centre, reviewer, centre_admin):
    ApplicationFactory(centre=centre, assigned_to=reviewer, clock_started_on=SUBMITTED_ON)
    ApplicationFactory(
        centre=centre, assigned_to=reviewer, clock_started_on=SUBMITTED_ON, due_on=REMIND_ON
    )
    now = at(REMIND_ON + datetime.timedelta(days=1))

    assert deadline_sweep(now=now) == SweepResult(reminded=1, escalated=1)
    assert deadline_sweep(now=now + datetime.timedelta(minutes=15)) == SweepResult(0, 0)
    assert Notification.objects.count() == 2


@pytest.mark.django_db
def test_an_overdue_application_never_reminded_is_escalated_but_not_reminded(
    centre, reviewer, centre_admin
):
    ApplicationFactory(centre=centre, assigned_to=reviewer, clock_started_on=SUBMITTED_ON)

    assert deadline_sweep(now=at(DUE_ON + datetime.timedelta(days=2))) == (0, 1)
    assert not Notification.objects.filter(kind=REMINDER).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "state",
    [
        ApplicationState.ACCREDITED,
        ApplicationState.REJECTED,
        ApplicationState.WITHDRAWN,
        ApplicationState.SUPPLEMENT_REQUESTED,
    ],
)
def test_an_application_the_centre_no_longer_owes_a_decision_on_gets_no_notice(
    state, centre, reviewer, centre_admin
):
    # Dates left in place on purpose: the state alone must keep the sweep away.
    ApplicationFactory(
        centre=centre, assigned_to=reviewer, clock_started_on=SUBMITTED_ON, state=state
    )

    assert deadline_sweep(now=at(REMIND_ON)) == (0, 0)
    assert deadline_sweep(now=at(DUE_ON + datetime.timedelta(days=30))) == (0, 0)
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_a_crash_between_claim_and_notice_leaves_the_application_unclaimed(
    monkeypatch, centre, reviewer
):
    application = ApplicationFactory(
        centre=centre, assigned_to=reviewer, clock_started_on=SUBMITTED_ON
    )

    def mail_server_gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        # The sweep stores each batch's notices at once.
        patch.setattr(deadlines, "notify_batch", mail_server_gone)
        with pytest.raises(OperationalError):
            deadline_sweep(now=at(REMIND_ON))
    application.refresh_from_db()
    assert application.reminded_at is None
    assert not Notification.objects.exists()

    assert deadline_sweep(now=at(REMIND_ON, 9, 15)) == (1, 0)
    assert Notification.objects.get().recipient == reviewer


@pytest.mark.django_db
def test_the_sweep_works_in_batches_reading_outcome_titles_once_per_batch(
    monkeypatch, centre, reviewer
):
    monkeypatch.setattr(deadlines, "BATCH_SIZE", 4)
    applications = ApplicationFactory.create_batch(
        10, centre=centre, assigned_to=reviewer, clock_started_on=SUBMITTED_ON
    )

    with CaptureQueriesContext(connection) as queries:
        assert deadline_sweep(now=at(REMIND_ON)) == (10, 0)

    # One join per batch of four, not one query per application.
    outcome_reads = [q for q in queries if '"outcomes_learningoutcome"' in q["sql"]]
    assert len(outcome_reads) == 3
    titles = {n.params["outcome"] for n in Notification.objects.all()}
    assert titles == {a.outcome.title for a in applications}


@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_send_each_notice_once(
    postgres, monkeypatch, centre, reviewer, centre_admin
):
    monkeypatch.setattr(deadlines, "BATCH_SIZE", 10)
    ApplicationFactory.create_batch(
        40, centre=centre, assigned_to=reviewer, clock_started_on=SUBMITTED_ON
    )
    ApplicationFactory.create_batch(
        40, centre=centre, assigned_to=reviewer, clock_started_on=SUBMITTED_ON, due_on=REMIND_ON
    )
    real_notify_batch = deadlines.notify_batch

    def slow_notify_batch(notices):
        # Long enough for the other worker to reach the same rows while this batch is open.
        time.sleep(0.05)
        return real_notify_batch(notices)

    monkeypatch.setattr(deadlines, "notify_batch", slow_notify_batch)
    barrier = threading.Barrier(2)
    results: list[SweepResult] = []
    errors: list[BaseException] = []
    now = at(REMIND_ON + datetime.timedelta(days=1))

    def worker() -> None:
        try:
            barrier.wait()
            results.append(deadline_sweep(now=now))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sum(r.reminded for r in results) == 40
    assert sum(r.escalated for r in results) == 40
    assert Notification.objects.filter(kind=REMINDER, recipient=reviewer).count() == 40
    assert Notification.objects.filter(kind=ESCALATION, recipient=centre_admin).count() == 40
    assert not Application.objects.filter(reminded_at__isnull=True, due_on=DUE_ON).exists()
    assert not Application.objects.filter(escalated_at__isnull=True, due_on=REMIND_ON).exists()


@pytest.mark.django_db
def test_the_sweeps_queries_are_answered_from_the_partial_indexes(postgres, centre, reviewer):
    ApplicationFactory(centre=centre, assigned_to=reviewer, clock_started_on=SUBMITTED_ON)
    with CaptureQueriesContext(connection) as queries:
        deadline_sweep(now=at(REMIND_ON))
    # The reads of each batch's candidates (then their accounts and rows are locked by id).
    claims = [q["sql"] for q in queries if "LIMIT 500" in q["sql"]]
    remind, escalate = claims[0], claims[1]

    def plan(sql: str) -> str:
        with transaction.atomic(), connection.cursor() as cursor:
            # On a few rows a sequential scan is cheaper; forbid it to see what the planner
            # could use with a million.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}")
            return "\n".join(row[0] for row in cursor.fetchall())

    assert "app_sweep_remind" in plan(remind)
    assert "app_sweep_escalate" in plan(escalate)


# --- The periodic task --------------------------------------------------------------------------


@pytest.mark.django_db
def test_running_the_task_twice_leaves_the_same_end_state(centre, reviewer, centre_admin):
    day = today()
    due_soon = ApplicationFactory(
        centre=centre,
        assigned_to=reviewer,
        remind_on=day,
        due_on=day + datetime.timedelta(days=5),
    )
    overdue = ApplicationFactory(
        centre=centre,
        assigned_to=reviewer,
        remind_on=day - datetime.timedelta(days=10),
        due_on=day - datetime.timedelta(days=2),
    )

    def state():
        notices = sorted(Notification.objects.values_list("pk", "recipient_id", "key"))
        stamps = sorted(Application.objects.values_list("pk", "reminded_at", "escalated_at"))
        return notices, stamps

    assert deadline_sweep_task.delay().get() == {"reminded": 1, "escalated": 1}
    first = state()
    assert deadline_sweep_task.delay().get() == {"reminded": 0, "escalated": 0}
    assert state() == first
    keys = {key for _pk, _recipient, key in first[0]}
    assert keys == {
        f"application:{due_soon.pk}:reminder:{due_soon.due_on}",
        f"application:{overdue.pk}:escalation:{overdue.due_on}",
    }


@pytest.mark.django_db
def test_the_task_retries_when_the_database_is_unreachable(monkeypatch, centre, reviewer):
    ApplicationFactory(centre=centre, assigned_to=reviewer, remind_on=today())
    calls = []
    real_sweep = deadlines.deadline_sweep

    def flaky_sweep(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("could not connect to server")
        return real_sweep(**kwargs)

    monkeypatch.setattr("accreditation.tasks.deadline_sweep", flaky_sweep)
    monkeypatch.setattr(deadline_sweep_task, "retry_backoff", False)
    monkeypatch.setattr(deadline_sweep_task, "default_retry_delay", 0)

    # throw=False: as a worker does, the task handles the error itself (here: retrying at once).
    result = deadline_sweep_task.apply(throw=False)

    assert len(calls) == 2
    assert result.get() == {"reminded": 1, "escalated": 0}
    assert Notification.objects.filter(kind=REMINDER, recipient=reviewer).count() == 1


def test_beat_runs_the_sweep_every_15_minutes_and_the_worker_knows_the_task():
    from creditbank.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["deadline-sweep"]
    assert entry["task"] == "accreditation.tasks.deadline_sweep_task"
    assert entry["schedule"] == 15 * 60
    # What a worker does at start: import each installed app's tasks module.
    app.loader.import_default_modules()
    assert app.tasks[entry["task"]].name == entry["task"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_beat_and_a_real_worker_send_the_reminder(tmp_path, centre, reviewer):
    application = ApplicationFactory(
        centre=centre,
        assigned_to=reviewer,
        remind_on=today(),
        due_on=today() + datetime.timedelta(days=5),
    )
    env = process_env(tmp_path, "", DEADLINE_SWEEP_INTERVAL_SECONDS="1")
    worker = start(
        ["worker", "--loglevel", "INFO", "--concurrency", "1", "--hostname", "sweep@%h"],
        env,
        tmp_path / "worker.log",
    )
    beat = start(["beat", "--loglevel", "INFO"], env, tmp_path / "beat.log")
    try:
        deadline = time.monotonic() + 60
        while not Notification.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        logs = (tmp_path / "worker.log").read_text() + (tmp_path / "beat.log").read_text()
        notice = Notification.objects.filter(kind=REMINDER).first()
        assert notice is not None, logs
        assert notice.key == f"application:{application.pk}:reminder:{application.due_on}"
        assert notice.recipient == reviewer
    finally:
        stop(beat, worker)


# --- The on-time report -------------------------------------------------------------------------

PERIOD_START = datetime.date(2025, 6, 1)
REPORT_DAY = datetime.date(2025, 6, 30)


def decided(application_centre, by, *, on_time: bool, day=datetime.date(2025, 6, 10)):
    return RejectionFactory(
        application__centre=application_centre,
        application__assigned_to=by,
        decided_by=by,
        on_time=on_time,
        decided_at=at(day),
    )


@pytest.fixture
def centre_at_work(centre, other_centre, reviewer):
    """Rita decided three in June (two on time), Bo one (late); Rita also one in May; another
    centre one. Undecided now: Rita two (one overdue), nobody one (overdue), Bo one waiting for
    supplementary material."""
    bo = reviewer_of(centre, name="薄审核")
    idle = reviewer_of(centre, name="闲审核")
    elsewhere = reviewer_of(other_centre, name="外审核")
    decided(centre, reviewer, on_time=True)
    decided(centre, reviewer, on_time=True)
    decided(centre, reviewer, on_time=False)
    decided(centre, bo, on_time=False)
    # 23:59 on 31 May in Beijing: before the period, although it is 1 June nowhere.
    RejectionFactory(
        application__centre=centre,
        decided_by=reviewer,
        on_time=False,
        decided_at=at(PERIOD_START - datetime.timedelta(days=1), 23, 59),
    )
    decided(other_centre, elsewhere, on_time=True)
    ApplicationFactory(centre=centre, assigned_to=reviewer, due_on=datetime.date(2025, 7, 3))
    ApplicationFactory(centre=centre, assigned_to=reviewer, due_on=datetime.date(2025, 6, 27))
    ApplicationFactory(centre=centre, due_on=datetime.date(2025, 6, 20))
    ApplicationFactory(
        centre=centre,
        assigned_to=bo,
        state=ApplicationState.SUPPLEMENT_REQUESTED,
        due_on=None,
        remind_on=None,
    )
    return {"bo": bo, "idle": idle, "elsewhere": elsewhere}


@pytest.mark.django_db
def test_on_time_rates_per_reviewer_and_for_the_centre(centre, reviewer, centre_at_work):
    report = on_time_rates(centre=centre, since=PERIOD_START, today=REPORT_DAY)

    rows = {row.reviewer: row for row in report.reviewers}
    assert set(rows) == {reviewer, centre_at_work["bo"], centre_at_work["idle"], None}
    rita = rows[reviewer]
    assert (rita.decided, rita.on_time, rita.open, rita.overdue) == (3, 2, 2, 1)
    assert rita.rate == pytest.approx(2 / 3)
    assert rita.percent == 67
    bo = rows[centre_at_work["bo"]]
    assert (bo.decided, bo.on_time, bo.rate, bo.open, bo.awaiting_supplement) == (1, 0, 0, 0, 1)
    idle = rows[centre_at_work["idle"]]
    assert (idle.decided, idle.rate, idle.open) == (0, None, 0)
    nobody = rows[None]
    assert (nobody.decided, nobody.open, nobody.overdue) == (0, 1, 1)

    assert [row.centre for row in report.centres] == [centre]
    total = report.total
    assert (total.decided, total.on_time, total.rate) == (4, 2, 0.5)
    assert (total.open, total.overdue, total.awaiting_supplement) == (3, 2, 1)


@pytest.mark.django_db
def test_on_time_rates_without_a_period_count_every_decision(centre, reviewer, centre_at_work):
    report = on_time_rates(centre=centre, today=REPORT_DAY)

    rita = next(row for row in report.reviewers if row.reviewer == reviewer)
    assert (rita.decided, rita.on_time) == (4, 2)


@pytest.mark.django_db
def test_on_time_rates_of_every_centre(centre, other_centre, centre_at_work):
    report = on_time_rates(since=PERIOD_START, today=REPORT_DAY)

    rows = {row.centre: row for row in report.centres}
    assert set(rows) == {centre, other_centre}  # not the management centre, which reviews nothing
    assert (rows[centre].decided, rows[centre].on_time, rows[centre].overdue) == (4, 2, 2)
    assert (rows[other_centre].decided, rows[other_centre].rate) == (1, 1.0)
    assert (report.total.decided, report.total.on_time) == (5, 3)


@pytest.mark.django_db
def test_on_time_rates_take_a_few_queries_however_many_reviewers(
    centre, reviewer, django_assert_max_num_queries
):
    for _ in range(20):
        decided(centre, reviewer_of(centre), on_time=False)
    with django_assert_max_num_queries(4):
        report = on_time_rates(centre=centre, since=PERIOD_START, today=REPORT_DAY)
    assert report.total.decided == 20


# --- The deadlines page -------------------------------------------------------------------------

URL = "/centre/deadlines/"


def english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def recent_work(centre, other_centre, reviewer):
    """Recent decisions (two on time, one late) and one overdue application per centre."""
    now = timezone.now() - datetime.timedelta(days=1)
    for on_time in (True, True, False):
        RejectionFactory(
            application__centre=centre, decided_by=reviewer, on_time=on_time, decided_at=now
        )
    overdue = ApplicationFactory(
        centre=centre,
        assigned_to=reviewer,
        due_on=today() - datetime.timedelta(days=10),
        outcome__title="幼儿园园长任职资格证书",
    )
    elsewhere = reviewer_of(other_centre, name="外审核")
    ApplicationFactory(
        centre=other_centre,
        assigned_to=elsewhere,
        due_on=today() - datetime.timedelta(days=3),
        outcome__title="育婴员职业技能等级证书",
    )
    return overdue


@pytest.mark.django_db
def test_a_centre_admin_sees_their_centre_per_reviewer(client, centre_admin, recent_work):
    login_verified(client, centre_admin)

    response = client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    assert "王审核" in page
    assert "外审核" not in page
    assert "幼儿园园长任职资格证书" in page
    assert "育婴员职业技能等级证书" not in page
    assert f'href="/centre/applications/{recent_work.pk}/"' in page
    assert response.context["report"].total.decided == 3
    assert f'href="{URL}" aria-current="page"' in page


@pytest.mark.django_db
def test_the_page_in_english_shows_rates_and_overdue_working_days(
    client, centre_admin, recent_work
):
    english(client)
    login_verified(client, centre_admin)

    page = client.get(URL).content.decode()

    assert '<html lang="en">' in page
    assert "On-time rate" in page
    assert "67%" in page
    assert "1 overdue application" in page
    overdue_days = calendar.working_days_between(recent_work.due_on, today())
    assert f'<td data-label="Working days overdue">{overdue_days}</td>' in page


@pytest.mark.django_db
def test_the_management_admin_sees_every_centre_and_one_per_reviewer(
    client, management_admin, centre, other_centre, recent_work
):
    english(client)
    login_verified(client, management_admin)

    page = client.get(URL).content.decode()
    assert centre.name in page
    assert other_centre.name in page
    assert "2 overdue applications" in page
    assert "王审核" in page  # as the reviewer of an overdue application
    assert [row.centre for row in client.get(URL).context["report"].centres] == [
        centre,
        other_centre,
    ]

    response = client.get(URL, {"centre": other_centre.pk})
    page = response.content.decode()
    assert "外审核" in page
    assert "育婴员职业技能等级证书" in page
    assert "幼儿园园长任职资格证书" not in page
    assert [row.reviewer.name for row in response.context["report"].reviewers] == ["外审核"]


@pytest.mark.django_db
@pytest.mark.parametrize("wanted", ["999999", "abc", "-1"])
def test_an_unknown_centre_is_not_found(client, management_admin, wanted):
    login_verified(client, management_admin)

    assert client.get(URL, {"centre": wanted}).status_code == 404


@pytest.mark.django_db
def test_a_centre_admin_cannot_look_at_another_centre(
    client, centre_admin, other_centre, recent_work
):
    login_verified(client, centre_admin)

    page = client.get(URL, {"centre": other_centre.pk}).content.decode()

    assert "外审核" not in page
    assert "育婴员职业技能等级证书" not in page


@pytest.mark.django_db
def test_the_period_filter_counts_only_decisions_in_it(client, centre_admin, centre, reviewer):
    RejectionFactory(
        application__centre=centre,
        decided_by=reviewer,
        decided_at=timezone.now() - datetime.timedelta(days=60),
    )
    login_verified(client, centre_admin)

    assert client.get(URL).context["report"].total.decided == 0
    assert client.get(URL, {"period": "30"}).context["report"].total.decided == 0
    assert client.get(URL, {"period": "90"}).context["report"].total.decided == 1
    assert client.get(URL, {"period": "365"}).context["report"].total.decided == 1
    response = client.get(URL, {"period": "forever"})
    assert response.status_code == 200
    assert response.context["period"] == 30


@pytest.mark.django_db
def test_reviewers_and_learners_are_refused_and_visitors_sent_to_sign_in(client, reviewer, learner):
    login_verified(client, reviewer)
    assert client.get(URL).status_code == 403
    assert f'href="{URL}"' not in client.get("/").content.decode()

    client.force_login(learner)
    assert client.get(URL).status_code == 403

    client.logout()
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def populate(centre, count: int) -> None:
    """``count`` reviewers, each with a decision and an overdue application."""
    for _ in range(count):
        person = reviewer_of(centre)
        RejectionFactory(application__centre=centre, decided_by=person, on_time=True)
        ApplicationFactory(
            centre=centre, assigned_to=person, due_on=today() - datetime.timedelta(days=8)
        )


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["centre_admin", "management_admin", "management_one_centre"])
def test_the_page_takes_as_many_queries_for_20_reviewers_as_for_1(
    who, request, client, centre, django_assert_max_num_queries
):
    user = request.getfixturevalue("centre_admin" if who == "centre_admin" else "management_admin")
    params = {"centre": centre.pk} if who == "management_one_centre" else {}
    login_verified(client, user)
    populate(centre, 1)
    with CaptureQueriesContext(connection) as one:
        assert client.get(URL, params).status_code == 200

    populate(centre, 19)
    with django_assert_max_num_queries(len(one)):
        response = client.get(URL, params)
    assert response.context["overdue_count"] == 20
