"""Pages of notifications."""

from django.urls import path

from accounts.notifications.views import (
    notification_follow,
    notification_list,
    notification_mark_read,
)

urlpatterns = [
    path("notifications/", notification_list, name="notifications"),
    path("notifications/read/", notification_mark_read, name="notifications-read"),
    path("notifications/<int:pk>/open/", notification_follow, name="notification-open"),
]
