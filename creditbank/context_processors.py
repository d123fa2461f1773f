from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.models import Role
from accounts.notifications.services import notifications_unread_count
from accreditation.calendar_watch import UnpublishedYear, calendar_years_unpublished

from .navigation import navigation_html

# Who is shown that a working-day arrangement is not entered yet (who counts due dates).
CALENDAR_WATCHERS = frozenset({Role.MANAGEMENT_ADMIN, Role.CENTRE_ADMIN})


def _calendar_unpublished() -> UnpublishedYear | None:
    missing = calendar_years_unpublished()
    return missing[0] if missing else None


def portal(request: HttpRequest) -> dict[str, object]:
    """What every page's frame needs: the portal's name, the navigation for this user, the
    languages of the switcher and, for a signed-in user, how many notices are unread (counted
    once, and only if the page shows it); for the management and centre admins, the first year
    whose working-day arrangement should be entered and is not (read only if the page shows
    it)."""
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    watcher = signed_in and getattr(user, "role", None) in CALENDAR_WATCHERS
    return {
        "portal_name": settings.PORTAL_NAME,
        "main_navigation": navigation_html(
            user, getattr(request.resolver_match, "view_name", None)
        ),
        "portal_languages": settings.LANGUAGES,
        "unread_notifications": (
            SimpleLazyObject(lambda: notifications_unread_count(user=user))  # type: ignore[arg-type]
            if signed_in
            else 0
        ),
        "calendar_unpublished": SimpleLazyObject(_calendar_unpublished) if watcher else None,
        "calendar_entry_allowed": watcher and user.role == Role.MANAGEMENT_ADMIN,  # type: ignore[union-attr]
    }
