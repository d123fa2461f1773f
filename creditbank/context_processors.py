from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.notifications.services import notifications_unread_count

from .navigation import items_for


def portal(request: HttpRequest) -> dict[str, object]:
    """What every page's frame needs: the portal's name, the navigation for this user, the
    languages of the switcher and, for a signed-in user, how many notices are unread (counted
    once, and only if the page shows it)."""
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    return {
        "portal_name": settings.PORTAL_NAME,
        "navigation": items_for(user),
        "portal_languages": settings.LANGUAGES,
        "unread_notifications": (
            SimpleLazyObject(lambda: notifications_unread_count(user=user))  # type: ignore[arg-type]
            if signed_in
            else 0
        ),
    }
