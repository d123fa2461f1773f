"""Error pages that know the API: an ``/api/`` address answers in JSON, as the API does."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refuses before any view reads it (too many form fields, a body too
    large, a malformed multipart body) is a 400 in the API's shape at an API address."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("The request could not be read.")}, status=400)
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path no route matches (``/api/v1/outcomes/x/`` where an id is a number) is a 404 in
    the API's own shape, ``{"detail": ...}``, not the HTML page meant for a browser."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)
