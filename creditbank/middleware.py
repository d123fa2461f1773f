from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers


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
