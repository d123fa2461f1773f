import logging
import secrets
from collections.abc import Callable

import kombu.exceptions
import redis.exceptions
from django.conf import settings
from django.db import DataError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


class LanguageMiddleware:
    """Simplified Chinese unless the visitor chose otherwise.

    Pages follow the language picked in the switcher (a cookie) and otherwise show the default,
    whatever the browser's Accept-Language says: the portal serves a Chinese region, and a
    browser left on English by chance should not hide that. API clients are programs that ask
    deliberately, so for ``/api/`` the Accept-Language header is honoured as well.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        is_api = request.path.startswith("/api/")
        if is_api:
            language = translation.get_language_from_request(request)
        else:
            language = self._language_from_cookie(request) or settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie") if is_api else ("Cookie",))
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response

    @staticmethod
    def _language_from_cookie(request: HttpRequest) -> str | None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if not chosen:
            return None
        try:
            return translation.get_supported_language_variant(chosen)
        except LookupError:
            return None


class NulCharacterMiddleware:
    """A NUL character cannot be stored in a PostgreSQL text column, and no real input holds
    one: a request that carries one in its path or query is answered 400 before any view runs.
    One that carries it in a form or JSON body and reaches the database is answered 400 too
    (its transaction has been rolled back by then), not 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return self._refused(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DataError) and "NUL" in str(exception):
            return self._refused(request)
        return None

    @staticmethod
    def _refused(request: HttpRequest) -> HttpResponse:
        message = _("The request contains a character that is not allowed (NUL).")
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


# What a database, broker or cache that is down (or restarting) raises: the request could not be
# done, and nothing of it was kept (its transaction was rolled back), so the client may retry.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
RETRY_AFTER_SECONDS = 5


class ServiceUnavailableMiddleware:
    """A request that fails because PostgreSQL, Redis or the broker is unreachable is answered
    503 with Retry-After, not 500: nothing was written, and trying again shortly will work. The
    failure is still logged, as a warning."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, UNAVAILABLE):
            return None
        logger.warning("503 for %s: a service is unavailable: %r", request.path, exception)
        message = _("The service is briefly unavailable. Please try again in a few seconds.")
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


class ContentSecurityPolicyMiddleware:
    """Every response says where its page may load things from: this server only (no CDN), no
    plugins, no framing, forms posted only here. An inline ``<script>`` or ``<style>`` runs only
    with this response's nonce: templates write ``nonce="{{ request.csp_nonce }}"``.

    Django 5.2 has no built-in CSP; this is the whole of it. ``CONTENT_SECURITY_POLICY`` in the
    settings is the policy, with ``{nonce}`` where the nonce goes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = policy.format(nonce=nonce)
        return response


class PermissionsPolicyMiddleware:
    """Every response denies the browser features the portal never uses (camera, microphone,
    geolocation, payment, USB, ...): ``PERMISSIONS_POLICY`` in the settings."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.PERMISSIONS_POLICY
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response


class NoStoreMiddleware:
    """Answers that may carry personal data are kept by no browser cache and no proxy: every
    answer to a signed-in request (pages, files, PDFs, ZIPs, staff pages about learners) and
    every API answer gets ``Cache-Control: no-store`` (and ``Pragma: no-cache`` for HTTP/1.0
    caches). A view that set its own Cache-Control keeps it: a public page may choose to be
    cached, and says so itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" in response.headers:
            return response
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            response.headers["Cache-Control"] = "no-store"
            response.headers.setdefault("Pragma", "no-cache")
        return response
