"""``Idempotency-Key`` for any app's creating ``POST``: the decorator and the schema parameter.

The keys are stored by ``transfers`` (``transfers/idempotency.py``, a layer above every other
app), which registers its implementation here in its ``AppConfig.ready()``; the apps below
decorate their views with :func:`idempotent` without importing it. Until it is registered (a
project without ``transfers``), a request runs as if it had no key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

HEADER = "Idempotency-Key"

Handler = Callable[..., Any]

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique value (a UUID) chosen by the client for this request. A retry with the same "
        "key and body returns the first successful answer, with the header "
        "'Idempotent-Replayed: true', and creates nothing; the same key with another body "
        "answers 422; a key whose first request is still running answers 409. A refused "
        "request (4xx) is not remembered: correct it and retry with the same key. Keys are "
        "per signed-in user (a request without a sign-in ignores the header) and expire "
        "after 24 hours."
    ),
)

_implementation: list[Callable[[Handler], Handler]] = []


def idempotency_register(implementation: Callable[[Handler], Handler]) -> None:
    """Called once by the app that stores the keys."""
    _implementation[:] = [implementation]


def idempotent(method: Handler) -> Handler:
    """Make an APIView handler (``post``) honour the ``Idempotency-Key`` header."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _implementation:
            return method(*args, **kwargs)
        return _implementation[0](method)(*args, **kwargs)

    wrapper.idempotent = True  # type: ignore[attr-defined]  # the schema documents the header
    return wrapper
