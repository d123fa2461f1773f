"""Error pages that know the API: an ``/api/`` address answers in JSON, as the API does."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path no route matches (``/api/v1/outcomes/x/`` where an id is a number) is a 404 in
    the API's own shape, ``{"detail": ...}``, not the HTML page meant for a browser."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)
