"""Notices to users: stored once, shown in the portal, sent by email.

Every app above calls :func:`notify` (one recipient) or :func:`notify_many` (the same notice to
many) inside its own transaction. A notice is stored once per ``(recipient, key)``: the caller
chooses a key that names the event (``"deadline_reminder:application:42:2026-07-01"``), so a
retried task or a racing worker stores nothing the second time. Only the kind and its
parameters are stored; the text is rendered when it is read, in the reader's language, from the
table below. Email goes after the commit, by a worker, in Chinese followed by English (users do
not choose a language yet), and at most once per notice.
"""

from __future__ import annotations

import contextlib
import logging
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from accounts.core.models import User
from accounts.ledger.models import LearningAccount
from accounts.notifications.models import Notification
from common.prepared import PreparedQuery
from common.tasks import task_after_commit

logger = logging.getLogger(__name__)

Kind = Notification.Kind
Params = Mapping[str, str | int]

# The body of each kind: a format string over the parameters its callers pass (listed in
# docs and in the module docstring of each caller). Translators keep the {names} as they are.
BODIES: dict[str, Promise] = {
    Kind.APPLICATION_SUBMITTED: _(
        "{centre} has received your application #{application} to accredit “{outcome}”. "
        "The decision is due on {due_on}."
    ),
    Kind.APPLICATION_ASSIGNED: _(
        "Application #{application} (“{outcome}”) is assigned to you for review. "
        "The decision is due on {due_on}."
    ),
    Kind.SUPPLEMENT_REQUESTED: _(
        "The centre needs more material to decide on your application #{application} "
        "(“{outcome}”); the time for the decision stops until you provide it. "
        "What is needed: {reason}"
    ),
    Kind.APPLICATION_ACCREDITED: _(
        "“{outcome}” is accredited (application #{application}): {hours} learning hours and "
        "{credits} credits are added to your learning account."
    ),
    Kind.APPLICATION_REJECTED: _(
        "“{outcome}” was not accredited (application #{application}). Reason: {reason}"
    ),
    Kind.APPROVAL_REQUESTED: _(
        "{proposed_by} proposes to accredit “{outcome}” (application #{application}) "
        "individually with {hours} learning hours and {credits} credits. Another reviewer of "
        "the centre must approve it."
    ),
    Kind.DEADLINE_REMINDER: _(
        "The decision on application #{application} (“{outcome}”) is due on {due_on}."
    ),
    Kind.DEADLINE_ESCALATION: _(
        "The decision on application #{application} (“{outcome}”), assigned to {reviewer}, "
        "was due on {due_on} and is overdue."
    ),
    Kind.DEADLINE_MOVED: _(
        "The official holiday arrangement for {years} is published and the due dates are "
        "recomputed on it. {count} application(s) of yours moved (application, old due date → "
        "new due date): {moves}"
    ),
    Kind.OUTCOME_REPORTED: _(
        "{institution} has reported “{outcome}” for you. Confirm it to save it in your "
        "lifelong learning file, or decline it."
    ),
    Kind.COLLECTIVE_INVITATION: _(
        "{institution} has put you on the member list of its collective account. If you "
        "accept, it will see your learning account number, your name, your learning hours and "
        "your credits; if you decline, it sees none of them. Answer on your lifelong learning "
        "file page."
    ),
    Kind.CATALOGUE_MATCH: _(
        "“{outcome}” matches the catalogue entry “{entry}” ({hours} learning hours, "
        "{credits} credits). You can now apply to have it accredited."
    ),
    Kind.TRANSFER_ACCEPTED: _(
        "{institution} accepted “{outcome}” for the course “{course}” of {programme} "
        "(transfer #{application}): {credits} credits are recorded as transferred."
    ),
    Kind.TRANSFER_REJECTED: _(
        "{institution} did not accept “{outcome}” for the course “{course}” of {programme} "
        "(transfer #{application}). Reason: {reason}"
    ),
    Kind.TRANSFER_INFORMATION_REQUESTED: _(
        "{institution} needs more information about “{outcome}” for the course “{course}” of "
        "{programme} (transfer #{application}). What is needed: {reason}"
    ),
    Kind.TRANSFER_BASIS_WITHDRAWN: _(
        "The accreditation of “{outcome}” was revoked, so the course “{course}” of {programme} "
        "(transfer #{application}) is withdrawn without a decision."
    ),
    Kind.TRANSFER_BASIS_REVOKED: _(
        "The accreditation of “{outcome}” was revoked after {institution} accepted it for the "
        "course “{course}” of {programme} (transfer #{application}). Rescind the transfer or "
        "keep it with a reason."
    ),
    Kind.TRANSFER_RESCINDED: _(
        "{institution} rescinded the transfer of “{outcome}” for the course “{course}” of "
        "{programme} (transfer #{application}): its {credits} credits are taken off your "
        "transferred credits. Reason: {reason}"
    ),
    Kind.TRANSFER_KEPT: _(
        "{institution} keeps the transfer of “{outcome}” for the course “{course}” of "
        "{programme} (transfer #{application}) although its accreditation was revoked. "
        "Reason: {reason}"
    ),
    Kind.ACCREDITATION_REVOKED: _(
        "The accreditation of “{outcome}” (application #{application}) has been revoked: "
        "{reason}. Its {hours} learning hours and {credits} credits are taken off your ledger."
    ),
    Kind.CERTIFICATE_READY: _("Your certificate {serial} is ready to download."),
    Kind.CORRECTION_ACCEPTED: _(
        "Your correction request #{request} was accepted and the change is made. "
        "The centre's reason: {reason}"
    ),
    Kind.CORRECTION_REJECTED: _(
        "Your correction request #{request} was not accepted. The centre's reason: {reason}"
    ),
    Kind.CALENDAR_UNPUBLISHED: _(
        "The State Council's holiday arrangement for {year} is not entered in the portal yet. "
        "Due dates that reach into {year} are provisional, computed from the statutory holidays "
        "alone. Enter the arrangement as soon as it is published."
    ),
    Kind.PREASSESSMENT_ASKED: _(
        "A learner asks whether “{entry}” would count for the course “{course}” of {programme} "
        "(pre-assessment #{preassessment}). The answer is due on {due_on}."
    ),
    Kind.PREASSESSMENT_YES: _(
        "{institution} answered yes to your pre-assessment #{preassessment}: “{entry}” will "
        "count for the course “{course}” of {programme} with {credits} credits if you apply "
        "for the transfer by {valid_until}."
    ),
    Kind.PREASSESSMENT_NO: _(
        "{institution} answered no to your pre-assessment #{preassessment} (“{entry}” for the "
        "course “{course}” of {programme}). Reason: {reason}"
    ),
    Kind.PREASSESSMENT_REMINDER: _(
        "The answer to pre-assessment #{preassessment} (“{entry}” for the course “{course}”) "
        "is due on {due_on}."
    ),
    Kind.PREASSESSMENT_ESCALATION: _(
        "The answer to pre-assessment #{preassessment} (“{entry}” for the course “{course}”) "
        "was due on {due_on} and is overdue."
    ),
    Kind.IDENTITY_REVEAL_LIMIT: _(
        "{staff} asked to reveal more than {limit} identity numbers on {date}; further "
        "reveals are refused until the next day."
    ),
}
GENERIC_TITLE = _("Notice")
# Shown when a notice lacks a parameter its text needs (an older caller, a renamed param).
GENERIC_BODY = _("Open the portal for the details.")

MAX_KEY = Notification._meta.get_field("key").max_length or 120
MAX_LINK = Notification._meta.get_field("link").max_length or 300
# Recipients looked up per query, and notices emailed per worker task.
LOOKUP_CHUNK = 5_000
EMAILS_PER_TASK = 200
# The periodic re-send looks back this far (older notices are not worth an email any more) and
# queues at most this many per run.
RESEND_WITHIN = timedelta(days=2)
RESEND_LIMIT = 10_000

_T = TypeVar("_T")


# --- Rendering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedNotification:
    """A notice as the reader sees it, in the language active when it was rendered."""

    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


_FORMATTER = string.Formatter()


def _fill(template: str, params: Mapping[str, object]) -> str | None:
    """``template`` with ``params`` put in, or None when it needs a parameter that is missing
    or empty, or is not a valid template. Only plain names are filled: ``{a.b}`` or ``{a[0]}``
    in a (translated) template never reach into the values."""
    pieces: list[str] = []
    try:
        for literal, name, _spec, _conversion in _FORMATTER.parse(template):
            pieces.append(literal)
            if name is None:
                continue
            value = params.get(name)
            if not name.isidentifier() or value is None or value == "":
                return None
            pieces.append(str(value))
    except ValueError:
        return None
    return "".join(pieces)


def notification_title(kind: str) -> str:
    return str(Kind(kind).label) if kind in Kind.values else str(GENERIC_TITLE)


def notification_body(kind: str, params: Mapping[str, object]) -> str:
    template = BODIES.get(kind)
    body = _fill(str(template), params) if template is not None else None
    return body if body is not None else str(GENERIC_BODY)


def notification_render(notification: Notification) -> RenderedNotification:
    """The notice's title and text in the active language."""
    params = notification.params if isinstance(notification.params, dict) else {}
    return RenderedNotification(
        id=notification.pk,
        kind=notification.kind,
        title=notification_title(notification.kind),
        body=notification_body(notification.kind, params),
        link=notification.link,
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


def is_local_path(link: str) -> bool:
    """True for a path on this portal (``/file/``), never for another site (``//evil.example``,
    ``https://...``, ``/\\evil.example``): links are followed by a redirect, which must not be
    an open one."""
    return (
        link.startswith("/")
        and not link.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(link, allowed_hosts=None)
    )


# --- Storing ---------------------------------------------------------------------------------


def _closed_among(users: Iterable[User]) -> set[int]:
    """The ids of ``users`` whose learning account is closed. Closing an account makes its
    holder inactive, so only inactive users are looked up (no query while all are active)."""
    inactive = [user.pk for user in users if not user.is_active]
    if not inactive:
        return set()
    return set(
        LearningAccount.objects.filter(
            holder_id__in=inactive, status=LearningAccount.Status.CLOSED
        ).values_list("holder_id", flat=True)
    )


def _check(*, kind: str, params: Params, link: str, key: str) -> None:
    errors: dict[str, object] = {}
    if kind not in Kind.values:
        errors["kind"] = _("Unknown kind of notice.")
    if not all(isinstance(k, str) and isinstance(v, str | int) for k, v in params.items()):
        errors["params"] = _("Parameters of a notice are names with text or whole numbers.")
    if link and (len(link) > MAX_LINK or not is_local_path(link)):
        errors["link"] = _("The link of a notice must be a path on this portal.")
    if not key or len(key) > MAX_KEY:
        errors["key"] = _("A notice needs a key of at most %(max)d characters.") % {"max": MAX_KEY}
    if errors:
        raise ValidationError(errors)


def notify(
    *, recipient: User, kind: str, params: Params, link: str = "", key: str
) -> Notification | None:
    """Store a notice for ``recipient`` unless one with ``key`` is already stored; returns it,
    or None when it was already there (or the recipient's account is closed: nothing is stored
    or sent to a closed account). When stored and the recipient has an email address, the email
    is sent by a worker after the caller's transaction commits."""
    _check(kind=kind, params=params, link=link, key=key)
    if _closed_among([recipient]):
        return None
    notification = Notification(
        recipient=recipient, kind=kind, params=dict(params), link=link, key=key
    )
    try:
        # A savepoint: a duplicate fails this insert only, never the caller's transaction (on
        # PostgreSQL a failed statement would abort it). A racing insert of the same key waits
        # on the unique index until the other transaction ends, then fails here if it committed.
        with transaction.atomic():
            notification.save(force_insert=True)
    except IntegrityError:
        if Notification.objects.filter(recipient=recipient, key=key).exists():
            return None
        raise
    if recipient.email:
        _email_after_commit([notification.pk])
    return notification


def notify_many(
    *, recipients: Iterable[User], kind: str, params: Params, link: str = "", key: str
) -> list[Notification]:
    """The same notice to each of ``recipients``, stored once per recipient and ``key``, in a
    few queries whatever their number; returns the notices stored now.

    Should two callers store the same key at the very same moment, each may count the other's
    rows among its own (the insert skips conflicts rather than failing); no notice is stored
    twice and no email sent twice all the same.
    """
    _check(kind=kind, params=params, link=link, key=key)
    people = {user.pk: user for user in recipients}
    for pk in _closed_among(people.values()):
        del people[pk]
    with transaction.atomic():
        already: set[int] = set()
        for chunk in _chunks(sorted(people), LOOKUP_CHUNK):
            already.update(
                Notification.objects.filter(key=key, recipient_id__in=chunk).values_list(
                    "recipient_id", flat=True
                )
            )
        wanted = [pk for pk in sorted(people) if pk not in already]
        now = timezone.now()
        Notification.objects.bulk_create(
            [
                Notification(
                    recipient_id=pk,
                    kind=kind,
                    params=dict(params),
                    link=link,
                    key=key,
                    created_at=now,
                )
                for pk in wanted
            ],
            batch_size=1_000,
            # ON CONFLICT DO NOTHING: a racing caller's row is skipped instead of failing
            # the caller's whole transaction.
            ignore_conflicts=True,
        )
        stored: list[Notification] = []
        for chunk in _chunks(wanted, LOOKUP_CHUNK):
            stored.extend(Notification.objects.filter(key=key, recipient_id__in=chunk))
        _email_after_commit([n.pk for n in stored if people[n.recipient_id].email])
    return stored


def notices_about_erase(*, key_prefixes: Sequence[str]) -> int:
    """Forget the parameters of every notice whose key starts with one of ``key_prefixes``
    (``"application:42:"``), whoever received it: a closed account's outcome titles and reasons
    do not outlive it in the notices its reviewers got. Such a notice then reads as the
    generic text. Returns how many were changed."""
    changed = 0
    for chunk in _chunks(list(key_prefixes), 200):
        about = Q()
        for prefix in chunk:
            about |= Q(key__startswith=prefix)
        changed += Notification.objects.filter(about).exclude(params={}).update(params={})
    return changed


def _chunks(items: Sequence[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass(frozen=True)
class Notice:
    """One notice of a batch (:func:`notify_batch`): its own recipient, kind and key."""

    recipient: User
    kind: str
    params: Params
    link: str
    key: str


def notify_batch(notices: Sequence[Notice]) -> list[Notification]:
    """Many notices, each with its own recipient and key, in a few queries whatever their number
    (the deadline sweep sends one per application it claims); returns those stored now.

    As with :func:`notify`, a ``(recipient, key)`` already stored is skipped, and one stored at
    the same moment by a racing caller is skipped by the insert (ON CONFLICT DO NOTHING) and not
    counted here: only rows carrying this call's own timestamp are returned and emailed."""
    for notice in notices:
        _check(kind=notice.kind, params=notice.params, link=notice.link, key=notice.key)
    closed = _closed_among({notice.recipient.pk: notice.recipient for notice in notices}.values())
    wanted: dict[tuple[int, str], Notice] = {}
    for notice in notices:
        if notice.recipient.pk not in closed:
            wanted.setdefault((notice.recipient.pk, notice.key), notice)
    if not wanted:
        return []
    with transaction.atomic():
        # Both columns of the unique index (recipient, key) in every lookup: a batch has many
        # keys but few recipients (a centre's reviewers), and the index is searched for both.
        recipients = sorted({pk for pk, _key in wanted})
        keys = sorted({key for _pk, key in wanted})
        for chunk in _chunks(keys, LOOKUP_CHUNK):
            for pair in Notification.objects.filter(
                recipient_id__in=recipients, key__in=chunk
            ).values_list("recipient_id", "key"):
                wanted.pop(pair, None)
        now = timezone.now()
        Notification.objects.bulk_create(
            [
                Notification(
                    recipient_id=notice.recipient.pk,
                    kind=notice.kind,
                    params=dict(notice.params),
                    link=notice.link,
                    key=notice.key,
                    created_at=now,
                )
                for notice in wanted.values()
            ],
            batch_size=1_000,
            ignore_conflicts=True,
        )
        stored: list[Notification] = []
        for chunk in _chunks(sorted({key for _pk, key in wanted}), LOOKUP_CHUNK):
            stored.extend(
                n
                for n in Notification.objects.filter(
                    recipient_id__in=recipients, key__in=chunk, created_at=now
                )
                if (n.recipient_id, n.key) in wanted
            )
        _email_after_commit(
            sorted(n.pk for n in stored if wanted[(n.recipient_id, n.key)].recipient.email)
        )
    return stored


def _email_after_commit(notification_ids: list[int]) -> None:
    # Imported here: the task calls this module's services (a service and its own task).
    from accounts.tasks import send_notification_emails

    for chunk in _chunks(notification_ids, EMAILS_PER_TASK):
        # robust: a broker that is down must not turn the caller's committed work into an
        # error; the notice is in the portal regardless, and the periodic re-send
        # (notification_emails_resend) queues its email once the broker is back.
        task_after_commit(send_notification_emails, notification_ids=chunk)


# --- Reading ---------------------------------------------------------------------------------


def notifications_of(*, user: User) -> QuerySet[Notification]:
    """The user's notices, newest first."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def notices_params(*, kind: str, key_prefix: str) -> list[Any]:
    """The parameters of every notice of ``kind`` whose key starts with ``key_prefix``, to
    whomever it went (for a layer above that keys its notices, e.g. the calendar watch)."""
    return list(
        Notification.objects.filter(kind=kind, key__startswith=key_prefix).values_list(
            "params", flat=True
        )
    )


def notifications_unread_count(*, user: User) -> int:
    """One query, answered from the partial index of unread notices; its SQL is built once
    per process (every signed-in page asks)."""
    counted = _UNREAD_COUNT.first(recipient=user.pk)
    return counted or 0


# Grouped by the one recipient: no row when nothing is unread.
_UNREAD_COUNT: PreparedQuery[int] = PreparedQuery(
    lambda recipient: (
        Notification.objects.filter(recipient_id=recipient, read_at__isnull=True)
        .order_by()
        .values("recipient_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    ),
    recipient=2_000_000_001,
)


def notifications_mark_read(*, user: User, ids: list[int] | None) -> int:
    """Mark the user's notices ``ids`` (None: all of them) as read; ids of other users'
    notices are ignored. Returns how many were unread."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def notification_open(*, user: User, notification_id: int) -> Notification:
    """The user opens one of their notices: it is read. Raises Notification.DoesNotExist for
    anyone else's."""
    notification = notifications_of(user=user).get(pk=notification_id)
    if notification.read_at is None:
        notifications_mark_read(user=user, ids=[notification.pk])
    return notification


# --- Email -----------------------------------------------------------------------------------


def portal_url() -> str:
    """The portal's address for links in emails: PORTAL_URL, else the first named host of
    ALLOWED_HOSTS."""
    configured = str(getattr(settings, "PORTAL_URL", "") or "").rstrip("/")
    if configured:
        return configured
    for host in settings.ALLOWED_HOSTS:
        if host and not host.startswith((".", "*")):
            scheme = "http" if settings.DEBUG else "https"
            return f"{scheme}://{host}"
    return ""


def notification_email(notification: Notification) -> EmailMessage:
    """The email of a notice: subject and text in each of the portal's languages, Chinese
    first, with the absolute link."""
    parts = []
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            parts.append(
                {
                    "language": language,
                    "title": notification_title(notification.kind),
                    "body": notification_body(notification.kind, notification.params or {}),
                }
            )
    link = ""
    if notification.link and is_local_path(notification.link):
        link = portal_url() + notification.link
    body = render_to_string(
        "accounts/notification_email.txt",
        {"parts": parts, "link": link, "recipient": notification.recipient},
    )
    subject = " / ".join(dict.fromkeys(part["title"] for part in parts))
    return EmailMessage(
        subject=subject,
        body=body,
        to=[notification.recipient.email],
        headers={"Message-ID": notification_message_id(notification)},
    )


def notification_message_id(notification: Notification) -> str:
    """The email's Message-ID, the same every time this notice's email is sent: if a worker
    dies after the mail server took the email but before ``emailed_at`` is stored, the email is
    sent again after the lease (at least once, never lost), and mail stores that keep one
    message per Message-ID keep one."""
    host = urlsplit(portal_url()).hostname or "creditbank.invalid"
    if ":" in host:  # an IPv6 address is a domain literal
        host = f"[{host}]"
    return f"<notice.{notification.pk}.{notification.created_at:%Y%m%d%H%M%S}@{host}>"


def _lease() -> timedelta:
    return timedelta(seconds=settings.NOTIFICATION_EMAIL_LEASE_SECONDS)


def notification_email_send(
    *, notification_id: int, connection: BaseEmailBackend | None = None
) -> bool:
    """Send a notice's email unless it has been sent; returns whether this call sent it.

    The notice is claimed first with a conditional update of ``email_claimed_at``, so a task
    that runs twice (a retry, a redelivered message) or two workers send one email; once sent,
    ``emailed_at`` is set. If sending fails the claim is released and the error raised, for
    the task to retry. A claim older than the lease (``NOTIFICATION_EMAIL_LEASE_SECONDS``) was
    left by a worker that died between claiming and sending, and may be taken over.
    """
    notification = (
        Notification.objects.select_related("recipient")
        .filter(pk=notification_id, emailed_at__isnull=True)
        .first()
    )
    if notification is None or not notification.recipient.email:
        return False
    if not notification.recipient.is_active:
        return False
    claimed_at = timezone.now()
    claimed = (
        Notification.objects.filter(pk=notification_id, emailed_at__isnull=True)
        .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=claimed_at - _lease()))
        .update(email_claimed_at=claimed_at)
    )
    if not claimed:
        return False
    message = notification_email(notification)
    message.connection = connection
    try:
        if connection is not None:
            # Opened here, a batch's connection stays open across its sends (a backend closes
            # after sending only a connection that it opened itself), so that emailed_at is
            # stored right after the server took the email.
            connection.open()
        message.send()
    except BaseException:
        Notification.objects.filter(pk=notification_id, email_claimed_at=claimed_at).update(
            email_claimed_at=None
        )
        raise
    Notification.objects.filter(pk=notification_id).update(emailed_at=timezone.now())
    return True


def notification_emails_pending(*, now: datetime | None = None) -> list[int]:
    """Notices whose email should have gone out by now and has not: stored more than
    ``NOTIFICATION_RESEND_AFTER_SECONDS`` ago (and within ``RESEND_WITHIN``), to an active user
    with an address, and not claimed by a live worker. Their task was lost: the broker was down
    when the notice's transaction committed, or the worker died before sending."""
    now = now or timezone.now()
    after = timedelta(seconds=settings.NOTIFICATION_RESEND_AFTER_SECONDS)
    return list(
        Notification.objects.filter(
            emailed_at__isnull=True,
            created_at__lte=now - after,
            created_at__gte=now - RESEND_WITHIN,
            recipient__is_active=True,
        )
        .exclude(recipient__email="")
        .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - _lease()))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:RESEND_LIMIT]
    )


def notification_emails_resend(*, now: datetime | None = None) -> int:
    """Periodic (beat): queue again the emails of :func:`notification_emails_pending`; returns
    how many. Sending claims each notice, so a notice whose first task turns up after all is
    still emailed once."""
    from accounts.tasks import send_notification_emails

    pending = notification_emails_pending(now=now)
    for chunk in _chunks(pending, EMAILS_PER_TASK):
        send_notification_emails.delay(notification_ids=chunk)
    if pending:
        logger.warning("re-sent the lost emails of %d notices", len(pending))
    return len(pending)


def notification_emails_send(*, notification_ids: Sequence[int]) -> int:
    """Send the emails of several notices over one connection; returns how many were sent.
    One failing address does not hold up the others: every notice is tried, and then the
    first error is raised, so that a retry sends only those still unsent."""
    sent = 0
    failure: BaseException | None = None
    connection = get_connection()
    try:
        for notification_id in notification_ids:
            try:
                sent += notification_email_send(
                    notification_id=notification_id, connection=connection
                )
            except Exception as exc:
                logger.warning("notice %s not emailed: %r", notification_id, exc)
                failure = failure or exc
                with contextlib.suppress(Exception):  # the first error is the one to raise
                    connection.close()
    finally:
        connection.close()
    if failure is not None:
        raise failure
    return sent
