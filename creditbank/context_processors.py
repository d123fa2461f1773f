from django.conf import settings
from django.http import HttpRequest

from .navigation import items_for


def portal(request: HttpRequest) -> dict[str, object]:
    """What every page's frame needs: the portal's name, the navigation for this user and the
    languages of the switcher."""
    user = getattr(request, "user", None)
    return {
        "portal_name": settings.PORTAL_NAME,
        "navigation": items_for(user),
        "portal_languages": settings.LANGUAGES,
    }
