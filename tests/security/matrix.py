"""The machinery of the authorization matrix: list every route of the URL configuration, fill
its URL with learner A's objects, ask it as each principal, and name the outcome.

Each request runs inside a savepoint that is rolled back, so no cell changes what the next one
sees (a principal who may withdraw A's application does so, and the next principal finds it
still there), and the cache (throttle counters) is cleared before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.serviceaccounts.models import ACCESS_TOKEN_PREFIX
from tests.people import login_verified

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    key: str  # the route's name, or its pattern when it has none
    pattern: str  # the whole pattern, e.g. "api/v1/outcomes/<int:pk>/"
    callback: Any

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/")

    def methods(self) -> tuple[str, ...]:
        """The methods a class-based view answers (GET first; pages: GET and POST only, as
        browsers send); function views say GET."""
        view_class = getattr(self.callback, "view_class", None) or getattr(
            self.callback, "cls", None
        )
        if view_class is None:
            # A function view does not say what it answers: pages are asked both.
            return ("GET",) if self.is_api else ("GET", "POST")
        candidates = ("GET", *UNSAFE) if self.is_api else ("GET", "POST")
        found = tuple(m for m in candidates if hasattr(view_class, m.lower()))
        return found or ("GET",)


def _walk(resolver: URLResolver, prefix: str, namespace: str) -> Iterator[Route]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield Route(key=name or pattern, pattern=pattern, callback=entry.callback)


def routes() -> list[Route]:
    """Every route of the URL configuration, in order (a name may be listed once only)."""
    return list(_walk(get_resolver(), "", ""))


def _outcome(response: Any, *, page_post: bool) -> str | int:
    """What a principal got: "ok" (2xx, or a redirect elsewhere than the sign-in), "login"
    (sent to sign in), "bad" (the view answered, refusing the empty input: 400, 409, 415; or,
    for a page's POST, the form shown again, 200, where success redirects), else the status
    code."""
    status = response.status_code
    if page_post and status == 200:
        return "bad"
    if 300 <= status < 400:
        location = response.get("Location", "")
        # The admin site's own sign-in page only sends on to the portal's.
        signing_in = (resolve_url(settings.LOGIN_URL), "/admin/login/")
        return "login" if location.startswith(signing_in) else "ok"
    if status < 300:
        return "ok"
    if status in (400, 409, 415):
        return "bad"
    return status


class Asker:
    """Asks routes as one principal: pages with a signed-in browser session (staff: with the
    second factor given), the API with the principal's token."""

    def __init__(self, user: Any, token: str | None, staff: bool) -> None:
        self.page_client = Client()
        self.api_client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        self.session_cookie: str | None = None
        if user is not None:
            if staff:
                login_verified(self.page_client, user)
            else:
                self.page_client.force_login(user)
            self.session_cookie = self.page_client.cookies[settings.SESSION_COOKIE_NAME].value
        if token:
            # A service account's OAuth token is a Bearer token; knox's go as "Token".
            scheme = "Bearer" if token.startswith(ACCESS_TOKEN_PREFIX) else "Token"
            self.api_client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")

    def ask(self, route: Route, method: str, path: str) -> str | int:
        client: Any = self.api_client if route.is_api else self.page_client
        # Whatever the last answer set (a language, a cleared session) is forgotten.
        client.cookies = SimpleCookie()
        if self.session_cookie and not route.is_api:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.session_cookie
        cache.clear()
        with transaction.atomic():
            if method == "GET":
                response = client.get(path)
            elif route.is_api:
                response = getattr(client, method.lower())(path, {}, format="json")
            else:
                response = getattr(client, method.lower())(path, {})
            transaction.set_rollback(True)
        return _outcome(response, page_post=method == "POST" and not route.is_api)
