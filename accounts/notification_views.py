"""The notification list: pages and API."""

from __future__ import annotations

from django.urls import URLPattern

notification_urlpatterns: list[URLPattern] = []
notification_api_urlpatterns: list[URLPattern] = []
