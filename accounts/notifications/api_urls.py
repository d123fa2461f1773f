"""API of notifications (under /api/v1/)."""

from django.urls import path

from accounts.notifications.views import NotificationListView, NotificationReadView

urlpatterns = [
    path("notifications/", NotificationListView.as_view(), name="api-notifications"),
    path("notifications/read/", NotificationReadView.as_view(), name="api-notifications-read"),
]
