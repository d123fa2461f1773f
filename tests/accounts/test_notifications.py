"""Notifications: stored once per key, read in the reader's language, emailed once in Chinese
and English, listed and marked read by their recipient only."""

from __future__ import annotations

import datetime
import smtplib
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import trans_real
from kombu.exceptions import OperationalError

from accounts.models import Notification, User
from accounts.notifications.services import (
    BODIES,
    Notice,
    notification_emails_resend,
    notification_emails_send,
    notification_message_id,
    notifications_mark_read,
    notifications_unread_count,
    notify,
    notify_batch,
    notify_many,
)
from accounts.tasks import send_notification_emails
from bench.faults.stack import SmtpSink
from outcomes.models import LearningOutcome
from tests.accounts.factories import UserFactory
from tests.outcomes.helpers import members_of, report, results_csv, row
from tests.people import login_verified, token_for
from tests.processes import free_port

pytestmark = pytest.mark.django_db

# An institution with an approved collective account and its administrator's API client.
Kind = Notification.Kind
REMINDER: dict[str, str | int] = {
    "application": 42,
    "outcome": "幼儿园园长任职资格证书",
    "due_on": "2026-07-15",
}


def remind(
    user: User, key: str = "deadline_reminder:42", **overrides: object
) -> Notification | None:
    arguments: dict = {
        "recipient": user,
        "kind": Kind.DEADLINE_REMINDER,
        "params": REMINDER,
        "link": "/file/",
        "key": key,
        **overrides,
    }
    return notify(**arguments)


@pytest.fixture
def chinese() -> Iterator[Callable[[object, str], None]]:
    """Give an English msgid a Chinese translation for this test only, so that the tests of
    language do not wait for the translators (and keep passing once they have been)."""
    catalog = trans_real.translation("zh-hans")._catalog._catalogs[0]  # type: ignore[attr-defined]
    added: dict[str, object] = {}

    def translate(msgid: object, msgstr: str) -> None:
        with translation.override("en"):
            key = str(msgid)
        added.setdefault(key, catalog.get(key))
        catalog[key] = msgstr

    yield translate
    for key, previous in added.items():
        if previous is None:
            catalog.pop(key, None)
        else:
            catalog[key] = previous


@pytest.fixture
def reminder_in_chinese(chinese) -> None:
    chinese(Kind.DEADLINE_REMINDER.label, "决定即将到期")
    chinese(
        BODIES[Kind.DEADLINE_REMINDER],
        "申请 #{application}（“{outcome}”）须于 {due_on} 前作出决定。",
    )


# --- Stored once -----------------------------------------------------------------------------


def test_a_second_notice_with_the_same_key_stores_nothing(learner, reviewer):
    first = remind(reviewer)
    again = remind(reviewer)
    other_key = remind(reviewer, key="deadline_reminder:43")
    other_user = remind(learner)

    assert first is not None
    assert again is None
    assert other_key is not None
    assert other_user is not None
    assert Notification.objects.filter(recipient=reviewer).count() == 2


def test_a_repeated_notice_leaves_the_callers_transaction_usable(reviewer, centre_admin):
    with transaction.atomic():
        remind(reviewer)
        assert remind(reviewer) is None
        # On PostgreSQL a failed insert without a savepoint aborts the whole transaction.
        remind(centre_admin)

    assert Notification.objects.count() == 2


def test_a_notice_with_a_link_to_another_site_is_refused(reviewer):
    for link in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "file/"):
        with pytest.raises(ValidationError) as caught:
            remind(reviewer, link=link)
        assert "link" in caught.value.message_dict

    assert not Notification.objects.exists()


def test_notify_many_skips_those_already_told(learner, reviewer, centre_admin):
    first = notify_many(
        recipients=[learner, reviewer], kind=Kind.DEADLINE_REMINDER, params=REMINDER, key="k"
    )
    second = notify_many(
        recipients=[learner, reviewer, centre_admin],
        kind=Kind.DEADLINE_REMINDER,
        params=REMINDER,
        key="k",
    )

    assert sorted(n.recipient_id for n in first) == sorted([learner.pk, reviewer.pk])
    assert [n.recipient_id for n in second] == [centre_admin.pk]
    assert Notification.objects.filter(key="k").count() == 3


def test_a_batch_of_notices_stores_each_recipient_and_key_once_and_emails_the_new_ones(
    learner, reviewer, centre_admin, django_capture_on_commit_callbacks
):
    remind(reviewer, key="a")

    def notice(user: User, key: str) -> Notice:
        return Notice(
            recipient=user, kind=Kind.DEADLINE_REMINDER, params=REMINDER, link="", key=key
        )

    with django_capture_on_commit_callbacks(execute=True):
        stored = notify_batch(
            [
                notice(reviewer, "a"),
                notice(reviewer, "b"),
                notice(centre_admin, "a"),
                notice(centre_admin, "a"),
                notice(learner, "c"),
            ]
        )
        again = notify_batch([notice(reviewer, "b"), notice(learner, "c")])

    assert sorted((n.recipient_id, n.key) for n in stored) == sorted(
        [(reviewer.pk, "b"), (centre_admin.pk, "a"), (learner.pk, "c")]
    )
    assert again == []
    assert Notification.objects.count() == 4
    # One email per notice stored now, to those with an address; none for the repeats.
    told = sorted(address for m in mail.outbox for address in m.to)
    assert told == sorted(u.email for u in (reviewer, centre_admin, learner) if u.email)
    assert told


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_store_one_notice_and_send_one_email(postgres, reviewer):
    barrier = threading.Barrier(2)
    results: list[str] = []

    def attempt() -> None:
        try:
            with transaction.atomic():
                barrier.wait()
                stored = remind(reviewer)
                # Hold the transaction open: the other insert must wait on the unique index.
                time.sleep(0.3)
            results.append("stored" if stored is not None else "skipped")
        except Exception as exc:  # pragma: no cover - what the test is here to catch
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["skipped", "stored"]
    assert Notification.objects.filter(recipient=reviewer).count() == 1
    assert len(mail.outbox) == 1


# --- Email -----------------------------------------------------------------------------------


def test_the_email_is_sent_once_even_when_the_task_runs_twice(
    reviewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notice = remind(reviewer)
    assert notice is not None
    send_notification_emails.delay(notification_ids=[notice.pk])
    send_notification_emails.apply(kwargs={"notification_ids": [notice.pk]})

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [reviewer.email]
    notice.refresh_from_db()
    assert notice.emailed_at is not None


def test_the_email_is_in_chinese_then_english_with_the_full_link(
    reviewer, settings, reminder_in_chinese, django_capture_on_commit_callbacks
):
    settings.PORTAL_URL = "https://xuefen.example.cn"
    with django_capture_on_commit_callbacks(execute=True):
        remind(reviewer)

    [email] = mail.outbox
    assert email.subject == "决定即将到期 / Decision due soon"
    chinese = email.body.index("申请 #42（“幼儿园园长任职资格证书”）须于 2026-07-15 前作出决定。")
    english = email.body.index(
        "The decision on application #42 (“幼儿园园长任职资格证书”) is due on 2026-07-15."
    )
    assert chinese < english
    assert email.body.count("https://xuefen.example.cn/file/") == 2
    assert "&" not in email.body  # plain text, not HTML-escaped


def test_no_email_is_sent_to_a_user_without_an_address(django_capture_on_commit_callbacks):
    user = UserFactory.create(email="")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notice = remind(user)

    assert notice is not None
    assert callbacks == []
    assert mail.outbox == []


def test_nothing_is_emailed_when_the_callers_transaction_fails(
    reviewer, django_capture_on_commit_callbacks
):
    def decide() -> None:
        with transaction.atomic():
            remind(reviewer)
            raise RuntimeError("the decision failed")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        decide()

    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_a_failed_send_is_retried_and_does_not_hold_up_the_others(
    reviewer, centre_admin, monkeypatch
):
    failing = remind(reviewer)
    working = remind(centre_admin)
    assert failing is not None
    assert working is not None
    original = EmailBackend.send_messages

    def refuse_reviewer(self, messages):
        if any(reviewer.email in m.to for m in messages):
            raise smtplib.SMTPServerDisconnected("connection lost")
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", refuse_reviewer)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        notification_emails_send(notification_ids=[failing.pk, working.pk])

    assert [m.to for m in mail.outbox] == [[centre_admin.email]]
    failing.refresh_from_db()
    assert failing.emailed_at is None  # the claim is released for the retry

    monkeypatch.setattr(EmailBackend, "send_messages", original)
    assert notification_emails_send(notification_ids=[failing.pk, working.pk]) == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted([reviewer.email, centre_admin.email])


@pytest.fixture
def smtp_sink(settings) -> Iterator[SmtpSink]:
    """A mail server of the test's own, reached through Django's real SMTP backend."""
    sink = SmtpSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield sink
    sink.close()


def test_a_batch_of_emails_goes_over_one_smtp_connection(smtp_sink, reviewer, centre_admin):
    """Each email is marked sent right after the server takes it: with a connection per email
    the backend's closing handshake lay between the two, and a worker killed there sent the
    email again (make faults, fault b)."""
    others = UserFactory.create_batch(2)
    notices = [remind(user) for user in (reviewer, centre_admin, *others)]

    sent = notification_emails_send(notification_ids=[n.pk for n in notices if n is not None])

    assert sent == 4
    assert smtp_sink.sessions == 1
    assert sorted(m.to for m in smtp_sink.snapshot()) == sorted(
        u.email for u in (reviewer, centre_admin, *others)
    )
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_an_email_sent_again_after_a_worker_died_carries_the_same_message_id(
    smtp_sink, reviewer, centre_admin, settings
):
    settings.NOTIFICATION_RESEND_AFTER_SECONDS = 0
    notice = remind(reviewer)
    other = remind(centre_admin)
    assert notice is not None
    assert other is not None
    notification_emails_send(notification_ids=[notice.pk, other.pk])
    # The worker died after the server took the email and before emailed_at was stored.
    lease = datetime.timedelta(seconds=settings.NOTIFICATION_EMAIL_LEASE_SECONDS)
    now = timezone.now()
    Notification.objects.filter(pk=notice.pk).update(
        emailed_at=None, email_claimed_at=now - lease - datetime.timedelta(seconds=1)
    )

    assert notification_emails_resend() == 1

    first, second, again = smtp_sink.snapshot()
    assert first.to == again.to == reviewer.email
    assert first.message_id == again.message_id  # one message to a mail store
    assert first.message_id != second.message_id
    assert first.message_id.startswith("<notice.")


def test_a_batch_already_emailed_needs_no_mail_server(settings, reviewer):
    """A task delivered again after its emails went out succeeds while the mail server is
    down: the connection is opened only for an email to send."""
    notice = remind(reviewer)
    assert notice is not None
    Notification.objects.filter(pk=notice.pk).update(emailed_at=timezone.now())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False

    assert notification_emails_send(notification_ids=[notice.pk]) == 0


def test_the_message_id_names_the_portals_host_even_an_ipv6_address(settings, reviewer):
    notice = remind(reviewer)
    assert notice is not None

    settings.PORTAL_URL = "https://xuefen.example.cn"
    assert notification_message_id(notice) == (
        f"<notice.{notice.pk}.{notice.created_at:%Y%m%d%H%M%S}@xuefen.example.cn>"
    )
    settings.PORTAL_URL = "http://[::1]:8000"
    assert notification_message_id(notice).endswith("@[::1]>")


# --- Rendering -------------------------------------------------------------------------------


def test_a_notice_missing_a_parameter_still_renders(client, learner):
    notify(
        recipient=learner,
        kind=Kind.APPLICATION_REJECTED,
        params={"outcome": "心理咨询师"},
        key="rejected:1",
    )
    client.force_login(learner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get("/notifications/").content.decode()

    assert "Outcome not accredited" in page
    assert "Open the portal for the details." in page


# --- Pages -----------------------------------------------------------------------------------


def test_the_list_shows_the_notices_in_the_readers_language_newest_first(
    client, learner, reminder_in_chinese
):
    remind(learner, key="old", params={**REMINDER, "application": 1})
    remind(learner, key="new", params={**REMINDER, "application": 2})
    notifications_mark_read(user=learner, ids=[Notification.objects.get(key="old").pk])
    client.force_login(learner)

    chinese = client.get("/notifications/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/notifications/").content.decode()

    assert '<html lang="zh-hans">' in chinese
    assert "决定即将到期" in chinese
    assert chinese.index("申请 #2") < chinese.index("申请 #1")
    assert "The decision on application" not in chinese
    assert "Decision due soon" in english
    assert english.index("application #2") < english.index("application #1")
    assert "申请 #" not in english
    assert english.count('data-unread="true"') == 1
    assert english.count('data-unread="false"') == 1


def test_the_list_is_paginated(client, learner):
    for n in range(25):
        remind(learner, key=f"k{n}", params={**REMINDER, "application": n})
    client.force_login(learner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    first = client.get("/notifications/").content.decode()
    second = client.get("/notifications/?page=2").content.decode()

    assert first.count('data-testid="notification"') == 20
    assert second.count('data-testid="notification"') == 5
    assert "application #24 " in first
    assert "application #0 " in second


def test_the_badge_counts_the_unread_notices_and_mark_all_clears_it(client, learner, reviewer):
    remind(learner, key="a")
    remind(learner, key="b")
    remind(reviewer, key="a")
    client.force_login(learner)

    home = client.get("/").content.decode()
    assert '<span class="badge" data-testid="unread-count">2</span>' in home

    response = client.post("/notifications/read/", {"all": "1"})

    assert response.status_code == 302
    assert 'data-testid="unread-count"' not in client.get("/").content.decode()
    assert notifications_unread_count(user=reviewer) == 1


def test_the_badge_is_not_shown_to_visitors(client):
    assert 'data-testid="notifications-link"' not in client.get("/").content.decode()


def test_staff_see_their_notices_after_the_second_factor(client, reviewer):
    remind(reviewer)
    login_verified(client, reviewer)

    response = client.get("/notifications/")

    assert response.status_code == 200
    assert response.content.decode().count('data-testid="notification"') == 1


def test_marking_read_touches_only_ones_own_notices(client, learner, reviewer):
    mine = remind(learner)
    theirs = remind(reviewer)
    assert mine is not None
    assert theirs is not None

    assert notifications_mark_read(user=learner, ids=[mine.pk, theirs.pk]) == 1
    client.force_login(learner)
    client.post("/notifications/read/", {"ids": [str(theirs.pk)]})

    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.read_at is None
    assert mine.read_at is not None


def test_opening_a_notice_follows_its_link_and_marks_it_read(client, learner):
    notice = remind(learner, link="/file/#awaiting-confirmation")
    assert notice is not None
    client.force_login(learner)

    response = client.get(f"/notifications/{notice.pk}/open/")

    assert response.status_code == 302
    assert response["Location"] == "/file/#awaiting-confirmation"
    notice.refresh_from_db()
    assert notice.read_at is not None


@pytest.mark.parametrize(
    "link", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"]
)
def test_opening_a_notice_never_redirects_to_another_site(client, learner, link):
    # Written past notify(), which refuses such links: as if the row were tampered with.
    notice = Notification.objects.create(
        recipient=learner, kind=Kind.DEADLINE_REMINDER, params=REMINDER, link=link, key="x"
    )
    client.force_login(learner)

    response = client.get(f"/notifications/{notice.pk}/open/")

    assert response.status_code == 302
    assert response["Location"] == "/notifications/"


def test_another_users_notice_cannot_be_opened(client, learner, reviewer):
    theirs = remind(reviewer)
    assert theirs is not None
    client.force_login(learner)

    assert client.get(f"/notifications/{theirs.pk}/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_visitors_are_sent_to_sign_in(client):
    response = client.get("/notifications/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- API -------------------------------------------------------------------------------------


def test_the_api_lists_ones_own_notices_by_page_with_the_unread_count(api_client, learner):
    for n in range(25):
        remind(learner, key=f"k{n}", params={**REMINDER, "application": n})
    remind(UserFactory.create(), key="k0")
    api_client.force_authenticate(learner)

    first = api_client.get("/api/v1/notifications/").json()
    second = api_client.get("/api/v1/notifications/?page=2").json()

    assert (first["count"], first["unread"], len(first["results"])) == (25, 25, 20)
    assert len(second["results"]) == 5
    newest = first["results"][0]
    assert newest["title"] == "Decision due soon"
    assert newest["body"] == (
        "The decision on application #24 (“幼儿园园长任职资格证书”) is due on 2026-07-15."
    )
    assert (newest["kind"], newest["link"], newest["unread"]) == (
        "deadline_reminder",
        "/file/",
        True,
    )


def test_the_api_filters_unread_and_marks_read_only_the_callers(api_client, learner, reviewer):
    mine = [remind(learner, key=f"k{n}") for n in range(3)]
    theirs = remind(reviewer, key="k0")
    assert theirs is not None
    api_client.force_authenticate(learner)

    response = api_client.post(
        "/api/v1/notifications/read/",
        {"ids": [mine[0].pk, theirs.pk]},  # type: ignore[union-attr]
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {"marked": 1, "unread": 2}
    unread = api_client.get("/api/v1/notifications/?unread=1").json()
    assert sorted(n["id"] for n in unread["results"]) == sorted(n.pk for n in mine[1:])  # type: ignore[union-attr]
    assert unread["unread"] == 2
    theirs.refresh_from_db()
    assert theirs.read_at is None

    response = api_client.post("/api/v1/notifications/read/", {"all": True}, format="json")
    assert response.json() == {"marked": 2, "unread": 0}
    assert notifications_unread_count(user=reviewer) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ids"),
        ({"ids": ["x"]}, "ids[0]"),
        ({"ids": [1], "all": True}, "all"),
        ({"ids": 5}, "ids"),
    ],
)
def test_the_api_explains_a_bad_mark_read_request(api_client, learner, body, field):
    api_client.force_authenticate(learner)

    response = api_client.post("/api/v1/notifications/read/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_staff_read_their_notices_with_a_token(api_client, reviewer):
    remind(reviewer)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(api_client, reviewer.username)}")

    assert api_client.get("/api/v1/notifications/").json()["unread"] == 1


# --- Institution batches ---------------------------------------------------------------------


def test_members_are_notified_once_when_their_institution_reports_results(
    admin_client, collective, client, django_capture_on_commit_callbacks
):
    first, second = members_of(admin_client, collective, 2)
    with django_capture_on_commit_callbacks(execute=True):
        response = report(
            admin_client, collective.institution_id, results_csv([row(first), row(second)])
        )
    assert response.status_code == 201, response.content[:2000]

    notices = Notification.objects.filter(kind=Kind.OUTCOME_REPORTED)
    assert {n.recipient_id for n in notices} == {first.holder_id, second.holder_id}
    assert notices.count() == 2
    assert notices[0].params == {"outcome": "幼儿园安全管理培训", "institution": "阳光幼教集团"}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [first.holder.email, second.holder.email]  # type: ignore[union-attr]
    )
    send_notification_emails.delay(notification_ids=[n.pk for n in notices])
    assert len(mail.outbox) == 2

    client.force_login(first.holder)
    notice = notices.get(recipient=first.holder)
    response = client.get(f"/notifications/{notice.pk}/open/")
    assert response["Location"] == "/file/#awaiting-confirmation"
    assert LearningOutcome.objects.filter(account=first, status="pending_confirmation").exists()


def test_a_refused_report_notifies_nobody(admin_client, collective):
    [member] = members_of(admin_client, collective, 1)

    response = report(
        admin_client, collective.institution_id, results_csv([row(member, result="")])
    )

    assert response.status_code == 400
    assert not Notification.objects.exists()


# --- Lost email tasks ------------------------------------------------------------------------


def broker_down(*args: object, **kwargs: object) -> None:
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_an_email_lost_because_the_broker_was_down_at_commit_is_sent_once_by_the_resend(
    reviewer, monkeypatch, django_capture_on_commit_callbacks
):
    with monkeypatch.context() as broken:
        broken.setattr(send_notification_emails, "delay", broker_down)
        # The caller's work commits all the same; the email task is what is lost.
        with django_capture_on_commit_callbacks(execute=True):
            notice = remind(reviewer)
    assert notice is not None
    assert mail.outbox == []
    # Too early: its first task may still be on its way.
    assert notification_emails_resend() == 0

    later = timezone.now() + datetime.timedelta(seconds=settings.NOTIFICATION_RESEND_AFTER_SECONDS)
    assert notification_emails_resend(now=later + datetime.timedelta(seconds=1)) == 1
    assert notification_emails_resend(now=later + datetime.timedelta(seconds=2)) == 0

    assert [m.to for m in mail.outbox] == [[reviewer.email]]
    notice.refresh_from_db()
    assert notice.emailed_at is not None


def test_a_claim_left_by_a_worker_that_died_before_sending_is_taken_over_after_the_lease(
    reviewer,
):
    notice = remind(reviewer)
    assert notice is not None
    now = timezone.now()
    # Claimed a minute ago by a worker that may still be sending: nothing is sent twice.
    Notification.objects.filter(pk=notice.pk).update(
        created_at=now - datetime.timedelta(minutes=30),
        email_claimed_at=now - datetime.timedelta(minutes=1),
    )
    assert notification_emails_resend() == 0
    assert notification_emails_send(notification_ids=[notice.pk]) == 0
    assert mail.outbox == []

    # The claim is older than the lease: that worker died between claiming and sending.
    lease = datetime.timedelta(seconds=settings.NOTIFICATION_EMAIL_LEASE_SECONDS)
    Notification.objects.filter(pk=notice.pk).update(
        email_claimed_at=now - lease - datetime.timedelta(seconds=1)
    )
    assert notification_emails_resend() == 1
    assert [m.to for m in mail.outbox] == [[reviewer.email]]
    assert notification_emails_resend() == 0
