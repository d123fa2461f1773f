"""One row per API call made with a service account's token, written once the answer is
known (its status); the call's own transaction has ended by then, so a refused or failed call
is logged too."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from accounts.serviceaccounts.services import ServiceAccess, service_call_record

logger = logging.getLogger(__name__)


class ServiceCallLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        access = getattr(request, "auth", None)
        if isinstance(access, ServiceAccess):
            try:
                service_call_record(
                    access=access,
                    method=request.method or "",
                    path=request.path,
                    status_code=response.status_code,
                    duration_ms=int((time.monotonic() - access.started) * 1000),
                )
            except DatabaseError:
                # The answer stands; the log misses one row (said in the server's log).
                logger.exception("service account call not logged: %s", request.path)
        return response
