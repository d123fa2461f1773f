"""Webhook subscriptions and the delivery outbox.

An event is recorded (``webhook_event_record``) in the transaction of the change it tells of:
one outbox row per subscription that wants it, and, once the transaction commits, a task per
row. The worker claims a row with a conditional update (so the on-commit task and the periodic
re-send never send it twice at once), posts it signed, and on failure sets the next attempt
with exponential backoff and jitter, capped; after ``WEBHOOK_MAX_ATTEMPTS`` the row is
"failed" until the admin replays it. A task lost on the way (broker down, worker killed) is
found again by ``webhook_deliveries_resend`` (beat): nothing is lost while a row is pending.

One attempt has an overall deadline (``WEBHOOK_TIMEOUT_SECONDS``, a third of the claim's hold):
a receiver that trickles its answer a byte at a time is cut off then, not only one that is
silent. The result is written only while the worker still holds its claim, so a worker whose
claim ran out (and whose row another worker took) cannot overwrite the newer result.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.core.models import Institution, Role, User
from accounts.identity.crypto import decrypt, encrypt
from accounts.signin.permissions import user_has_role
from accounts.webhooks.addresses import WebhookTarget, webhook_target, webhook_url_check
from accounts.webhooks.models import EventType, WebhookDelivery, WebhookSubscription
from accounts.webhooks.signing import headers_of, message_id_generate, secret_generate
from common.tasks import task_after_commit

MAX_SUBSCRIPTIONS = 10


# --- Who may manage them --------------------------------------------------------------------------


def webhooks_institution_of(*, user: Any, institution_id: int) -> Institution | None:
    """The institution, if ``user`` is one of its administrators."""
    if not user_has_role(user, Role.INSTITUTION_ADMIN) or user.institution_id != institution_id:
        return None
    return Institution.objects.filter(pk=institution_id).first()


def _check_administers(*, user: User, institution: Institution) -> None:
    if not user_has_role(user, Role.INSTITUTION_ADMIN) or user.institution_id != institution.pk:
        raise PermissionDenied


# --- Subscriptions -------------------------------------------------------------------------------


def _event_types_check(event_types: Iterable[str]) -> list[str]:
    chosen = sorted(set(event_types))
    if not chosen:
        raise ValidationError({"event_types": _("Choose at least one event.")})
    unknown = [t for t in chosen if t not in EventType.values]
    if unknown:
        raise ValidationError(
            {"event_types": _("Unknown event: %(event)s.") % {"event": ", ".join(unknown)}}
        )
    return chosen


def webhook_secret_of(subscription: WebhookSubscription) -> str:
    return decrypt(subscription.secret_encrypted)


@transaction.atomic
def webhook_subscription_create(
    *, institution: Institution, actor: User, url: str, event_types: Iterable[str]
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret, returned this once (it is stored encrypted)."""
    _check_administers(user=actor, institution=institution)
    url = webhook_url_check(url)
    chosen = _event_types_check(event_types)
    Institution.objects.select_for_update().get(pk=institution.pk)  # counts one at a time
    if institution.webhook_subscriptions.count() >= MAX_SUBSCRIPTIONS:
        raise ValidationError(
            {"url": _("At most %(n)d webhooks per institution.") % {"n": MAX_SUBSCRIPTIONS}}
        )
    secret = secret_generate()
    subscription = WebhookSubscription.objects.create(
        institution=institution,
        url=url,
        event_types=chosen,
        secret_encrypted=encrypt(secret),
        created_by=actor,
    )
    return subscription, secret


@transaction.atomic
def webhook_subscription_update(
    *,
    subscription: WebhookSubscription,
    actor: User,
    url: str,
    event_types: Iterable[str],
    is_active: bool,
) -> WebhookSubscription:
    _check_administers(user=actor, institution=subscription.institution)
    subscription.url = webhook_url_check(url)
    subscription.event_types = _event_types_check(event_types)
    subscription.is_active = is_active
    subscription.save(update_fields=["url", "event_types", "is_active"])
    return subscription


@transaction.atomic
def webhook_secret_rotate(*, subscription: WebhookSubscription, actor: User) -> str:
    """A new secret, returned this once; every attempt from now on is signed with it."""
    _check_administers(user=actor, institution=subscription.institution)
    secret = secret_generate()
    subscription.secret_encrypted = encrypt(secret)
    subscription.secret_rotated_at = timezone.now()
    subscription.save(update_fields=["secret_encrypted", "secret_rotated_at"])
    return secret


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription, actor: User) -> None:
    """The subscription goes with its delivery log; nothing more is sent to it."""
    _check_administers(user=actor, institution=subscription.institution)
    subscription.delete()


def webhook_subscriptions_of(*, institution: Institution) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(institution=institution).order_by("created_at", "pk")


def webhook_deliveries_of(*, institution: Institution) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(subscription__institution=institution)
        .select_related("subscription")
        .order_by("-created_at", "-pk")
    )


# --- Recording events (the outbox) ---------------------------------------------------------------


def _body(event_type: str, data: dict[str, Any], at: Any) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": at.isoformat(), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


def webhook_event_record(
    *,
    institution_id: int | None,
    event_type: str,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
) -> list[WebhookDelivery]:
    """Called by the app that made the change, inside its transaction: one outbox row for each
    active subscription of the institution that wants ``event_type``. ``data`` must hold only
    what the institution may already see; a callable is called only when someone subscribed
    (so a caller need not read what no one will be sent). The rows commit with the change or
    not at all."""
    if institution_id is None:
        return []
    if event_type not in EventType.values:
        raise ValueError(f"unknown webhook event {event_type!r}")
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(institution_id=institution_id, is_active=True)
        if event_type in s.event_types
    ]
    if not subscriptions:
        return []
    now = timezone.now()
    body = _body(event_type, data() if callable(data) else data, now)
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                subscription=subscription,
                message_id=message_id_generate(),
                event_type=event_type,
                body=body,
                next_attempt_at=now,
                created_at=now,
            )
            for subscription in subscriptions
        ]
    )
    for delivery in deliveries:
        _enqueue(delivery.message_id)
    return deliveries


def _enqueue(message_id: str) -> None:
    from accounts.tasks import deliver_webhook

    task_after_commit(deliver_webhook, message_id=message_id)


# --- Sending -------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """After the ``attempts``-th failure: base × 2^(attempts-1), capped, with full jitter
    between half and all of it (so receivers coming back are not hit by every sender at once)."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    cap = settings.WEBHOOK_RETRY_CAP_SECONDS
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not a secret


def _claim(message_id: str, now: Any) -> Any:
    """Take the row for one attempt: only a pending row that is due and not held by another
    worker; the conditional update is the lock. The hold this worker set, or None."""
    hold = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3)
    taken = WebhookDelivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        message_id=message_id,
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now,
    ).update(claimed_until=hold)
    return hold if taken else None


class _Deadline:
    """The end of one attempt: a timer shuts the connection's socket down then, which wakes
    a read that is waiting on a receiver sending its answer a byte at a time."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.passed = threading.Event()
        self.sock: socket.socket | None = None
        self.lock = threading.Lock()
        self.timer = threading.Timer(seconds, self._cut)
        self.timer.daemon = True

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0 or self.passed.is_set():
            raise TimeoutError("the receiver did not answer in time")
        return left

    def watch(self, sock: socket.socket) -> None:
        with self.lock:
            self.sock = sock
            if self.passed.is_set():
                self._shutdown()

    def _cut(self) -> None:
        with self.lock:
            self.passed.set()
            self._shutdown()

    def _shutdown(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)


# The most a proxy's answer to CONNECT may hold before its blank line.
_PROXY_ANSWER_LIMIT = 8192


def _tunnel(proxy_url: str, address: str, port: int, deadline: _Deadline) -> socket.socket:
    """A socket to ``address``:``port`` through the outbound proxy's ``CONNECT`` tunnel. The
    proxy is asked for the checked address, never for the name: it has nothing to resolve, so
    what it connects to is what the SSRF check passed (docs/decisions/0018). TLS, the ``Host``
    header and the certificate check still use the name, end to end through the tunnel."""
    proxy = urlsplit(proxy_url)
    sock = socket.create_connection((proxy.hostname or "", proxy.port or 80), deadline.remaining())
    deadline.watch(sock)
    try:
        authority = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        head = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        if proxy.username is not None:
            user_pass = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
            head.append(
                f"Proxy-Authorization: Basic {base64.b64encode(user_pass.encode()).decode()}"
            )
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        # Byte by byte up to the blank line: whatever follows it belongs to the receiver.
        answer = b""
        while not answer.endswith(b"\r\n\r\n"):
            byte = sock.recv(1)
            if not byte or len(answer) >= _PROXY_ANSWER_LIMIT:
                raise OSError("the proxy closed the tunnel or answered too much")
            answer += byte
        status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
        status = status_line.split(" ", 2)
        if len(status) < 2 or not status[1].startswith("2"):
            raise OSError(f"the proxy refused the tunnel: {status_line[:100]}")
    except BaseException:
        sock.close()
        raise
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a checked address: the ``Host`` header is the URL's name, but the socket goes
    to ``address``, never to a second answer for the name."""

    def __init__(self, target: WebhookTarget, address: str, deadline: _Deadline) -> None:
        super().__init__(target.host, target.port, timeout=deadline.remaining())
        self.address = address
        self.deadline = deadline

    def _socket(self) -> socket.socket:
        if settings.WEBHOOK_PROXY_URL:
            sock = _tunnel(settings.WEBHOOK_PROXY_URL, self.address, self.port, self.deadline)
        else:
            sock = socket.create_connection((self.address, self.port), self.deadline.remaining())
            self.deadline.watch(sock)
        with contextlib.suppress(OSError):  # not a TCP socket: nothing to tune
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def connect(self) -> None:
        self.sock = self._socket()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """HTTPS to a checked address; TLS is told the URL's name (SNI), and the certificate is
    checked against that name."""

    default_port = http.client.HTTPS_PORT

    def __init__(
        self,
        target: WebhookTarget,
        address: str,
        deadline: _Deadline,
        context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(target, address, deadline)
        self.context = context or ssl.create_default_context()

    def connect(self) -> None:
        sock = self._socket()
        try:
            self.sock = self.context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _post(
    target: WebhookTarget, body: str, headers: dict[str, str], *, seconds: float | None = None
) -> tuple[int | None, str]:
    """(status code, error) of one POST to the checked addresses of ``target``, within
    ``seconds`` in all; a status of 2xx is a delivery. Redirects are not followed (one could
    point anywhere): a 3xx is an answer."""
    deadline = _Deadline(settings.WEBHOOK_TIMEOUT_SECONDS if seconds is None else seconds)
    parts = urlsplit(target.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    deadline.timer.start()
    error = ""
    try:
        for address in target.addresses:
            conn = kind(target, address, deadline)
            try:
                conn.connect()
            except OSError as exc:  # this address is down: the next one, if any
                conn.close()
                error = str(exc)[:300] or type(exc).__name__
                continue
            try:
                conn.request(
                    "POST",
                    path,
                    body=body.encode(),
                    headers={
                        **headers,
                        "content-type": "application/json",
                        "user-agent": "creditbank-webhooks/1",
                    },
                )
                response = conn.getresponse()
                response.close()
                return int(response.status), ""
            finally:
                conn.close()
        return None, error or "no address"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        if deadline.passed.is_set():
            return None, f"no whole answer within {deadline.timer.interval:g} s"
        return None, str(exc)[:300] or type(exc).__name__
    finally:
        deadline.timer.cancel()


_RESULT_FIELDS = [
    "attempts",
    "last_attempt_at",
    "last_status_code",
    "last_error",
    "claimed_until",
    "status",
    "delivered_at",
    "next_attempt_at",
]


def webhook_deliver(*, message_id: str) -> str:
    """One attempt at the row, if it is due and no other worker holds it. Returns the status
    after it (or "skipped", also when this worker's claim ran out before it was done and
    another worker took the row: its result is then not written)."""
    now = timezone.now()
    hold = _claim(message_id, now)
    if hold is None:
        return "skipped"
    delivery = (
        WebhookDelivery.objects.select_related("subscription").filter(message_id=message_id).first()
    )
    if delivery is None:  # its subscription was deleted meanwhile
        return "skipped"
    subscription = delivery.subscription
    if not subscription.is_active:
        # Made inactive by its administrator: nothing more goes to it; a replay once it is active
        # again sends the message.
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
        delivery.claimed_until = None
        delivery.last_error = _("Not sent: this webhook is not active.")
        written = WebhookDelivery.objects.filter(pk=delivery.pk, claimed_until=hold).update(
            status=delivery.status,
            next_attempt_at=None,
            claimed_until=None,
            last_error=delivery.last_error,
        )
        return delivery.status if written else "skipped"
    try:
        target = webhook_target(subscription.url)
    except ValidationError as exc:
        code, error = None, "; ".join(exc.messages)[:300]
    else:
        timestamp = int(timezone.now().timestamp())
        headers = headers_of(
            secret=webhook_secret_of(subscription),
            message_id=delivery.message_id,
            timestamp=timestamp,
            body=delivery.body,
        )
        code, error = _post(target, delivery.body, headers)
    done = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = done
    delivery.last_status_code = code
    delivery.last_error = error
    delivery.claimed_until = None
    if code is not None and 200 <= code < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = done
        delivery.next_attempt_at = None
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = done + retry_delay(delivery.attempts)
    # Only while this worker still holds the row: if its claim ran out and another worker
    # took the row, that worker's result stands.
    written = WebhookDelivery.objects.filter(pk=delivery.pk, claimed_until=hold).update(
        **{name: getattr(delivery, name) for name in _RESULT_FIELDS}
    )
    return delivery.status if written else "skipped"


def webhook_deliveries_resend(*, limit: int = 500) -> list[str]:
    """The periodic re-send: the ids of pending rows that are due and not held, oldest first,
    for the worker to try (a task lost on the way, a retry whose countdown was lost)."""
    now = timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("message_id", flat=True)[:limit]
    )


@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery, actor: User) -> WebhookDelivery:
    """The admin sends a message again, with the same ``webhook-id`` (the receiver's
    idempotency key: a receiver that has it already may ignore it) and the same body, signed
    afresh; its attempts start again from zero."""
    delivery = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("subscription__institution")
        .get(pk=delivery.pk)
    )
    _check_administers(user=actor, institution=delivery.subscription.institution)
    if delivery.status == WebhookDelivery.Status.PENDING:
        raise ValidationError({"delivery": _("This message is still being sent.")})
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.claimed_until = None
    delivery.replays += 1
    delivery.save(
        update_fields=["status", "attempts", "next_attempt_at", "claimed_until", "replays"]
    )
    _enqueue(delivery.message_id)
    return delivery


class OutboundFetchFailed(Exception):
    """An outbound GET that got no usable answer (refused address, network, status, size):
    ``reason`` is a translated sentence for the person who gave the URL, ``code`` a word for
    the caller (``address``, ``unreachable``, ``status``, ``too_large``)."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def outbound_get(*, url: str, max_bytes: int, seconds: float, allow_local_http: bool) -> bytes:
    """The body of a GET of ``url`` given by a user (a transfer record, another bank's status
    list), through the webhooks' SSRF-safe connection: the address checked and pinned
    (:func:`webhook_target`: https to public addresses only, plain http to loopback only where
    the caller's ``allow_local_http`` is on: its own setting, not the webhooks', which is on
    outside production), the proxy honoured, ``seconds`` for the whole
    exchange, at most ``max_bytes`` read, no redirect followed. Raises
    :class:`OutboundFetchFailed`, nothing else."""
    try:
        target = webhook_target(url, allow_local_http=allow_local_http)
    except ValidationError as exc:
        codes = {error.code for error in exc.error_dict.get("url", [])}
        if "private" in codes:  # the webhooks' wording names webhooks
            message = _("Only an address on the public internet can be read.")
        else:
            message = str((exc.message_dict.get("url") or [_("Enter an https:// URL.")])[0])
        raise OutboundFetchFailed(message, "address") from exc
    deadline = _Deadline(seconds)
    parts = urlsplit(target.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    unreachable = _("The address could not be reached. Try again later.")
    deadline.timer.start()
    try:
        for address in target.addresses:
            conn = kind(target, address, deadline)
            try:
                conn.connect()
            except OSError:  # this address is down: the next one, if any
                conn.close()
                continue
            try:
                conn.request(
                    "GET",
                    path,
                    headers={"accept": "application/json", "user-agent": "creditbank-fetch/1"},
                )
                response = conn.getresponse()
                if response.status != 200:
                    raise OutboundFetchFailed(
                        _("The address answered %(status)d instead of the document.")
                        % {"status": response.status},
                        "status",
                    )
                length = response.getheader("content-length") or ""
                if length.isdigit() and int(length) > max_bytes:
                    raise OutboundFetchFailed(_too_large(max_bytes), "too_large")
                body = b""
                while len(body) <= max_bytes:
                    chunk = response.read(min(65536, max_bytes + 1 - len(body)))
                    if not chunk:
                        break
                    body += chunk
                    deadline.remaining()
                if len(body) > max_bytes:
                    raise OutboundFetchFailed(_too_large(max_bytes), "too_large")
                return body
            finally:
                conn.close()
        raise OutboundFetchFailed(unreachable, "unreachable")
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise OutboundFetchFailed(unreachable, "unreachable") from exc
    finally:
        deadline.timer.cancel()


def _too_large(max_bytes: int) -> str:
    return _("The document is larger than %(size)d KB.") % {"size": max_bytes // 1000}
