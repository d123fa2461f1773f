"""``Idempotency-Key`` for API requests that create something (``POST /api/v1/transfers/``).

A client that did not hear the answer may send the same request again with the same key:

- the first request claims the key (a row, *in progress*), runs, and stores its answer (status
  and body) with the key, all in one transaction;
- a retry with the same key and the same request gets the stored answer and creates nothing;
- the same key with a different request (method, path or body) is refused with 422;
- a key whose first request is still running answers 409: retry later.

On PostgreSQL the request's transaction holds an advisory lock on its key
(``pg_try_advisory_xact_lock``), so "still running" means exactly that: a retry that cannot take
the lock answers 409, and when the first request's process or database connection dies (a killed
worker, a database restart) its transaction, its claim and its lock go together. The lock is
transaction-scoped, not held by the session, so that it works behind PgBouncer in transaction
mode, where each transaction may run on another server connection (ADR 0029). A key left *in
progress* by an earlier version is taken over at once by the request holding its lock;
elsewhere (SQLite) after :data:`ABANDONED_AFTER`.

Keys are per user and expire after :data:`KEY_TTL`; :func:`idempotency_keys_purge` (a beat task)
deletes expired ones. Only successful answers are stored: after a refusal (4xx, such as a
validation error) or a server error the key is released, so the retry runs again. A replayed
answer carries the header ``Idempotent-Replayed: true``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils import encoders
from rest_framework.views import APIView

from common.idempotency import IDEMPOTENCY_PARAMETER as COMMON_PARAMETER

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
KEY_TTL = timedelta(hours=24)
# A first request that died (the process was killed) leaves its key in progress; after this
# long a retry may take the key over.
ABANDONED_AFTER = timedelta(minutes=10)
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length or 255

# The header documented on every creating POST (common/idempotency.py).
IDEMPOTENCY_PARAMETER = COMMON_PARAMETER


def fingerprint(method: str, path: str, body: Any) -> str:
    """A keyed HMAC-SHA256 (SECRET_KEY) of the method, the path and the body as canonical JSON
    (sorted keys, no spaces): bodies hold passwords and identity numbers, which an unkeyed hash
    in the database would let anyone with a copy of it guess offline. An uploaded file counts
    by its name, size and the SHA-256 of its content."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=_file_or_str)
    return salted_hmac(
        "transfers.idempotency.fingerprint",
        f"{method.upper()}\n{path}\n{canonical}",
        algorithm="sha256",
    ).hexdigest()


def _file_or_str(value: Any) -> str:
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return f"file:{value.name}:{value.size}:{digest.hexdigest()}"
    return str(value)


def request_fingerprint(request: Request) -> str:
    body: Any = request.data
    if hasattr(body, "getlist"):  # a QueryDict from a form post
        body = {key: body.getlist(key) for key in sorted(body.keys())}
    return fingerprint(request.method or "", request.path, body)


def _lock_id(user_id: int, key: str) -> int:
    """The advisory lock of one user's key: 64 bits of its SHA-256 (a collision only makes a
    request wait for another's end with a 409)."""
    digest = hashlib.sha256(f"{user_id}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock_take(lock_id: int) -> bool | None:
    """PostgreSQL: take the key's advisory lock for the current transaction without waiting;
    whether it was free. Other databases: None (no such locks)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
        row = cursor.fetchone()
    return bool(row and row[0])


def _claim(
    *, user_id: int, key: str, print_: str, locked: bool = False
) -> IdempotencyKey | Response:
    """Insert the key as in progress (in the request's transaction: a concurrent retry is kept
    out by the lock, or on SQLite by the database's write lock); or the answer to give when the
    key is already known. ``locked``: this request holds the key's advisory lock, so a key in
    progress was left by a request that died."""
    now = timezone.now()
    IdempotencyKey.objects.filter(user_id=user_id, key=key, created_at__lt=now - KEY_TTL).delete()
    IdempotencyKey.objects.filter(
        user_id=user_id,
        key=key,
        state=IdempotencyKey.State.IN_PROGRESS,
        **({} if locked else {"created_at__lt": now - ABANDONED_AFTER}),
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                user_id=user_id, key=key, fingerprint=print_, created_at=now
            )
    except IntegrityError:
        # A concurrent insert of the same key waited on the unique index until the other
        # transaction committed; the row is there to read now.
        existing = IdempotencyKey.objects.filter(user_id=user_id, key=key).first()
        if existing is None:  # deleted (expired) in between: let the client retry
            return _conflict()
    if existing.fingerprint != print_:
        return Response(
            {
                "idempotency_key": [
                    _("This Idempotency-Key was used for a different request. Use a new key.")
                ]
            },
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if existing.state == IdempotencyKey.State.IN_PROGRESS:
        return _conflict()
    response = Response(existing.response_body, status=existing.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def _conflict() -> Response:
    return Response(
        {
            "idempotency_key": [
                _("A request with this Idempotency-Key is still being processed. Retry later.")
            ]
        },
        status=status.HTTP_409_CONFLICT,
    )


def _body_as_json(response: Response) -> Any:
    """The response body as it goes over the wire (lazy translations, decimals and dates
    rendered), so a replay is the same answer."""
    if response.data is None:
        return None
    return json.loads(json.dumps(response.data, cls=encoders.JSONEncoder))


Handler = Callable[..., Response]


def idempotent(method: Handler) -> Handler:
    """Make an APIView handler (``post``) honour the ``Idempotency-Key`` header. Without the
    header the request runs as usual."""

    @functools.wraps(method)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = (request.headers.get(HEADER) or "").strip()
        # Keys are per user: a caller without a sign-in has no keys of their own.
        if not key or not request.user.is_authenticated:
            return method(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            return Response(
                {
                    "idempotency_key": [
                        _("At most %(n)d characters.") % {"n": MAX_KEY_LENGTH},
                    ]
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        user_id = int(request.user.pk or 0)
        # One transaction holds the lock, the claim, what the request creates and its stored
        # answer: the lock ends with it, whichever server connection a pooler gave it.
        with transaction.atomic():
            locked = _lock_take(_lock_id(user_id, key))
            if locked is False:  # its first request is running now, in another process
                return _conflict()
            return _run_once(view, request, method, args, kwargs, user_id, key, locked is True)

    wrapper.idempotent = True  # type: ignore[attr-defined]  # the schema documents the header
    return wrapper


def _run_once(
    view: APIView,
    request: Request,
    method: Handler,
    args: Any,
    kwargs: Any,
    user_id: int,
    key: str,
    locked: bool,
) -> Response:
    claimed = _claim(user_id=user_id, key=key, print_=request_fingerprint(request), locked=locked)
    if isinstance(claimed, Response):
        return claimed
    try:
        with transaction.atomic():
            try:
                response = method(view, request, *args, **kwargs)
            except Exception as exc:
                # The answer DRF would give (a 400 for a refused request); anything it
                # does not handle propagates and releases the key below.
                response = view.handle_exception(exc)
            if response.status_code >= 400:
                # A refusal created nothing and is not stored: the client corrects the
                # request and sends it again with the same key (a server error likewise).
                raise _ServerError(response)
            # Stored in the same transaction as what the request created: both or neither.
            IdempotencyKey.objects.filter(pk=claimed.pk).update(
                state=IdempotencyKey.State.DONE,
                response_status=response.status_code,
                response_body=_body_as_json(response),
            )
    except _ServerError as failed:
        IdempotencyKey.objects.filter(pk=claimed.pk).delete()
        return failed.response
    # Anything else propagates: the caller's transaction rolls back, the claim with it.
    return response


class _ServerError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def idempotency_keys_purge() -> int:
    """Delete keys older than :data:`KEY_TTL`; returns how many went."""
    deleted, _counts = IdempotencyKey.objects.filter(
        created_at__lt=timezone.now() - KEY_TTL
    ).delete()
    return deleted
