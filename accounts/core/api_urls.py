"""API of centres (under /api/v1/)."""

from django.urls import path

from accounts.core.api import CentreListView

urlpatterns = [
    path("centres/", CentreListView.as_view(), name="api-centres"),
]
